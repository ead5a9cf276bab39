"""What the products deploy, as data: their charts, service components and bundled datastores.

One definition serves every backend: the Kubernetes facts find the product's workloads and its bundled datastores
here, the compose checks take their datastore images from here, and redis.external / postgres.managed their
bundled host names.  Each fact names where it was read; a new chart release is a change of this table (and a test).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Both charts name objects <fullname>-<component>: fullname is the release when it contains the chart name, else
# <release>-<chart> (langchain-ai/helm charts/langsmith/templates/_helpers.tpl "langsmith.fullname", chart
# 0.17.0-rc.12; langfuse/langfuse-k8s charts/langfuse/templates/_helpers.tpl "langfuse.fullname", chart 2.0.0).
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"
NAME = "app.kubernetes.io/name"
CHART = "helm.sh/chart"


@dataclass(frozen=True)
class Service:
    """A service Deployment (or, with ``<key>.rollout.enabled``, an Argo Rollout) of a product's chart."""

    component: str                   # <fullname>-<component>
    enabled_by: tuple[str, ...] = ()  # the values switches the chart renders it under, every one needed ("a|b":
    #                                   either key); empty: always rendered.  Their defaults: Product.switches


@dataclass(frozen=True)
class Workload:
    """A datastore the chart (or its subchart) runs itself: kind and name, {release}/{fullname} filled in."""

    store: str          # postgres | redis | clickhouse
    kind: str           # StatefulSet | Deployment
    name: str           # a regex matched against the whole name, after {release}/{fullname} substitution
    source: str


@dataclass(frozen=True)
class Product:
    chart: str | None   # the chart's name (app.kubernetes.io/name, helm.sh/chart <chart>-<version>); None: no chart
    services: tuple[Service, ...]
    bundled: tuple[Workload, ...]
    switches: tuple[tuple[str, bool], ...] = ()  # (values key, its default in the chart's values.yaml)

    def default(self, key: str) -> bool:
        return dict(self.switches).get(key, True)

    def components(self) -> list[str]:
        return [s.component for s in self.services]

    def service(self, component: str) -> Service | None:
        return next((s for s in self.services if s.component == component), None)


_LS = "langchain-ai/helm charts/langsmith 0.17.0-rc.12"
_LF2 = "langfuse/langfuse-k8s charts/langfuse 2.0.0"
_LF1 = "langfuse/langfuse-k8s charts/langfuse 1.5.9 (Bitnami subcharts)"

PRODUCTS: dict[str, Product] = {
    # templates/<component>/deployment.yaml and values.yaml: ingest-queue and frontend render under their
    # .enabled, the listener under config.deployment.enabled, host-backend under that or hostBackend.enabled;
    # templates/agent-features/{insights,polly}/{api-server,queue}/deployment.yaml as
    # <fullname>-standalone-{insights,polly}-{api-server,queue} (namePrefix), insights also under engine.enabled
    "langsmith": Product("langsmith", (
        Service("backend"), Service("platform-backend"), Service("queue"),
        Service("ingest-queue", ("ingestQueue.enabled",)), Service("frontend", ("frontend.enabled",)),
        Service("playground"), Service("ace-backend"),
        Service("listener", ("config.deployment.enabled",)),
        Service("host-backend", ("config.deployment.enabled|hostBackend.enabled",)),
        Service("standalone-insights-api-server", ("insights.enabled|engine.enabled",)),
        Service("standalone-insights-queue", ("insights.enabled|engine.enabled", "engineInsightsAgent.queue.enabled")),
        Service("standalone-polly-api-server", ("polly.enabled",)),
        Service("standalone-polly-queue", ("polly.enabled", "polly.queue.enabled")),
    ), (
        # templates/{postgres,redis,clickhouse}/stateful-set.yaml (unless <store>.external.enabled), and the
        # default-on agent features' templates/agent-features/{insights,polly}/{postgres,redis}/statefulset.yaml
        Workload("postgres", "StatefulSet", r"{fullname}-postgres", _LS),
        Workload("redis", "StatefulSet", r"{fullname}-redis", _LS),
        Workload("clickhouse", "StatefulSet", r"{fullname}-clickhouse", _LS),
        *(Workload(store, "StatefulSet", f"{{agent}}-standalone-{feature}-{store}", _LS)
          for feature in ("insights", "polly") for store in ("postgres", "redis")),
    ), (
        ("ingestQueue.enabled", True), ("frontend.enabled", True), ("config.deployment.enabled", False),
        ("hostBackend.enabled", False), ("insights.enabled", True), ("engine.enabled", False),
        ("engineInsightsAgent.queue.enabled", True), ("polly.enabled", True), ("polly.queue.enabled", True),
    )),
    # templates/{web,worker}/deployment.yaml: always rendered
    "langfuse": Product("langfuse", (Service("web"), Service("worker")), (
        # 2.0.0: groundhog2k postgres aliased postgresql (StatefulSet), valkey-io valkey aliased redis (a
        # Deployment), ClickHouse through the operator's ClickHouseCluster (StatefulSets <fullname>-clickhouse-<s>-<r>)
        Workload("postgres", "StatefulSet", r"{release}-postgresql", _LF2),
        Workload("redis", "Deployment", r"{release}-redis", _LF2),
        Workload("clickhouse", "StatefulSet", r"{fullname}-clickhouse-\d+-\d+", _LF2),
        # 1.x: Bitnami postgresql (standalone), valkey aliased redis (<fullname>-primary), clickhouse (-shard<n>)
        Workload("redis", "StatefulSet", r"{release}-redis-(primary|replicas)", _LF1),
        Workload("clickhouse", "StatefulSet", r"{release}-clickhouse(-shard\d+)?", _LF1),
    )),
    # LangSight ships compose only (no chart): its services are the compose ones, found by release name.  No worker:
    # LANGSIGHT_WORKERS counts uvicorn processes inside `api` (LangSight/langsight docker-compose.yml, api/main.py)
    "langsight": Product(None, (Service("api"),), ()),
}


# Bitnami subcharts as a release's dependency, whatever the product (bitnami/charts: redis templates/master and
# replicas -> <fullname>-master/-replicas; valkey -> -primary/-replicas; postgresql -> <fullname>, -primary, -read)
SUBCHARTS = (
    Workload("redis", "StatefulSet", r"{release}-(redis|valkey)-(master|primary|replicas|node)", "bitnami/charts"),
    Workload("postgres", "StatefulSet", r"{release}-postgresql(-primary|-read)?", "bitnami/charts"),
)


def product(preset: str | None) -> Product | None:
    return PRODUCTS.get(preset or "")


def fullname(release: str, chart: str | None) -> str:
    if chart is None or chart in release:
        return release
    return f"{release}-{chart}"


# --- the datastores, one definition for compose, Kubernetes and host names -----------------------------------------

@dataclass(frozen=True)
class Store:
    names: tuple[str, ...]   # chart / subchart / compose-service names (app.kubernetes.io/name, alias, service)
    roles: str               # suffixes of its Services and StatefulSets (Bitnami -master/-primary/-replicas ...)
    images: tuple[str, ...]  # compose images (name, or path prefix)


STORES: dict[str, Store] = {
    # Bitnami redis -master/-replicas/-headless/-node-N (sentinel), Bitnami valkey -primary; valkey-io valkey none
    "redis": Store(("redis", "valkey"), r"(-master|-primary|-replicas|-headless|-node-\d+)?",
                   ("redis", "valkey", "bitnami/redis", "bitnami/valkey")),
    # Bitnami postgresql -primary/-read/-hl, groundhog2k postgres -headless, a StatefulSet's pod -N
    "postgres": Store(("postgres", "postgresql"), r"(-primary|-read|-hl|-headless|-\d+)?",
                      ("postgres", "bitnami/postgresql")),
    # LangSmith's own, Bitnami -shardN / -headless, the operator's -<shard>-<replica>, Altinity's chi-
    "clickhouse": Store(("clickhouse",), r"(-shard\d+|-headless|-\d+-\d+)?",
                        ("clickhouse", "clickhouse/clickhouse-server", "bitnami/clickhouse")),
}
# Other datastore images (a compose file publishing them is judged like the three above)
OTHER_IMAGES = ("pgbouncer", "minio", "zookeeper", "clickhouse-keeper", "bitnami/pgbouncer", "bitnami/minio",
                "chrislusf/seaweedfs")
LOOPBACK_HOSTS = (r"^localhost$", r"^127\.", r"^::1$")
CLUSTER_HOSTS = r"\.svc(\.cluster\.local)?$"  # any in-cluster Service is operated in the cluster


def datastore_images() -> list[str]:
    return [i for s in STORES.values() for i in s.images] + list(OTHER_IMAGES)


def bundled_hosts(store: str, release: str | None = None) -> list[str]:
    """Regexes of the host names a bundled ``store`` answers on: loopback, its compose service names, the charts'
    Services (``<release>-redis-master``), anything under ``.svc``; with the release, ``^<release>-<store>``."""
    s = STORES[store]
    names = "|".join(s.names)
    out = [*LOOPBACK_HOSTS, rf"^({names}|db)$" if store == "postgres" else rf"^({names})$",
           rf"(^|-)({names}){s.roles}(\.|$)", CLUSTER_HOSTS]
    if store == "postgres":
        out.insert(3, r"^/")  # a unix socket: on this host
    if release:
        out.append(rf"^{re.escape(release)}-({names})")
    return out


def agent_prefix(full: str, suffix: str) -> str:
    """The fullname as the LangSmith agent features' StatefulSets start: cut to 51 - len(suffix) characters, so
    <prefix>-<suffix> stays within 52 (templates/_helpers.tpl "langsmith.agentFeatures.componentName": trunc, then
    trimSuffix "-")."""
    prefix = full[:max(51 - len(suffix), 0)]
    return prefix[:-1] if prefix.endswith("-") else prefix


def workload_store(kind: str, name: str, release: str, fullnames: tuple[str, ...]) -> str | None:
    """The datastore a workload of the release is, by the names the charts give them (None: not one)."""
    for w in [w for prod in PRODUCTS.values() for w in prod.bundled] + list(SUBCHARTS):
        if w.kind == kind:
            for full in fullnames:
                agent = agent_prefix(full, w.name.split("{agent}-", 1)[-1])
                rx = w.name.format(release=re.escape(release), fullname=re.escape(full), agent=re.escape(agent))
                if re.fullmatch(rx, name):
                    return w.store
    return None


def labelled_store(labels: dict[str, str]) -> str | None:
    """The datastore a subchart's workload is by its app.kubernetes.io/name (Bitnami, valkey-io, groundhog2k)."""
    name = labels.get(NAME, "")
    for store, s in STORES.items():
        if name in s.names:
            return store
    return None


# --- MinIO, the S3 of the compose files ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Minio:
    images: tuple[str, ...]
    api_port: int            # container port of the S3 API (minio server --address, default :9000)
    console_port: int        # container port of the web console (--console-address; Langfuse's compose :9001)
    public_api: frozenset[str]  # presets whose browsers reach the S3 API directly (presigned URLs)
    source: str


# langfuse/langfuse docker-compose.yml (commit 00e73ad8, Aug 2026): `minio server --address ":9000"
# --console-address ":9001"`, ports 9090:9000 (every interface) and 127.0.0.1:9091:9001, because browsers upload
# media to MinIO through presigned URLs (LANGFUSE_S3_MEDIA_UPLOAD_ENDPOINT defaults to http://localhost:9090).
MINIO = Minio(("minio", "minio/minio", "quay.io/minio/minio", "bitnami/minio"), 9000, 9001,
              frozenset({"langfuse"}), "langfuse/langfuse docker-compose.yml (00e73ad8)")


# --- what the proxy in front of a product may reach ---------------------------------------------------------------

@dataclass(frozen=True)
class Proxied:
    allowed: tuple[str, ...]         # host:port the proxy should reach (the dashboard)
    forbidden_hosts: tuple[str, ...]  # service / container names that must not be proxied to
    forbidden_ports: tuple[int, ...]
    source: str


# LangSight/langsight docker-compose.yml (commit 14148cc5): service `api` (container langsight-api) listens on
# 8000; service `dashboard` (Next.js, container port 3002) is published as 127.0.0.1:3003. Its hardening guide:
# nginx proxies only to the dashboard, which injects the auth headers; a location proxying to the API bypasses it.
PROXIED: dict[str, Proxied] = {
    "langsight": Proxied(("dashboard:3002", "langsight-dashboard:3002", "127.0.0.1:3003", "localhost:3003"),
                         ("api", "langsight-api"), (8000,), "LangSight/langsight docker-compose.yml (14148cc5)"),
}


# --- the job queues a product keeps in Redis ----------------------------------------------------------------------

# BullMQ queue names: the `*` of the redis queue items' key patterns (bull:*:wait ...), read by name so that a
# large keyspace needs no scan.  langfuse/langfuse packages/shared/src/server/queues.ts, enum QueueName (commit
# 62751446, 2026-08-22; bullmq ^5.76.3).  Sharded queues add <name>-<n> for n >= 1 only when their
# LANGFUSE_*_SHARD_COUNT is above its default of 1: those are found by the scan, not by name.
QUEUES: dict[str, tuple[str, ...]] = {
    "langfuse": (
        "trace-upsert", "trace-delete", "project-delete", "evaluation-execution-queue",
        "secondary-evaluation-execution-queue", "llm-as-a-judge-execution-queue", "code-eval-execution-queue",
        "dataset-run-item-upsert-queue", "batch-export-queue", "otel-ingestion-queue",
        "secondary-otel-ingestion-queue", "ingestion-queue", "secondary-ingestion-queue", "cloud-usage-metering-queue",
        "cloud-spend-alert-queue", "cloud-free-tier-usage-threshold-queue", "experiment-create-queue",
        "posthog-integration-queue", "posthog-integration-processing-queue", "mixpanel-integration-queue",
        "mixpanel-integration-processing-queue", "blobstorage-integration-queue",
        "blobstorage-integration-processing-queue", "core-data-s3-export-queue", "metering-data-postgres-export-queue",
        "data-retention-queue", "data-retention-processing-queue", "batch-action-queue", "create-eval-queue",
        "score-delete", "dataset-delete-queue", "dead-letter-retry-queue", "webhook-queue", "entity-change-queue",
        "event-propagation-queue", "notification-queue", "monitor-queue", "in-app-agent-run-queue",
        "v4-legacy-api-usage-queue",
    ),
    # LangSmith's queue workers are closed source and publish no queue names; LangSight keeps no job queue.
}


def queue_names(preset: str | None) -> tuple[str, ...]:
    """The queue names a preset's product is known to use; without a preset, every product's."""
    if preset:
        return QUEUES.get(preset, ())
    return tuple(dict.fromkeys(n for names in QUEUES.values() for n in names))
