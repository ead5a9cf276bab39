"""The product is identified by the chart's labels, the release and the namespace, never by a name suffix anywhere
in the cluster; what the chart deploys (services, bundled datastores) comes from checks/_products.py.  Offline on
manifests and live against the fake API server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_k8s import FakeCluster, audit_k8s, load
from readiness.checks import _products as products
from readiness.checks._common import classify_host

from readiness.checklist import load_checklist

ITEMS = ["k8s.hpa-coverage", "k8s.resource-requests", "k8s.bundled-datastores"]
LANGFUSE_V2 = {"helm.sh/chart": "langfuse-2.0.0", "app.kubernetes.io/name": "langfuse"}


def deployment(name: str, ns: str, labels: dict[str, str], kind: str = "Deployment") -> dict[str, Any]:
    pod = {k: v for k, v in labels.items() if k != "helm.sh/chart"}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
            "spec": {"selector": {"matchLabels": dict(pod)}, "template": {"metadata": {"labels": dict(pod)}, "spec": {
                "containers": [{"name": name.rsplit("-", 1)[-1], "image": "example/app:1.0", "resources": {
                    "requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}}]}}}}


def hpa(target: str, ns: str) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": target, "namespace": ns},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": 2, "maxReplicas": 8}}


def grafana() -> list[dict[str, Any]]:
    """A monitoring stack's *-web Deployment and its HPA: not the product, whatever its name ends with."""
    labels = {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "grafana"}
    return [deployment("grafana-web", "monitoring", labels), hpa("grafana-web", "monitoring")]


def langfuse(release: str, ns: str, components: tuple[str, ...] = ("web", "worker")) -> list[dict[str, Any]]:
    """Langfuse chart 2.0.0's service Deployments (templates/{web,worker}/deployment.yaml) with their HPAs."""
    out = []
    for comp in components:
        name = f"{products.fullname(release, 'langfuse')}-{comp}"
        labels = {**LANGFUSE_V2, "app.kubernetes.io/instance": release, "app.kubernetes.io/component": comp}
        out += [deployment(name, ns, labels), hpa(name, ns)]
    return out


def offline(tmp_path: Path, objects: list[dict[str, Any]], **kubernetes: Any) -> dict[str, Any]:
    (tmp_path / "m").mkdir(parents=True, exist_ok=True)
    (tmp_path / "m" / "all.yaml").write_text(yaml.safe_dump_all(objects))
    return {"preset": "langfuse", "kubernetes": {"manifests": str(tmp_path / "m"), **kubernetes}}


def test_a_foreign_web_deployment_is_never_the_product(tmp_path: Path) -> None:
    results, _ = audit_k8s(tmp_path / "a", offline(tmp_path, grafana()), ITEMS)
    for item in ITEMS:
        assert results[item].status == "error", (item, results[item].message)
        assert "set release and namespace in the kubernetes target" in results[item].message
    assert "app.kubernetes.io/name=langfuse" in results["k8s.hpa-coverage"].message


def test_a_foreign_web_deployment_is_never_the_product_live(tmp_path: Path) -> None:
    with FakeCluster(grafana()) as cluster:
        targets = {"preset": "langfuse", "kubernetes": {"kubeconfig": str(cluster.kubeconfig(tmp_path / "kc")),
                                                        "context": "fake"}}
        results, _ = audit_k8s(tmp_path, targets, ITEMS)
    assert {i: results[i].status for i in ITEMS} == dict.fromkeys(ITEMS, "error"), \
        {i: results[i].message for i in ITEMS}


def test_the_release_is_read_from_the_charts_labels(tmp_path: Path) -> None:
    prod = {"app.kubernetes.io/instance": "prod"}
    stores = [deployment("prod-redis", "obs", {"app.kubernetes.io/name": "redis", **prod}),  # Valkey, chart 2.0.0
              deployment("prod-postgresql", "obs", {"app.kubernetes.io/name": "postgresql", **prod},
                         kind="StatefulSet")]
    objects = grafana() + langfuse("prod", "obs") + stores
    with FakeCluster(objects) as cluster:
        targets = {"preset": "langfuse", "kubernetes": {"kubeconfig": str(cluster.kubeconfig(tmp_path / "kc")),
                                                        "context": "fake"}}
        results, _ = audit_k8s(tmp_path, targets, ITEMS)
    assert results["k8s.hpa-coverage"].status == "pass", results["k8s.hpa-coverage"].message
    assert results["k8s.hpa-coverage"].message == "2 service Deployments scaled (2 by HPA, 0 by KEDA)"
    assert results["k8s.resource-requests"].evidence["deployments"] == ["obs/prod-langfuse-web",
                                                                         "obs/prod-langfuse-worker"]
    bundled = results["k8s.bundled-datastores"]
    assert bundled.status == "fail"
    assert bundled.evidence["bundled"] == ["obs/prod-postgresql (postgres)", "obs/prod-redis (redis)"]


def test_several_releases_are_an_error_that_names_them(tmp_path: Path) -> None:
    targets = offline(tmp_path, langfuse("prod", "obs") + langfuse("staging", "obs-staging"))
    results, _ = audit_k8s(tmp_path / "a", targets, ITEMS)
    for item in ITEMS:
        assert results[item].status == "error", (item, results[item].message)
        assert "several releases" in results[item].message and "staging in obs-staging" in results[item].message
    targets["kubernetes"].update(release="staging", namespace="obs-staging")
    results, _ = audit_k8s(tmp_path / "b", targets, ["k8s.hpa-coverage"])
    assert results["k8s.hpa-coverage"].status == "pass"
    assert list(results["k8s.hpa-coverage"].evidence["hpa"]) == ["obs-staging/staging-langfuse-web",
                                                                  "obs-staging/staging-langfuse-worker"]


def test_one_service_found_and_the_rest_absent_fails(tmp_path: Path) -> None:
    targets = offline(tmp_path, langfuse("prod", "obs", ("web",)), release="prod", namespace="obs")
    results, _ = audit_k8s(tmp_path / "a", targets, ["k8s.hpa-coverage"])
    r = results["k8s.hpa-coverage"]
    assert r.status == "fail", r.message
    assert r.message.startswith("No Deployment for worker, which the chart deploys")
    assert r.evidence["missing"] == ["worker"] and r.evidence["not_deployed"] == []


def _langsmith_without_ingest_queue() -> list[dict[str, Any]]:
    gone = "langsmith-ingest-queue"
    return [o for o in load("good.yaml", "langsmith-services.yaml") if o["metadata"].get("name") != gone
            and o.get("spec", {}).get("scaleTargetRef", {}).get("name") != gone]


def test_only_the_charts_own_switches_make_a_service_not_deployed(tmp_path: Path) -> None:
    objects = _langsmith_without_ingest_queue()
    targets = {**offline(tmp_path, objects, release="langsmith", namespace="langsmith"), "preset": "langsmith"}
    results, _ = audit_k8s(tmp_path / "a", targets, ["k8s.hpa-coverage"])
    r = results["k8s.hpa-coverage"]
    assert r.status == "fail" and r.evidence["missing"] == ["ingest-queue"], r.message
    # config.deployment.enabled and hostBackend.enabled are off by default
    assert r.evidence["not_deployed"] == ["listener", "host-backend"]
    (tmp_path / "values.yaml").write_text("config:\n  deployment:\n    enabled: true\ningestQueue:\n  enabled: false\n")
    targets["files"] = {"helm_values": str(tmp_path / "values.yaml")}
    results, _ = audit_k8s(tmp_path / "b", targets, ["k8s.hpa-coverage"])
    r = results["k8s.hpa-coverage"]
    assert r.status == "fail" and r.evidence["missing"] == ["listener", "host-backend"], r.message  # on, not there
    assert r.evidence["not_deployed"] == ["ingest-queue"]
    assert re.fullmatch(r"ingestQueue\.enabled: false \(.*values\.yaml:5:\d+\)",
                        r.evidence["not_deployed_because"]["ingest-queue"])


REDIS = {"app.kubernetes.io/name": "redis"}


@pytest.mark.parametrize(("kind", "name", "labels"), [
    ("StatefulSet", "prod-redis-master", {**REDIS, "app.kubernetes.io/component": "master"}),
    ("StatefulSet", "prod-redis-primary", {**REDIS, "app.kubernetes.io/component": "primary"}),
    ("Deployment", "prod-redis", REDIS),
    ("StatefulSet", "prod-redis-master", {}),
    ("StatefulSet", "prod-redis-primary", {}),
    ("Deployment", "prod-redis", {}),
], ids=["bitnami-redis", "bitnami-valkey", "valkey-io", "bitnami-redis-unlabelled", "bitnami-valkey-unlabelled",
        "valkey-io-unlabelled"])
def test_bundled_redis_in_every_chart_shape(kind: str, name: str, labels: dict[str, str], tmp_path: Path) -> None:
    store = deployment(name, "obs", {**labels, "app.kubernetes.io/instance": "prod"} if labels else {}, kind=kind)
    targets = offline(tmp_path, langfuse("prod", "obs") + [store], release="prod", namespace="obs")
    results, _ = audit_k8s(tmp_path / "a", targets, ["k8s.bundled-datastores"])
    r = results["k8s.bundled-datastores"]
    assert r.status == "fail" and r.evidence["bundled"] == [f"obs/{name} (redis)"], r.message


def test_another_releases_datastore_is_not_the_products(tmp_path: Path) -> None:
    other = deployment("cache-redis-master", "obs", {"app.kubernetes.io/name": "redis",
                                                     "app.kubernetes.io/instance": "cache"}, kind="StatefulSet")
    targets = offline(tmp_path, langfuse("prod", "obs") + [other], release="prod", namespace="obs")
    results, _ = audit_k8s(tmp_path / "a", targets, ["k8s.bundled-datastores"])
    assert results["k8s.bundled-datastores"].status == "pass", results["k8s.bundled-datastores"].message


@pytest.mark.parametrize(("store", "host", "kind"), [
    ("redis", "prod-redis-primary", "bundled"), ("redis", "prod-redis-master.obs.svc.cluster.local", "bundled"),
    ("redis", "valkey", "bundled"), ("redis", "prod-redis", "bundled"), ("redis", "127.0.0.1", "bundled"),
    ("redis", "cache.abc123.use1.cache.amazonaws.com", "managed"), ("redis", "queue.internal.example.com", None),
    ("postgres", "prod-postgresql", "bundled"), ("postgres", "db", "bundled"),
    ("postgres", "/var/run/postgresql", "bundled"),
    ("postgres", "app.c9x.eu-west-1.rds.amazonaws.com", "managed"),
])
def test_one_definition_of_bundled_hosts(store: str, host: str, kind: str | None) -> None:
    items = {i.id: i for i in load_checklist().items}
    item = items["redis.external" if store == "redis" else "postgres.managed"]
    params = item.params_for(None)
    assert params["bundled"] is None  # the checklist defers to checks/_products.py, not a list of its own
    assert classify_host(host, params["managed"], products.bundled_hosts(store))[0] == kind


def test_other_backends_read_the_products_datastore_not_any_in_the_cluster(tmp_path: Path) -> None:
    import time

    from readiness.checks import _kubernetes_facts as kf

    from readiness.clients import kubernetes as k8s
    from readiness.context import Context, Session

    def facts(objects: list[dict[str, Any]], **kubernetes: Any) -> Context:
        config = offline(tmp_path / str(len(list(tmp_path.iterdir()))), objects, **kubernetes)["kubernetes"]
        return Context("t", "redis", {"kubernetes": Session("kubernetes", config, 5.0)}, {"kubernetes": config},
                       "langfuse", "production", 5.0, time.monotonic() + 30, frozenset(k8s.KNOWN))

    theirs = deployment("grafana-redis", "monitoring", {"app.kubernetes.io/instance": "grafana"}, kind="StatefulSet")
    assert kf.container_resources(facts(grafana() + [theirs]), "redis") is None  # the product is not identified
    ours = deployment("prod-redis", "obs", {**REDIS, "app.kubernetes.io/instance": "prod"})
    found = kf.container_resources(facts(grafana() + [theirs, ours] + langfuse("prod", "obs")), "redis")
    assert found is not None and found["workload"] == "obs/prod-redis"
