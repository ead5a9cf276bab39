"""deploy/ (the in-cluster Job and CronJob), the Dockerfile and `readiness rbac` agree: the RBAC is exactly what
the command prints, the pods run unprivileged on a read-only root filesystem, the arguments are ones the CLI takes,
and the files they name are the ones the ConfigMap and volumes provide."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from readiness.yamlsrc import load_documents, load_file

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = str(Path(sys.executable).parent / "readiness")
ENV = {"REDIS_URL": "redis://cache:6379/0", "POSTGRES_DSN": "postgresql://auditor@db/langfuse",
       "CLICKHOUSE_URL": "clickhouse://readiness@ch-0:9000/langfuse"}


def docs(name: str) -> list[dict]:
    path = DEPLOY / name
    return [d for d in load_documents(path.read_text(), str(path)) if d]


def pod_spec(kind: str) -> dict:
    if kind == "job":
        return docs("job.yaml")[0]["spec"]["template"]["spec"]
    return docs("cronjob.yaml")[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_the_kustomization_lists_files_that_exist():
    kustomization = load_file(str(DEPLOY / "kustomization.yaml"))
    for name in kustomization["resources"]:
        assert docs(name), name
    for generator in kustomization["configMapGenerator"]:
        assert all((DEPLOY / f).is_file() for f in generator["files"])


def test_rbac_yaml_is_what_readiness_rbac_prints(monkeypatch):
    import os

    proc = subprocess.run([BIN, "rbac", "-t", str(DEPLOY / "targets.yaml")], capture_output=True, text=True,
                          env={**os.environ, **ENV}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (DEPLOY / "rbac.yaml").read_text(), "regenerate: readiness rbac -t deploy/targets.yaml " \
                                                               "> deploy/rbac.yaml"


def test_rbac_is_read_only_and_never_touches_secrets():
    for doc in docs("rbac.yaml"):
        for rule in doc.get("rules", []):
            assert rule["verbs"] == ["get", "list"]
            assert "secrets" not in rule["resources"] and "*" not in rule["resources"]
        if doc["kind"].endswith("Binding"):
            assert doc["subjects"] == [{"kind": "ServiceAccount", "name": "readiness", "namespace": "readiness"}]
    assert docs("serviceaccount.yaml")[0]["metadata"]["name"] == "readiness"


@pytest.mark.parametrize("kind", ["job", "cronjob"])
def test_the_pods_run_unprivileged_with_a_read_only_root(kind):
    spec = pod_spec(kind)
    assert spec["serviceAccountName"] == "readiness" and spec["restartPolicy"] == "Never"
    assert spec["securityContext"]["runAsNonRoot"] is True
    (container,) = spec["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert "limits" in container["resources"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    uid = re.search(r"^USER (\d+)", dockerfile, re.M)
    assert uid and int(uid.group(1)) == spec["securityContext"]["runAsUser"]


def test_job_and_cronjob_run_the_same_audit_on_the_mounted_files():
    job, cron = pod_spec("job"), pod_spec("cronjob")
    assert job == cron
    (container,) = job["containers"]
    args = container["args"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in job["volumes"]}
    targets = args[args.index("-t") + 1]
    assert targets == f"{mounts['config']}/targets.yaml"
    assert volumes["config"]["configMap"]["name"] == "readiness-config"
    writes = [args[i + 1] for i, a in enumerate(args) if a in ("--json", "--html", "--junit", "--prometheus")]
    assert writes and all(w.startswith(mounts["reports"] + "/") for w in writes)
    assert volumes["reports"]["persistentVolumeClaim"]["claimName"] == docs("reports-pvc.yaml")[0]["metadata"]["name"]
    assert mounts["tmp"] == "/tmp" and "emptyDir" in volumes["tmp"]
    # the Dockerfile's entry point is the CLI, and the CLI takes exactly these arguments
    assert '"readiness"' in re.search(r"^ENTRYPOINT (.*)$", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    from readiness.cli import cli

    assert args[0] == "audit"
    ctx = cli.make_context("readiness", [], resilient_parsing=True)
    sub = cli.get_command(ctx, "audit").make_context("audit", list(args[1:]))
    assert sub.params["targets"] == targets and sub.params["prometheus_out"] == "/reports/readiness.prom"


def test_the_deployed_targets_file_validates(tmp_path):
    import os

    proc = subprocess.run([BIN, "validate", "-t", str(DEPLOY / "targets.yaml")], capture_output=True, text=True,
                          env={**os.environ, **ENV}, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_the_dockerfile_copies_every_package_directory():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    dirs = set(re.findall(r'^"readiness[.\w]*" = "(\w+)"', pyproject, re.M))
    assert dirs == {"readiness", "checks", "reports"}
    for d in dirs:
        assert re.search(rf"^COPY {d} \./{d}$", dockerfile, re.M), d
