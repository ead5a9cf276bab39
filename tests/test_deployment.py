"""Compose or Kubernetes: the deployment kind is said (deployment:) or inferred from the targets, and items of the
other kind are skipped with the reason, never errors; a target of the deployment's own kind that is missing stays
an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_k8s import FakeCluster, live_targets, load
from helpers import audit, write_yaml

from readiness.checklist import load_checklist
from readiness.errors import ConfigError
from readiness.targets import load_targets

FIXTURE = Path(__file__).parent / "data" / "files" / "langsight-compose-only"
BIN = os.path.join(os.path.dirname(sys.executable), "readiness")
# Items that are Kubernetes by nature: their probe reads the kubernetes target, or the section says so.
K8S_SECTIONS = ("storage", "autoscaling")
COMPOSE_ITEMS = ("app.compose-loopback", "app.compose-healthchecks", "files.compose-redis")
VALUES_ITEMS = ("files.values-hpa", "files.values-external-datastores", "files.values-clickhouse-resources",
                "files.values-frontend-service", "files.values-clickhouse-replicas")


def langsight_files() -> dict[str, Any]:
    return {"compose": str(FIXTURE / "docker-compose.yml"), "env": str(FIXTURE / ".env")}


def k8s_ids() -> list[str]:
    return [i.id for i in load_checklist().items if i.id.startswith("k8s.")]


def test_langsight_compose_alone_errors_for_no_kubernetes_or_s3_target(tmp_path: Path) -> None:
    results, report = audit(tmp_path, {"preset": "langsight", "files": langsight_files()}, [], timeout=5)
    wrong = {i: r.message for i, r in results.items()
             if r.status == "error" and any(w in r.message for w in ("kubernetes", "s3 target", "blob"))}
    assert not wrong
    for item in k8s_ids():
        assert results[item].status == "skipped", (item, results[item].message)
        assert results[item].message.startswith("compose deployment (only compose files in the files target)")
    assert {results[i].status for i in results if i.startswith("blob.")} == {"skipped"}
    assert results["blob.lifecycle"].message == "does not apply to the langsight preset"
    # the compose items are judged, not skipped: this is their deployment
    assert {results[i].status for i in ("app.compose-loopback", "app.compose-healthchecks")} == {"pass"}
    assert report["deployment"] == {"kind": "compose", "source": "only compose files in the files target"}


def test_langsight_preset_alone_implies_compose(tmp_path: Path) -> None:
    results, report = audit(tmp_path, {"preset": "langsight", "files": {"env": str(FIXTURE / ".env")}},
                            ["storage", "autoscaling", "blob", "app"])
    assert report["deployment"]["kind"] == "compose"
    assert report["deployment"]["source"] == "langsight ships compose only"
    assert {r.status for i, r in results.items() if r.section in ("storage", "autoscaling", "blob")} == {"skipped"}
    wrong = [i for i, r in results.items() if r.status == "error" and ("kubernetes" in r.message or "s3" in r.message)]
    assert not wrong
    # a compose item without the compose file: its target applies and is missing, so it stays an error
    assert results["app.compose-loopback"].status == "error"


def test_langfuse_kubernetes_without_a_kubernetes_target_still_errors(tmp_path: Path) -> None:
    values = write_yaml(tmp_path / "values.yaml", {"langfuse": {"web": {"hpa": {"enabled": True}}}})
    targets = {"preset": "langfuse", "files": {"helm_values": str(values)}}
    results, report = audit(tmp_path, targets, ["storage", "autoscaling", "app"])
    assert report["deployment"] == {"kind": "kubernetes", "source": "a Helm values file in the files target"}
    for item in [i for i, r in results.items() if r.section in K8S_SECTIONS and i != "k8s.hpa-tested-under-load"]:
        assert results[item].status == "error", (item, results[item].message)
        assert "no kubernetes target configured" in results[item].message
    # no compose file on Kubernetes: the compose items do not apply
    for item in COMPOSE_ITEMS:
        assert results[item].status == "skipped", (item, results[item].message)
        assert "kubernetes deployment (a Helm values file in the files target)" in results[item].message


def test_explicit_kubernetes_without_its_target_errors(tmp_path: Path) -> None:
    targets = {"preset": "langfuse", "deployment": "kubernetes", "files": {"env": str(FIXTURE / ".env")}}
    results, _ = audit(tmp_path, targets, ["storage", "app"])
    assert {r.status for r in results.values() if r.section == "storage"} == {"error"}


def test_values_items_are_skipped_on_compose(tmp_path: Path) -> None:
    targets = {"preset": "langfuse", "files": {"compose": str(FIXTURE / "docker-compose.yml")}}
    results, _ = audit(tmp_path, targets, ["app"])
    for item in VALUES_ITEMS:
        assert results[item].status == "skipped", (item, results[item].message)
        assert results[item].message == ("compose deployment (only compose files in the files target): applies "
                                          "to kubernetes deployments only")


def test_a_compose_file_beside_a_kubernetes_target_keeps_its_items(tmp_path: Path) -> None:
    with FakeCluster(load("good.yaml")) as cluster:
        targets = {**live_targets(cluster, tmp_path), "files": {"compose": str(FIXTURE / "docker-compose.yml")}}
        results, report = audit(tmp_path, targets, ["app.compose-loopback", "k8s.ingress-tls"])
    assert report["deployment"]["kind"] == "kubernetes"
    assert results["app.compose-loopback"].status == "pass"
    assert results["k8s.ingress-tls"].status != "skipped"


def test_explicit_compose_sets_a_kubernetes_target_aside_and_never_contacts_it(tmp_path: Path,
                                                                               redis_stack: Any) -> None:
    # Decision: `deployment:` said outright wins.  The kubernetes target is not read at all (not even by items that
    # read Kubernetes facts on the side), its items are skipped, and validate and the report say it was set aside.
    with FakeCluster(load("good.yaml")) as cluster:
        targets = {**live_targets(cluster, tmp_path), "deployment": "compose", "preset": "langsight",
                   **redis_stack.target(redis_stack.langsight), "files": langsight_files()}
        results, report = audit(tmp_path, targets, ["storage", "autoscaling", "network", "redis.memory-vs-limit",
                                                    "redis.eviction-policy", "app.compose-loopback"])
        assert cluster.requests == []
    assert report["deployment"] == {"kind": "compose", "source": "deployment: in the targets file",
                                    "ignored": ["the kubernetes target is not read"]}
    for item in [i for i in results if i.startswith("k8s.")]:
        assert results[item].status == "skipped", (item, results[item].message)
    # redis.memory-vs-limit still applies on compose (a container limit below maxmemory OOMs there too): with no
    # Kubernetes to read the limit from, it is an error an attestation may cover, never a skip
    side = results["redis.memory-vs-limit"]
    assert (side.status, side.attestable) == ("error", True)
    assert side.message == ("compose deployment (deployment: in the targets file): the kubernetes target does not "
                            "apply, and this item reads its figures from it: give them as the item's parameters "
                            "where it takes them, or attest")
    assert results["redis.eviction-policy"].status in ("pass", "fail")  # the redis target still applies
    assert results["app.compose-loopback"].status == "pass"


def test_on_compose_a_side_reader_given_its_figures_is_judged(tmp_path: Path, redis_stack: Any) -> None:
    from checklists import checklist_with

    cl = checklist_with(tmp_path, overrides={"redis.memory-vs-limit": {"memory_limit": "64Gi"}})
    targets = {"preset": "langsight", "files": langsight_files(), **redis_stack.target(redis_stack.langsight)}
    results, _ = audit(tmp_path, targets, ["redis.memory-vs-limit"], checklist=cl)
    assert results["redis.memory-vs-limit"].status in ("pass", "fail"), results["redis.memory-vs-limit"].message


def test_without_the_deployment_kind_a_kubernetes_side_read_stays_an_error(tmp_path: Path, redis_stack: Any) -> None:
    # No compose file, no kubernetes target, no preset: nothing says compose, so a missing target is missing.
    results, report = audit(tmp_path, redis_stack.target(redis_stack.good), ["redis.memory-vs-limit"])
    assert report["deployment"]["kind"] is None
    assert results["redis.memory-vs-limit"].status == "error"
    assert "needs the kubernetes target" in results["redis.memory-vs-limit"].message


def test_a_bad_deployment_value_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text("preset: langfuse\ndeployment: swarm\n")
    with pytest.raises(ConfigError) as exc:
        load_targets(path)
    assert f"{path}:2:13: deployment must be one of compose, kubernetes, not 'swarm'" in str(exc.value)


def test_the_checklist_validates_deployments_and_except_presets(tmp_path: Path) -> None:
    path = tmp_path / "checklist.yaml"
    path.write_text("version: 1\nname: t\nsections:\n  - id: s\n    title: S\n    deployments: [docker]\n"
                    "    items:\n      - {id: s.a, title: a, level: required, manual: true, rationale: r,\n"
                    "         except_presets: [langsite]}\n")
    with pytest.raises(ConfigError) as exc:
        load_checklist(path)
    text = str(exc.value)
    assert f"{path}:6:18: section 's': unknown deployment kind 'docker' in deployments" in text
    assert "item 's.a': unknown preset 'langsite' in except_presets" in text


def test_an_item_inherits_its_sections_applicability(tmp_path: Path) -> None:
    cl = load_checklist()
    assert cl.find("k8s.hpa-tested-under-load").deployments == ("kubernetes",)  # type: ignore[union-attr]
    assert cl.find("blob.round-trip").except_presets == ("langsight",)  # type: ignore[union-attr]
    assert cl.find("app.compose-loopback").deployments == ("compose",)  # type: ignore[union-attr]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


def test_validate_and_the_json_report_show_the_deployment_kind(tmp_path: Path) -> None:
    targets = write_yaml(tmp_path / "targets.yaml", {"preset": "langsight", "files": langsight_files()})
    proc = cli("validate", "-t", str(targets))
    assert proc.returncode == 0, proc.stderr
    assert f"{targets}: deployment: compose (only compose files in the files target)" in proc.stdout
    out = tmp_path / "report.json"
    cli("audit", "-t", str(targets), "--only", "storage", "--only", "app.compose-loopback", "--json", str(out))
    report = json.loads(out.read_text())
    assert report["deployment"]["kind"] == "compose"
    from readiness.reports import text

    assert text.render(report).splitlines()[0].endswith("(langsight, production, compose deployment)")
    import jsonschema

    schema = json.loads((Path(__file__).parent.parent / "readiness" / "schema" / "report-v1.json").read_text())
    jsonschema.validate(report, schema)


def test_validate_notes_a_kubernetes_target_set_aside(tmp_path: Path) -> None:
    targets = write_yaml(tmp_path / "targets.yaml", {"deployment": "compose",
                                                     "kubernetes": {"manifests": str(tmp_path)}})
    proc = cli("validate", "-t", str(targets))
    assert proc.returncode == 0, proc.stderr
    assert "deployment: compose (deployment: in the targets file)" in proc.stdout
    assert "is said outright, so the kubernetes target is not read" in proc.stderr


def test_rbac_grants_nothing_on_compose_and_the_reads_on_kubernetes(tmp_path: Path) -> None:
    compose = write_yaml(tmp_path / "compose.yaml", {"deployment": "compose", "preset": "langfuse",
                                                     "kubernetes": {"namespace": "obs"}})
    proc = cli("rbac", "-t", str(compose))
    assert proc.returncode == 0, proc.stderr
    assert "kind:" not in proc.stdout
    k8s = write_yaml(tmp_path / "k8s.yaml", {"preset": "langfuse", "kubernetes": {"namespace": "obs"}})
    proc = cli("rbac", "-t", str(k8s))
    assert proc.returncode == 0, proc.stderr
    assert "storageclasses" in proc.stdout


def test_langfuse_on_compose_without_an_s3_target_keeps_the_blob_errors(tmp_path: Path) -> None:
    # Langfuse needs blob storage on compose too (MinIO in its own compose file): a missing s3 target is missing.
    targets = {"preset": "langfuse", "files": {"compose": str(FIXTURE / "docker-compose.yml")}}
    results, report = audit(tmp_path, targets, ["blob", "app.compose-loopback"])
    assert report["deployment"]["kind"] == "compose"
    assert results["blob.lifecycle"].status == "error"
    assert "no s3 target configured" in results["blob.lifecycle"].message


def test_explain_shows_where_an_item_applies() -> None:
    proc = cli("explain", "blob.lifecycle")
    assert "  not for      langsight" in proc.stdout
    proc = cli("explain", "k8s.hpa-tested-under-load")
    assert "  deployments  kubernetes" in proc.stdout


def test_explicit_kubernetes_sets_a_compose_file_aside(tmp_path: Path) -> None:
    targets = write_yaml(tmp_path / "targets.yaml", {"deployment": "kubernetes", "preset": "langfuse",
                                                     "files": langsight_files()})
    proc = cli("validate", "-t", str(targets))
    assert "is said outright, so the compose items are skipped (the files target has a compose file)" in proc.stderr
    results, report = audit(tmp_path, {"deployment": "kubernetes", "preset": "langfuse", "files": langsight_files()},
                            list(COMPOSE_ITEMS) + ["app.placeholder-secrets"])
    assert report["deployment"]["ignored"] == ["the compose items are skipped (the files target has a compose file)"]
    assert {results[i].status for i in COMPOSE_ITEMS} == {"skipped"}
    assert results["app.placeholder-secrets"].status != "skipped"  # the env file is read on either kind


def test_an_attestation_covers_a_side_read_on_compose(tmp_path: Path, redis_stack: Any) -> None:
    from readiness.audit import execute, load_inputs
    from readiness.runner import Options

    targets = write_yaml(tmp_path / "targets.yaml", {"deployment": "compose", "preset": "langsight",
                                                     **redis_stack.target(redis_stack.langsight)})
    attest = write_yaml(tmp_path / "attest.yaml", [{"id": "redis.memory-vs-limit", "by": "ops", "date": "2026-12-01",
                                                    "evidence": "compose limit 2G, maxmemory 1gb"}])
    inputs = load_inputs(None, str(targets), attestations=str(attest))
    _, results = execute(inputs, Options(preset="langsight", only=("redis.memory-vs-limit",)), "required")
    side = next(r for r in results if r.id == "redis.memory-vs-limit")
    assert side.status == "pass" and side.attestation, side.message
