"""Redis probes on the server and its session: any INFO field or CONFIG parameter, reachability, authentication,
TLS, whether it is managed, and its topology (Sentinel, Cluster).  Memory and clients are in redis_capacity, what the
keyspace holds (queues, failed jobs, TTLs, foreign keys) in redis_keys.  Read commands only: connection, topology and
the read-only guard live in readiness.clients.redis."""

from __future__ import annotations

from typing import Any

from readiness.checks import _products as products
from readiness.checks._common import classify_host, is_local, listing
from readiness.checks._redis_facts import ConfigRefused, pairs, per_node
from readiness.checks._redis_facts import config as _config
from readiness.checks._redis_facts import info as _info

from readiness.matchers import MISSING
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

_OPT = None


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
