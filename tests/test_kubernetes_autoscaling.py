"""Autoscaling and network items against the fake API server (good and bad clusters), KEDA absent, a forbidden and
a slow kind, OOMKilled containers, and offline on the same objects as files."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

from fake_k8s import FakeCluster, assert_statuses, audit_k8s, live_targets, load, offline_targets, served

AUTOSCALING = ["k8s.hpa-coverage", "k8s.hpa-healthy", "k8s.resource-requests", "k8s.hpa-keda-conflict",
               "k8s.keda-ready", "k8s.bundled-datastores", "k8s.metrics-api-available", "k8s.memory-limits",
               "k8s.single-replica-protected"]
NETWORK = ["k8s.ingress-body-size", "k8s.ingress-timeouts", "k8s.ingress-tls", "k8s.lb-source-ranges"]
ITEMS = AUTOSCALING + NETWORK
LIVE_ONLY = {"k8s.hpa-healthy", "k8s.keda-ready", "k8s.metrics-api-available"}
GOOD = ("good.yaml", "langsmith-services.yaml")  # every service the LangSmith chart deploys by default


good = served("good", *GOOD, max_page=2)
bad = served("bad", "bad.yaml", max_page=2)


def test_good_cluster_passes(good: FakeCluster, tmp_path: Path) -> None:
    results, _ = audit_k8s(tmp_path, live_targets(good, tmp_path), ITEMS)
    assert_statuses(results, ITEMS, "pass")
    assert results["k8s.hpa-coverage"].message == "11 service Deployments scaled (10 by HPA, 1 by KEDA)"
    # off by default in the chart (config.deployment.enabled, hostBackend.enabled)
    assert results["k8s.hpa-coverage"].evidence["not_deployed"] == ["listener", "host-backend"]


def test_bad_cluster_fails_for_its_reasons(bad: FakeCluster, tmp_path: Path) -> None:
    results, _ = audit_k8s(tmp_path, live_targets(bad, tmp_path), ITEMS)
    assert_statuses(results, ITEMS, "fail")
    msg = {i: results[i].message for i in ITEMS}
    assert msg["k8s.hpa-coverage"].startswith("Deployment langsmith/langsmith-frontend has no HPA or ScaledObject")
    assert "langsmith/langsmith-backend ScalingActive=False: the HPA was unable to compute" in msg["k8s.hpa-healthy"]
    assert "langsmith/langsmith-backend container backend sets no requests.cpu, requests.memory, limits.cpu" \
        in msg["k8s.resource-requests"]
    assert "langsmith/langsmith-queue is scaled by HPA langsmith-queue and ScaledObject langsmith-queue" \
        in msg["k8s.hpa-keda-conflict"]
    assert "already managed by the hpa" in msg["k8s.keda-ready"]
    assert "langsmith/langsmith-clickhouse (clickhouse), langsmith/langsmith-redis (redis)" \
        in msg["k8s.bundled-datastores"]
    assert "v1beta1.metrics.k8s.io is not registered" in msg["k8s.metrics-api-available"]
    assert "has no memory limit" in msg["k8s.memory-limits"]
    assert "langsmith/langsmith-clickhouse, langsmith/langsmith-redis has no PodDisruptionBudget" \
        in msg["k8s.single-replica-protected"]
    assert "sets no nginx.ingress.kubernetes.io/proxy-body-size" in msg["k8s.ingress-body-size"]
    assert "proxy-read-timeout 60 < 300 s" in msg["k8s.ingress-timeouts"]
    assert "has no spec.tls" in msg["k8s.ingress-tls"]
    assert "langsmith/langsmith-frontend (0.0.0.0/0: 4.29e+09 public addresses, more than a /16) is open to the " \
        "internet" in msg["k8s.lb-source-ranges"]


def test_keda_not_installed_is_understood(tmp_path: Path) -> None:
    with FakeCluster(load(*GOOD), missing_groups={"keda.sh"}) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), AUTOSCALING)
    assert results["k8s.keda-ready"].status == "skipped"
    assert "KEDA is not installed" in results["k8s.keda-ready"].message
    assert results["k8s.hpa-keda-conflict"].status == "pass"
    # the queue was scaled by its ScaledObject only (KEDA's own HPA does not count): now it has nothing
    assert results["k8s.hpa-coverage"].status == "fail"
    assert "langsmith/langsmith-queue" in results["k8s.hpa-coverage"].message


def test_recent_oomkill_fails_memory_limits(tmp_path: Path) -> None:
    objects = load("good.yaml")
    pod = copy.deepcopy(next(o for o in objects if o["kind"] == "Pod" and "backend" in o["metadata"]["name"]))
    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = "2026-01-01T00:00:00Z"
    pod["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                                                         "finishedAt": when}}
    stale = copy.deepcopy(pod)
    stale["metadata"]["name"] = "langsmith-queue-66c9d-abcde"
    stale["status"]["containerStatuses"][0]["lastState"]["terminated"]["finishedAt"] = old
    objects = [o for o in objects if o is not pod] + [pod, stale]
    with FakeCluster(objects) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.memory-limits"])
    r = results["k8s.memory-limits"]
    assert r.status == "fail"
    assert r.evidence["oomkilled"] == [f"langsmith/langsmith-backend-7d9f8c6b5-x2k4p container backend (at {when})"]


def test_forbidden_and_slow_kinds_are_errors(tmp_path: Path) -> None:
    with FakeCluster(load("good.yaml"), forbidden={"horizontalpodautoscalers"}) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-coverage", "k8s.hpa-healthy"])
    for item in ("k8s.hpa-coverage", "k8s.hpa-healthy"):
        assert results[item].status == "error"
        assert results[item].message == ("forbidden: the audit identity cannot list horizontalpodautoscalers "
                                          "(grant get/list)")
    (tmp_path / "slow").mkdir()
    with FakeCluster(load("good.yaml"), slow={"poddisruptionbudgets"}, slow_seconds=60) as cluster:
        results, _ = audit_k8s(tmp_path / "slow", live_targets(cluster, tmp_path), ["k8s.single-replica-protected"],
                           timeout=1.0)
    assert results["k8s.single-replica-protected"].status == "error"
    assert "timed out" in results["k8s.single-replica-protected"].message


def test_offline_same_fixtures(tmp_path: Path) -> None:
    for names, verdict in ((GOOD, "pass"), (("bad.yaml",), "fail")):
        name = names[0]
        results, _ = audit_k8s(tmp_path / name, offline_targets(tmp_path / name, *names), ITEMS)
        for item in ITEMS:
            want = "skipped" if item in LIVE_ONLY else verdict
            if item == "k8s.memory-limits" and verdict == "pass":
                want = "skipped"  # limits set; OOMKilled history needs the live cluster: never a pass offline
            assert results[item].status == want, (name, item, results[item].message)
    assert results["k8s.hpa-healthy"].message.startswith("needs a live cluster")


def test_wrong_namespace_is_an_error_not_a_pass(good: FakeCluster, tmp_path: Path) -> None:
    results, _ = audit_k8s(tmp_path, live_targets(good, tmp_path, namespace="elsewhere"), ITEMS)
    for item in ("k8s.hpa-coverage", "k8s.bundled-datastores", "k8s.lb-source-ranges", "k8s.ingress-tls",
                 "k8s.memory-limits", "k8s.resource-requests"):
        assert results[item].status == "error", (item, results[item].message)
    assert all(results[i].status != "pass" for i in ("k8s.hpa-coverage", "k8s.bundled-datastores"))


def test_the_preset_names_the_service_deployments(tmp_path: Path) -> None:
    text = (Path(__file__).parent / "data" / "k8s" / "good.yaml").read_text()
    text = text.replace("langsmith-backend", "langfuse-web").replace("component: backend", "component: web")
    text = text.replace("langsmith-queue", "langfuse-worker").replace("component: queue", "component: worker")
    text = text.replace("instance: langsmith", "instance: langfuse").replace("langsmith-frontend", "langfuse-frontend")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "langfuse.yaml").write_text(text)
    targets = {"preset": "langfuse", "kubernetes": {"manifests": str(tmp_path / "m"), "namespace": "langsmith",
                                                    "release": "langfuse"}}
    results, _ = audit_k8s(tmp_path / "a", targets, ["k8s.hpa-coverage", "k8s.resource-requests"])
    assert results["k8s.hpa-coverage"].message == "2 service Deployments scaled (1 by HPA, 1 by KEDA)"
    assert results["k8s.hpa-coverage"].evidence["not_deployed"] == []
    results, _ = audit_k8s(tmp_path / "b", {**targets, "preset": "langsmith"}, ["k8s.hpa-coverage"])
    # only the frontend (<release>-frontend) is named as a LangSmith service: the services the chart always deploys
    # are missing
    assert results["k8s.hpa-coverage"].status == "fail"
    assert "backend" in results["k8s.hpa-coverage"].evidence["missing"]


def test_hpa_health_evidence_names_the_failing_hpa_among_hundreds(tmp_path: Path) -> None:
    """The evidence keeps the failing HPAs first and a sample of the rest, with their count: hundreds of healthy
    ones listed whole crowded the failing one out of the report's cut (and were redacted one by one before it)."""
    objs = load(*GOOD)
    hpa = next(o for o in objs if o["kind"] == "HorizontalPodAutoscaler")
    for i in range(300):
        extra = copy.deepcopy(hpa)
        extra["metadata"]["name"] = f"aaa-tenant-{i:03d}"
        objs.append(extra)
    broken = copy.deepcopy(hpa)
    broken["metadata"]["name"] = "zzz-broken"
    broken["status"]["conditions"][1] = {"type": "ScalingActive", "status": "False", "reason": "FailedGetMetrics"}
    objs.append(broken)
    with FakeCluster(objs) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-healthy"])
    r = results["k8s.hpa-healthy"]
    assert r.status == "fail" and r.message.startswith("langsmith/zzz-broken ScalingActive=False")
    assert next(iter(r.evidence["hpas"])) == "langsmith/zzz-broken"
    assert len(r.evidence["hpas"]) == 50
    assert r.evidence["count"] == sum(o["kind"] == "HorizontalPodAutoscaler" for o in objs)


def test_an_hpa_of_a_rollout_does_not_scale_the_deployment_of_that_name(tmp_path: Path) -> None:
    """The HPA's scaleTargetRef names kind Rollout (rollout.enabled switched back off, the HPA left behind): the
    Deployment langsmith-backend that runs has no autoscaler, and hpa-coverage counted it as scaled."""
    objects = load(*GOOD)
    hpa = next(o for o in objects if o["kind"] == "HorizontalPodAutoscaler"
               and o["spec"]["scaleTargetRef"]["name"] == "langsmith-backend")
    hpa["spec"]["scaleTargetRef"] = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                     "name": "langsmith-backend"}
    with FakeCluster(objects) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-coverage"])
    r = results["k8s.hpa-coverage"]
    assert r.status == "fail", r.message
    assert r.message.startswith("Deployment langsmith/langsmith-backend has no HPA or ScaledObject"), r.message
