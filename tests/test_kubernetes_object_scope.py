"""kubernetes.object reads where readiness rbac grants: a kind outside the built-in table is cluster-scoped only where
the item says so (``cluster_scoped``: rbac is offline, it cannot ask discovery), the live audit refuses to list when
discovery disagrees, and an item's own ``namespace:`` is declared, so rbac grants a Role there.  Each is run as an
identity holding exactly rbac's rules on the fake API server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fake_k8s
import pytest
from checklists import generic_item
from fake_k8s import FakeCluster, k8s_checklist, live_targets, load
from helpers import audit, write_yaml

from readiness.audit import load_inputs
from readiness.rbac import manifests
from readiness.runner import Options

# A made-up cluster-scoped CRD (no namespace), a namespaced one outside the target's namespace (langsmith).
CLUSTER_POLICY = {"apiVersion": "example.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "strict"},
                  "spec": {"enforced": True}}
POLICY = {"apiVersion": "example.com/v1", "kind": "Policy", "metadata": {"name": "p", "namespace": "governance"},
          "spec": {"enforced": True}}
ENFORCED = {"api_version": "example.com/v1", "field": "spec.enforced", "expect": {"equals": True}}


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(fake_k8s, "CLUSTER_SCOPED", fake_k8s.CLUSTER_SCOPED | {"ClusterPolicy"})
    with FakeCluster(load("good.yaml") + [CLUSTER_POLICY, POLICY]) as fake:
        yield fake


def _rbac(tmp_path: Path, cluster: FakeCluster, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    write_yaml(tmp_path / "targets.yaml", live_targets(cluster, tmp_path))
    inputs = load_inputs(k8s_checklist(tmp_path, items), str(tmp_path / "targets.yaml"))
    return manifests(inputs.checklist, inputs.targets, Options(preset="langsmith", only=tuple(i["id"] for i in items)))


def _grants(docs: list[dict[str, Any]]) -> set[tuple[str, str | None, str, str]]:
    """(Role kind, namespace, apiGroup, resource) of every rule."""
    return {(d["kind"], d["metadata"].get("namespace"), g, r) for d in docs if d["kind"] in ("Role", "ClusterRole")
            for rule in d["rules"] for g in rule["apiGroups"] for r in rule["resources"]}


def _audit(tmp_path: Path, cluster: FakeCluster, items: list[dict[str, Any]]) -> dict[str, Any]:
    results, _ = audit(tmp_path, live_targets(cluster, tmp_path), [i["id"] for i in items],
                       checklist=k8s_checklist(tmp_path, items))
    return results


def test_a_cluster_scoped_custom_kind_is_granted_cluster_wide_and_read_with_exactly_rbacs_rules(cluster, tmp_path):
    # it once got a Role in langsmith: the audit then listed it at the cluster scope and met a 403
    item = generic_item("k8s.custom", "kubernetes.object", kind="ClusterPolicy", cluster_scoped=True, **ENFORCED)
    docs = _rbac(tmp_path, cluster, [item])
    assert ("ClusterRole", None, "example.com", "clusterpolicies") in _grants(docs)
    assert not [g for g in _grants(docs) if g[3] == "clusterpolicies" and g[0] == "Role"]
    cluster.grant_rbac(docs)
    r = _audit(tmp_path, cluster, [item])["k8s.custom"]
    assert r.status == "pass", r.message
    assert "/apis/example.com/v1/clusterpolicies?limit=500" in cluster.requests


@pytest.mark.parametrize(("kind", "said", "truth"), [("ClusterPolicy", False, "cluster-scoped"),
                                                      ("Policy", True, "namespaced")])
def test_discovery_disagreeing_with_the_items_scope_is_an_error_saying_what_to_set(cluster, tmp_path, kind, said,
                                                                                   truth):
    # full access: the list would have answered, but an identity holding rbac's rules would meet a 403 (or the
    # read was granted cluster-wide for nothing), so the item says what to set and lists nothing
    item = generic_item("k8s.custom", "kubernetes.object", kind=kind, cluster_scoped=said, **ENFORCED)
    r = _audit(tmp_path, cluster, [item])["k8s.custom"]
    assert r.status == "error", r.message
    assert f"{kind} (example.com/v1) is {truth} on this cluster" in r.message
    assert f"set cluster_scoped: {str(not said).lower()}" in r.message
    assert not [p for p in cluster.lists() if "polic" in p]


def test_an_items_own_namespace_is_declared_so_rbac_grants_a_role_there_and_the_audit_reads_it(cluster, tmp_path):
    # once declared without its namespace: rbac granted only the target's (langsmith), and the audit's reads in
    # kube-system and governance were refused (an undeclared read, a 403)
    items = [generic_item("k8s.csi", "kubernetes.object", kind="Deployment", namespace="kube-system",
                          name="ebs-csi-controller", field="spec.replicas", expect={"min": 1}),
             generic_item("k8s.custom", "kubernetes.object", kind="Policy", namespace="governance", **ENFORCED)]
    docs = _rbac(tmp_path, cluster, items)
    assert _grants(docs) == {("Role", "kube-system", "apps", "deployments"),
                             ("Role", "governance", "example.com", "policies")}
    cluster.grant_rbac(docs)
    results = _audit(tmp_path, cluster, items)
    for i in ("k8s.csi", "k8s.custom"):
        assert results[i].status == "pass", (i, results[i].message)
    assert "/apis/apps/v1/namespaces/kube-system/deployments?limit=500" in cluster.requests
    assert "/apis/example.com/v1/namespaces/governance/policies?limit=500" in cluster.requests


BAD_READS = [({"kind": "Foo", "api_version": "v1", "plural": "*"}, "plural"),  # every core resource, Secrets too
             ({"kind": "Foo", "api_version": "*/v1", "cluster_scoped": True}, "api_version"),  # everything
             ({"kind": "Deployment", "namespace": "*"}, "namespace"),
             ({"kind": "Foo*", "api_version": "example.com/v1"}, "kind"),
             ({"kind": "Foo", "api_version": "Example.com/v1"}, "api_version")]


@pytest.mark.parametrize(("params", "field"), BAD_READS)
def test_a_wildcard_or_bad_name_in_a_read_is_refused_by_validate_never_granted(tmp_path, params, field):
    # nothing checked plural, the group or the namespace: plural "*" made rbac grant resources ["*"] of the core
    # group (Secrets included), api_version "*/v1" a ClusterRole on every group
    import subprocess
    import sys

    item = generic_item("k8s.custom", "kubernetes.object", field="spec.x", expect={"present": True}, **params)
    checklist = k8s_checklist(tmp_path, [item])
    proc = subprocess.run([str(Path(sys.executable).parent / "readiness"), "validate", "-c", checklist],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{field}" in proc.stderr and "k8s.custom" not in proc.stdout, proc.stderr


@pytest.mark.parametrize("spec", ["*", "apps/*", "*/deployments", "*:deployments", "kube-system:*", ":*/*",
                                  "Deployments", "apps/deployments/x", "a..b/pods"])
def test_every_declared_read_is_parsed_and_a_wildcard_is_a_config_error(spec):
    # the one parser rbac, the runtime guard and the read-ahead all go through (implied_reads): a plugin probe's
    # static reads=("*",) once became a rule on every resource
    from readiness.clients.kubernetes import implied_reads
    from readiness.errors import ConfigError

    with pytest.raises(ConfigError, match="names no single resource"):
        implied_reads(spec)
    assert implied_reads("kube-system:apps/deployments") == ["kube-system:apps/deployments"]


def test_a_deployment_item_is_granted_deployments_alone_not_the_rollouts_it_never_lists(cluster, tmp_path):
    # kubernetes.object declared apps/deployments, which implied argoproj.io/rollouts as the product probes' plain
    # "deployments" does: rbac granted, and the live audit read ahead, a kind this probe never lists
    item = generic_item("k8s.replicas", "kubernetes.object", kind="Deployment", field="spec.replicas",
                        expect={"min": 1})
    docs = _rbac(tmp_path, cluster, [item])
    assert _grants(docs) == {("Role", "langsmith", "apps", "deployments")}
    cluster.grant_rbac(docs)
    r = _audit(tmp_path, cluster, [item])["k8s.replicas"]
    assert r.status in ("pass", "fail"), r.message
    assert not [p for p in cluster.requests if "rollouts" in p], cluster.requests


def test_a_built_in_kind_at_another_api_version_takes_its_scope_from_the_table_as_rbac_does(tmp_path):
    # StorageClass at storage.k8s.io/v1beta1: rbac granted it cluster-wide from the built-in table, but the probe
    # demanded cluster_scoped: true (its own check of the item's scope), so the item could never run as granted
    with FakeCluster(load("good.yaml"), extra=[("storage.k8s.io/v1beta1", "StorageClass")]) as fake:
        item = generic_item("k8s.sc", "kubernetes.object", kind="StorageClass", api_version="storage.k8s.io/v1beta1",
                            field="provisioner", expect={"present": True}, match="any")
        docs = _rbac(tmp_path, fake, [item])
        assert _grants(docs) == {("ClusterRole", None, "storage.k8s.io", "storageclasses")}
        fake.grant_rbac(docs)
        r = _audit(tmp_path, fake, [item])["k8s.sc"]
        assert r.status == "pass", r.message
        assert "/apis/storage.k8s.io/v1beta1/storageclasses?limit=500" in fake.requests


def test_a_cluster_scoped_custom_kind_declared_plainly_is_an_undeclared_read():
    # check_declared took a plain example.com/clusterpolicies for a cluster-scoped kind: rbac grants that a Role
    from readiness.checks._k8s_access import UndeclaredRead, check_declared

    from readiness.clients.kubernetes import Kind

    class Ctx:
        item_id, reads = "k8s.custom", ("example.com/clusterpolicies",)

        def has(self, _: str) -> bool:
            return False

    kind = Kind("ClusterPolicy", "example.com", "v1", "clusterpolicies", False)
    with pytest.raises(UndeclaredRead):
        check_declared(Ctx(), kind)
    Ctx.reads = (":example.com/clusterpolicies",)
    check_declared(Ctx(), kind)
    Ctx.reads = ("storageclasses",)  # a built-in kind: rbac knows its scope
    check_declared(Ctx(), Kind("StorageClass", "storage.k8s.io", "v1", "storageclasses", False))
