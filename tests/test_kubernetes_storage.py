"""Storage items against the fake API server (good and bad EKS clusters), and offline on the same objects as files."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_k8s import FakeCluster, audit_k8s, live_targets, load, offline_targets

STORAGE = ["k8s.ebs-csi-driver", "k8s.ebs-csi-controller-ready", "k8s.default-storageclass", "k8s.volume-expansion",
           "k8s.ssd-storageclass", "k8s.clickhouse-pvcs-bound", "k8s.clickhouse-pods-ready",
           "k8s.no-network-filesystem", "k8s.no-pending-pvcs", "k8s.clickhouse-volume-size"]


@pytest.fixture(scope="module")
def good() -> FakeCluster:
    with FakeCluster(load("good.yaml"), max_page=1) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def bad() -> FakeCluster:
    with FakeCluster(load("bad.yaml"), max_page=1) as cluster:
        yield cluster


def test_good_cluster_passes_every_storage_item(good: FakeCluster, tmp_path: Path) -> None:
    results, _ = audit_k8s(tmp_path, live_targets(good, tmp_path), STORAGE)
    assert {i: results[i].status for i in STORAGE} == dict.fromkeys(STORAGE, "pass"), \
        {i: results[i].message for i in STORAGE}
    assert results["k8s.default-storageclass"].message == "default StorageClass gp3 uses ebs.csi.aws.com"
    assert results["k8s.ebs-csi-controller-ready"].message == "kube-system/ebs-csi-controller: 2/2 replicas Ready"


def test_bad_cluster_fails_every_storage_item_for_its_reason(bad: FakeCluster, tmp_path: Path) -> None:
    results, _ = audit_k8s(tmp_path, live_targets(bad, tmp_path), STORAGE)
    assert {i: results[i].status for i in STORAGE} == dict.fromkeys(STORAGE, "fail"), \
        {i: results[i].message for i in STORAGE}
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
