"""The facts other backends' probes read from the kubernetes target (container resources, bundled StatefulSets,
service scale and pool settings, volume classes), live and offline, and the manifests loader's refusals."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fake_k8s import DATA, FakeCluster, audit_k8s, live_targets, offline_targets, served
from hypothesis import given
from hypothesis import strategies as st
from readiness.checks import _kubernetes_facts as kf

from readiness.clients import kubernetes as k8s
from readiness.context import Context, Session


def context(config: dict) -> Context:
    sessions = {"kubernetes": Session("kubernetes", config, 5.0)}
    reads = frozenset(k8s.KNOWN)
    return Context("test", "redis", sessions, {"kubernetes": config}, "langsmith", "production", 5.0,
                   time.monotonic() + 30, reads)
bad = served("bad", "bad.yaml")


def test_facts_live(bad: FakeCluster, tmp_path: Path) -> None:
    ctx = context(live_targets(bad, tmp_path)["kubernetes"])
    redis = kf.container_resources(ctx, "redis")
    assert redis == {"requests": {}, "limits": {"memory": "2Gi"}, "container": "redis",
                     "workload": "langsmith/langsmith-redis", "replicas": 1}
    assert kf.container_resources(ctx, "postgres") is None
    assert [(s, kf.name(o)) for s, o in kf.bundled_workloads(ctx)] == [
        ("clickhouse", "langsmith-clickhouse"), ("redis", "langsmith-redis")]
    scale = {s["component"]: s for s in kf.service_scale(ctx, ["backend", "queue", "frontend", "listener"])}
    assert scale["backend"]["max_replicas"] == 10 and scale["backend"]["replicas"] == 1
    assert scale["queue"]["max_replicas"] == 100  # its ScaledObject gives no maxReplicaCount: KEDA's default 100
    assert scale["frontend"]["max_replicas"] == 1 and "listener" not in scale
    classes = kf.volume_classes(ctx, "clickhouse")
    assert classes["PVC langsmith/data-langsmith-clickhouse-0"] == {"class": "efs-sc",
                                                                   "provisioner": "efs.csi.aws.com", "type": None}
    assert {c["class"] for c in kf.volume_classes(ctx, "redis").values()} == {"gp2"}  # no class: the default one


def test_facts_offline_and_env(tmp_path: Path) -> None:
    ctx = context(offline_targets(tmp_path, "good.yaml")["kubernetes"])
    backend = next(s for s in kf.service_scale(ctx, ["backend"]))
    assert backend["env"] == {"POSTGRES_POOL_SIZE": "10"} and backend["max_replicas"] == 10
    assert kf.bundled_workloads(ctx) == []
    assert kf.container_resources(ctx, "clickhouse")["limits"] == {"cpu": "8", "memory": "32Gi"}
    assert kf.connection_demand(ctx, ["backend", "queue"]) == (
        [{"name": "langsmith/langsmith-backend", "replicas": 10, "pool_size": 10}], [])  # the queue has no DB env
    assert kf.pool_size({"DATABASE_URL": "postgresql://u@h/db?schema=public&connection_limit=7"}) == 7
    assert kf.pool_size({"DATABASE_URL": "postgresql://u@h/db"}) is None
    assert {c["type"] for c in kf.volume_classes(ctx, "clickhouse").values()} == {"gp3"}


def test_helm_template_output_without_namespaces_is_the_targets_namespace(tmp_path: Path) -> None:
    text = "\n".join(line for line in (DATA / "bad.yaml").read_text().splitlines()
                     if not line.strip().startswith("namespace: langsmith"))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "rendered.yaml").write_text(text.replace("__RECENT__", "2026-01-01T00:00:00Z"))
    targets = {"preset": "langsmith", "kubernetes": {"manifests": str(tmp_path / "m"), "namespace": "langsmith",
                                                     "release": "langsmith"}}
    ids = ["k8s.hpa-coverage", "k8s.bundled-datastores", "k8s.ingress-tls", "k8s.clickhouse-volume-size"]
    results, _ = audit_k8s(tmp_path, targets, ids)
    assert {i: results[i].status for i in ids} == dict.fromkeys(ids, "fail"), {i: results[i].message for i in ids}


@pytest.mark.parametrize(("text", "message"), [
    ("kind: Deployment\napiVersion: apps/v1\nmetadata: nope\n", "a Deployment has no metadata.name"),
    ("replicaCount: 3\nimage: {tag: latest}\n", "no kind or apiVersion"),
    ("kind: List\napiVersion: v1\nitems: [{kind: Pod, apiVersion: v1, metadata: {name: p, namespace: [x]}}]\n",
     "metadata.namespace is not a string"),
])
def test_manifests_that_are_not_objects_are_refused(text: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(text)
    with pytest.raises(k8s.KubernetesError, match=message):
        k8s.connect({"manifests": str(tmp_path)}, 1.0)


def test_a_read_the_probe_did_not_declare_is_refused(tmp_path: Path) -> None:
    config = offline_targets(tmp_path, "good.yaml")["kubernetes"]
    ctx = Context("k8s.x", "kubernetes", {"kubernetes": Session("kubernetes", config, 5.0)},
                  {"kubernetes": config}, "langsmith", "production", 5.0, time.monotonic() + 30, frozenset({"pods"}))
    assert kf.objects(ctx, "pods")
    with pytest.raises(kf.UndeclaredRead, match="reads deployments but its probe does not declare it"):
        kf.objects(ctx, "deployments")


def test_a_database_client_without_a_pool_size_in_its_env_is_unknown(tmp_path: Path) -> None:
    text = (DATA / "good.yaml").read_text().replace(
        '- {name: POSTGRES_POOL_SIZE, value: "10"}',
        "- {name: DATABASE_URL, valueFrom: {secretKeyRef: {name: langsmith-postgres, key: url}}}")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "all.yaml").write_text(text)
    ctx = context({"manifests": str(tmp_path / "m"), "namespace": "langsmith", "release": "langsmith"})
    assert kf.connection_demand(ctx, ["backend", "queue", "frontend"]) == (
        [], ["langsmith/langsmith-backend (DATABASE_URL from Secret langsmith-postgres, never read)"])


_LABEL_VALUES = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2))


@given(st.one_of(_LABEL_VALUES, st.dictionaries(st.sampled_from(["app.kubernetes.io/instance", "a", ""]),
                                                 _LABEL_VALUES, max_size=3)),
       st.sampled_from(["app.kubernetes.io/instance", "a", "missing"]))
def test_one_label_reads_as_the_copied_labels_do(value: object, key: str) -> None:
    """kf.label (hot: once per object and item) is labels(obj).get(key) without the copy, whatever the labels hold."""
    for obj in ({"metadata": {"labels": value}}, {"metadata": value}, value):
        assert kf.label(obj, key) == kf.labels(obj).get(key)
