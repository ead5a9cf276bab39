"""Kinds outside the built-in table are resolved through discovery on a live cluster (the API server's own
resource names, once per group version per audit, only when such a kind is asked for), never by guessing a
plural; a denied or failing discovery is an error naming the kind, never "not installed".  Offline, manifests are
matched by Kind name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from checklists import generic_item
from fake_k8s import FakeCluster, k8s_checklist, live_targets, load
from helpers import audit

# A made-up CRD whose plural Kubernetes would guess right (Policy -> policies, the old guess said "policys"), and
# one whose plural nobody could guess (Mouse -> mice).
CRDS = [{"apiVersion": "example.com/v1", "kind": "Policy", "metadata": {"name": "strict", "namespace": "langsmith"},
         "spec": {"enforced": True}},
        {"apiVersion": "zoo.example.com/v1", "kind": "Mouse", "metadata": {"name": "jerry", "namespace": "langsmith"},
         "spec": {"quiet": True}}]
POLICY = {"kind": "Policy", "api_version": "example.com/v1", "field": "spec.enforced", "expect": {"equals": True}}


@pytest.fixture
def cluster() -> Any:
    with FakeCluster(load("good.yaml") + CRDS) as fake:
        yield fake


def _run(cluster: FakeCluster, tmp_path: Path, *items: dict[str, Any]) -> dict[str, Any]:
    entries = [generic_item(f"k8s.custom-{i}", "kubernetes.object", **params) for i, params in enumerate(items)]
    results, _ = audit(tmp_path, live_targets(cluster, tmp_path), [e["id"] for e in entries],
                       checklist=k8s_checklist(tmp_path, entries))
    return {i: results[f"k8s.custom-{i}"] for i in range(len(items))}


def test_a_crd_with_a_plural_that_is_not_kind_plus_s_is_found_through_discovery(cluster, tmp_path):
    first, second = _run(cluster, tmp_path, POLICY, {**POLICY, "field": "metadata.name",
                                                     "expect": {"equals": "strict"}}).values()
    assert (first.status, second.status) == ("pass", "pass"), (first.message, second.message)
    assert "/apis/example.com/v1/namespaces/langsmith/policies?limit=500" in cluster.requests
    # discovery of the group version once per audit, shared by both items
    assert cluster.requests.count("/apis/example.com/v1") == 1


def test_discovery_is_asked_only_for_kinds_outside_the_table(cluster, tmp_path):
    r = _run(cluster, tmp_path, {"kind": "Deployment", "field": "metadata.name", "expect": {"present": True}})[0]
    assert r.status == "pass", r.message
    assert not [p for p in cluster.requests if p.split("?")[0] in ("/api/v1", "/apis/apps/v1")]


def test_an_irregular_plural_is_resolved_and_must_be_declared_for_rbac(cluster, tmp_path):
    mouse = {"kind": "Mouse", "api_version": "zoo.example.com/v1", "field": "spec.quiet", "expect": {"equals": True}}
    guessed, declared = _run(cluster, tmp_path, mouse, {**mouse, "plural": "mice"}).values()
    # readiness rbac would grant "mouses": the audit says what to set instead of listing what it may not
    assert guessed.status == "error" and "served as mice, not mouses: set plural: mice" in guessed.message
    assert declared.status == "pass", declared.message


@pytest.mark.parametrize("denied", ["example.com/v1", "*"])
def test_denied_discovery_is_an_error_naming_the_kind_never_not_installed(cluster, tmp_path, denied):
    cluster.discovery_denied = {denied}
    r = _run(cluster, tmp_path, POLICY)[0]
    assert r.status == "error"
    assert "cannot resolve kind Policy" in r.message or "served API groups" in r.message, r.message
    assert "forbidden" in r.message.lower() and "not installed" not in r.message


def test_a_group_discovery_does_not_list_is_not_installed(cluster, tmp_path):
    cluster.missing_groups = {"example.com"}
    r = _run(cluster, tmp_path, POLICY)[0]
    assert r.status == "error" and "does not serve example.com/v1 Policy (not installed)" in r.message
    assert not [p for p in cluster.requests if "policies" in p or "policys" in p]


def test_a_kind_the_group_does_not_serve_is_an_error_that_lists_what_it_serves(cluster, tmp_path):
    r = _run(cluster, tmp_path, {**POLICY, "kind": "Polcy"})[0]
    assert r.status == "error" and "example.com/v1 serves no such kind (it serves Policy)" in r.message


def test_offline_a_crd_is_matched_by_its_kind_name(tmp_path):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "crds.yaml").write_text(yaml.safe_dump_all(CRDS))
    targets = {"preset": "langsmith", "kubernetes": {"manifests": str(manifests), "namespace": "langsmith",
                                                     "release": "langsmith"}}
    item = generic_item("k8s.custom", "kubernetes.object", **POLICY)
    results, _ = audit(tmp_path, targets, ["k8s.custom"], checklist=k8s_checklist(tmp_path, [item]))
    assert results["k8s.custom"].status == "pass", results["k8s.custom"].message


def test_without_a_cluster_the_plural_is_the_one_kubernetes_guesses():
    """readiness rbac names the resource it grants from the kind alone."""
    from readiness.clients.kubernetes import guess_plural, resolve_kind

    assert resolve_kind("Policy", "example.com/v1").plural == "policies"
    assert [guess_plural(k) for k in ("Ingress", "Endpoints", "Gateway", "Proxy")] == [
        "ingresses", "endpoints", "gateways", "proxies"]
    assert resolve_kind("Mouse", "zoo.example.com/v1", "mice").plural == "mice"


def _with_groups(fake: FakeCluster, rewrite: Any) -> None:
    """Discovery's group list rewritten (``rewrite(groups) -> groups``), everything else answered as before."""
    answer = fake.answer

    def rewritten(raw_path: str, auth: str) -> tuple[int, Any]:
        status, body = answer(raw_path, auth)
        if raw_path.split("?")[0] == "/apis" and status == 200:
            body = {**body, "groups": rewrite(body["groups"])}
        return status, body

    fake.answer = rewritten  # type: ignore[method-assign]


KEDA_ITEMS = ["k8s.hpa-keda-conflict", "k8s.keda-ready"]


@pytest.mark.parametrize("versions", [[], [{"groupVersion": "keda.sh/v1alpha1"}], ["v1alpha1"],
                                      [{"version": ""}], [{"version": 1}]])
def test_a_group_listed_with_unreadable_versions_is_an_error_never_not_installed(tmp_path, versions):
    from fake_k8s import audit_k8s

    with FakeCluster(load("good.yaml")) as fake:
        _with_groups(fake, lambda groups: [{**g, "versions": versions} if g["name"] == "keda.sh" else g
                                           for g in groups])
        results, _ = audit_k8s(tmp_path, live_targets(fake, tmp_path), KEDA_ITEMS)
    for item in KEDA_ITEMS:
        assert results[item].status == "error", (item, results[item].message)
        assert "not installed" not in results[item].message


def test_a_group_served_at_another_version_is_installed_and_named_not_absent(tmp_path):
    from fake_k8s import audit_k8s

    with FakeCluster(load("good.yaml")) as fake:
        _with_groups(fake, lambda groups: [
            {**g, "versions": [{"groupVersion": "keda.sh/v2", "version": "v2"}]} if g["name"] == "keda.sh" else g
            for g in groups])
        results, _ = audit_k8s(tmp_path, live_targets(fake, tmp_path), KEDA_ITEMS)
    for item in KEDA_ITEMS:
        assert results[item].status == "error", (item, results[item].message)
        assert "serves keda.sh at v2, not v1alpha1" in results[item].message
