"""The items of other backends that need facts from Kubernetes, on real servers plus the fake API server: Redis
maxmemory against the container's limit, PostgreSQL's connection budget from the Deployments' replicas and pools,
ClickHouse volumes' class and memory limit."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from checklists import only
from fake_k8s import FakeCluster, live_targets, load
from fixtures_clickhouse import Deployment
from fixtures_postgres import PgStack
from fixtures_redis import RedisStack
from helpers import audit


def with_redis_limit(limit: str | None) -> list[dict[str, Any]]:
    objects = load("good.yaml")
    sts = copy.deepcopy(next(o for o in load("bad.yaml") if o["metadata"]["name"] == "langsmith-redis"))
    resources = sts["spec"]["template"]["spec"]["containers"][0]["resources"]
    resources["limits"] = {"memory": limit} if limit else {}
    return objects + [sts]


@pytest.mark.parametrize(("limit", "status", "message"), [
    ("128Mi", "pass", "maxmemory 64.0 MiB is 50% of the 128.0 MiB limit (max 80%)"),
    ("64Mi", "fail", "maxmemory 64.0 MiB is 100% of the 64.0 MiB limit (max 80%)"),
    (None, "fail", "the Redis container of langsmith/langsmith-redis has no memory limit"),
])
def test_redis_maxmemory_against_the_container_limit(limit: str | None, status: str, message: str,
                                                      redis_stack: RedisStack, tmp_path: Path) -> None:
    with FakeCluster(with_redis_limit(limit)) as cluster:
        targets = {**live_targets(cluster, tmp_path), **redis_stack.target(redis_stack.good)}
        results, _ = audit(tmp_path, targets, ["redis.memory-vs-limit"], checklist=only("redis", tmp_path))
    r = results["redis.memory-vs-limit"]
    assert (r.status, r.message[:len(message)]) == (status, message), r.message


def test_redis_limit_without_a_redis_workload_is_an_error(redis_stack: RedisStack, tmp_path: Path) -> None:
    with FakeCluster(load("good.yaml")) as cluster:
        targets = {**live_targets(cluster, tmp_path), **redis_stack.target(redis_stack.good)}
        results, _ = audit(tmp_path, targets, ["redis.memory-vs-limit"], checklist=only("redis", tmp_path))
    assert results["redis.memory-vs-limit"].status == "error"
    assert "no Redis StatefulSet or Deployment" in results["redis.memory-vs-limit"].message


def scaled_backend(max_replicas: int, pool: int) -> list[dict[str, Any]]:
    objects = copy.deepcopy(load("good.yaml"))
    for o in objects:
        if o["kind"] == "List":
            continue
        if o["kind"] == "HorizontalPodAutoscaler" and o["metadata"]["name"] == "langsmith-backend":
            o["spec"]["maxReplicas"] = max_replicas
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "langsmith-backend":
            o["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "POSTGRES_POOL_SIZE",
                                                                      "value": str(pool)}]
    return objects


@pytest.mark.parametrize(("max_replicas", "pool", "status"), [(4, 5, "pass"), (40, 20, "fail")])
def test_postgres_connection_budget_from_the_deployments(max_replicas: int, pool: int, status: str,
                                                         pg_stack: PgStack, tmp_path: Path) -> None:
    with FakeCluster(scaled_backend(max_replicas, pool)) as cluster:
        targets = {**live_targets(cluster, tmp_path), **pg_stack.target(pg_stack.good)}
        results, _ = audit(tmp_path, targets, ["postgres.connection-budget"], checklist=only("postgres", tmp_path))
    r = results["postgres.connection-budget"]
    assert r.status == status, r.message
    assert r.evidence["demand"] == max_replicas * pool
    assert r.evidence["workloads"] == {"langsmith/langsmith-backend": max_replicas * pool}


def test_configmaps_no_workload_names_are_never_listed(pg_stack: PgStack, tmp_path: Path) -> None:
    """No Deployment takes env from a ConfigMap: the connection budget never lists ConfigMaps, not even ahead while
    the Deployments are slow, so their 403 neither reaches the API server's audit log nor changes the verdict."""
    with FakeCluster(scaled_backend(4, 5), forbidden={"configmaps"}, slow={"deployments"},
                     slow_seconds=0.5) as cluster:
        targets = {**live_targets(cluster, tmp_path), **pg_stack.target(pg_stack.good)}
        results, _ = audit(tmp_path, targets, ["postgres.connection-budget"], checklist=only("postgres", tmp_path))
        asked = [r for r in cluster.requests if "/configmaps" in r]
    assert results["postgres.connection-budget"].status == "pass", results["postgres.connection-budget"].message
    assert asked == []


def test_langsmith_asyncpg_pool_size_is_counted(pg_stack: PgStack, tmp_path: Path) -> None:
    # LangSmith's queue sets ASYNCPG_POOL_MAX_SIZE (charts/langsmith 0.17 templates/queue/deployment.yaml)
    objects = scaled_backend(10, 3)
    for o in objects:
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "langsmith-backend":
            o["spec"]["template"]["spec"]["containers"][0]["env"] = [
                {"name": "POSTGRES_DATABASE_URI", "valueFrom": {"secretKeyRef": {"name": "langsmith-postgres",
                                                                                 "key": "connection_url"}}},
                {"name": "ASYNCPG_POOL_MAX_SIZE", "value": "3"}]
    with FakeCluster(objects) as cluster:
        targets = {**live_targets(cluster, tmp_path), **pg_stack.target(pg_stack.good)}
        results, _ = audit(tmp_path, targets, ["postgres.connection-budget"], checklist=only("postgres", tmp_path))
    r = results["postgres.connection-budget"]
    assert r.status == "pass", r.message
    assert r.evidence["workloads"] == {"langsmith/langsmith-backend": 30}


@pytest.mark.parametrize(("fixture", "status"), [("good.yaml", "pass"), ("bad.yaml", "fail")])
def test_clickhouse_ssd_from_the_volumes_class(fixture: str, status: str, ch_single: Deployment,
                                               tmp_path: Path) -> None:
    with FakeCluster(load(fixture)) as cluster:
        targets = {**live_targets(cluster, tmp_path), **ch_single.target()}
        results, _ = audit(tmp_path, targets, ["clickhouse.ssd-storage"], checklist=only("clickhouse", tmp_path))
    assert results["clickhouse.ssd-storage"].status == status, results["clickhouse.ssd-storage"].message


def with_clickhouse_limit(memory: str | None) -> list[dict[str, Any]]:
    objects = copy.deepcopy(load("good.yaml"))
    for o in objects:
        if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "chi-traces-main-0-0":
            resources = o["spec"]["template"]["spec"]["containers"][0]["resources"]
            resources["limits"] = {"cpu": "8", **({"memory": memory} if memory else {})}
    return objects


def test_clickhouse_memory_against_the_pods_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """On a current ClickHouse (chdb: 18.16 has no system.server_settings): max_server_memory_usage against the
    container's limit, with limits chosen from the value the engine reports."""
    import chdb_engine

    rows = chdb_engine.engine().query("SELECT value FROM system.server_settings WHERE name = "
                                      "'max_server_memory_usage'", "CSV")
    usage = int(str(rows).strip().strip('"'))
    target = chdb_engine.use_chdb(monkeypatch)
    cases = {f"{max(usage * 2, 9 * 2**30)}": "pass", f"{usage}": "fail", "4Gi": "fail", None: "fail"}
    for i, (memory, status) in enumerate(cases.items()):
        with FakeCluster(with_clickhouse_limit(memory)) as cluster:
            work = tmp_path / str(i)
            work.mkdir()
            targets = {**live_targets(cluster, work), **target}
            results, _ = audit(work, targets, ["clickhouse.memory-vs-limit"], checklist=only("clickhouse", work))
        r = results["clickhouse.memory-vs-limit"]
        assert r.status == status, (memory, r.message)


@pytest.mark.parametrize(("cpu", "memory", "status"), [("8", "32Gi", "pass"), ("2", "4Gi", "fail")])
def test_clickhouse_node_resources_from_the_pods_limits(cpu: str, memory: str, status: str, ch_single: Deployment,
                                                        tmp_path: Path) -> None:
    """18.16 cannot report its cgroup limits: the pods' limits from Kubernetes decide."""
    objects = with_clickhouse_limit(memory)
    for o in objects:
        if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "chi-traces-main-0-0":
            o["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = cpu
    with FakeCluster(objects) as cluster:
        targets = {**live_targets(cluster, tmp_path), **ch_single.target()}
        results, _ = audit(tmp_path, targets, ["clickhouse.node-resources"], checklist=only("clickhouse", tmp_path))
    r = results["clickhouse.node-resources"]
    assert r.status == status, r.message


def queue_env_from(source: dict[str, Any]) -> list[dict[str, Any]]:
    """The backend (4 x 5 connections) plus the queue, whose database settings come through envFrom ``source``; a
    ConfigMap gives it a pool of 30 (x its ScaledObject's 20 replicas: 600, beyond the budget of 157)."""
    objects = scaled_backend(4, 5)
    for o in objects:
        for dep in o["items"] if o["kind"] == "List" else [o]:
            if dep["kind"] == "Deployment" and dep["metadata"]["name"] == "langsmith-queue":
                dep["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [source]
    objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "queue-db", "namespace": "langsmith"},
                    "data": {"POSTGRES_POOL_SIZE": "30", "POSTGRES_DB": "langsmith"}})
    return objects


@pytest.mark.parametrize(("source", "status", "message"), [
    ({"configMapRef": {"name": "queue-db"}}, "fail", "the application may open 620 connections at peak"),
    ({"secretRef": {"name": "queue-db"}}, "error", "the connection demand cannot be counted: the pool size of "
                                                   "langsmith/langsmith-queue (envFrom Secret queue-db, never read)"),
])
def test_postgres_connection_budget_counts_env_from_configmaps(source: dict[str, Any], status: str, message: str,
                                                               pg_stack: PgStack, tmp_path: Path) -> None:
    with FakeCluster(queue_env_from(source)) as cluster:
        targets = {**live_targets(cluster, tmp_path), **pg_stack.target(pg_stack.good)}
        results, _ = audit(tmp_path, targets, ["postgres.connection-budget"], checklist=only("postgres", tmp_path))
        assert not any("/secrets" in r for r in cluster.requests)
    r = results["postgres.connection-budget"]
    assert (r.status, r.message[:len(message)]) == (status, message), r.message
