"""What the products' Helm charts call their values, per chart version, as data: the keys the values items judge,
the chart's default for each, the HPA/KEDA switches of each service, and the keys one major version has and the
other silently ignores.  A new chart release is a new ``ChartValues`` row (and a test), not a change to a probe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from readiness.clients.files import Files, Loc

_LF1 = "langfuse/langfuse-k8s charts/langfuse/values.yaml 1.5.41 (Bitnami clickhouse 8.0.5, common 2.30)"
_LF2 = "langfuse/langfuse-k8s charts/langfuse/values.yaml 2.0.0"
_LS = "langchain-ai/helm charts/langsmith/values.yaml 0.17.0-rc.12"


@dataclass(frozen=True)
class Fact:
    key: str
    default: Any = None  # the chart's value when the file leaves the key out (None: not known)


@dataclass(frozen=True)
class Scaling:
    """One service's autoscaler switches (both charts refuse to render with both on, unless validation is off)."""

    service: str
    hpa: str
    keda: str


@dataclass(frozen=True)
class ChartValues:
    product: str
    major: int
    source: str
    facts: dict[str, Fact]
    scaling: tuple[Scaling, ...] = ()
    only: tuple[str, ...] = ()  # keys (or key prefixes) this major version has and the others ignore
    renamed: dict[str, str] = field(default_factory=dict)  # a key of another version -> this version's key


def _langfuse_scaling() -> tuple[Scaling, ...]:
    # values.yaml langfuse.{web,worker}.{hpa,keda}.enabled, both false (same in 1.5.41 and 2.0.0)
    return tuple(Scaling(f"langfuse.{s}", f"langfuse.{s}.hpa.enabled", f"langfuse.{s}.keda.enabled")
                 for s in ("web", "worker"))


# values.yaml <component>.autoscaling.{hpa,keda}.enabled, both false
_LS_SERVICES = ("backend", "platformBackend", "queue", "ingestQueue", "frontend", "playground", "aceBackend")

CHARTS: tuple[ChartValues, ...] = (
    ChartValues("langfuse", 1, _LF1, {
        "clickhouse.replicas": Fact("clickhouse.replicaCount", 3),
        # resourcesPreset 2xlarge through bitnami/common 2.30 templates/_resources.tpl (1.5 / 4096Mi before 2.20.3)
        "clickhouse.requests": Fact("clickhouse.resources.requests", {"cpu": "1.0", "memory": "3072Mi"}),
        "clickhouse.storage": Fact("clickhouse.persistence.size", "8Gi"),  # Bitnami clickhouse persistence.size
        "clickhouse.cluster": Fact("clickhouse.clusterEnabled", True),
        "redis.flags": Fact("redis.primary.extraFlags", ["--maxmemory-policy noeviction"]),
    }, _langfuse_scaling(),
        only=("clickhouse.replicaCount", "clickhouse.resourcesPreset", "clickhouse.resources",
              "clickhouse.persistence", "clickhouse.clusterEnabled", "clickhouse.shards", "clickhouse.zookeeper",
              "redis.primary", "redis.architecture"),
        renamed={"clickhouse.cluster": "clickhouse.replicaCount, clickhouse.resources, clickhouse.persistence.size "
                                       "and clickhouse.clusterEnabled",
                 "redis.valkeyConfig": "redis.primary.extraFlags"}),
    ChartValues("langfuse", 2, _LF2, {
        "clickhouse.replicas": Fact("clickhouse.cluster.replicas", 1),
        "clickhouse.requests": Fact("clickhouse.cluster.resources.requests", {"cpu": "1", "memory": "2Gi"}),
        "clickhouse.storage": Fact("clickhouse.cluster.storage.size", "100Gi"),
        "clickhouse.cluster": Fact("clickhouse.cluster.enabled", True),
        "clickhouse.keeper-replicas": Fact("clickhouse.keeper.replicas", 3),
        "redis.flags": Fact("redis.valkeyConfig", "maxmemory-policy noeviction\n"),
    }, _langfuse_scaling(),
        only=("clickhouse.cluster", "clickhouse.keeper.replicas", "clickhouse.crdCheck", "redis.valkeyConfig"),
        renamed={"clickhouse.replicaCount": "clickhouse.cluster.replicas",
                 "clickhouse.resources": "clickhouse.cluster.resources",
                 "clickhouse.resourcesPreset": "clickhouse.cluster.resources",
                 "clickhouse.persistence.size": "clickhouse.cluster.storage.size",
                 "clickhouse.persistence": "clickhouse.cluster.storage",
                 "clickhouse.clusterEnabled": "clickhouse.cluster.enabled",
                 "clickhouse.zookeeper": "clickhouse.keeper",
                 "redis.primary.extraFlags": "redis.valkeyConfig"}),
    ChartValues("langsmith", 0, _LS, {
        "clickhouse.requests": Fact("clickhouse.statefulSet.resources.requests", {"cpu": "3500m", "memory": "12Gi"}),
        "redis.image-tag": Fact("images.redisImage.tag", "7"),
    }, tuple(Scaling(s, f"{s}.autoscaling.hpa.enabled", f"{s}.autoscaling.keda.enabled") for s in _LS_SERVICES)),
)
CURRENT = {"langfuse": 2, "langsmith": 0}  # assumed when neither the chart nor the file says


@dataclass(frozen=True)
class InUse:
    chart: ChartValues
    why: str          # how the version was told ("chart 2.0.0", "v1 keys: ...", "assumed: ...")
    assumed: bool


def present(f: Files, key: str) -> tuple[bool, Loc | None]:
    _, loc, there = f.values_get(key)
    return there, loc if there else None


def in_use(f: Files, product: str | None) -> InUse | None:
    """The chart version whose key names apply: the rendered chart's version when known, else the one whose
    version-only keys the file holds (the most of them), else the current one, said to be assumed."""
    rows = [c for c in CHARTS if c.product == product]
    if not rows:
        return None
    unknown = ""
    if f.chart_version:
        head = f.chart_version.strip().lstrip("v").split(".", 1)[0]
        match = [c for c in rows if head.isdigit() and c.major == int(head)]
        if match:
            return InUse(match[0], f"chart {f.chart_version}", False)
        unknown = f"chart {f.chart_version[:40]!r} is no version known here; "
    marks = {c.major: [k for k in c.only if present(f, k)[0]] for c in rows}
    best = max(rows, key=lambda c: (len(marks[c.major]), c.major == CURRENT[c.product]))
    if marks[best.major]:
        mixed = [k for m, ks in marks.items() if m != best.major for k in ks]
        why = f"chart v{best.major} keys in the file ({', '.join(marks[best.major][:3])})"
        return InUse(best, unknown + why + (f", beside other versions' ({', '.join(mixed[:3])})" if mixed else ""),
                     bool(unknown))
    current = next(c for c in rows if c.major == CURRENT[c.product])
    if len(rows) == 1:
        return InUse(current, f"{unknown}the chart {current.source.rsplit(' ', 1)[-1]} names", bool(unknown))
    return InUse(current, f"{unknown}chart v{current.major} assumed (the current one): the file holds no key only "
                          "one version has", True)


def dead_keys(f: Files, use: InUse) -> list[tuple[Loc, str]]:
    """Keys of another major version of the chart in this file: the chart in use ignores them without a word."""
    out: list[tuple[Loc, str]] = []
    for other in CHARTS:
        if other.product != use.chart.product or other.major == use.chart.major:
            continue
        for key in other.only:
            there, loc = present(f, key)
            if there and loc is not None and not f.is_default(loc):  # a chart's own defaults are not the team's
                new = use.chart.renamed.get(key)
                instead = f"; v{use.chart.major} reads {new}" if new else ""
                out.append((loc, f"{key} is a chart v{other.major} key: chart v{use.chart.major} ignores it{instead}"))
    return out
