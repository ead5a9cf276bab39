"""The generic kubernetes.object probe: the README's examples on the good and bad clusters, fan-out paths, selectors,
any/every, zero matches, live-state fields offline, and a checklist that tries to misuse it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from checklists import generic_item
from fake_k8s import FakeCluster, k8s_checklist, live_targets, load, offline_targets, served
from helpers import audit

HEADING = "### Writing Kubernetes checks without Python"
README = Path(__file__).resolve().parent.parent / "README.md"


def readme_items() -> list[dict]:
    section = README.read_text().split(HEADING, 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block
    return yaml.safe_load(block.group(1))


good = served("good", "good.yaml", max_page=2)
bad = served("bad", "bad.yaml", max_page=2)


def test_readme_examples_pass_on_good_and_fail_on_bad(good: FakeCluster, bad: FakeCluster, tmp_path: Path) -> None:
    items = readme_items()
    ids = [i["id"] for i in items]
    path = k8s_checklist(tmp_path, items)
    ok, _ = audit(tmp_path, live_targets(good, tmp_path), ids, checklist=path)
    assert {i: ok[i].status for i in ids} == dict.fromkeys(ids, "pass"), {i: ok[i].message for i in ids}
    (tmp_path / "bad").mkdir()
    ko, _ = audit(tmp_path / "bad", live_targets(bad, tmp_path / "bad"), ids, checklist=path)
    assert {i: ko[i].status for i in ids} == {"k8s.run-as-non-root": "fail", "k8s.memory-limit-set": "fail",
                                              "k8s.ingress-class-nginx": "pass"}, {i: ko[i].message for i in ids}
    assert ko["k8s.run-as-non-root"].message.startswith(
        "langsmith/langsmith-backend: spec.template.spec.securityContext.runAsNonRoot not present, expected = True")
    assert ko["k8s.memory-limit-set"].message.endswith("(2 of 3 Deployment matching "
                                                       "app.kubernetes.io/instance=langsmith fail)")


def _run(cluster_or_dir: object, tmp_path: Path, **params: object) -> object:
    item = generic_item("k8s.custom", "kubernetes.object", **params)
    path = k8s_checklist(tmp_path, [item])
    targets = live_targets(cluster_or_dir, tmp_path) if isinstance(cluster_or_dir, FakeCluster) else cluster_or_dir
    results, _ = audit(tmp_path, targets, ["k8s.custom"], checklist=path)
    return results["k8s.custom"]


def test_zero_matching_objects_is_an_error_never_a_pass(good: FakeCluster, tmp_path: Path) -> None:
    r = _run(good, tmp_path, kind="Deployment", selector="app.kubernetes.io/instance=nope", field="metadata.name",
             expect={"absent": True})
    assert r.status == "error"
    assert r.message.startswith("no Deployment matching app.kubernetes.io/instance=nope in langsmith")


def test_any_and_annotations_with_dots(good: FakeCluster, bad: FakeCluster, tmp_path: Path) -> None:
    field = 'metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]'
    assert _run(good, tmp_path, kind="ingresses", field=field, expect={"equals": "25m"}).status == "pass"
    (tmp_path / "b").mkdir()
    assert _run(bad, tmp_path / "b", kind="ingresses", field=field, expect={"present": True}).status == "fail"
    (tmp_path / "c").mkdir()
    r = _run(good, tmp_path / "c", kind="Deployment", name="langsmith-*", match="any", field="spec.replicas",
             expect={"min": 3})
    assert r.status == "pass" and r.message.startswith("langsmith/langsmith-queue: spec.replicas is 3 (1 of 3")


def test_text_against_a_number_is_undecided(good: FakeCluster, tmp_path: Path) -> None:
    r = _run(good, tmp_path, kind="Deployment", field="metadata.name", expect={"min": 3})
    assert r.status == "error" and "cannot be compared" in r.message


def test_a_crd_kind_and_its_absence(good: FakeCluster, tmp_path: Path) -> None:
    r = _run(good, tmp_path, kind="ScaledObject", api_version="keda.sh/v1alpha1", field="spec.maxReplicaCount",
             expect={"max": 50})
    assert r.status == "pass"
    (tmp_path / "x").mkdir()
    r = _run(good, tmp_path / "x", kind="Rollout", api_version="argoproj.io/v1alpha1", field="spec.replicas",
             expect={"min": 1})
    assert r.status == "error" and "does not serve argoproj.io/v1alpha1 rollouts" in r.message


def test_status_fields_are_skipped_offline_and_bad_paths_are_errors(tmp_path: Path) -> None:
    targets = offline_targets(tmp_path, "good.yaml")
    r = _run(targets, tmp_path, kind="Deployment", field="status.readyReplicas", expect={"min": 1})
    assert r.status == "skipped" and "needs a live cluster" in r.message
    (tmp_path / "p").mkdir()
    r = _run(targets, tmp_path / "p", kind="Deployment", field="spec..replicas[", expect={"min": 1})
    assert r.status == "error" and "cannot read the field path" in r.message
    (tmp_path / "u").mkdir()
    r = _run(targets, tmp_path / "u", kind="Widget", field="spec.x", expect={"min": 1})
    assert r.status == "error" and "unknown kind 'Widget'" in r.message


def test_shares_the_listing_of_the_purpose_built_items(good: FakeCluster, tmp_path: Path) -> None:
    item = generic_item("k8s.custom", "kubernetes.object", kind="Deployment", field="metadata.name",
                        expect={"matches": "^langsmith-"})
    path = k8s_checklist(tmp_path, [item])
    good.requests.clear()
    results, _ = audit(tmp_path, live_targets(good, tmp_path), ["k8s.custom", "k8s.hpa-coverage",
                                                                 "k8s.resource-requests"], checklist=path)
    assert results["k8s.custom"].status == "pass"
    firsts = [r for r in good.requests if "/deployments" in r and "continue=" not in r]
    assert len(firsts) == 1, good.requests


def test_secrets_are_never_read(tmp_path: Path) -> None:
    targets = offline_targets(tmp_path, "good.yaml")
    r = _run(targets, tmp_path, kind="Secret", api_version="v1", field="data.password", expect={"present": True})
    assert r.status == "error" and "does not read Secrets" in r.message


def test_a_named_step_into_a_list_is_undecided_never_absent(tmp_path: Path) -> None:
    """``containers.securityContext.privileged`` (no [*]) reached no value on the list, so "absent" passed although
    a container runs privileged."""
    objects = load("good.yaml")
    backend = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "langsmith-backend")
    backend["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    with FakeCluster(objects) as cluster:
        r = _run(cluster, tmp_path, kind="Deployment", name="langsmith-backend",
                 field="spec.template.spec.containers.securityContext.privileged", expect={"absent": True})
    assert r.status == "error", r.message
    assert "names a field of a list: write [*]" in r.message
    (tmp_path / "star").mkdir()
    with FakeCluster(objects) as cluster:
        r = _run(cluster, tmp_path / "star", kind="Deployment", name="langsmith-backend",
                 field="spec.template.spec.containers[*].securityContext.privileged", expect={"absent": True})
    assert r.status == "fail", r.message


def test_a_quantity_bound_compares_quantities_not_versions(tmp_path: Path) -> None:
    """expect {min: "1Gi"} on a 512Mi limit: compared as versions, 512 >= 1 passed."""
    objects = load("good.yaml")
    backend = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "langsmith-backend")
    backend["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"memory": "512Mi", "cpu": "500m"}}
    field = "spec.template.spec.containers[0].resources.limits"
    cases = [(".memory", {"min": "1Gi"}, "fail"), (".memory", {"min": "0.5Gi"}, "pass"),
             (".memory", {"max": "1Gi", "present": True}, "pass"), (".cpu", {"min": "1000m"}, "fail"),
             (".cpu", {"above": "100m"}, "pass")]
    with FakeCluster(objects) as cluster:
        for n, (leaf, expect, status) in enumerate(cases):
            (tmp_path / str(n)).mkdir()
            r = _run(cluster, tmp_path / str(n), kind="Deployment", name="langsmith-backend", field=field + leaf,
                     expect=expect)
            assert r.status == status, (expect, r.message)
    (tmp_path / "odd").mkdir()
    backend["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"memory": "lots"}}
    with FakeCluster(objects) as cluster:
        r = _run(cluster, tmp_path / "odd", kind="Deployment", name="langsmith-backend", field=field + ".memory",
                 expect={"min": "1Gi"})
    assert r.status == "error" and "cannot be compared" in r.message, r.message
