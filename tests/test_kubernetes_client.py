"""The Kubernetes client against the fake API server: a real kubeconfig, bearer token, pagination, and the faults
(403, 500, a slow kind, a missing CRD, wrong credentials, no server); offline manifests; secrets and settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fake_k8s import DATA, FakeCluster, audit_k8s, live_targets, load

from readiness.clients import kubernetes as k8s

MODELS = {"HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler", "APIService": "V1APIService"}


@pytest.mark.parametrize("fixture", ["good.yaml", "bad.yaml"])
def test_the_official_client_models_accept_the_fixture_objects(fixture: str) -> None:
    from kubernetes.client import ApiClient

    api = ApiClient()
    seen = 0
    for obj in load(fixture):
        if obj["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: no model in the client
        model = MODELS.get(obj["kind"], "V1" + obj["kind"])
        built = api.deserialize(json.dumps(obj), model, "application/json")
        assert built.metadata.name == obj["metadata"]["name"]
        seen += 1
    assert seen >= 15


def test_lists_every_page_with_the_kubeconfig_token(tmp_path: Path) -> None:
    with FakeCluster(load("good.yaml"), max_page=1) as cluster:
        client = k8s.connect(live_targets(cluster, tmp_path)["kubernetes"], 2.0)
        try:
            deployments = client.list(k8s.KNOWN["deployments"], "langsmith")
            assert [d["metadata"]["name"] for d in deployments] == ["langsmith-backend", "langsmith-queue",
                                                                    "langsmith-frontend"]
            assert {d["kind"] for d in deployments} == {"Deployment"}  # list items get their kind back
            assert client.version == "v1.29.3-eks-adc7111"
            pages = [p for p in cluster.requests if "/deployments" in p]
            assert len(pages) == 3 and all("limit=500" in p for p in pages)
        finally:
            k8s.close(client)


@pytest.mark.parametrize(("fault", "item", "message"), [
    ({"forbidden": {"storageclasses"}}, "k8s.default-storageclass",
     "forbidden: the audit identity cannot list storageclasses (grant get/list)"),
    ({"broken": {"storageclasses"}}, "k8s.default-storageclass",
     "listing storageclasses failed: HTTP 500: etcdserver: request timed out"),
    ({"forbidden": {"csidrivers"}}, "k8s.ebs-csi-driver",
     "forbidden: the audit identity cannot list csidrivers (grant get/list)"),
    ({"garbage": {"storageclasses"}}, "k8s.default-storageclass",
     "listing storageclasses: the answer's items is not a list"),
    ({"looping": {"storageclasses"}}, "k8s.default-storageclass",
     "listing storageclasses: the API server repeated its continue token"),
    ({"cycling": {"storageclasses"}}, "k8s.default-storageclass",
     "listing storageclasses: the API server repeated its continue token"),
    ({"cut": {"storageclasses"}}, "k8s.default-storageclass",
     "listing storageclasses was cut short: 1 more item(s) but no continue token"),
    ({"shapeless": {"storageclasses"}}, "k8s.default-storageclass",
     "listing storageclasses: an item is not an object with metadata"),
])
def test_a_refused_or_failing_list_is_an_error_not_a_crash(fault: dict, item: str, message: str,
                                                           tmp_path: Path) -> None:
    with FakeCluster(load("good.yaml"), **fault) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), [item, "k8s.volume-expansion"])
    assert results[item].status == "error"
    assert results[item].message == message
    if "forbidden" in fault and "storageclasses" in fault["forbidden"]:
        assert results["k8s.volume-expansion"].status == "error"  # it needs the classes too: same error, no pass


def test_a_slow_kind_times_out_its_item_and_the_run_ends(tmp_path: Path) -> None:
    with FakeCluster(load("good.yaml"), slow={"storageclasses"}, slow_seconds=60) as cluster:
        results, report = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.default-storageclass"],
                                timeout=1.0)
    assert results["k8s.default-storageclass"].status == "error"
    assert "timed out" in results["k8s.default-storageclass"].message


def test_wrong_token_is_an_error_and_the_token_is_never_printed(tmp_path: Path) -> None:
    with FakeCluster(load("good.yaml")) as cluster:
        targets = live_targets(cluster, tmp_path)
        cluster.kubeconfig(Path(targets["kubernetes"]["kubeconfig"]), token="s3cr3t-wrong-token-xyz")
        results, report = audit_k8s(tmp_path, targets, ["k8s.default-storageclass"])
    assert results["k8s.default-storageclass"].status == "error"
    assert "401 Unauthorized" in results["k8s.default-storageclass"].message
    assert "s3cr3t-wrong-token-xyz" not in json.dumps(report, default=str)
    assert k8s.secrets(targets["kubernetes"]) == {"s3cr3t-wrong-token-xyz"}


def test_unreachable_api_server_is_an_error(tmp_path: Path) -> None:
    cluster = FakeCluster([]).start()
    targets = live_targets(cluster, tmp_path)
    cluster.stop()
    results, _ = audit_k8s(tmp_path, targets, ["k8s.default-storageclass"], timeout=3.0)
    assert results["k8s.default-storageclass"].status == "error"
    assert "cannot reach the API server" in results["k8s.default-storageclass"].message


def test_offline_manifests_lists_multidocuments_and_list_kinds(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.yaml").write_text((DATA / "good.yaml").read_text())
    client = k8s.connect({"manifests": str(tmp_path / "m"), "namespace": "langsmith"}, 1.0)
    names = [d["metadata"]["name"] for d in client.list(k8s.KNOWN["deployments"], "langsmith")]
    assert names == ["langsmith-backend", "langsmith-queue", "langsmith-frontend"]  # from a kind: List
    assert [d["metadata"]["name"] for d in client.list(k8s.KNOWN["deployments"], "kube-system")] == [
        "ebs-csi-controller"]
    assert not client.live


@pytest.mark.parametrize(("text", "message"), [
    ("kind: [unclosed\n", "not valid YAML"),
    ("- just\n- a list\n", "not a mapping"),
    ("kind: Pod\napiVersion: v1\nmetadata: {name: p, creationTimestamp: 2026-02-30T00:00:00Z}\n", ":3:"),
    ("kind: Pod\napiVersion: v1\nmetadata: !!python/object:os.system {name: p}\n", "not valid YAML"),
    ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d]\n"
     "kind: ConfigMap\napiVersion: v1\nmetadata: {name: bomb}\n",
     r"bad.yaml:5:5: aliases repeat more than 10000 values \(an alias bomb\?\)"),
])
def test_offline_refuses_bad_manifests_with_the_file(text: str, message: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(k8s.KubernetesError, match=message) as info:
        k8s.connect({"manifests": str(bad)}, 1.0)
    assert str(bad) in str(info.value)


def _shared_resources(objects: list[dict]) -> list[dict]:
    """The objects with one ``resources`` mapping shared by every container, as a hand-written file's anchor gives."""
    shared: dict | None = None
    for obj in objects:
        for container in (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
            shared = shared if shared is not None else container.get("resources") or {"limits": {"memory": "2Gi"}}
            container["resources"] = shared
    return objects


def test_hand_written_manifests_with_anchors_are_read_as_kubectl_reads_them(tmp_path: Path) -> None:
    objects = _shared_resources(load("bad.yaml"))
    with_aliases = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objects})
    assert "&id001" in with_aliases and "*id001" in with_aliases
    written_out = yaml.dump({"apiVersion": "v1", "kind": "List", "items": objects}, Dumper=_NoAliases)
    assert "*id" not in written_out
    seen = {}
    for name, text in (("aliases", with_aliases), ("plain", written_out)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "all.yaml").write_text(text)
        targets = {"preset": "langsmith", "kubernetes": {"manifests": str(tmp_path / name), "namespace": "langsmith",
                                                         "release": "langsmith"}}
        results, _ = audit_k8s(tmp_path / f"run-{name}", targets, ["storage", "autoscaling"])
        seen[name] = {i: (r.status, r.message) for i, r in results.items()}
    assert seen["aliases"] == seen["plain"]
    assert not any("alias" in message for _, message in seen["aliases"].values())
    statuses = {status for status, _ in seen["aliases"].values()}
    assert "fail" in statuses or "pass" in statuses, seen["aliases"]
    # each alias is its own copy: a probe changing one object cannot change another
    client = k8s.connect({"manifests": str(tmp_path / "aliases"), "namespace": "langsmith"}, 1.0)
    found = [c["resources"] for d in client.list(k8s.KNOWN["deployments"], "langsmith")
             for c in d["spec"]["template"]["spec"]["containers"]]
    assert len(found) > 1 and len({id(r) for r in found}) == len(found)


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True


def test_settings_that_cannot_work_are_reported() -> None:
    assert k8s.config_problems({"manifests": "x", "in_cluster": True})[0][0] == "manifests"
    assert k8s.config_problems({"in_cluster": True, "context": "prod"})[0][0] == "in_cluster"
    assert k8s.config_problems({"namespace": "Bad_NS"})[0][0] == "namespace"
    assert k8s.config_problems({"namespace": "langsmith", "context": "prod"}) == []
    assert k8s.config_problems({"manifests": "/nonexistent/rendered.yaml"}) == [
        ("manifests", "/nonexistent/rendered.yaml does not exist")]
    assert k8s.secrets({"kubeconfig": "/nonexistent/kubeconfig"}) == set()
    assert k8s.secrets({"manifests": "x"}) == set()


def test_https_with_the_kubeconfig_ca_and_a_wrong_ca_refused(tmp_path: Path) -> None:
    from readiness.demo.tls import make_tls

    tls = make_tls(tmp_path / "tls")
    other = make_tls(tmp_path / "other")
    with FakeCluster(load("good.yaml", "langsmith-services.yaml"), tls=tls) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.default-storageclass"])
        assert results["k8s.default-storageclass"].status == "pass"
        (tmp_path / "x").mkdir()
        targets = live_targets(cluster, tmp_path / "x")
        cluster.kubeconfig(Path(targets["kubernetes"]["kubeconfig"]), ca=other.ca)
        results, _ = audit_k8s(tmp_path / "x", targets, ["k8s.default-storageclass"])
    assert results["k8s.default-storageclass"].status == "error"
    assert "CERTIFICATE_VERIFY_FAILED" in results["k8s.default-storageclass"].message


def test_in_cluster_service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes.config import incluster_config

    from readiness.demo.tls import make_tls

    tls = make_tls(tmp_path / "tls")
    with FakeCluster(load("good.yaml", "langsmith-services.yaml"), tls=tls) as cluster:
        (tmp_path / "token").write_text(cluster.token)
        monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
        monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(tls.ca))
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(cluster.port))
        targets = {"preset": "langsmith", "kubernetes": {"in_cluster": True, "namespace": "langsmith",
                                                         "release": "langsmith"}}
        results, _ = audit_k8s(tmp_path, targets, ["k8s.default-storageclass", "k8s.hpa-coverage"])
    ids = ["k8s.default-storageclass", "k8s.hpa-coverage"]
    assert {results[i].status for i in ids} == {"pass"}, {i: results[i].message for i in ids}


def test_in_cluster_outside_a_pod_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    results, _ = audit_k8s(tmp_path, {"kubernetes": {"in_cluster": True}}, ["k8s.default-storageclass"])
    assert results["k8s.default-storageclass"].status == "error"
    assert results["k8s.default-storageclass"].message.startswith("cannot use the Kubernetes configuration")


def test_probe_modules_import_no_kubernetes_client() -> None:
    import subprocess
    import sys

    code = ("import sys, readiness.checks.kubernetes, readiness.checks.kubernetes_storage, "
            "readiness.checks.kubernetes_autoscaling, readiness.checks.kubernetes_network, "
            "readiness.checks._kubernetes_facts, readiness.clients.kubernetes; "
            "print(sorted(m for m in ('kubernetes', 'urllib3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_rules_readiness_rbac_writes_are_enough(tmp_path: Path) -> None:
    """Audit as an identity holding exactly `readiness rbac`'s rules: the same verdicts as with full access."""
    from fake_k8s import k8s_checklist

    from readiness.audit import load_inputs
    from readiness.rbac import manifests
    from readiness.runner import Options

    with FakeCluster(load("bad.yaml")) as cluster:
        targets = live_targets(cluster, tmp_path)
        full, _ = audit_k8s(tmp_path, targets, ["storage", "autoscaling", "network"])
        inputs = load_inputs(k8s_checklist(tmp_path), str(tmp_path / "targets.yaml"))
        cluster.grant_rbac(manifests(inputs.checklist, inputs.targets, Options(preset="langsmith")))
        least, _ = audit_k8s(tmp_path, targets, ["storage", "autoscaling", "network"])
    ids = [i for i in full if i.startswith("k8s.")]
    assert len(ids) > 20
    # the EBS CSI controller lives in kube-system: its probe declares that read, so rbac grants a Role there
    assert "k8s.ebs-csi-controller-ready" in ids
    assert {i: least[i].status for i in ids} == {i: full[i].status for i in ids}
    assert not [i for i in ids if "forbidden" in least[i].message]


def _in_two_namespaces(objects: list[dict]) -> list[dict]:
    """The fixture's product objects twice: in langsmith and in team-b (cluster-scoped ones and kube-system's once)."""
    import copy

    out = list(objects)
    for obj in objects:
        if (obj.get("metadata") or {}).get("namespace") == "langsmith":
            twin = copy.deepcopy(obj)
            twin["metadata"]["namespace"] = "team-b"
            out.append(twin)
    return out


def _listed(requests: list[str]) -> set[tuple[str, str, str | None]]:
    """(apiGroup, plural, namespace or None) of every list request the audit made."""
    out = set()
    for raw in requests:
        parts = [p for p in raw.partition("?")[0].split("/") if p]
        if parts[:1] == ["api"]:
            group, rest = "", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, rest = parts[1], parts[3:]
        else:
            continue
        namespace = rest[1] if rest[:1] == ["namespaces"] and len(rest) == 3 else None
        if len(rest) in (1, 3) and (len(rest) == 1 or namespace):
            out.add((group, rest[-1], namespace))
    return out


def test_rbac_grants_one_role_per_listed_namespace_and_nothing_cluster_wide_on_namespaced_kinds(
        tmp_path: Path) -> None:
    """`namespaces: [a, b]` once got a ClusterRole on pods, services, statefulsets ... (every pod's env in the
    cluster): now a Role in each listed namespace (and kube-system's own read), a ClusterRole only for
    cluster-scoped kinds, and an identity bound to exactly that runs every item without a 403."""
    from fake_k8s import k8s_checklist

    from readiness.audit import load_inputs
    from readiness.rbac import manifests
    from readiness.runner import Options

    sections = ["storage", "autoscaling", "network"]
    # Argo Rollouts served (without objects): a cluster without them never asks, and the grant is still needed
    with FakeCluster(_in_two_namespaces(load("bad.yaml")), extra=[("argoproj.io/v1alpha1", "Rollout")]) as cluster:
        targets = live_targets(cluster, tmp_path)
        targets["kubernetes"].pop("namespace")
        targets["kubernetes"]["namespaces"] = ["langsmith", "team-b"]
        full, _ = audit_k8s(tmp_path, targets, sections)
        inputs = load_inputs(k8s_checklist(tmp_path), str(tmp_path / "targets.yaml"))
        docs = manifests(inputs.checklist, inputs.targets, Options(preset="langsmith"))
        cluster.grant_rbac(docs)
        cluster.requests.clear()
        least, _ = audit_k8s(tmp_path, targets, sections)
        listed = _listed(cluster.requests)
    roles = {(d["kind"], d["metadata"].get("namespace")) for d in docs if d["kind"] in ("Role", "ClusterRole")}
    assert roles == {("ClusterRole", None), ("Role", "langsmith"), ("Role", "team-b"), ("Role", "kube-system")}
    (cluster_role,) = [d for d in docs if d["kind"] == "ClusterRole"]
    cluster_wide = {r for rule in cluster_role["rules"] for r in rule["resources"]}
    assert cluster_wide and not cluster_wide & {"pods", "services", "statefulsets", "deployments", "configmaps"}
    assert cluster_wide <= {p for p, kind in k8s.KNOWN.items() if not kind.namespaced}
    ids = [i for i in full if i.startswith("k8s.")]
    assert len(ids) > 20
    assert {i: least[i].status for i in ids} == {i: full[i].status for i in ids}
    assert not [i for i in ids if "forbidden" in least[i].message]
    # no wider than needed: every grant is a list the audit made
    assert cluster.granted and cluster.granted <= listed, cluster.granted - listed


def test_rbac_on_every_namespace_says_so(tmp_path: Path) -> None:
    from readiness import rbac
    from readiness.audit import load_inputs
    from readiness.runner import Options

    (tmp_path / "t.yaml").write_text("preset: langfuse\nkubernetes: {in_cluster: true}\n")
    inputs = load_inputs(None, str(tmp_path / "t.yaml"))
    docs = rbac.manifests(inputs.checklist, inputs.targets, Options(preset="langfuse"))
    names = {(d["kind"], d["metadata"]["name"]) for d in docs if d["kind"] in ("Role", "ClusterRole")}
    assert names == {("ClusterRole", "readiness-read"), ("ClusterRole", "readiness-read-every-namespace"),
                     ("Role", "readiness-read")}  # the Role: kube-system's own read
    text = rbac.render(docs)
    assert "names no namespace" in text.split("name: readiness-read-every-namespace")[0].rsplit("---", 1)[1]
