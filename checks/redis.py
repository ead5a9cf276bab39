"""Redis probes: INFO once per target (per node on a cluster), a bounded SCAN shared by the key probes, read
commands only.  Connection, topology and the read-only guard live in readiness.clients.redis."""

from __future__ import annotations

from collections import Counter
from typing import Any

from readiness.checks import _products as products
from readiness.checks import _redis_queues as rq
from readiness.checks._common import classify_host, globs_match, human_bytes, is_local, listing, parse_size
from readiness.checks._files_facts import files, locations, written_number
from readiness.checks._redis_facts import (
    ConfigRefused,
    UnexpectedReply,
    keyed_answers,
    pairs,
    per_node,
    scan,
    show,
)
from readiness.checks._redis_facts import config as _config
from readiness.checks._redis_facts import info as _info

from readiness.matchers import MISSING
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

_OPT = None
# 10 000 keys: the same work on a 2 000 000-key Redis as on a small one (a scan cut short is a stated sample).
_SCAN_LIMIT = Param("int", 10000, help="keys examined per node at most (SCAN COUNT 1000, never KEYS); a scan cut "
                                       "short by the limit is judged as a sample and says so")


# --- generic probes ----------------------------------------------------------------------------------------------

@probe("redis.info", target="redis", params={
    "field": Param("str", help="an INFO field, e.g. maxmemory_policy, redis_version, evicted_keys"),
    "expect": Param("expect", help="matchers the value must satisfy, e.g. {equals: noeviction}"),
    "section": Param("str", _OPT, help="INFO section when the field is not in the default ones (commandstats ...)"),
})
def info(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Any INFO field judged by `expect` (on every node of a cluster).

    INFO is fetched once per target and shared by every item that reads it."""
    return per_node(_info(ctx, p["section"]), lambda i: p["expect"].judge(p["field"], i.get(p["field"], MISSING)))


@probe("redis.config", target="redis", params={
    "parameter": Param("str", help="a CONFIG GET parameter, e.g. protected-mode, bind, appendonly"),
    "expect": Param("expect", help="matchers the value must satisfy"),
})
def config(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Any CONFIG GET parameter judged by `expect`; an error, saying so, where CONFIG is refused (managed Redis)."""
    try:
        values = _config(ctx, p["parameter"])
    except ConfigRefused as exc:
        return undecided(str(exc))
    return per_node({n: {"v": v} for n, v in values.items()}, lambda i: p["expect"].judge(p["parameter"], i["v"]))


# --- purpose-built probes ----------------------------------------------------------------------------------------

@probe("redis.ping", target="redis")
def ping(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Connect with the configured credentials and PING every node (the master through Sentinel; cluster primaries).

    Fails when the server answers but refuses the session (max clients reached, loading, no master known)."""
    from readiness.clients.redis import ServerRefused

    try:
        handle = ctx.client
    except ServerRefused as exc:
        return failed(str(exc))
    ep = handle.endpoint
    return passed(f"PING answered by {listing(handle.nodes)} ({ep.scheme}, {ep.topology})", nodes=list(handle.nodes),
                  topology=ep.topology, tls=ep.tls, sentinels=list(handle.sentinels) or None)


@probe("redis.auth-required", target="redis")
def auth_required(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Open a second connection without credentials: passes when the server refuses it (NOAUTH, RESP2 or RESP3)."""
    def attempt(handle: Any) -> tuple[str, str]:
        from readiness.clients.redis import try_anonymous

        return try_anonymous(handle)

    outcome, said = ctx.fact("anonymous", attempt)
    where = ctx.client.primary
    if outcome == "refused":
        return passed(f"a connection without credentials to {where} is refused", server_said=said)
    if outcome == "accepted":
        return failed(f"{where} accepts connections without credentials: anyone who reaches the port can read and "
                      "delete queued work", server_said=said)
    return undecided(f"{where} lets the default user in without a password but refused PING ({said}): check that "
                     "the default user can read no keys (ACL GETUSER default) or disable it", server_said=said)


@probe("redis.memory-headroom", target="redis", params={
    "max_ratio": Param("number", 0.8, help="highest acceptable used_memory / maxmemory"),
})
def memory_headroom(ctx: Any, p: dict[str, Any]) -> Verdict:
    """used_memory / maxmemory below `max_ratio`; an unbounded maxmemory (0) fails: there is no headroom to speak of."""
    def judge(i: dict[str, Any]) -> Verdict:
        used, limit = i.get("used_memory"), i.get("maxmemory")
        if not isinstance(used, int) or not isinstance(limit, int):
            return undecided("INFO memory has no used_memory/maxmemory", used_memory=used, maxmemory=limit)
        if limit == 0:
            return failed(f"maxmemory is 0 (unbounded): Redis grows until the container or host kills it; used "
                          f"{human_bytes(used)}", used_memory=used, maxmemory=0)
        ratio = used / limit
        verdict = passed if ratio < p["max_ratio"] else failed
        return verdict(f"{ratio:.0%} of maxmemory used ({human_bytes(used)} of {human_bytes(limit)}; limit "
                       f"{p['max_ratio']:.0%})", used_memory=used, maxmemory=limit, ratio=round(ratio, 4))

    return per_node(_info(ctx), judge)


@probe("redis.maxclients", target="redis", params={
    "workers": Param("int", 4, help="API worker processes (LANGSIGHT_WORKERS)"),
    "per_worker": Param("int", 20, help="connections each worker's pool may open"),
    "workers_env": Param("str", _OPT, help="the variable of the files target giving the workers "
                                           "(LANGSIGHT_WORKERS); written there, it replaces `workers`"),
})
def maxclients(ctx: Any, p: dict[str, Any]) -> Verdict:
    """maxclients >= workers x per_worker; read from INFO (Redis 7+) or CONFIG GET (error where CONFIG is refused).
    The workers are the files target's `workers_env` where it is written there."""
    workers = p["workers"]
    if p["workers_env"] and ctx.has("files"):
        value, where, why = written_number(files(ctx), p["workers_env"])
        if why:
            return undecided(f"{why}: the connection need cannot be counted",
                             locations=locations(s.loc for s in where))
        workers = workers if value is None else value
    need = workers * p["per_worker"]
    infos = _info(ctx)
    values = {node: i.get("maxclients") for node, i in infos.items()}
    if any(v is None for v in values.values()):
        try:
            values = {n: int(v) if str(v).isdigit() else None for n, v in _config(ctx, "maxclients").items()}
        except ConfigRefused as exc:
            return undecided(f"INFO has no maxclients before Redis 7, and {exc}")

    def judge(i: dict[str, Any]) -> Verdict:
        have = i["v"]
        verdict = passed if isinstance(have, int) and have >= need else failed
        return verdict(f"maxclients is {have}, {workers} workers x {p['per_worker']} need {need}",
                       maxclients=have, needed=need, workers=workers)

    return per_node({n: {"v": v} for n, v in values.items()}, judge)


_KNOWN_PREFIXES = ["bull:", "saq:", "asynq:", "langsight:"]


@probe("redis.dedicated", target="redis", params={
    "prefixes": Param("str-list", _KNOWN_PREFIXES, help="key prefixes the product writes (per preset)"),
    "scan_limit": _SCAN_LIMIT,
})
def dedicated(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every sampled key starts with one of the product's prefixes, and no other logical database holds keys.

    Samples with SCAN (bounded), never KEYS; INFO keyspace shows the other databases."""
    db = ctx.client.endpoint.db
    other_dbs = sorted({name for i in _info(ctx).values() for name, stats in i.items()
                        if name.startswith("db") and name[2:].isdigit() and int(name[2:]) != db
                        and isinstance(stats, dict) and stats.get("keys", 0) > 0})
    scanned, complete = scan(ctx, p["scan_limit"])
    keys = [k for ks in scanned.values() for k in ks]
    foreign = [k for k in keys if not k.startswith(tuple(p["prefixes"]))]
    groups = Counter(show(k.split(":", 1)[0], 60) + (":" if ":" in k else "") for k in foreign)
    evidence = {"sampled": len(keys), "scan_complete": complete, "prefixes": p["prefixes"],
                "foreign_prefixes": dict(groups.most_common(10)), "foreign_examples": [show(k) for k in foreign[:5]],
                "other_databases": other_dbs}
    problems = []
    if foreign:
        problems.append(f"{len(foreign)} of {len(keys)} sampled keys belong to something else "
                        f"({listing(f'{g}* x{n}' for g, n in groups.most_common(5))})")
    if other_dbs:
        problems.append(f"other logical databases hold keys ({', '.join(other_dbs)})")
    if problems:
        return failed("; ".join(problems) + ": the instance is shared", **evidence)
    if complete:
        return passed(f"all {len(keys)} keys in db{db} carry the product's prefixes; no other database holds keys",
                      **evidence)
    total = rq.keyspace(_info(ctx), db)
    of = f" of {total:,}" if total is not None else ""
    return passed(f"a sample: all {len(keys)} keys scanned{of} in db{db} carry the product's prefixes; no other "
                  "database holds keys", **evidence)


@probe("redis.key-ttls", target="redis", params={
    "match": Param("str", "langsight:*", help="glob of the keys that must expire"),
    "exclude": Param("str-list", ["bull:*", "saq:*", "asynq:*"],
                     help="globs never judged: queue structures keep keys without TTL on purpose"),
    "scan_limit": _SCAN_LIMIT,
    "min_sample": Param("int", 1000, help="when the scan stops at scan_limit before the end: the fewest matching keys "
                                          "seen, every one with a TTL, that pass as a sample (stated as such)"),
})
def key_ttls(ctx: Any, p: dict[str, Any]) -> Verdict:
    """No key matching `match` (queue structures excluded) lives without a TTL: a key with TTL -1 is a leak.  On a
    keyspace larger than scan_limit, a sample of at least `min_sample` matching keys decides, and says it is one."""
    scanned, complete = scan(ctx, p["scan_limit"])
    chosen = {n: [k for k in ks if globs_match(k, [p["match"]]) and not globs_match(k, p["exclude"])]
              for n, ks in scanned.items()}
    ttls = {k: a[0] for k, a in keyed_answers(ctx.client.per_key(chosen, "TTL"), chosen, "TTL").items()}
    odd = [k for k, ttl in ttls.items() if not isinstance(ttl, int) or isinstance(ttl, bool)]
    if odd:
        raise UnexpectedReply(f"TTL {show(odd[0])} answered {ttls[odd[0]]!r}, not a number of seconds")
    leaks = sorted(show(k) for k, ttl in ttls.items() if ttl == -1)
    evidence = {"checked": len(ttls), "without_ttl": len(leaks), "examples": leaks[:10], "scan_complete": complete}
    if leaks:
        return failed(f"{len(leaks)} of {len(ttls)} {p['match']} keys have no TTL ({listing(leaks, 5)}): they "
                      "accumulate until memory runs out", **evidence)
    if not complete and len(ttls) < max(1, p["min_sample"]):
        return undecided(f"the scan stopped at scan_limit={p['scan_limit']} keys before the end of the keyspace; "
                         f"the {len(ttls)} keys seen all expire, fewer than min_sample={p['min_sample']}: raise "
                         "scan_limit to judge more of them", **evidence)
    if not complete:
        total = rq.keyspace(_info(ctx), ctx.client.endpoint.db)
        of = f" of {total:,}" if total is not None else ""
        return passed(f"a sample: all {len(ttls)} {p['match']} keys among the first {p['scan_limit']} keys scanned"
                      f"{of} carry a TTL (a leak in more than ~{3 / len(ttls):.1%} of them would show in a sample "
                      "this size, 95%)", sample=True, **evidence)
    return passed(f"all {len(ttls)} {p['match']} keys carry a TTL", **evidence)


_QUEUE_NAMES = Param("str-list", _OPT, help="queue names the product is known to use: each fills every `*` of a "
                     "glob pattern, and those keys are read by name (TYPE, then LLEN/ZCARD/XLEN) on the node that "
                     "owns them; default: the preset's (checks/_products.py QUEUES)")
_MARKERS = Param("str-list", ["bull:*:meta"], help="keys that show a known queue exists when it is empty "
                                                   "(BullMQ's meta hash), filled like the patterns")
_DISCOVERY_LIMIT = Param("int", 10000, help="keys examined per node at most by the scan that looks for queues "
                                            "under names not known (SCAN COUNT 1000, never KEYS)")


def _queues(ctx: Any, p: dict[str, Any], patterns: list[str]) -> rq.Queues:
    names = p["queue_names"] if p["queue_names"] is not None else products.queue_names(ctx.preset)
    return rq.read(ctx, patterns, names, p["markers"], p["scan_limit"])


def _undiscovered(ctx: Any, q: rq.Queues, p: dict[str, Any], verdict: Verdict) -> Verdict:
    """A verdict on every queue when the scan reached the end; on the known queues, saying so, when it did not; and
    undecided when none of the known queues is there to stand for the product's queues."""
    if q.scan_complete:
        return verdict
    if q.present:
        note = rq.scan_note(q, p["scan_limit"], rq.keyspace(_info(ctx), ctx.client.endpoint.db))
        return Verdict(verdict.status, f"{verdict.message}; {note}", dict(verdict.evidence))
    known = f"none of the {len(q.known)} known queues exists here, and " if q.known else ""
    return undecided(f"{known}the scan stopped at scan_limit={p['scan_limit']} keys before the end: queues matching "
                     "a pattern may have been missed; raise it, or name the queues (queue_names)",
                     **verdict.evidence)


@probe("redis.queue-depth", target="redis", params={
    "queues": Param("str-list", help="queue keys (globs allowed): BullMQ bull:<queue>:wait, SAQ saq:<q>:queued, "
                                     "asynq asynq:{<q>}:pending"),
    "max": Param("int", 10000, help="highest acceptable backlog per queue"),
    "queue_names": _QUEUE_NAMES,
    "markers": _MARKERS,
    "scan_limit": _DISCOVERY_LIMIT,
})
def queue_depth(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Each queue's backlog (LLEN/ZCARD/XLEN by key type) below `max`; an absent key is an empty queue.  Known queue
    names are read by name; a bounded scan looks for the others."""
    if not p["queues"]:
        return not_applicable("this product keeps no job queue in Redis (queues: [])")
    q = _queues(ctx, p, p["queues"])
    depth = {show(k): n for k, (_, n) in sorted(q.lengths.items())}
    deep = {k: n for k, n in depth.items() if n >= p["max"]}
    evidence = {"depth": depth, "max": p["max"], "scan_complete": q.scan_complete, "known_queues": len(q.known),
                "known_present": len(q.present), "found_by_scan": q.discovered}
    if deep:
        return failed(f"backlog at or above {p['max']}: " + listing(f"{k}={n}" for k, n in deep.items()) +
                      " (workers are not keeping up)", **evidence)
    if q.odd:
        return undecided(rq.odd_message(q.odd), **evidence)
    biggest = max(depth.values(), default=0)
    return _undiscovered(ctx, q, p, passed(f"largest backlog {biggest} across {len(depth)} queue keys (max "
                                           f"{p['max']})", **evidence))


@probe("redis.failed-jobs", target="redis", params={
    "patterns": Param("str-list", ["bull:*:failed"], help="globs of failed/dead-letter job sets"),
    "max": Param("int", 1000, help="highest acceptable number of entries per set"),
    "queue_names": _QUEUE_NAMES,
    "markers": _MARKERS,
    "scan_limit": _DISCOVERY_LIMIT,
})
def failed_jobs(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Failed/dead-letter job sets (BullMQ bull:*:failed, asynq archived) hold fewer than `max` entries each; known
    queue names are read by name, a bounded scan looks for the others."""
    if not p["patterns"]:
        return not_applicable("this product keeps no failed-job sets in Redis (patterns: [])")
    q = _queues(ctx, p, p["patterns"])
    sizes = {show(k): n for k, (_, n) in sorted(q.lengths.items()) if n}
    big = {k: n for k, n in sizes.items() if n >= p["max"]}
    evidence = {"sizes": sizes, "max": p["max"], "scan_complete": q.scan_complete, "known_queues": len(q.known),
                "known_present": len(q.present), "found_by_scan": q.discovered}
    if big:
        return failed("failed-job sets have grown: " + listing(f"{k}={n}" for k, n in big.items()) +
                      " (retry or clean them; they bloat memory)", **evidence)
    if q.odd:
        return undecided(rq.odd_message(q.odd), **evidence)
    return _undiscovered(ctx, q, p, passed(f"{len(sizes)} failed-job sets, none with {p['max']} entries or more",
                                           **evidence))


@probe("redis.external", target="redis", params={
    "managed": Param("str-list", help="regexes of managed/external hosts (ElastiCache, Azure Cache, Memorystore ...)"),
    "bundled": Param("str-list", _OPT, help="regexes of bundled hosts; default: the charts' and compose files' Redis "
                                            "names, loopback, *.svc and <release>-redis (checks/_products.py)"),
})
def external(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Decide from the host names whether Redis is managed/external (pass) or bundled in the cluster (fail)."""
    handle = ctx.client
    hosts = [h for h, _ in handle.endpoint.hosts] if handle.endpoint.unix_path is None else ["localhost"]
    rel = ctx.config("kubernetes").get("release") if ctx.has("kubernetes") else None
    bundled = products.bundled_hosts("redis", rel) if p["bundled"] is None else list(p["bundled"])
    kinds = {h: classify_host(h, p["managed"], bundled) for h in hosts}
    evidence = {"hosts": {h: {"kind": k, "pattern": pat} for h, (k, pat) in kinds.items()}}
    if any(k == "bundled" for k, _ in kinds.values()):
        which = [h for h, (k, _) in kinds.items() if k == "bundled"]
        return failed(f"{listing(which)} is a bundled Redis (in-cluster or on this host): production wants a managed "
                      "or separately operated one", **evidence)
    if all(k == "managed" for k, _ in kinds.values()):
        return passed(f"{listing(hosts)} is a managed Redis endpoint", **evidence)
    unknown = [h for h, (k, _) in kinds.items() if k is None]
    return undecided(f"cannot tell from the host name whether {listing(unknown)} is external: add a pattern to "
                     "'managed' or 'bundled' for it, or attest", **evidence)


@probe("redis.tls", target="redis", params={
    "local_hosts": Param("str-list", ["localhost", "127.0.0.1", "::1"],
                         help="hosts whose plain traffic never leaves the machine"),
})
def tls(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Traffic is TLS (rediss://) unless every host is local (loopback or a unix socket)."""
    handle = ctx.client
    ep = handle.endpoint
    hosts = [ep.unix_path] if ep.unix_path else [h for h, _ in ep.hosts] + list(handle.nodes)
    evidence = {"scheme": ep.scheme, "hosts": sorted({h.rsplit(":", 1)[0] if ":" in h and h.count(":") == 1 else h
                                                      for h in hosts})}
    if ep.tls:
        verify = ctx.config().get("verify", True) is not False
        note = "" if verify else " (certificate NOT verified: set ca_file and verify: true)"
        return passed(f"connected with TLS ({ep.scheme}://){note}", verify=verify, **evidence)
    remote = [h for h in evidence["hosts"] if not is_local(h, p["local_hosts"])]
    if not remote:
        return passed("plain TCP, but only to this machine (traffic never leaves it)", **evidence)
    return failed(f"plain TCP to {listing(remote)}: passwords and queued payloads cross the network unencrypted",
                  **evidence)


@probe("redis.ha", target="redis", params={
    "min_replicas": Param("int", 1, help="replicas each master needs, linked and online"),
})
def ha(ctx: Any, p: dict[str, Any]) -> Verdict:
    """With Sentinel: the master is known to a quorum and has linked replicas; with Cluster: every primary has
    replicas and the cluster state is ok.  Not applicable to a standalone URL."""
    handle = ctx.client
    ep = handle.endpoint
    if ep.topology == "standalone":
        return not_applicable(f"standalone Redis ({ep.scheme}://): no Sentinel or Cluster configured")
    replicas = {node: _online_replicas(i) for node, i in _info(ctx).items()}
    evidence: dict[str, Any] = {"topology": ep.topology, "replicas_online": replicas}
    problems = [f"{node} has {n} linked replica(s), needs {p['min_replicas']}" for node, n in replicas.items()
                if n < p["min_replicas"]]
    if ep.topology == "sentinel":
        state = ctx.fact("sentinel", lambda h: {s: {"master": pairs(h.call(s, "SENTINEL", "MASTER", ep.master)),
                                                    "quorum": _quorum(h, s, ep.master)}
                                                for s in h.sentinels})
        for sentinel, seen in state.items():
            flags = str(seen["master"].get("flags", ""))
            evidence[f"sentinel {sentinel}"] = {"flags": flags, "quorum": seen["master"].get("quorum"),
                                                "ckquorum": seen["quorum"],
                                                "other_sentinels": seen["master"].get("num-other-sentinels")}
            if "down" in flags or "master" not in flags:
                problems.append(f"Sentinel {sentinel} sees the master as {flags}")
            if not str(seen["quorum"]).startswith("OK"):
                problems.append(f"Sentinel {sentinel}: {seen['quorum']}")
    else:
        state = ctx.fact("cluster-info", lambda h: h.call(h.primary, "CLUSTER", "INFO"))
        cluster_state = pairs(state).get("cluster_state") if not isinstance(state, str) else \
            dict(line.split(":", 1) for line in state.splitlines() if ":" in line).get("cluster_state")
        evidence["cluster_state"] = cluster_state
        if cluster_state != "ok":
            problems.append(f"cluster_state is {cluster_state}")
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(f"{ep.topology}: master(s) known, each with >= {p['min_replicas']} linked replica(s)", **evidence)


def _online_replicas(i: dict[str, Any]) -> int:
    return sum(1 for k, v in i.items() if k.startswith("slave") and k[5:].isdigit() and isinstance(v, dict)
               and v.get("state") == "online")


def _quorum(handle: Any, sentinel: str, master: str) -> str:
    """SENTINEL CKQUORUM's answer; its error reply (the quorum cannot be reached) is the finding, not a fault."""
    reply = handle.batch(sentinel, [("SENTINEL", "CKQUORUM", master)], errors="return")[0]
    return str(reply)


@probe("redis.cluster-mode", target="redis", params={
    "cluster_expected": Param("bool", _OPT, help="whether the product is configured for Redis Cluster (Langfuse "
                                                 "REDIS_CLUSTER_ENABLED); default: true only for redis+cluster://"),
})
def cluster_mode(ctx: Any, p: dict[str, Any]) -> Verdict:
    """INFO cluster_enabled agrees with the product's configuration (Cluster without client support: CROSSSLOT)."""
    expected = p["cluster_expected"]
    if expected is None:
        expected = ctx.client.endpoint.topology == "cluster"

    def judge(i: dict[str, Any]) -> Verdict:
        enabled = i.get("cluster_enabled")
        if enabled is None:
            return undecided("INFO has no cluster_enabled field")
        evidence = {"cluster_enabled": enabled, "product_expects_cluster": expected}
        if bool(int(enabled)) == expected:
            return passed(f"cluster_enabled is {enabled}, as the product is configured", **evidence)
        if enabled:
            return failed("the server runs in Cluster mode but the product is not configured for it: multi-key "
                          "commands fail with CROSSSLOT", **evidence)
        return failed("the product expects Redis Cluster but the server is standalone", **evidence)

    return per_node(_info(ctx), judge)


@probe("redis.memory-vs-limit", target="redis", reads=("statefulsets", "deployments"), params={
    "memory_limit": Param("str", _OPT, help="the Redis container's memory limit (e.g. 2Gi); default: read from the "
                                            "kubernetes target"),
    "max_ratio": Param("number", 0.8, help="highest acceptable maxmemory / container limit"),
})
def memory_vs_limit(ctx: Any, p: dict[str, Any]) -> Verdict:
    """maxmemory at most `max_ratio` of the container's memory limit (room for forks, buffers, fragmentation); the
    limit is given, or read from the Redis StatefulSet/Deployment of the kubernetes target."""
    if p["memory_limit"] is None:
        import math

        from readiness.checks import _kubernetes_facts as kf

        ctx.session("kubernetes")  # raises "needs the kubernetes target" when it is not configured
        found = kf.container_resources(ctx, "redis")
        if found is None:
            return undecided("no Redis StatefulSet or Deployment in the kubernetes target's namespaces (a managed "
                             "Redis has none): give the container's limit as memory_limit (e.g. 2Gi), or waive this "
                             "item for a managed Redis")
        where = f"the Redis container of {found['workload']}"
        raw = found["limits"].get("memory")
        if raw is None:
            return failed(f"{where} has no memory limit: Redis and its background-save fork can take the node's "
                          f"memory; set resources.limits.memory, and maxmemory at most {p['max_ratio']:.0%} of it",
                          workload=found["workload"], container=found["container"])
        limit = kf.quantity(raw)
        if limit is None or not math.isfinite(limit) or limit <= 0:
            return undecided(f"{where} has a memory limit that is not a quantity ({show(str(raw), 40)})",
                             workload=found["workload"])
    else:
        limit = parse_size(p["memory_limit"])

    def judge(i: dict[str, Any]) -> Verdict:
        maxmemory = i.get("maxmemory")
        evidence = {"maxmemory": maxmemory, "memory_limit": limit, "max_ratio": p["max_ratio"]}
        if not isinstance(maxmemory, int):
            return undecided("INFO memory has no maxmemory", **evidence)
        if maxmemory == 0:
            return failed(f"maxmemory is 0 (unbounded): Redis will be OOM-killed at the {human_bytes(limit)} limit "
                          "instead of refusing writes", **evidence)
        ratio = maxmemory / limit
        verdict = passed if ratio <= p["max_ratio"] else failed
        return verdict(f"maxmemory {human_bytes(maxmemory)} is {ratio:.0%} of the {human_bytes(limit)} limit "
                       f"(max {p['max_ratio']:.0%})", **evidence)

    return per_node(_info(ctx), judge)
