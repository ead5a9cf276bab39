"""Redis probes on what the keyspace holds: queue backlogs and failed-job sets (known queues read by name, a bounded
scan for the others), keys without a TTL, and keys of other products.  SCAN is bounded by scan_limit, never KEYS."""

from __future__ import annotations

from collections import Counter
from typing import Any

from readiness.checks import _products as products
from readiness.checks import _redis_queues as rq
from readiness.checks._common import globs_match, listing
from readiness.checks._redis_facts import UnexpectedReply, keyed_answers, scan, show
from readiness.checks._redis_facts import info as _info

from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

_OPT = None
# 10 000 keys: the same work on a 2 000 000-key Redis as on a small one (a scan cut short is a stated sample).
_SCAN_LIMIT = Param("int", 10000, help="keys examined per node at most (SCAN COUNT 1000, never KEYS); a scan cut "
                                       "short by the limit is judged as a sample and says so")


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
