"""The products' workloads as their charts name them today: LangSmith (langchain-ai/helm charts/langsmith 0.17:
templates/_helpers.tpl, templates/*/deployment.yaml, templates/agent-features/*) with a release not named
langsmith, its default-on agent features, its switched services and its Argo Rollouts; offline on rendered
manifests and live against the fake API server.  The objects are built here the way the chart renders them (our
own fixture, not the chart's files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_k8s import FakeCluster, audit_k8s
from readiness.checks import _products as products

CHART = "langsmith-0.17.0-rc.12"
ITEMS = ["k8s.hpa-coverage", "k8s.resource-requests", "k8s.memory-limits"]
CORE = ("backend", "platform-backend", "queue", "ingest-queue", "frontend", "playground", "ace-backend")
# templates/agent-features/{insights,polly}/{api-server,queue}/deployment.yaml: <fullname>-<namePrefix>-<name>,
# rendered under insights.enabled / polly.enabled (both true in values.yaml)
AGENTS = ("standalone-insights-api-server", "standalone-insights-queue", "standalone-polly-api-server",
          "standalone-polly-queue")


def workload(release: str, ns: str, component: str, kind: str = "Deployment") -> dict[str, Any]:
    """One service as the chart renders it: metadata carries langsmith.labels (no component); the selector and pod
    template carry app.kubernetes.io/component: <fullname>-<component>.  kind Rollout: <key>.rollout.enabled."""
    full = f"{products.fullname(release, 'langsmith')}-{component}"
    meta = {"helm.sh/chart": CHART, "app.kubernetes.io/name": "langsmith", "app.kubernetes.io/instance": release,
            "app.kubernetes.io/version": "0.17.12rc1", "app.kubernetes.io/managed-by": "Helm"}
    pod = {"app.kubernetes.io/name": "langsmith", "app.kubernetes.io/instance": release,
           "app.kubernetes.io/component": full}
    container = {"name": component.rsplit("-", 1)[-1] if component.startswith("standalone-") else component,
                 "image": "docker.io/langchain/langsmith-backend:0.17.12rc1",
                 "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}}
    return {"apiVersion": "argoproj.io/v1alpha1" if kind == "Rollout" else "apps/v1", "kind": kind,
            "metadata": {"name": full, "namespace": ns, "labels": meta},
            "spec": {"selector": {"matchLabels": dict(pod)},
                     "template": {"metadata": {"labels": dict(pod)}, "spec": {"containers": [container]}}}}


def hpa(target: dict[str, Any]) -> dict[str, Any]:
    """templates/<component>/hpa.yaml: scaleTargetRef kind Rollout when the service is one."""
    name, ns = target["metadata"]["name"], target["metadata"]["namespace"]
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": ns, "labels": dict(target["metadata"]["labels"])},
            "spec": {"scaleTargetRef": {"apiVersion": target["apiVersion"], "kind": target["kind"], "name": name},
                     "minReplicas": 2, "maxReplicas": 8}}


def langsmith(release: str = "prod", ns: str = "obs", *, scaled: tuple[str, ...] = CORE + AGENTS,
              components: tuple[str, ...] = CORE + AGENTS, rollouts: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    out = []
    for comp in components:
        obj = workload(release, ns, comp, "Rollout" if comp in rollouts else "Deployment")
        out += [obj] + ([hpa(obj)] if comp in scaled else [])
    return out


def offline(tmp_path: Path, objects: list[dict[str, Any]], **kubernetes: Any) -> dict[str, Any]:
    (tmp_path / "m").mkdir(parents=True, exist_ok=True)
    (tmp_path / "m" / "rendered.yaml").write_text(yaml.safe_dump_all(objects))
    return {"preset": "langsmith", "kubernetes": {"manifests": str(tmp_path / "m"), **kubernetes}}


def live(cluster: FakeCluster, tmp_path: Path, **kubernetes: Any) -> dict[str, Any]:
    return {"preset": "langsmith", "kubernetes": {"kubeconfig": str(cluster.kubeconfig(tmp_path / "kc")),
                                                  "context": "fake", **kubernetes}}


@pytest.mark.parametrize("release", [{"release": "prod", "namespace": "obs"}, {}], ids=["given", "from-labels"])
def test_a_release_not_named_langsmith_is_found_by_the_charts_names(release: dict[str, str], tmp_path: Path) -> None:
    results, _ = audit_k8s(tmp_path / "a", offline(tmp_path, langsmith(), **release), ITEMS)
    r = results["k8s.hpa-coverage"]
    assert r.status == "pass", r.message
    assert sorted(r.evidence["hpa"]) == sorted(f"obs/prod-langsmith-{c}" for c in CORE + AGENTS)
    assert r.evidence["not_deployed"] == ["listener", "host-backend"]
    assert results["k8s.resource-requests"].status == "pass", results["k8s.resource-requests"].message


def test_the_default_on_agent_features_are_services(tmp_path: Path) -> None:
    """The chart's default renders the insights and polly api-server/queue Deployments with autoscaling off: they
    are the product's services, so an unscaled one fails (they were not known: the item passed)."""
    objects = langsmith(scaled=CORE)
    results, _ = audit_k8s(tmp_path / "a", offline(tmp_path, objects), ["k8s.hpa-coverage"])
    r = results["k8s.hpa-coverage"]
    assert r.status == "fail", r.message
    assert "obs/prod-langsmith-standalone-insights-api-server" in r.message
    with FakeCluster(objects) as cluster:
        results, _ = audit_k8s(tmp_path / "b", live(cluster, tmp_path), ["k8s.hpa-coverage"])
    assert results["k8s.hpa-coverage"].status == "fail", results["k8s.hpa-coverage"].message


def test_an_agent_feature_switched_off_in_the_values_is_not_deployed(tmp_path: Path) -> None:
    objects = langsmith(components=CORE + AGENTS[:1])
    targets = offline(tmp_path, objects, release="prod")
    results, _ = audit_k8s(tmp_path / "a", targets, ["k8s.hpa-coverage"])
    r = results["k8s.hpa-coverage"]
    assert r.status == "fail" and r.evidence["missing"] == list(AGENTS[1:]), r.message  # on by default
    (tmp_path / "values.yaml").write_text("polly:\n  enabled: false\nengineInsightsAgent:\n  queue:\n"
                                          "    enabled: false\n")
    targets["files"] = {"helm_values": str(tmp_path / "values.yaml")}
    results, _ = audit_k8s(tmp_path / "b", targets, ["k8s.hpa-coverage"])
    r = results["k8s.hpa-coverage"]
    assert r.status == "pass" and r.evidence["missing"] == [], r.message
    assert r.evidence["not_deployed"] == ["listener", "host-backend", *AGENTS[1:]]
    why = r.evidence["not_deployed_because"]
    assert why["standalone-polly-queue"].startswith("polly.enabled: false (")
    assert why["standalone-insights-queue"].startswith("engineInsightsAgent.queue.enabled: false (")
    assert why["host-backend"] == ("config.deployment.enabled is off by default in the chart and hostBackend.enabled "
                                   "is off by default in the chart")


def test_host_backend_is_switched_by_either_key(tmp_path: Path) -> None:
    """templates/host-backend/deployment.yaml renders under config.deployment.enabled or hostBackend.enabled."""
    (tmp_path / "values.yaml").write_text("hostBackend:\n  enabled: true\n")
    targets = {**offline(tmp_path, langsmith(), release="prod"),
               "files": {"helm_values": str(tmp_path / "values.yaml")}}
    results, _ = audit_k8s(tmp_path / "a", targets, ["k8s.hpa-coverage"])
    r = results["k8s.hpa-coverage"]
    assert r.status == "fail" and r.evidence["missing"] == ["host-backend"], r.message
    assert r.evidence["not_deployed"] == ["listener"]


@pytest.mark.parametrize("component", ["backend", "queue", "ace-backend"])
def test_whole_component_names_without_a_release(component: str, tmp_path: Path) -> None:
    """ace-backend is not backend, ingest-queue and the agents' queues are not queue: the one left out is missing,
    whatever else ends with its name."""
    objects = langsmith(components=tuple(c for c in CORE + AGENTS if c != component))
    results, _ = audit_k8s(tmp_path / "a", offline(tmp_path, objects), ["k8s.hpa-coverage"])
    r = results["k8s.hpa-coverage"]
    assert r.status == "fail" and r.evidence["missing"] == [component], r.message


def test_a_rollout_stands_for_its_deployment_offline(tmp_path: Path) -> None:
    """backend.rollout.enabled renders an argoproj.io/v1alpha1 Rollout (and its HPA targets kind Rollout): it is
    the backend, scaled, and its containers are judged (it was missing, and its HPA ignored)."""
    objects = langsmith(rollouts=("backend", "queue"))
    results, _ = audit_k8s(tmp_path / "a", offline(tmp_path, objects, release="prod"), ITEMS)
    r = results["k8s.hpa-coverage"]
    assert r.status == "pass" and "obs/prod-langsmith-backend" in r.evidence["hpa"], r.message
    assert "obs/prod-langsmith-backend" in results["k8s.resource-requests"].evidence["deployments"]
    unscaled = langsmith(rollouts=("backend",), scaled=tuple(c for c in CORE + AGENTS if c != "backend"))
    results, _ = audit_k8s(tmp_path / "b", offline(tmp_path / "b", unscaled, release="prod"), ITEMS)
    r = results["k8s.hpa-coverage"]
    assert r.status == "fail" and r.message.startswith("Deployment obs/prod-langsmith-backend has no HPA"), r.message


def test_a_rollout_stands_for_its_deployment_live(tmp_path: Path) -> None:
    objects = langsmith(rollouts=("backend",))
    objects[0]["spec"]["template"]["spec"]["containers"][0]["resources"].pop("limits")
    with FakeCluster(objects) as cluster:
        results, _ = audit_k8s(tmp_path, live(cluster, tmp_path), ITEMS)
        asked = cluster.lists()
    assert results["k8s.hpa-coverage"].status == "pass", results["k8s.hpa-coverage"].message
    assert results["k8s.resource-requests"].status == "fail", results["k8s.resource-requests"].message
    assert "obs/prod-langsmith-backend container backend" in results["k8s.resource-requests"].message
    assert results["k8s.memory-limits"].status == "fail", results["k8s.memory-limits"].message
    assert any("/apis/argoproj.io/v1alpha1/" in p and "rollouts" in p for p in asked)


def test_rollouts_are_listed_only_where_served(tmp_path: Path) -> None:
    """Without Argo Rollouts installed, argoproj.io is never asked for (an identity without a grant on it would get
    403 for a group that is not even there)."""
    with FakeCluster(langsmith()) as cluster:
        results, _ = audit_k8s(tmp_path, live(cluster, tmp_path), ITEMS)
        asked = cluster.lists()
    assert results["k8s.hpa-coverage"].status == "pass", results["k8s.hpa-coverage"].message
    assert not any("argoproj.io" in p for p in asked)


def test_a_forbidden_rollout_listing_is_an_error_not_a_pass(tmp_path: Path) -> None:
    with FakeCluster(langsmith(rollouts=("backend",)), forbidden={"rollouts"}) as cluster:
        results, _ = audit_k8s(tmp_path, live(cluster, tmp_path), ITEMS)
    for item in ITEMS:
        assert results[item].status == "error", (item, results[item].message)


def test_rbac_grants_rollouts_with_deployments(tmp_path: Path) -> None:
    from readiness.checklist import load_checklist
    from readiness.rbac import resources
    from readiness.runner import Options

    found = resources(load_checklist(), Options(only=("k8s.hpa-coverage",)))
    assert ("argoproj.io", "rollouts", True, None) in found and ("apps", "deployments", True, None) in found


# --- Langfuse chart 2.0.0: ClickHouse through the operator's resources ------------------------------------------

LANGFUSE = {"helm.sh/chart": "langfuse-2.0.0", "app.kubernetes.io/name": "langfuse",
            "app.kubernetes.io/version": "3.100.0", "app.kubernetes.io/managed-by": "Helm"}
CH_ITEMS = ["k8s.clickhouse-volume-size", "k8s.no-network-filesystem", "k8s.ssd-storageclass",
            "k8s.volume-expansion"]


def storage_class(name: str, provisioner: str, **params: str) -> dict[str, Any]:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, "parameters": dict(params), "allowVolumeExpansion": True,
            "volumeBindingMode": "WaitForFirstConsumer"}


def operator_cluster(kind: str, release: str, ns: str, size: str, cls: str, replicas: int) -> dict[str, Any]:
    """templates/clickhouse/{cluster,keeper}.yaml: named <fullname>, labelled langfuse.labels."""
    image = "clickhouse/clickhouse-" + ("server" if kind == "ClickHouseCluster" else "keeper")
    spec: dict[str, Any] = {
        "replicas": replicas,
        "dataVolumeClaimSpec": {"accessModes": ["ReadWriteOnce"], "storageClassName": cls,
                                "resources": {"requests": {"storage": size}}},
        "containerTemplate": {"image": {"repository": image, "tag": "26.4"},
                              "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}}}}
    if kind == "ClickHouseCluster":
        spec.update(shards=1, keeperClusterRef={"name": products.fullname(release, "langfuse")})
    return {"apiVersion": "clickhouse.com/v1alpha1", "kind": kind,
            "metadata": {"name": products.fullname(release, "langfuse"), "namespace": ns,
                         "labels": {**LANGFUSE, "app.kubernetes.io/instance": release}},
            "spec": spec}


def langfuse_v2(release: str = "prod", ns: str = "obs", size: str = "100Gi", cls: str = "gp3") -> list[dict[str, Any]]:
    """The chart's default render: web/worker (metadata component labels web/worker), groundhog2k postgres
    aliased postgresql, valkey aliased redis (a Deployment), the ClickHouseCluster (1 replica) and KeeperCluster
    (3); no StatefulSet for ClickHouse until the operator makes one."""
    out: list[dict[str, Any]] = [storage_class("gp3", "ebs.csi.aws.com", type="gp3"),
                                 storage_class("efs-sc", "efs.csi.aws.com")]
    for comp in ("web", "worker"):
        labels = {**LANGFUSE, "app.kubernetes.io/instance": release, "app.kubernetes.io/component": comp}
        obj = workload(release, ns, comp)
        obj["metadata"].update(name=f"{products.fullname(release, 'langfuse')}-{comp}", labels=labels)
        out += [obj, hpa(obj)]
    out.append({"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": f"{release}-postgresql", "namespace": ns,
                             "labels": {"app.kubernetes.io/name": "postgres", "app.kubernetes.io/instance": release}},
                "spec": {"replicas": 1,
                         "template": {"spec": {"containers": [{"name": "postgres", "image": "postgres:17"}]}},
                         "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                             "storageClassName": "gp3", "resources": {"requests": {"storage": "8Gi"}}}}]}})
    out.append(operator_cluster("ClickHouseCluster", release, ns, size, cls, 1))
    out.append(operator_cluster("KeeperCluster", release, ns, "20Gi", cls, 3))
    return out


def langfuse_offline(tmp_path: Path, objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {**offline(tmp_path, objects, release="prod", namespace="obs"), "preset": "langfuse"}


def test_the_operator_clickhouse_volume_is_judged_offline(tmp_path: Path) -> None:
    """Offline the chart renders no ClickHouse StatefulSet: the ClickHouseCluster's dataVolumeClaimSpec is the data
    volume (it was 'no data volume' and the EFS class went unseen)."""
    results, _ = audit_k8s(tmp_path / "a", langfuse_offline(tmp_path / "a", langfuse_v2(size="8Gi", cls="efs-sc")),
                           CH_ITEMS)
    size = results["k8s.clickhouse-volume-size"]
    assert size.status == "fail", size.message
    assert size.message.startswith("ClickHouseCluster obs/prod-langfuse dataVolumeClaimSpec clickhouse-storage-volume "
                                   "requests 8Gi")
    nfs = results["k8s.no-network-filesystem"]
    assert nfs.status == "fail", nfs.message
    assert "ClickHouseCluster obs/prod-langfuse" in nfs.message or "KeeperCluster obs/prod-langfuse" in nfs.message
    results, _ = audit_k8s(tmp_path / "b", langfuse_offline(tmp_path / "b", langfuse_v2()), CH_ITEMS)
    assert {i: results[i].status for i in CH_ITEMS} == dict.fromkeys(CH_ITEMS, "pass"), \
        {i: results[i].message for i in CH_ITEMS}
    assert list(results["k8s.clickhouse-volume-size"].evidence["sizes"]) == [
        "ClickHouseCluster obs/prod-langfuse dataVolumeClaimSpec clickhouse-storage-volume"]


def test_the_operator_clickhouse_without_a_size_is_not_a_pass(tmp_path: Path) -> None:
    objects = langfuse_v2()
    objects[-2]["spec"]["dataVolumeClaimSpec"]["resources"] = {"requests": {"storage": "lots"}}
    results, _ = audit_k8s(tmp_path / "a", langfuse_offline(tmp_path, objects), ["k8s.clickhouse-volume-size"])
    assert results["k8s.clickhouse-volume-size"].status == "error", results["k8s.clickhouse-volume-size"].message


def test_another_releases_operator_clickhouse_is_not_the_products(tmp_path: Path) -> None:
    theirs = operator_cluster("ClickHouseCluster", "analytics", "obs", "8Gi", "efs-sc", 1)
    results, _ = audit_k8s(tmp_path / "a", langfuse_offline(tmp_path, langfuse_v2() + [theirs]), CH_ITEMS)
    assert {i: results[i].status for i in CH_ITEMS} == dict.fromkeys(CH_ITEMS, "pass"), \
        {i: results[i].message for i in CH_ITEMS}


def test_the_operator_clickhouse_resources_are_the_node_size_offline(tmp_path: Path) -> None:
    """What clickhouse.node-resources / memory-vs-limit read from Kubernetes: offline, the ClickHouseCluster's
    containerTemplate (it was None: 'no ClickHouse StatefulSet')."""
    import time

    from readiness.checks import _kubernetes_facts as kf

    from readiness.clients import kubernetes as k8s
    from readiness.context import Context, Session

    config = langfuse_offline(tmp_path, langfuse_v2())["kubernetes"]
    ctx = Context("t", "clickhouse", {"kubernetes": Session("kubernetes", config, 5.0)}, {"kubernetes": config},
                  "langfuse", "production", 5.0, time.monotonic() + 30, frozenset(k8s.KNOWN))
    found = kf.container_resources(ctx, "clickhouse")
    assert found is not None and found["workload"] == "ClickHouseCluster obs/prod-langfuse"
    assert found["limits"] == {"memory": "4Gi"} and found["requests"] == {"cpu": "1", "memory": "2Gi"}


def test_the_products_own_redis_limit_not_an_agent_features(tmp_path: Path) -> None:
    """helm template renders templates/agent-features/polly/redis/statefulset.yaml before templates/redis/: the
    Redis whose limit redis.memory-vs-limit compares is the chart's own <fullname>-redis, not the polly agent's."""
    import time

    from readiness.checks import _kubernetes_facts as kf

    from readiness.clients import kubernetes as k8s
    from readiness.context import Context, Session

    def redis(name: str, memory: str) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": name, "namespace": "obs", "labels": {
                    "helm.sh/chart": CHART, "app.kubernetes.io/name": "langsmith",
                    "app.kubernetes.io/instance": "prod"}},
                "spec": {"replicas": 1, "template": {"spec": {"containers": [
                    {"name": "redis", "image": "redis:7", "resources": {"limits": {"memory": memory}}}]}}}}

    objects = [redis("prod-langsmith-standalone-polly-redis", "1Gi"), redis("prod-langsmith-redis", "8Gi"),
               *langsmith()]
    config = offline(tmp_path, objects, release="prod")["kubernetes"]
    ctx = Context("t", "redis", {"kubernetes": Session("kubernetes", config, 5.0)}, {"kubernetes": config},
                  "langsmith", "production", 5.0, time.monotonic() + 30, frozenset(k8s.KNOWN))
    found = kf.container_resources(ctx, "redis")
    assert found is not None and found["workload"] == "obs/prod-langsmith-redis", found
    assert found["limits"] == {"memory": "8Gi"}


def test_the_agent_features_datastores_under_a_long_release_name(tmp_path: Path) -> None:
    """The insights/polly postgres and redis StatefulSets cut the fullname so their names stay within 52 characters
    (langsmith.agentFeatures.componentName): observability-prod-langsmith-standalone-insights-postgres is
    observability-prod-lang-standalone-insights-postgres.  They are bundled datastores all the same."""
    release = "observability-prod"
    names = ["observability-prod-lang-standalone-insights-postgres",
             "observability-prod-langsmi-standalone-insights-redis",
             "observability-prod-langsmi-standalone-polly-postgres",
             "observability-prod-langsmith-standalone-polly-redis"]
    stores = [{"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": n, "namespace": "obs", "labels": {
                   "helm.sh/chart": CHART, "app.kubernetes.io/name": "langsmith",
                   "app.kubernetes.io/instance": release}},
               "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": n.rsplit("-", 1)[-1],
                                                                              "image": "postgres:16"}]}}}}
              for n in names]
    targets = offline(tmp_path, langsmith(release) + stores, release=release, namespace="obs")
    results, _ = audit_k8s(tmp_path / "a", targets, ["k8s.bundled-datastores"])
    r = results["k8s.bundled-datastores"]
    assert r.status == "fail", r.message
    assert r.evidence["bundled"] == [f"obs/{n} ({n.rsplit('-', 1)[-1]})" for n in names]


# --- found by the hostile-facts test once the fixtures were the product's --------------------------------------

def test_a_request_that_is_not_a_quantity_is_not_set(tmp_path: Path) -> None:
    objects = langsmith()
    objects[0]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "NaN"
    results, _ = audit_k8s(tmp_path / "a", offline(tmp_path, objects, release="prod"), ["k8s.resource-requests"])
    r = results["k8s.resource-requests"]
    assert r.status == "fail" and "obs/prod-langsmith-backend container backend sets no requests.cpu" in r.message


def test_an_autoscaler_whose_target_kind_is_unreadable_is_not_ruled_out(tmp_path: Path) -> None:
    objects = langsmith()
    objects[1]["spec"]["scaleTargetRef"]["kind"] = ""
    results, _ = audit_k8s(tmp_path / "a", offline(tmp_path, objects, release="prod"), ["k8s.hpa-keda-conflict"])
    r = results["k8s.hpa-keda-conflict"]
    assert r.status == "error" and "cannot read what prod-langsmith-backend scale" in r.message, r.message
