"""charts/readiness, the tool's own Helm chart, rendered with the Helm engine from PyPI (helm-python-sdk, in a
bounded child process as readiness.clients.chart drives it): it applies with kubectl's client dry-run and matches the
API schemas, deploy/ is its rendered output, its RBAC is what `readiness rbac` prints, and bad values fail at
install time with a sentence that names the key."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from kube_tools import dry_run, key, kubectl, objects, schema_problems

from readiness.clients import chart as charts

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "readiness"
BIN = str(Path(sys.executable).parent / "readiness")
_spec = importlib.util.spec_from_file_location("render_deploy", ROOT / "scripts" / "render_deploy.py")
assert _spec and _spec.loader
render_deploy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(render_deploy)
REGENERATE = "regenerate: bash scripts/render-deploy.sh"


@pytest.fixture(autouse=True)
def _no_helm_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded engine, as CI has it: a helm on the machine's PATH must not take over."""
    monkeypatch.setattr(charts.shutil, "which", lambda name: None)
    charts._CACHE.clear()


def rendered(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [d for text in render_deploy.render_chart(values).values() for d in objects(text)]


def pod(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind]
    spec = doc["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else doc["spec"]
    return spec["template"]["spec"]


def test_deploy_is_the_chart_rendered_with_its_defaults() -> None:
    started = time.monotonic()
    chart = sorted(rendered(render_deploy.DEPLOY_VALUES), key=key)
    render_seconds = time.monotonic() - started
    built = kubectl("kustomize", str(ROOT / "deploy"))
    assert built.returncode == 0, built.stderr
    assert sorted(objects(built.stdout), key=key) == chart, REGENERATE
    assert (ROOT / "deploy" / "targets.yaml").read_text() == (CHART / "files" / "targets.yaml").read_text(), \
        REGENERATE
    assert render_seconds < 30


def test_the_charts_rbac_is_what_readiness_rbac_prints_for_its_targets() -> None:
    """One source of truth: a probe that declares a new read changes `readiness rbac`, and this test then fails
    until files/rbac.yaml is regenerated; the datastores' variables need not be set."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "POSTGRES_DSN", "CLICKHOUSE_URL")}
    proc = subprocess.run([BIN, "rbac", "-t", str(CHART / "files" / "targets.yaml")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (CHART / "files" / "rbac.yaml").read_text(), REGENERATE
    granted = sorted((d for d in rendered() if "Role" in d["kind"]), key=key)
    assert granted == sorted(objects(proc.stdout), key=key)


VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "pushgateway-upload-no-pvc": {"pushgateway": {"url": "http://pushgateway.monitoring:9091"},
                                  "upload": "s3://audit-reports/readiness/", "job": {"enabled": False},
                                  "reports": {"persistence": {"enabled": False}}},
    "own-names": {"serviceAccount": {"name": "auditor"}, "credentialsSecret": "obs-audit",
                  "image": {"repository": "ghcr.io/acme/readiness", "tag": "1.2.3", "pullPolicy": "Always"},
                  "cronjob": {"schedule": "@daily"}, "reports": {"persistence": {"storageClass": "gp3", "size": "5Gi"}},
                  "namespace": {"create": True}},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_chart_renders_applies_and_matches_the_api_schemas(variant: str, tmp_path: Path) -> None:
    docs = rendered(VARIANTS[variant])
    assert schema_problems(docs) == []
    text = render_deploy.yaml.safe_dump_all(docs)
    proc = dry_run(text, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("(dry run)") == len(docs), proc.stdout
    for doc in docs:
        if doc["kind"] in ("Job", "CronJob"):
            spec = pod(docs, doc["kind"])
            assert spec["securityContext"]["runAsNonRoot"] is True
            sc = spec["containers"][0]["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"]["drop"] == ["ALL"]


def test_pushgateway_and_upload_reach_the_audit_only_when_set() -> None:
    docs = rendered(VARIANTS["pushgateway-upload-no-pvc"])
    args = pod(docs, "CronJob")["containers"][0]["args"]
    assert args[args.index("--pushgateway") + 1] == "http://pushgateway.monitoring:9091"
    assert args[args.index("--upload") + 1] == "s3://audit-reports/readiness/"
    assert not [d for d in docs if d["kind"] in ("Job", "PersistentVolumeClaim")]
    assert {"name": "reports", "emptyDir": {}} in pod(docs, "CronJob")["volumes"]
    defaults = rendered()
    for kind in ("Job", "CronJob"):
        args = pod(defaults, kind)["containers"][0]["args"]
        assert "--pushgateway" not in args and "--upload" not in args


def test_own_names_reach_every_object() -> None:
    docs = rendered(VARIANTS["own-names"])
    spec = pod(docs, "CronJob")
    assert spec["serviceAccountName"] == "auditor"
    assert spec["containers"][0]["envFrom"] == [{"secretRef": {"name": "obs-audit"}}]
    assert spec["containers"][0]["image"] == "ghcr.io/acme/readiness:1.2.3"
    (pvc,) = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    assert pvc["spec"]["storageClassName"] == "gp3" and pvc["spec"]["resources"]["requests"]["storage"] == "5Gi"
    bindings = [d for d in docs if d["kind"].endswith("Binding")]
    assert bindings and all(b["subjects"] == [{"kind": "ServiceAccount", "name": "auditor", "namespace": "readiness"}]
                            for b in bindings)


def test_own_targets_and_their_rbac(tmp_path: Path) -> None:
    """The chart's documented way for targets of one's own: --set-file targets=... and rbac.manifest=... from
    `readiness rbac -t` the same file."""
    targets = "preset: langfuse\nkubernetes: {in_cluster: true, namespaces: [obs-a, obs-b]}\n"
    (tmp_path / "t.yaml").write_text(targets)
    printed = subprocess.run([BIN, "rbac", "-t", str(tmp_path / "t.yaml")], capture_output=True, text=True,
                             timeout=60)
    assert printed.returncode == 0, printed.stderr
    docs = rendered({"targets": targets, "rbac": {"manifest": printed.stdout}})
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert config["data"]["targets.yaml"] == targets
    roles = sorted(d["metadata"].get("namespace", "") for d in docs if d["kind"] == "Role")
    assert roles == ["kube-system", "obs-a", "obs-b"]


@pytest.mark.parametrize("values, message", [
    ({"cronjob": {"schedul": "0 2 * * *"}}, "additional properties 'schedul' not allowed"),
    ({"cronjob": {"schedule": "nightly"}}, "/cronjob/schedule"),
    ({"image": {"repository": "r", "tag": "1", "pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    ({"pushgateway": {"url": "pushgateway:9091"}}, "/pushgateway/url"),
    ({"upload": "https://bucket/prefix"}, "/upload"),
    ({"reports": {"persistence": {"size": "lots"}}}, "/reports/persistence/size"),
    ({"job": {"enabled": "yes"}}, "/job/enabled"),
    ({"rbac": {"manifest": "kind: ClusterRole\nmetadata: {name: x}\nrules:\n- apiGroups: ['']\n  resources: [pods]\n"
                           "  verbs: ['*']\n"}}, "the audit reads with get and list only"),
    ({"rbac": {"manifest": "kind: ClusterRole\nmetadata: {name: x}\nrules:\n- apiGroups: ['']\n"
                           "  resources: [secrets]\n  verbs: [get, list]\n"}}, "never Secrets"),
    ({"rbac": {"manifest": "kind: Deployment\nmetadata: {name: x}\n"}}, "only the Roles and bindings"),
    ({"targets": "- redis\n- postgres\n"}, "targets is not a targets file"),
    ({"targets": "redis: {url: [\n"}, "targets is not a targets file"),
])
def test_bad_values_fail_with_a_sentence_naming_the_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(charts.RenderError) as caught:
        rendered(values)
    text = str(caught.value)
    assert message in text and "\n" not in text.strip(), text


def _set(values: dict[str, Any], dotted: str, value: str) -> None:
    *path, last = dotted.split(".")
    for part in path:
        values = values.setdefault(part, {})
    values[last] = value


def test_the_readmes_helm_steps_render_and_apply(tmp_path: Path) -> None:
    """The README's chart lines as a user runs them: `readiness rbac -t my-targets.yaml > my-rbac.yaml`, then
    `helm install` with its --set-file/--set arguments, here given to the Helm engine from PyPI (no helm binary in
    CI) and applied with client dry-run."""
    import shlex

    block = (ROOT / "README.md").read_text().split("- **In the cluster**:")[1].split("```bash")[1].split("```")[0]
    lines = [ln.split(" #")[0].strip() for ln in block.replace("\\\n", " ").splitlines()]
    rbac_line = next(ln for ln in lines if ln.startswith("readiness rbac -t my-targets.yaml"))
    helm_line = next(ln for ln in lines if ln.startswith("helm install"))
    (tmp_path / "my-targets.yaml").write_text("preset: langsmith\nredis: {url: '${REDIS_URL}'}\n"
                                              "kubernetes: {in_cluster: true, namespace: langsmith}\n")
    proc = subprocess.run(rbac_line.replace("readiness", BIN, 1), shell=True, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={k: v for k, v in os.environ.items() if k != "REDIS_URL"})
    assert proc.returncode == 0, proc.stderr
    args = shlex.split(helm_line)
    assert args[:4] == ["helm", "install", "readiness", "charts/readiness"]
    values: dict[str, Any] = {}
    for flag, arg in zip(args, args[1:], strict=False):
        if flag in ("--set", "--set-file"):
            name, _, value = arg.partition("=")
            _set(values, name, (tmp_path / value).read_text() if flag == "--set-file" else value)
    assert values["pushgateway"]["url"].startswith("http://")
    docs = rendered(values)
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert config["data"]["targets.yaml"] == (tmp_path / "my-targets.yaml").read_text()
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] == "Role"} == {"langsmith", "kube-system"}
    args = pod(docs, "CronJob")["containers"][0]["args"]
    assert args[args.index("--pushgateway") + 1] == values["pushgateway"]["url"]
    proc = dry_run(render_deploy.yaml.safe_dump_all(docs), tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_the_pushgateway_argument_is_one_the_audit_takes() -> None:
    """The chart passes --pushgateway URL (a flag of `audit`): the CLI must parse the rendered args."""
    from readiness.cli import cli

    ctx = cli.make_context("readiness", [], resilient_parsing=True)
    audit = cli.get_command(ctx, "audit")
    assert audit is not None
    assert any("--pushgateway" in p.opts for p in audit.params)
    args = pod(rendered(VARIANTS["pushgateway-upload-no-pvc"]), "CronJob")["containers"][0]["args"]
    assert args[0] == "audit"
    parsed = audit.make_context("audit", list(args[1:]))
    assert "http://pushgateway.monitoring:9091" in parsed.params.values()
