"""Storage items against the fake API server (good and bad EKS clusters), and offline on the same objects as files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_k8s import FakeCluster, assert_statuses, audit_k8s, live_targets, offline_targets, served

STORAGE = ["k8s.ebs-csi-driver", "k8s.ebs-csi-controller-ready", "k8s.default-storageclass", "k8s.volume-expansion",
           "k8s.ssd-storageclass", "k8s.clickhouse-pvcs-bound", "k8s.clickhouse-pods-ready",
           "k8s.no-network-filesystem", "k8s.no-pending-pvcs", "k8s.clickhouse-volume-size"]


good = served("good", "good.yaml", max_page=1)
bad = served("bad", "bad.yaml", max_page=1)


def test_good_cluster_passes_every_storage_item(good: FakeCluster, tmp_path: Path) -> None:
    results, _ = audit_k8s(tmp_path, live_targets(good, tmp_path), STORAGE)
    assert_statuses(results, STORAGE, "pass")
    assert results["k8s.default-storageclass"].message == "default StorageClass gp3 uses ebs.csi.aws.com"
    assert results["k8s.ebs-csi-controller-ready"].message == "kube-system/ebs-csi-controller: 2/2 replicas Ready"


def test_bad_cluster_fails_every_storage_item_for_its_reason(bad: FakeCluster, tmp_path: Path) -> None:
    results, _ = audit_k8s(tmp_path, live_targets(bad, tmp_path), STORAGE)
    assert_statuses(results, STORAGE, "fail")
    msg = {i: results[i].message for i in STORAGE}
    assert "CSIDriver ebs.csi.aws.com is not installed" in msg["k8s.ebs-csi-driver"]
    assert "no Deployment kube-system/ebs-csi-controller" in msg["k8s.ebs-csi-controller-ready"]
    assert "gp2 uses kubernetes.io/aws-ebs (the in-tree EBS plugin" in msg["k8s.default-storageclass"]
    assert "does not allow volume expansion" in msg["k8s.volume-expansion"]
    assert "provisions gp2 volumes" in msg["k8s.ssd-storageclass"]  # redis's PVC: no class, so the default gp2
    assert "langsmith/data-langsmith-clickhouse-0 is Pending" in msg["k8s.clickhouse-pvcs-bound"]
    assert "langsmith/langsmith-clickhouse-0 is not Ready (Pending: 0/3 nodes" in msg["k8s.clickhouse-pods-ready"]
    assert "efs-sc (efs.csi.aws.com)" in msg["k8s.no-network-filesystem"]
    assert "data-langsmith-clickhouse-0 Pending for" in msg["k8s.no-pending-pvcs"]
    assert "requests 8Gi (< 100Gi)" in msg["k8s.clickhouse-volume-size"]


def test_one_list_per_kind_and_page_shared_by_every_item(good: FakeCluster, tmp_path: Path) -> None:
    good.requests.clear()
    audit_k8s(tmp_path, live_targets(good, tmp_path), STORAGE)
    paths = [p.split("?")[0] for p in good.requests]
    pages = [p for p in good.requests if "continue=" in p]
    assert pages, "max_page=1 makes some listings span several pages"
    firsts = [p for p in good.requests if "continue=" not in p and p.split("?")[0] != "/version"]
    assert len(firsts) == len(set(p.split("?")[0] for p in firsts)), sorted(paths)


def test_offline_judges_what_manifests_show_and_skips_live_state(tmp_path: Path) -> None:
    live_only = {"k8s.ebs-csi-controller-ready", "k8s.clickhouse-pvcs-bound", "k8s.clickhouse-pods-ready",
                 "k8s.no-pending-pvcs"}
    for name, verdict in (("good.yaml", "pass"), ("bad.yaml", "fail")):
        results, _ = audit_k8s(tmp_path, offline_targets(tmp_path / name, name), STORAGE)
        for item in STORAGE:
            want = "skipped" if item in live_only else verdict
            if name == "bad.yaml" and item == "k8s.ebs-csi-driver":
                want = "skipped"  # no CSIDriver in the files: absent there is not absent from the cluster
            assert results[item].status == want, (name, item, results[item].message)
        assert results["k8s.clickhouse-pvcs-bound"].message.startswith("needs a live cluster")


def test_helm_template_output_without_cluster_objects_is_skipped_not_passed(tmp_path: Path) -> None:
    rendered = tmp_path / "rendered.yaml"
    text = (Path(__file__).parent / "data" / "k8s" / "bad.yaml").read_text()
    docs = [d for d in text.split("\n---\n") if "kind: StorageClass" not in d]
    rendered.write_text("\n---\n".join(docs))
    targets = {"preset": "langsmith", "kubernetes": {"manifests": str(rendered), "namespace": "langsmith",
                                                     "release": "langsmith"}}
    results, _ = audit_k8s(tmp_path, targets, STORAGE)
    for item in ("k8s.ebs-csi-driver", "k8s.default-storageclass", "k8s.volume-expansion"):
        assert results[item].status == "skipped", (item, results[item].message)
        assert "the manifests hold no" in results[item].message
    assert results["k8s.clickhouse-volume-size"].status == "fail"  # the volumeClaimTemplate says 8Gi


# --- k8s.storage-performance: the IOPS and MiB/s the data volumes' EBS StorageClass provisions -------------------

def _perf_objects(parameters: dict[str, Any] | None, size: str = "100Gi", provisioner: str = "ebs.csi.aws.com",
                  class_name: str | None = "ch-fast") -> list[dict[str, Any]]:
    """A ClickHouse StatefulSet of release langsmith whose data claim uses StorageClass ch-fast (or the default)."""
    labels = {"app.kubernetes.io/instance": "langsmith", "app.kubernetes.io/component": "clickhouse"}
    sc: dict[str, Any] = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": provisioner,
                          "metadata": {"name": "ch-fast",
                                       "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}
    if parameters is not None:
        sc["parameters"] = parameters
    claim: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if class_name is not None:
        claim["storageClassName"] = class_name
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "langsmith-clickhouse", "namespace": "langsmith", "labels": labels},
           "spec": {"replicas": 1, "serviceName": "langsmith-clickhouse", "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels},
                                 "spec": {"containers": [{"name": "clickhouse",
                                                          "image": "clickhouse/clickhouse-server:24.8"}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": claim}]}}
    return [sc, sts]


def _perf(tmp_path: Path, objects: list[dict[str, Any]], item: str = "k8s.storage-performance",
          extra: list[dict[str, Any]] | None = None) -> Any:
    with FakeCluster(objects) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), [item], extra=extra)
    return results[item]


def test_storage_performance_passes_on_the_good_cluster(good: FakeCluster, tmp_path: Path) -> None:
    results, _ = audit_k8s(tmp_path, live_targets(good, tmp_path), ["k8s.storage-performance"])
    result = results["k8s.storage-performance"]
    assert result.status == "pass", result.message
    assert result.evidence["volumes"]["langsmith/chi-traces-main-0-0 volumeClaimTemplate data"] == {
        "class": "gp3", "iops": 7000, "throughput_mibps": 1000, "from": "iops 7000"}


def test_a_plain_gp3_class_fails_with_its_baseline_figures(tmp_path: Path) -> None:
    # ssd-storageclass passes this class (gp3 is SSD); its 3,000 IOPS and 125 MiB/s are what ClickHouse gets.
    result = _perf(tmp_path, _perf_objects({"type": "gp3"}))
    assert result.status == "fail"
    assert result.message == (
        "langsmith/langsmith-clickhouse volumeClaimTemplate data gets 3000 IOPS and 125 MiB/s from StorageClass "
        "ch-fast (gp3's baseline (no iops parameter)), below 7000 IOPS and 1000 MiB/s: set the EBS CSI parameters "
        "iops and throughput (gp3), or iopsPerGB (io1/io2), on its StorageClass")


@pytest.mark.parametrize(("parameters", "size", "status", "figures"), [
    ({"type": "gp3", "iops": "7000", "throughput": "1000"}, "100Gi", "pass", (7000, 1000)),
    ({"TYPE": "gp3", "IOPS": "8000", "Throughput": "1000"}, "100Gi", "pass", (8000, 1000)),  # keys are case-blind
    ({"type": "gp3", "iops": "16000", "throughput": "500"}, "100Gi", "fail", (16000, 500)),
    ({"type": "gp3", "iops": "20000", "throughput": "1000"}, "100Gi", "pass", (16000, 1000)),  # capped at 16,000
    ({"type": "gp3", "iops": "3000", "throughput": "1000"}, "100Gi", "fail", (3000, 750)),  # 0.25 MiB/s per IOPS
    (None, "100Gi", "fail", (3000, 125)),  # no parameters at all: the driver's default type, gp3
    ({"type": "io2", "iopsPerGB": "50"}, "200Gi", "pass", (10000, 1000)),
    ({"type": "io2", "iopsPerGB": "20"}, "100Gi", "fail", (2000, 500)),
    ({"type": "io1", "iopsPerGB": "100"}, "100Gi", "fail", (5000, 500)),  # io1 allows 50 per GiB at most
    ({"type": "io1", "iops": "7000"}, "200Gi", "fail", (7000, 500)),  # io1: 500 MiB/s up to 32,000 IOPS
    ({"type": "io1", "iops": "64000"}, "2000Gi", "pass", (64000, 1000)),
    ({"type": "gp2"}, "1000Gi", "fail", (3000, 250)),
])
def test_the_figures_follow_the_ebs_csi_parameters(tmp_path: Path, parameters: Any, size: str, status: str,
                                                   figures: tuple[int, int]) -> None:
    result = _perf(tmp_path, _perf_objects(parameters, size))
    assert result.status == status, result.message
    got = result.evidence["volumes"]["langsmith/langsmith-clickhouse volumeClaimTemplate data"]
    assert (got["iops"], got["throughput_mibps"]) == figures


def test_iops_asked_of_a_claim_whose_size_is_unreadable_never_pass(tmp_path: Path) -> None:
    # gp3 allows 500 IOPS per GiB: without the size, 16,000 asked for may be 5,000 delivered (10Gi)
    result = _perf(tmp_path, _perf_objects({"type": "gp3", "iops": "16000", "throughput": "1000"}, "lots"))
    assert result.status == "error", result.message


def test_clickhouse_claims_under_another_name_are_undecided_not_absent(tmp_path: Path) -> None:
    extra = [{"id": "x.perf", "title": "t", "level": "required", "rationale": "r",
              "probe": "kubernetes.storage-performance", "with": {"volume": "^storage$"}}]
    result = _perf(tmp_path, _perf_objects({"type": "gp3"}), "x.perf", extra)
    assert result.status == "error" and "matches volume /^storage$/" in result.message, result.message


def test_the_thresholds_are_parameters(tmp_path: Path) -> None:
    extra = [{"id": "x.small-perf", "title": "t", "level": "required", "rationale": "r",
              "probe": "kubernetes.storage-performance", "with": {"min_iops": 3000, "min_throughput_mibps": 125}}]
    result = _perf(tmp_path, _perf_objects({"type": "gp3"}), "x.small-perf", extra)
    assert result.status == "pass", result.message


def test_the_default_class_is_judged_for_a_claim_without_one(tmp_path: Path) -> None:
    result = _perf(tmp_path, _perf_objects({"type": "gp3"}, class_name=None))
    assert result.status == "fail" and "from StorageClass ch-fast" in result.message


@pytest.mark.parametrize(("parameters", "status", "words"), [
    ({"type": "gp3", "iops": "7000", "iopsPerGB": "70"}, "fail", "sets both iops and iopsPerGB, which the driver "
                                                               "refuses"),
    ({"type": "st1"}, "fail", "type st1 is a hard-disk volume"),
    ({"type": "gp3", "iops": "NaN", "throughput": "1000"}, "error", "iops 'NaN' is not a positive number"),
    ({"type": "gp3", "iops": "lots"}, "error", "iops 'lots' is not a number"),
    ({"type": "io2"}, "error", "io2 needs iops or iopsPerGB"),
    ({"type": "gp3", "iops": "7000.9", "throughput": "1000"}, "error", "iops '7000.9' is not a positive number"),
    ({"type": "gp3", "iops": "7_000", "throughput": "1000"}, "error", "iops '7_000' is not a positive number"),
    ({"type": "GP3", "iops": "7000", "throughput": "1000"}, "fail", "the driver knows 'gp3' only"),
    ({"type": "sbg1"}, "error", "type 'sbg1' is not an EBS volume type the audit knows"),
])
def test_classes_that_cannot_deliver_or_cannot_be_read_never_pass(tmp_path: Path, parameters: Any, status: str,
                                                                  words: str) -> None:
    result = _perf(tmp_path, _perf_objects(parameters))
    assert (result.status, words in result.message) == (status, True), result.message


def test_a_class_that_is_not_ebs_is_for_an_attestation(tmp_path: Path) -> None:
    result = _perf(tmp_path, _perf_objects({"type": "pd-ssd"}, provisioner="pd.csi.storage.gke.io"))
    assert result.status == "error" and result.attestable
    assert "is on StorageClass ch-fast (pd.csi.storage.gke.io), not EBS" in result.message


def test_offline_manifests_without_the_storageclass_are_skipped(tmp_path: Path) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(_perf_objects({"type": "gp3"})[1:]))
    targets = {"preset": "langsmith", "kubernetes": {"manifests": str(rendered), "namespace": "langsmith",
                                                     "release": "langsmith"}}
    results, _ = audit_k8s(tmp_path, targets, ["k8s.storage-performance"])
    assert results["k8s.storage-performance"].status == "skipped"
    assert "the manifests hold no StorageClass" in results["k8s.storage-performance"].message


@pytest.mark.parametrize(("replicas", "start", "status", "message"), [
    (3, None, "fail", "pod langsmith/chi-traces-main-0-0-1 (and 1 more) does not exist: its StatefulSet wants it"),
    ("3", None, "error", "StatefulSet langsmith/chi-traces-main-0-0: spec.replicas '3' is not a count"),
    # spec.ordinals.start (Kubernetes 1.27+) numbers the pods from there: -0 is not the one wanted
    (1, 5, "fail", "pod langsmith/chi-traces-main-0-0-5 does not exist"),
    (1, "5", "error", "StatefulSet langsmith/chi-traces-main-0-0: spec.ordinals.start '5' is not a count"),
    (1, 0, "pass", ""),
])
def test_a_replica_whose_pod_was_never_created_is_not_ready(replicas: Any, start: Any, status: str, message: str,
                                                             tmp_path: Path) -> None:
    """The StatefulSet wants 3 pods and only -0 exists (the controller could not create -1: a quota, an admission
    webhook): "1 pods Ready" passed."""
    from fake_k8s import load

    objects = load("good.yaml")
    sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "chi-traces-main-0-0")
    sts["spec"]["replicas"] = replicas
    if start is not None:
        sts["spec"]["ordinals"] = {"start": start}
    with FakeCluster(objects) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.clickhouse-pods-ready"])
    r = results["k8s.clickhouse-pods-ready"]
    assert r.status == status and r.message.startswith(message), r.message
