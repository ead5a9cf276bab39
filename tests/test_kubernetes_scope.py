"""The datastore items judge the product's release, never a name regex across the cluster: another team's
``monitoring/clickhouse-logs`` or another release's ``other-clickhouse`` is never the product's ClickHouse, an
unidentified product is an error that says what to set, and ``within_release: false`` points an item at a datastore
run outside the chart.  Also: a PodDisruptionBudget's empty selector selects every pod of its namespace, and the
memory-limits item finds the release's workloads when the release comes from the chart's labels.  Live against the
fake API server and offline on the same objects as manifests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from checklists import only
from fake_k8s import FakeCluster, audit_k8s, live_targets, load

GOOD = ("good.yaml", "langsmith-services.yaml")
STORE_ITEMS = ["k8s.volume-expansion", "k8s.ssd-storageclass", "k8s.clickhouse-pvcs-bound", "k8s.clickhouse-pods-ready",
               "k8s.no-network-filesystem", "k8s.no-pending-pvcs", "k8s.clickhouse-volume-size",
               "k8s.single-replica-protected"]
LIVE_ONLY = {"k8s.clickhouse-pvcs-bound", "k8s.clickhouse-pods-ready", "k8s.no-pending-pvcs"}
EFS = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "efs-sc"},
       "provisioner": "efs.csi.aws.com", "allowVolumeExpansion": False}


def clickhouse(name: str, ns: str, labels: dict[str, str], claim: str = "data") -> list[dict[str, Any]]:
    """A one-replica ClickHouse with every fault the items look for: no PDB, a small EFS volume whose PVC is
    Pending for days, a pod that is not Ready."""
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": ns,
                                                                        "labels": labels},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                        {"name": "clickhouse", "image": "clickhouse/clickhouse-server:24.8"}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": claim}, "spec": {
                        "storageClassName": "efs-sc", "resources": {"requests": {"storage": "8Gi"}}}}]}}
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": f"{claim}-{name}-0", "namespace": ns, "creationTimestamp": "2026-11-01T00:00:00Z"},
           "spec": {"storageClassName": "efs-sc", "resources": {"requests": {"storage": "8Gi"}}},
           "status": {"phase": "Pending"}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{name}-0", "namespace": ns,
                                                           "labels": {"app": name}},
           "spec": {"containers": [{"name": "clickhouse", "image": "clickhouse/clickhouse-server:24.8"}]},
           "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}}
    return [sts, pvc, pod]


def foreign() -> list[dict[str, Any]]:
    """Another team's ClickHouse in its own namespace, and another release's beside the product."""
    return [EFS, *clickhouse("clickhouse-logs", "monitoring", {"app.kubernetes.io/name": "clickhouse"}),
            *clickhouse("other-clickhouse", "langsmith", {"app.kubernetes.io/name": "clickhouse",
                                                          "app.kubernetes.io/instance": "other"})]


def write(tmp_path: Path, objects: list[dict[str, Any]]) -> str:
    directory = tmp_path / "manifests"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "all.yaml").write_text(yaml.safe_dump_all(objects))
    return str(directory)


def offline(tmp_path: Path, objects: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"preset": "langsmith", "kubernetes": {"manifests": write(tmp_path, objects), "release": "langsmith",
                                                  **extra}}


def unlabelled(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without the chart's labels (app.kubernetes.io/name, helm.sh/chart) on its metadata."""
    out = copy.deepcopy(obj)
    for key in ("app.kubernetes.io/name", "helm.sh/chart"):
        out.get("metadata", {}).get("labels", {}).pop(key, None)
    return out


def statuses(results: Any, items: list[str]) -> dict[str, str]:
    return {i: results[i].status for i in items}


def test_foreign_clickhouses_are_never_the_products_live(tmp_path: Path) -> None:
    """Every namespace is read (no namespace set): the foreign ClickHouses are seen, and judged by none of the
    items (the old regex failed every item on them)."""
    with FakeCluster([*load(*GOOD), *foreign()]) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path, namespace=""), STORE_ITEMS)
    assert statuses(results, STORE_ITEMS) == dict.fromkeys(STORE_ITEMS, "pass"), \
        {i: results[i].message for i in STORE_ITEMS}
    for item in STORE_ITEMS:
        assert "clickhouse-logs" not in results[item].message and "other-clickhouse" not in results[item].message


def test_foreign_clickhouses_are_never_the_products_offline(tmp_path: Path) -> None:
    results, _ = audit_k8s(tmp_path, offline(tmp_path, [*load(*GOOD), *foreign()]), STORE_ITEMS)
    judged = [i for i in STORE_ITEMS if i not in LIVE_ONLY]
    assert statuses(results, judged) == dict.fromkeys(judged, "pass"), {i: results[i].message for i in judged}


def test_only_foreign_clickhouses_never_pass_nor_fail(tmp_path: Path) -> None:
    """The product's own ClickHouse is absent: the foreign ones do not stand in for it."""
    objects = [o for o in load(*GOOD) if "chi-traces" not in str(o.get("metadata", {}).get("name", ""))]
    with FakeCluster([*objects, *foreign()]) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path, namespace=""), STORE_ITEMS)
    for item in STORE_ITEMS:
        assert results[item].status in ("skipped", "error"), (item, results[item].status, results[item].message)


def test_an_unidentified_product_is_an_error_that_says_what_to_set(tmp_path: Path) -> None:
    """No release configured and no Deployment labelled with the chart: nothing is the product's."""
    objects = [unlabelled(o) for o in load("good.yaml") if o.get("kind") != "List"] + foreign()
    targets = {"preset": "langsmith", "kubernetes": {"manifests": write(tmp_path, objects)}}
    results, _ = audit_k8s(tmp_path / "a", targets, STORE_ITEMS)
    judged = [i for i in STORE_ITEMS if i not in LIVE_ONLY]
    assert statuses(results, judged) == dict.fromkeys(judged, "error"), {i: results[i].message for i in judged}
    for item in judged:
        assert "set release and namespace in the kubernetes target" in results[item].message, results[item].message
    with FakeCluster(objects) as cluster:
        targets = {"preset": "langsmith", "kubernetes": {"kubeconfig": str(cluster.kubeconfig(tmp_path / "kc")),
                                                         "context": "fake"}}
        results, _ = audit_k8s(tmp_path / "b", targets, STORE_ITEMS)
    assert statuses(results, STORE_ITEMS) == dict.fromkeys(STORE_ITEMS, "error"), \
        {i: results[i].message for i in STORE_ITEMS}


def _external_item(item: str, probe: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"id": item, "title": "external", "level": "required", "probe": probe, "rationale": "test",
            "with": params}


def test_within_release_false_points_an_item_at_an_external_clickhouse(tmp_path: Path) -> None:
    """A ClickHouse run outside the chart, in its own namespace, is judged when the item says so."""
    extra = [_external_item("x.size", "kubernetes.volume-size", {"match": "clickhouse-logs", "within_release": False}),
             _external_item("x.scoped", "kubernetes.volume-size", {"match": "clickhouse-logs"})]
    objects = [*load(*GOOD), *clickhouse("clickhouse-logs", "monitoring", {})]
    with FakeCluster(objects) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path, namespaces=["langsmith", "monitoring"]),
                               ["x.size", "x.scoped"], extra=extra)
    assert results["x.size"].status == "fail", results["x.size"].message
    assert "monitoring/data-clickhouse-logs-0 requests 8Gi" in results["x.size"].message
    assert results["x.scoped"].status != "fail", results["x.scoped"].message  # within the release: not there


def _pdb_selector(selector: Any) -> list[dict[str, Any]]:
    objects = copy.deepcopy(load(*GOOD))
    for obj in objects:
        if obj.get("kind") == "PodDisruptionBudget":
            obj["spec"]["selector"] = selector
    return objects


@pytest.mark.parametrize("selector,status", [({}, "pass"), (None, "fail"), ({"matchLabels": {"x": "y"}}, "fail"),
                                             ({"matchLabels": "all"}, "fail")])
def test_an_empty_pdb_selector_selects_every_pod_of_its_namespace(selector: Any, status: str,
                                                                   tmp_path: Path) -> None:
    """policy/v1: selector {} selects every pod in the namespace; null selects none; an unreadable one none."""
    item = ["k8s.single-replica-protected"]
    with FakeCluster(_pdb_selector(selector)) as cluster:
        results, _ = audit_k8s(tmp_path / "live", live_targets(cluster, tmp_path), item)
    assert results[item[0]].status == status, results[item[0]].message
    results, _ = audit_k8s(tmp_path / "off", offline(tmp_path, _pdb_selector(selector), namespace="langsmith"), item)
    assert results[item[0]].status == status, results[item[0]].message


def _redis_without_limit(release: str = "langsmith") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": f"{release}-redis", "namespace": "langsmith",
                         "labels": {"app.kubernetes.io/instance": release, "app.kubernetes.io/component": "redis"}},
            "spec": {"replicas": 1, "updateStrategy": {"type": "OnDelete"},
                     "selector": {"matchLabels": {"app.kubernetes.io/component": "redis"}},
                     "template": {"metadata": {"labels": {"app.kubernetes.io/component": "redis"}},
                                  "spec": {"containers": [{"name": "redis", "image": "redis:7",
                                                           "resources": {"limits": {"cpu": "1"}}}]}}}}


def _chart_labelled() -> list[dict[str, Any]]:
    """The fixtures with the chart's name label on the service Deployments, so the release is found from labels."""
    objects = copy.deepcopy(load(*GOOD))
    for obj in objects:
        for o in obj.get("items", [obj]):
            if o.get("kind") == "Deployment" and o["metadata"].get("labels", {}).get(
                    "app.kubernetes.io/instance") == "langsmith":
                o["metadata"]["labels"]["app.kubernetes.io/name"] = "langsmith"
    return objects


def test_memory_limits_finds_the_releases_datastores_from_the_charts_labels(tmp_path: Path) -> None:
    """No release in the target: identified from the labels, its Redis StatefulSet without a limit fails."""
    item = ["k8s.memory-limits"]
    objects = [*_chart_labelled(), _redis_without_limit()]
    with FakeCluster(objects) as cluster:
        targets = live_targets(cluster, tmp_path, release="")
        results, _ = audit_k8s(tmp_path / "live", targets, item)
    assert results[item[0]].status == "fail", results[item[0]].message
    assert "langsmith/langsmith-redis container redis has no memory limit" in results[item[0]].message
    targets = {"preset": "langsmith", "kubernetes": {"manifests": write(tmp_path, objects), "namespace": "langsmith"}}
    results, _ = audit_k8s(tmp_path / "off", targets, item)
    assert results[item[0]].status == "fail", results[item[0]].message


def test_another_releases_redis_is_not_the_products_limit(redis_stack: Any, tmp_path: Path) -> None:
    """Another release's other-redis beside the product (its limit 64Mi would fail maxmemory 64Mi) is not the
    product's Redis: with none of the product's, the limit is unknown (error), never judged on the other one."""
    from helpers import audit

    other = _redis_without_limit("other")
    other["metadata"]["name"] = "other-redis"
    other["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"memory": "64Mi"}}
    with FakeCluster([*load("good.yaml"), other]) as cluster:
        targets = {**live_targets(cluster, tmp_path), **redis_stack.target(redis_stack.good)}
        results, _ = audit(tmp_path, targets, ["redis.memory-vs-limit"], checklist=only("redis", tmp_path))
    r = results["redis.memory-vs-limit"]
    assert r.status == "error" and "no Redis StatefulSet or Deployment" in r.message, r.message


def test_clickhouse_ssd_ignores_another_namespaces_clickhouse(ch_single: Any, tmp_path: Path) -> None:
    """Every namespace read: monitoring/clickhouse-logs on EFS is not the product's ClickHouse (on gp3)."""
    from helpers import audit

    with FakeCluster([*load(*GOOD), *foreign()]) as cluster:
        targets = {**live_targets(cluster, tmp_path, namespace=""), **ch_single.target()}
        results, _ = audit(tmp_path, targets, ["clickhouse.ssd-storage"], checklist=only("clickhouse", tmp_path))
    r = results["clickhouse.ssd-storage"]
    assert r.status == "pass", r.message
    assert "clickhouse-logs" not in str(r.evidence) and "other-clickhouse" not in str(r.evidence)


@pytest.mark.parametrize("name,claim", [("lf-langfuse-clickhouse-0-0", "clickhouse-storage-volume"),  # 2.0.0 operator
                                        ("lf-clickhouse-shard0", "data")])  # 1.x Bitnami
def test_langfuse_clickhouse_is_found_by_the_charts_names(name: str, claim: str, tmp_path: Path) -> None:
    """Release lf of the Langfuse chart (fullname lf-langfuse): its ClickHouse, unlabelled, is judged by name, its
    PVCs by the claim template; monitoring/clickhouse-logs is not.  The operator's claim is
    clickhouse-storage-volume, which the volume-size item's default must take as a data volume."""
    from test_kubernetes_identity import langfuse

    items = ["k8s.clickhouse-pvcs-bound", "k8s.clickhouse-volume-size", "k8s.single-replica-protected",
             "k8s.clickhouse-pods-ready"]
    objects = [*load("good.yaml")[:3], EFS, *langfuse("lf", "obs"), *clickhouse(name, "obs", {}, claim),
               *clickhouse("clickhouse-logs", "monitoring", {})]
    with FakeCluster(objects) as cluster:
        targets = {"preset": "langfuse", "kubernetes": {
            "kubeconfig": str(cluster.kubeconfig(tmp_path / "kc")), "context": "fake", "release": "lf"}}
        results, _ = audit_k8s(tmp_path, targets, items)
    assert statuses(results, items) == dict.fromkeys(items, "fail"), {i: results[i].message for i in items}
    for item in items:
        assert f"obs/{name}" in results[item].message or f"obs/{claim}-{name}-0" in results[item].message, \
            results[item].message
        assert "clickhouse-logs" not in results[item].message


def test_an_oomkill_in_another_namespace_is_not_the_products(tmp_path: Path) -> None:
    """Every namespace read: a pod named like the product's backend in another namespace is not its pod."""
    objects = copy.deepcopy(load(*GOOD))
    pod = copy.deepcopy(next(o for o in objects if o.get("kind") == "Pod" and "backend" in o["metadata"]["name"]))
    pod["metadata"]["namespace"] = "staging"
    when = "2099-01-01T00:00:00Z"  # always within the window
    pod["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"reason": "OOMKilled", "finishedAt": when}}
    with FakeCluster([*objects, pod]) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path, namespace=""), ["k8s.memory-limits"])
    r = results["k8s.memory-limits"]
    assert r.status == "pass", r.message
