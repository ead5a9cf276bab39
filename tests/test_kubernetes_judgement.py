"""Judgement on Kubernetes objects (issue 16, section 2): what each item must see before it passes.  Live against the
fake API server over real HTTP, and offline on the same objects as manifests, where both apply."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from checklists import generic_item
from fake_k8s import FakeCluster, audit_k8s, live_targets, load
from readiness.checks import _kubernetes_facts as kf

from readiness.clients import kubernetes as k8s
from readiness.context import Context, Session

Edit = Callable[[list[dict[str, Any]]], None]


GOOD = ("good.yaml", "langsmith-services.yaml")  # every service the LangSmith chart deploys by default


def edited(edit: Edit, names: tuple[str, ...] = GOOD) -> list[dict[str, Any]]:
    """The fixture's objects (List kinds unpacked) after ``edit``."""
    objects: list[dict[str, Any]] = []
    for obj in copy.deepcopy(load(*names)):
        objects.extend(obj["items"] if obj["kind"] == "List" else [obj])
    edit(objects)
    return objects


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def both(objects: list[dict[str, Any]], tmp_path: Path, items: list[str],
         extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """{"live": results, "offline": results} of ``items`` on these objects."""
    out = {}
    with FakeCluster(objects) as cluster:
        out["live"], _ = audit_k8s(tmp_path / "live", live_targets(cluster, tmp_path), items, extra)
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "all.yaml").write_text(yaml.safe_dump_all(objects))
    targets = {"preset": "langsmith", "kubernetes": {"manifests": str(manifests), "namespace": "langsmith",
                                                     "release": "langsmith"}}
    out["offline"], _ = audit_k8s(tmp_path / "offline", targets, items, extra)
    return out


# --- PodDisruptionBudgets --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("budget", "status"), [
    ({"maxUnavailable": 1}, "fail"), ({"maxUnavailable": "100%"}, "fail"), ({"minAvailable": 0}, "fail"),
    ({"minAvailable": "0%"}, "fail"), ({"maxUnavailable": 0}, "pass"), ({"minAvailable": 1}, "pass"),
    ({"minAvailable": "50%"}, "pass"), ({"maxUnavailable": "one"}, "error"),
    ({"maxUnavailable": 0, "minAvailable": 1}, "error"), ({}, "error"),
])
def test_a_budget_that_allows_evicting_the_only_pod_protects_nothing(budget: dict[str, Any], status: str,
                                                                     tmp_path: Path) -> None:
    def edit(objects: list[dict[str, Any]]) -> None:
        spec = find(objects, "PodDisruptionBudget", "chi-traces")["spec"]
        spec.pop("maxUnavailable")
        spec.update(budget)

    for mode, results in both(edited(edit), tmp_path, ["k8s.single-replica-protected"]).items():
        r = results["k8s.single-replica-protected"]
        assert r.status == status, (mode, r.message)
    if status == "fail":
        assert "PodDisruptionBudget langsmith/chi-traces allows evicting its only pod" in r.message


# --- HPAs ------------------------------------------------------------------------------------------------------

def test_an_hpa_pinned_at_min_equal_max_does_not_scale(tmp_path: Path) -> None:
    def edit(objects: list[dict[str, Any]]) -> None:
        find(objects, "HorizontalPodAutoscaler", "langsmith-backend")["spec"].update(minReplicas=4, maxReplicas=4)

    for mode, results in both(edited(edit), tmp_path, ["k8s.hpa-coverage"]).items():
        r = results["k8s.hpa-coverage"]
        assert r.status == "fail", (mode, r.message)
        assert r.message.startswith("Deployment langsmith/langsmith-backend is pinned: HorizontalPodAutoscaler "
                                    "langsmith-backend allows 4..4 replicas"), r.message


def test_a_pinned_scaledobject_does_not_scale_either(tmp_path: Path) -> None:
    def edit(objects: list[dict[str, Any]]) -> None:
        find(objects, "ScaledObject", "langsmith-queue")["spec"].update(minReplicaCount=20)

    with FakeCluster(edited(edit)) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-coverage"])
    assert results["k8s.hpa-coverage"].status == "fail"
    assert "langsmith/langsmith-queue is pinned: ScaledObject langsmith-queue allows 20..20" \
        in results["k8s.hpa-coverage"].message


def test_hpa_keda_conflict_needs_something_observed(tmp_path: Path) -> None:
    for i, groups in enumerate((set(), {"keda.sh"})):
        with FakeCluster([], missing_groups=groups) as cluster:
            results, _ = audit_k8s(tmp_path / str(i), live_targets(cluster, tmp_path), ["k8s.hpa-keda-conflict"])
        r = results["k8s.hpa-keda-conflict"]
        assert r.status == "error", r.message
        assert r.message.startswith("no HPA or ScaledObject and none of release langsmith's Deployments in langsmith")


def test_a_scaler_whose_target_cannot_be_read_may_be_in_conflict(tmp_path: Path) -> None:
    # found by the hostile-facts test: an HPA whose scaleTargetRef had no readable name was dropped, then a pass
    def edit(objects: list[dict[str, Any]]) -> None:
        hpa = next(o for o in objects if o["kind"] == "HorizontalPodAutoscaler")
        hpa["spec"]["scaleTargetRef"] = {"kind": "Deployment", "name": 7}
    for mode, results in both(edited(edit), tmp_path, ["k8s.hpa-keda-conflict"]).items():
        r = results["k8s.hpa-keda-conflict"]
        assert r.status == "error" and "spec.scaleTargetRef" in r.message, (mode, r.message)
    (tmp_path / "good").mkdir()
    assert both(edited(lambda o: None), tmp_path / "good", ["k8s.hpa-keda-conflict"])["live"][
        "k8s.hpa-keda-conflict"].status == "pass"


# --- kubernetes.object with [*] --------------------------------------------------------------------------------

def test_a_sidecar_without_the_field_fails_every_element(tmp_path: Path) -> None:
    def edit(objects: list[dict[str, Any]]) -> None:
        pod = find(objects, "Deployment", "langsmith-backend")["spec"]["template"]["spec"]
        pod["containers"].append({"name": "log-shipper", "image": "fluent/fluent-bit:3.0"})

    item = generic_item("k8s.memory-limit-set", "kubernetes.object", kind="Deployment",
                        selector="app.kubernetes.io/instance=langsmith",
                        field="spec.template.spec.containers[*].resources.limits.memory", expect={"present": True})
    for mode, results in both(edited(edit), tmp_path, ["k8s.memory-limit-set"], [item]).items():
        r = results["k8s.memory-limit-set"]
        assert r.status == "fail", (mode, r.message)
        assert r.message.startswith("langsmith/langsmith-backend: spec.template.spec.containers[*].resources.limits"
                                    ".memory is ['4Gi', None]"), r.message


def test_an_absent_field_matches_absent_on_every_element() -> None:
    from readiness.checks.kubernetes import _path, values_at

    from readiness.matchers import MISSING

    obj = {"c": [{"m": 1}, {}, {"m": None}]}
    assert values_at(obj, _path("c[*].m")) == [1, MISSING, MISSING]
    assert values_at({"c": []}, _path("c[*].m")) == [MISSING]
    assert values_at({"c": "x"}, _path("c[*].m")) == [MISSING]


# --- list answers ----------------------------------------------------------------------------------------------

def test_a_list_answer_without_items_is_malformed_not_empty(tmp_path: Path) -> None:
    with FakeCluster(load(*GOOD), itemless={"horizontalpodautoscalers"}) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-healthy",
                                                                           "k8s.hpa-keda-conflict"])
    for item in ("k8s.hpa-healthy", "k8s.hpa-keda-conflict"):
        assert results[item].status == "error", results[item].message
        assert results[item].message == ("listing horizontalpodautoscalers: the answer has no items (not a list "
                                          "answer)")


# --- storageClassName "" ---------------------------------------------------------------------------------------

def test_an_empty_storage_class_name_is_no_class_not_the_default(tmp_path: Path) -> None:
    def edit(objects: list[dict[str, Any]]) -> None:
        sts = find(objects, "StatefulSet", "chi-traces-main-0-0")
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = ""
        find(objects, "PersistentVolumeClaim", "data-chi-traces-main-0-0-0")["spec"]["storageClassName"] = ""

    items = ["k8s.ssd-storageclass", "k8s.volume-expansion", "k8s.no-network-filesystem"]
    for mode, results in both(edited(edit), tmp_path, items).items():
        status = {i: results[i].status for i in items}
        assert status == {"k8s.ssd-storageclass": "error", "k8s.volume-expansion": "fail",
                          "k8s.no-network-filesystem": "error"}, (mode, {i: results[i].message for i in items})
        assert 'sets storageClassName "" (no StorageClass)' in results["k8s.volume-expansion"].message


def test_class_of_an_empty_name_is_none(tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "all.yaml").write_text(yaml.safe_dump_all(edited(lambda o: None)))
    ctx = context({"manifests": str(manifests), "namespace": "langsmith", "release": "langsmith"},
                  ("statefulsets", "persistentvolumeclaims", "storageclasses"))
    assert kf.class_of(ctx, {"storageClassName": ""}) == ("", None)
    assert kf.class_of(ctx, {})[0] == "gp3"  # no name at all: the default class


# --- LoadBalancer source ranges --------------------------------------------------------------------------------

@pytest.mark.parametrize(("ranges", "status"), [
    (["0.0.0.0/1", "128.0.0.0/1"], "fail"), (["::/1", "8000::/1"], "fail"), (["0.0.0.0/0"], "fail"),
    (["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"], "pass"), (["203.0.113.0/24", "198.51.100.7/32"], "pass"),
    (["203.0.0.0/15"], "fail"), (["10.0.0.0/8", "not-a-range"], "error"),
])
def test_source_ranges_are_compared_as_networks(ranges: list[str], status: str, tmp_path: Path) -> None:
    def edit(objects: list[dict[str, Any]]) -> None:
        find(objects, "Service", "langsmith-frontend")["spec"]["loadBalancerSourceRanges"] = ranges

    for mode, results in both(edited(edit), tmp_path, ["k8s.lb-source-ranges"]).items():
        r = results["k8s.lb-source-ranges"]
        assert r.status == status, (mode, ranges, r.message)


def test_a_service_whose_spec_is_junk_may_be_a_load_balancer(tmp_path: Path) -> None:
    def edit(objects: list[dict[str, Any]]) -> None:
        find(objects, "Service", "langsmith-frontend")["spec"] = "junk"

    for mode, results in both(edited(edit), tmp_path, ["k8s.lb-source-ranges"]).items():
        r = results["k8s.lb-source-ranges"]
        assert r.status == "error", (mode, r.message)


# --- quantities ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("0.5", 0.5), ("2.5", 2.5), ("500m", 0.5), ("1E", 1e18), ("2P", 2e15), ("1Ei", 2.0**60), ("1Pi", 2.0**50),
    ("1e3", 1000.0), ("128Mi", 128 * 2.0**20), (2, 2.0), (0.25, 0.25), ("NaN", None), ("Infinity", None),
    ("1ki", None), ("1_000", None), ("lots", None), (None, None), (True, None), ([1], None),
])
def test_quantities_are_read_as_kubernetes_reads_them(text: Any, value: float | None) -> None:
    assert kf.quantity(text) == value


def test_a_volume_of_a_pebibyte_is_large_enough(tmp_path: Path) -> None:
    def edit(objects: list[dict[str, Any]]) -> None:
        sts = find(objects, "StatefulSet", "chi-traces-main-0-0")
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "1Pi"
        find(objects, "PersistentVolumeClaim", "data-chi-traces-main-0-0-0")["spec"]["resources"]["requests"][
            "storage"] = "0.5Pi"

    for mode, results in both(edited(edit), tmp_path, ["k8s.clickhouse-volume-size"]).items():
        r = results["k8s.clickhouse-volume-size"]
        assert r.status == "pass", (mode, r.message)


# --- the connection demand: envFrom and configMapKeyRef --------------------------------------------------------

# What postgres.connection-budget declares it reads (the last test holds the probe to it).
DEMAND = ("deployments", "horizontalpodautoscalers", "keda.sh/scaledobjects", "configmaps")


def context(config: dict[str, Any], reads: tuple[str, ...] = DEMAND) -> Context:
    """A context reading only what ``reads`` declares (the connection budget's reads by default)."""
    sessions = {"kubernetes": Session("kubernetes", config, 5.0)}
    return Context("test", "postgres", sessions, {"kubernetes": config}, "langsmith", "production", 5.0,
                   time.monotonic() + 30, frozenset(reads))


def env_from(objects: list[dict[str, Any]], source: dict[str, Any], env: list[dict[str, Any]] | None = None,
             data: dict[str, str] | None = None) -> None:
    """The queue takes its database settings from ``source`` (and ``env``); a ConfigMap holds ``data``."""
    queue = find(objects, "Deployment", "langsmith-queue")["spec"]["template"]["spec"]["containers"][0]
    queue["envFrom"] = [source]
    queue["env"] = env or []
    objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "queue-db", "namespace": "langsmith"}, "data": data or {}})


@pytest.mark.parametrize(("source", "env", "queue"), [
    ({"configMapRef": {"name": "queue-db"}}, None, {"replicas": 20, "pool_size": 30}),
    ({"configMapRef": {"name": "queue-db"}, "prefix": "LS_"}, None, None),  # LS_POSTGRES_POOL_SIZE: not a pool
    ({"configMapRef": {"name": "other", "optional": True}},
     [{"name": "DB_POOL_SIZE", "valueFrom": {"configMapKeyRef": {"name": "queue-db", "key": "POSTGRES_POOL_SIZE"}}}],
     {"replicas": 20, "pool_size": 30}),
])
def test_database_settings_from_a_configmap_count(source: dict[str, Any], env: Any, queue: Any,
                                                   tmp_path: Path) -> None:
    objects = edited(lambda o: env_from(o, source, env, {"POSTGRES_POOL_SIZE": "30", "POSTGRES_DB": "ls"}))
    backend = {"name": "langsmith/langsmith-backend", "replicas": 10, "pool_size": 10}
    with FakeCluster(objects) as cluster:
        known, unknown = kf.connection_demand(context(live_targets(cluster, tmp_path)["kubernetes"]),
                                              ["backend", "queue"])
    if queue is None:
        assert (known, unknown) == ([backend], ["langsmith/langsmith-queue"])
    else:
        assert (known, unknown) == ([backend, {"name": "langsmith/langsmith-queue", **queue}], [])


@pytest.mark.parametrize(("source", "env", "why"), [
    ({"secretRef": {"name": "queue-db-secret"}}, None, "envFrom Secret queue-db-secret, never read"),
    ({"configMapRef": {"name": "queue-db"}},
     [{"name": "POSTGRES_POOL_SIZE", "valueFrom": {"secretKeyRef": {"name": "pool", "key": "size"}}}],
     "POSTGRES_POOL_SIZE from Secret pool, never read"),
    ({"configMapRef": {"name": "missing"}}, None, "envFrom ConfigMap missing (not found)"),
])
def test_a_secret_or_missing_source_leaves_the_demand_uncounted(source: dict[str, Any], env: Any, why: str,
                                                                tmp_path: Path) -> None:
    objects = edited(lambda o: env_from(o, source, env, {"POSTGRES_POOL_SIZE": "30"}))
    with FakeCluster(objects) as cluster:
        ctx = context(live_targets(cluster, tmp_path)["kubernetes"])
        known, unknown = kf.connection_demand(ctx, ["backend", "queue"])
        assert unknown == [f"langsmith/langsmith-queue ({why})"]
        assert not any("/secrets" in r for r in cluster.requests)


def test_the_connection_budget_reads_configmaps_and_rbac_grants_them(tmp_path: Path) -> None:
    from readiness.registry import probes

    reads = probes().probes["postgres.connection-budget"].declared_reads({})
    assert set(reads) == set(DEMAND)


# --- discovery: authorization runs before routing --------------------------------------------------------------

VIEW_LIKE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "view"},
             "rules": [{"apiGroups": [""], "verbs": ["get", "list", "watch"],
                        "resources": ["pods", "services", "persistentvolumeclaims", "configmaps"]},
                       {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"],
                        "verbs": ["get", "list", "watch"]},
                       {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"],
                        "verbs": ["get", "list", "watch"]},
                       {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"],
                        "verbs": ["get", "list", "watch"]}]}


def without_keda(objects: list[dict[str, Any]]) -> None:
    """No KEDA: the queue is scaled by an HPA of its own."""
    objects[:] = [o for o in objects if o["kind"] != "ScaledObject" and "keda" not in o["metadata"]["name"]]
    hpa = copy.deepcopy(find(objects, "HorizontalPodAutoscaler", "langsmith-frontend"))
    hpa["metadata"]["name"] = hpa["spec"]["scaleTargetRef"]["name"] = "langsmith-queue"
    objects.append(hpa)


def test_the_fake_api_server_authorizes_before_it_routes() -> None:
    with FakeCluster([], missing_groups={"keda.sh"}) as cluster:
        cluster.grant_rbac([VIEW_LIKE])
        path = "/apis/keda.sh/v1alpha1/namespaces/langsmith/scaledobjects"
        assert cluster.answer(path, f"Bearer {cluster.token}")[0] == 403
        status, body = cluster.answer("/apis", f"Bearer {cluster.token}")
        assert status == 200 and "keda.sh" not in {g["name"] for g in body["groups"]}
        cluster.granted = None
        assert cluster.answer(path, f"Bearer {cluster.token}")[0] == 404


def test_a_view_identity_on_a_cluster_without_keda_is_no_error(tmp_path: Path) -> None:
    items = ["k8s.hpa-coverage", "k8s.resource-requests", "k8s.hpa-keda-conflict"]
    with FakeCluster(edited(without_keda)) as cluster:
        cluster.grant_rbac([VIEW_LIKE])
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), items)
        assert not any("scaledobjects" in r for r in cluster.requests), cluster.requests
    assert {i: results[i].status for i in items} == dict.fromkeys(items, "pass"), \
        {i: results[i].message for i in items}
    assert results["k8s.hpa-keda-conflict"].message.startswith("KEDA is not installed")


def test_keda_served_but_forbidden_is_an_error(tmp_path: Path) -> None:
    items = ["k8s.hpa-coverage", "k8s.hpa-keda-conflict"]
    with FakeCluster(load(*GOOD)) as cluster:
        cluster.grant_rbac([VIEW_LIKE])
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), items)
    for item in items:
        assert results[item].status == "error", results[item].message
        assert results[item].message == "forbidden: the audit identity cannot list scaledobjects (grant get/list)"


def test_discovery_is_read_once_per_audit(tmp_path: Path) -> None:
    with FakeCluster(load(*GOOD)) as cluster:
        audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-coverage", "k8s.keda-ready",
                                                              "k8s.hpa-keda-conflict"])
        assert [r for r in cluster.requests if r.split("?")[0] == "/apis"] == ["/apis"]


def test_discovery_lists_the_served_groups_and_versions(tmp_path: Path) -> None:
    with FakeCluster(load(*GOOD), missing_groups={"policy"}) as cluster:
        api = k8s.connect(live_targets(cluster, tmp_path)["kubernetes"], 5.0)
        try:
            served = api.served()
        finally:
            k8s.close(api)
    assert served is not None
    assert served["keda.sh"] == {"v1alpha1"} and served[""] == {"v1"} and "policy" not in served


@pytest.mark.parametrize("most", ["20", True, 0, None])
def test_a_scaler_maximum_that_is_no_count_leaves_the_demand_uncounted(most: Any, tmp_path: Path) -> None:
    """The backend's HPA says maxReplicas "20" (or true, 0, null): the peak is unknown, and the demand counted the
    Deployment's own replicas (1) instead, so a budget 20 replicas would break passed."""
    objects = edited(lambda o: find(o, "HorizontalPodAutoscaler", "langsmith-backend")["spec"].update(
        maxReplicas=most))
    with FakeCluster(objects) as cluster:
        known, unknown = kf.connection_demand(context(live_targets(cluster, tmp_path)["kubernetes"]),
                                              ["backend", "queue"])
    assert known == []
    assert unknown == [f"langsmith/langsmith-backend (HorizontalPodAutoscaler langsmith-backend: maxReplicas "
                       f"{most!r} is not a count)"]


def test_a_listing_that_vanishes_after_its_first_page_is_an_error_not_keda_uninstalled(tmp_path: Path) -> None:
    """The ScaledObjects' second page answers 404: that read as NotServed, so KEDA was "not installed" and
    hpa-keda-conflict passed while the HPA and ScaledObject of langsmith-queue fight."""
    objects = load("bad.yaml")
    first = copy.deepcopy(find(objects, "ScaledObject", "langsmith-queue"))
    first["metadata"]["name"] = "aaa-harmless"
    first["spec"]["scaleTargetRef"] = {"name": "langsmith-nothing"}
    with FakeCluster([first, *objects], max_page=1, vanishing={"scaledobjects"}) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-keda-conflict"])
    r = results["k8s.hpa-keda-conflict"]
    assert r.status == "error", r.message
    assert r.message == "listing scaledobjects: a later page answered 404 (the listing was cut short)"
