"""Redis probes on memory and clients: headroom under maxmemory, maxmemory against the container's limit, and
maxclients against the workers' pools.  INFO is read once per target (per node on a cluster)."""

from __future__ import annotations

from typing import Any, TypeGuard

from readiness.checks._common import human_bytes, parse_size
from readiness.checks._files_facts import files, locations, written_number
from readiness.checks._redis_facts import ConfigRefused, per_node, show
from readiness.checks._redis_facts import config as _config
from readiness.checks._redis_facts import info as _info

from readiness.probe import Param, Verdict, failed, passed, probe, undecided

_OPT = None


def _bytes(value: Any) -> TypeGuard[int]:
    """A byte count INFO can really give: an int (not a bool) that is not negative; anything else is no reading."""
    return type(value) is int and value >= 0


@probe("redis.memory-headroom", target="redis", params={
    "max_ratio": Param("number", 0.8, help="highest acceptable used_memory / maxmemory"),
})
def memory_headroom(ctx: Any, p: dict[str, Any]) -> Verdict:
    """used_memory / maxmemory below `max_ratio`; an unbounded maxmemory (0) fails: there is no headroom to speak of."""
    def judge(i: dict[str, Any]) -> Verdict:
        used, limit = i.get("used_memory"), i.get("maxmemory")
        if not _bytes(used) or not _bytes(limit):
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
        if not _bytes(maxmemory):
            return undecided("INFO memory has no maxmemory", **evidence)
        if maxmemory == 0:
            return failed(f"maxmemory is 0 (unbounded): Redis will be OOM-killed at the {human_bytes(limit)} limit "
                          "instead of refusing writes", **evidence)
        ratio = maxmemory / limit
        verdict = passed if ratio <= p["max_ratio"] else failed
        return verdict(f"maxmemory {human_bytes(maxmemory)} is {ratio:.0%} of the {human_bytes(limit)} limit "
                       f"(max {p['max_ratio']:.0%})", **evidence)

    return per_node(_info(ctx), judge)
