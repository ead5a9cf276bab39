"""`readiness rbac` reads only the kubernetes target: the other sections' unset variables are ignored unless their
value would change the rules printed (then it refuses, saying which), and a chart target needs no cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = str(Path(sys.executable).parent / "readiness")


def rbac(targets: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("COMPOSE_FILE", "VALUES_FILE")}
    return subprocess.run([BIN, "rbac", "-t", str(targets)], capture_output=True, text=True, timeout=120,
                          env={**environ, **env})


def test_an_unset_compose_file_that_decides_the_deployment_kind_is_refused_in_one_sentence(tmp_path):
    # set, it makes a compose deployment (no rules); read as empty it left the kind open, and rules were printed
    targets = tmp_path / "targets.yaml"
    targets.write_text("preset: langfuse\nfiles: {compose: '${COMPOSE_FILE}'}\n")
    proc = rbac(targets)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "files.compose" in proc.stderr and "${COMPOSE_FILE} is not set" in proc.stderr
    assert "decides the deployment kind" in proc.stderr and "deployment: compose|kubernetes" in proc.stderr
    proc = rbac(targets, COMPOSE_FILE="docker-compose.yml")
    assert proc.returncode == 0 and "kind:" not in proc.stdout, proc.stdout + proc.stderr


def test_unset_files_settings_that_change_no_rule_are_ignored(tmp_path):
    targets = tmp_path / "targets.yaml"
    targets.write_text("preset: langfuse\nkubernetes: {in_cluster: true, namespace: obs}\n"
                       "files: {compose: '${COMPOSE_FILE}', helm_values: '${VALUES_FILE}'}\n")
    unset = rbac(targets)
    assert unset.returncode == 0, unset.stderr
    given = rbac(targets, COMPOSE_FILE="docker-compose.yml", VALUES_FILE="values.yaml")
    assert given.returncode == 0 and unset.stdout == given.stdout and "kind: Role" in unset.stdout


def test_an_explicit_deployment_kind_makes_an_unset_compose_file_irrelevant(tmp_path):
    targets = tmp_path / "targets.yaml"
    targets.write_text("preset: langfuse\ndeployment: compose\nfiles: {compose: '${COMPOSE_FILE}'}\n")
    proc = rbac(targets)
    assert proc.returncode == 0 and "kind:" not in proc.stdout, proc.stderr


def test_a_chart_or_manifests_target_needs_no_kubernetes_rbac(tmp_path):
    # the audit renders the chart (or reads the files) in the process: it never calls an API server
    chart = Path(__file__).parent / "data" / "charts" / "langfuse"
    (tmp_path / "rendered").mkdir()
    (tmp_path / "rendered" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    for source in (f"chart: '{chart}', values: ['{chart / 'values.yaml'}']", "manifests: ./rendered/"):
        targets = tmp_path / "targets.yaml"
        targets.write_text(f"preset: langfuse\nkubernetes: {{{source}, namespace: obs}}\n")
        proc = rbac(targets)
        assert proc.returncode == 0, proc.stderr
        assert "kind:" not in proc.stdout and "No rule: no selected item calls a Kubernetes API server" in proc.stdout
