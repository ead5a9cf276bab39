"""Secrets planted in every form the issue names (scheme-less userinfo, query parameters, Helm values secrets, a
kubeconfig's exec plugin, proxy and second KUBECONFIG path) never reach any output: text, JSON, HTML, JUnit,
Markdown, SARIF, Prometheus, the --debug log, or the targets file ``readiness init`` writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from fake_k8s import FakeCluster, audit_k8s, k8s_checklist, load
from helpers import write_yaml

from readiness.clients import kubernetes as k8s
from readiness.redact import redact_text, secret_values
from readiness.targets import load_targets

FORMATS = ("json", "html", "junit", "markdown", "sarif", "prometheus")

# Distinctive pieces: a leak of any part shows.  '/', '#' and '@' are left unencoded where the form allows it.
PG_PW = "Pq7Wz/Kx2#Nv9@Lm"  # LangSmith's scheme-less POSTGRES_DATABASE_URI=user:password@host:5432/db
REDIS_PW = "Rq3Lm8Tz4Hv"  # redis://host:6379/0?password=...
VALUES = {"secretKey": "Vk1secretKey7Qp", "s3.secretAccessKey": "Vk2s3sak8Rw", "config.apiKeySalt": "Vk3salt9Ts",
          "langfuse.salt.value": "Vk4lfsalt0Uv", "langfuse.nextauth.secret.value": "Vk5nextauth1Wx"}
EXEC_TOKEN, EXEC_ENV, PROXY_PW, SECOND_PW = "Ex1argtoken5Jd", "Ex2envtoken6Kf", "Px1proxy7Lg", "Kc2second8Mh"


def _nested(flat: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = out
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def _pieces(secret: str) -> list[str]:
    return [secret, quote(secret, safe=""), *[p for p in secret.replace("/", " ").replace("#", " ").replace(
        "@", " ").split() if len(p) >= 4]]


def _leaks(texts: dict[str, str], secrets: list[str]) -> list[tuple[str, str, str]]:
    return [(where, piece, text[max(0, text.find(piece) - 100):text.find(piece) + 30])
            for where, text in texts.items() for secret in secrets for piece in _pieces(secret) if piece in text]


def _audit_cli(tmp_path: Path, checklist: str, targets: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    out = {fmt: tmp_path / f"report.{fmt}" for fmt in FORMATS}
    done = subprocess.run(
        [sys.executable, "-m", "readiness", "--debug", "audit", "-c", checklist, "-t", str(targets), "--timeout", "10",
         "--no-color", *[a for fmt, path in out.items() for a in (f"--{fmt}", str(path))]],
        capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})})
    assert done.returncode in (0, 1), (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    texts = {"stdout": done.stdout, "stderr": done.stderr}
    for fmt, path in out.items():
        assert path.exists(), fmt
        texts[fmt] = path.read_text()
    return texts


@pytest.mark.parametrize("text, secret", [
    (f"POSTGRES_DATABASE_URI=langsmith:{PG_PW}@langsmith-db:5432/langsmith", PG_PW),
    (f"langsmith:{PG_PW}@db-0:5432,db-1:5432/langsmith?sslmode=require", PG_PW),  # multi-host, scheme-less
    (f"redis://langsmith-redis:6379/0?password={REDIS_PW}", REDIS_PW),
    (f"https://minio:9000/?x=1&secret={REDIS_PW}", REDIS_PW), (f"https://h/?token={REDIS_PW}#f", REDIS_PW),
    (f"redis+sentinel://:{PG_PW}@[::1]:26379,127.0.0.1:26379/mymaster/0", PG_PW),
    (f"redis://{REDIS_PW}@127.0.0.1:6379/0", REDIS_PW),  # the password-only form redis-py accepts
    (f"redis://{PG_PW}@127.0.0.1:6379/0", PG_PW),  # ... with an unencoded '/', '#' and '@'
    (f"'dsn': 'app:{REDIS_PW}@db:5432/x'", REDIS_PW),
])
def test_every_url_form_is_found_and_masked_by_the_one_finder(text: str, secret: str) -> None:
    assert secret in secret_values(text)
    shown = redact_text(text)
    assert not any(piece in shown for piece in _pieces(secret)), shown


@pytest.mark.parametrize("text", ["nginx:1.25@sha256:0123456789abcdef", "registry:5000/app@sha256:abcd",
                                  "postgresql://app@db:5432/x", "https://host/a@b", "10:30 at host:80"])
def test_text_without_a_credential_is_left_alone(text: str) -> None:
    assert redact_text(text) == text and not secret_values(text)


def _files_stack(tmp_path: Path) -> tuple[str, Path]:
    env = tmp_path / "langsmith.env"
    env.write_text(f"POSTGRES_DATABASE_URI=langsmith:{PG_PW}@langsmith-db:5432/langsmith\n"
                   f"REDIS_DATABASE_URI=redis://langsmith-redis:6379/0?password={REDIS_PW}\n")
    values = write_yaml(tmp_path / "values.yaml", _nested(VALUES))
    item = {"level": "required", "rationale": "planted", "remediation": "none"}
    checklist = write_yaml(tmp_path / "checklist.yaml", {"version": 1, "name": "planted", "sections": [{
        "id": "app", "title": "planted", "items": [
            {"id": "app.pg", "title": "pg", "probe": "files.setting",
             "with": {"key": "POSTGRES_DATABASE_URI", "expect": {"equals": "x"}}, **item},
            {"id": "app.redis", "title": "redis", "probe": "files.setting",
             "with": {"key": "REDIS_DATABASE_URI", "expect": {"equals": "x"}}, **item},
            {"id": "app.values", "title": "values", "probe": "files.values",
             "with": {"keys": list(VALUES), "expect": {"equals": "x"}}, **item},
            {"id": "app.placeholder-secrets", "title": "placeholders", "probe": "files.placeholder-secrets", **item},
        ]}]})
    targets = write_yaml(tmp_path / "targets.yaml", {"preset": "langsmith", "files": {
        "env": str(env), "helm_values": str(values), "root": str(tmp_path)}})
    return str(checklist), targets


def test_planted_file_secrets_are_in_no_output_format(tmp_path: Path) -> None:
    checklist, targets = _files_stack(tmp_path)
    texts = _audit_cli(tmp_path, checklist, targets)
    results = {r["id"]: r for r in json.loads(texts["json"])["results"]}
    assert results["app.pg"]["status"] == "fail" and "langsmith-db:5432" in results["app.pg"]["message"]
    assert results["app.values"]["status"] == "fail"
    assert not _leaks(texts, [PG_PW, REDIS_PW, *VALUES.values()])


def test_the_published_scheme_less_default_password_fails_placeholder_secrets(tmp_path: Path) -> None:
    from helpers import audit

    env = tmp_path / ".env"
    env.write_text("POSTGRES_DATABASE_URI=postgres:postgres@langchain-db:5432/postgres\n")
    results, _ = audit(tmp_path, {"preset": "langsmith", "files": {"env": str(env)}}, ["app.placeholder-secrets"])
    r = results["app.placeholder-secrets"]
    assert r.status == "fail" and "POSTGRES_DATABASE_URI holds a URL with a default password" in r.message


def test_helm_values_secrets_and_references_are_told_apart() -> None:
    from readiness.clients.files import is_secret_key

    for key in VALUES:
        assert is_secret_key(key), key
    for key in ("langfuse.salt.secretKeyRef.name", "langfuse.salt.secretKeyRef.key", "postgresql.auth.existingSecret",
                "redis.auth.existingSecretPasswordKey", "postgresql.auth.secretKeys.userPasswordKey",
                "config.existingSecretName", "tls.secretName", "affinity.podAntiAffinity.topologyKey"):
        assert not is_secret_key(key), key


# --- kubeconfig ---------------------------------------------------------------------------------------------------

def _kubeconfig(cluster: FakeCluster, user: dict[str, Any], **cluster_extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": cluster.url, **cluster_extra}}],
            "users": [{"name": "auditor", "user": user}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "auditor", "namespace": "langsmith"}}]}


def test_every_kubeconfig_path_is_merged_and_scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """KUBECONFIG is a path list: the context in the first file, its user (and another user's password) in the
    second; kubectl merges them, and so must the client and the secrets scan."""
    with FakeCluster(load("good.yaml")) as cluster:
        full = _kubeconfig(cluster, {"token": cluster.token})
        first = write_yaml(tmp_path / "a.yaml", {**full, "users": []})
        second = write_yaml(tmp_path / "b.yaml", {"apiVersion": "v1", "kind": "Config", "users": [
            *full["users"], {"name": "other", "user": {"username": "admin", "password": SECOND_PW}}]})
        monkeypatch.setenv("KUBECONFIG", f"{first}{os.pathsep}{tmp_path / 'missing.yaml'}{os.pathsep}{second}")
        target = {"context": "fake", "namespace": "langsmith", "release": "langsmith"}
        results, report = audit_k8s(tmp_path, {"preset": "langsmith", "kubernetes": target},
                                    ["k8s.default-storageclass"])
    r = results["k8s.default-storageclass"]
    assert r.status in ("pass", "fail"), r.message  # the API answered with the second file's token
    assert {cluster.token, SECOND_PW} <= k8s.secrets(target)


def test_exec_plugin_and_proxy_credentials_are_secrets(tmp_path: Path) -> None:
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "sh",
                     "args": ["-c", "echo x", "sh", f"--token={EXEC_TOKEN}", "--password", EXEC_TOKEN + "b"],
                     "env": [{"name": "CLUSTER_TOKEN", "value": EXEC_ENV}, {"name": "AWS_PROFILE", "value": "prod"}]}}
    with FakeCluster([]) as cluster:
        path = write_yaml(tmp_path / "kubeconfig", _kubeconfig(
            cluster, user, **{"proxy-url": f"http://proxyuser:{PROXY_PW}@127.0.0.1:9/"}))
    found = k8s.secrets({"kubeconfig": str(path)})
    assert {EXEC_TOKEN, EXEC_TOKEN + "b", EXEC_ENV, PROXY_PW} <= found and "prod" not in found
    targets = load_targets(write_yaml(tmp_path / "t.yaml", {"kubernetes": {"kubeconfig": str(path)}}))
    assert targets.scrubber().text(f"echo {EXEC_TOKEN} {EXEC_ENV} {PROXY_PW}") == "echo *** *** ***"


def test_a_failing_exec_plugin_that_echoes_its_token_leaks_into_no_output(tmp_path: Path) -> None:
    """The kubernetes client logs an exec plugin's stderr (with --debug it reaches ours): a plugin that complains
    about its token, or prints its environment, must not print the token."""
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "sh",
                     "args": ["-c", 'echo "token $1 rejected ($CLUSTER_TOKEN)" >&2; exit 1', "sh",
                              f"--token={EXEC_TOKEN}"],
                     "env": [{"name": "CLUSTER_TOKEN", "value": EXEC_ENV}]}}
    with FakeCluster(load("good.yaml")) as cluster:
        path = write_yaml(tmp_path / "kubeconfig", _kubeconfig(cluster, user))
        targets = write_yaml(tmp_path / "targets.yaml", {"preset": "langsmith", "kubernetes": {
            "kubeconfig": str(path), "context": "fake", "namespace": "langsmith", "release": "langsmith"}})
        texts = _audit_cli(tmp_path, k8s_checklist(tmp_path), targets)
    assert "rejected" in texts["stderr"], texts["stderr"][-2000:]  # the plugin ran and its complaint was logged
    assert not _leaks(texts, [EXEC_TOKEN, EXEC_ENV])


# --- init ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, target, field, secret", [
    (f"POSTGRES_DATABASE_URI=langsmith:{PG_PW}@langsmith-db:5432/langsmith", "postgres", "dsn", PG_PW),
    (f"REDIS_DATABASE_URI=redis://langsmith-redis:6379/0?password={REDIS_PW}", "redis", "url", REDIS_PW),
    (f"S3_API_URL=https://minio:{EXEC_TOKEN}@minio.internal:9000", "s3", "endpoint_url", EXEC_TOKEN),
])
def test_init_writes_no_secret_in_any_url_form(tmp_path: Path, line: str, target: str, field: str,
                                               secret: str) -> None:
    env = tmp_path / "langsmith.env"
    env.write_text(f"{line}\nS3_BUCKET_NAME=langsmith-payloads\n")
    out = tmp_path / "targets.yaml"
    done = subprocess.run([sys.executable, "-m", "readiness", "init", "--preset", "langsmith", "--from-env", str(env),
                           "-o", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert not _leaks({"targets": text, "stdout": done.stdout, "stderr": done.stderr}, [secret])
    ref = "${" + line.partition("=")[0] + "}"
    # LangSmith writes POSTGRES_DATABASE_URI without a scheme (user:pass@host:port/db): the dsn adds it
    expected = "postgresql://" + ref if line.startswith("POSTGRES_DATABASE_URI=") else ref
    assert yaml.safe_load(text)[target][field] == expected


def test_init_leaves_out_a_values_endpoint_with_credentials(tmp_path: Path) -> None:
    env = tmp_path / "langsmith.env"
    env.write_text("S3_BUCKET_NAME=langsmith-payloads\n")
    values = write_yaml(tmp_path / "values.yaml", {"config": {"blobStorage": {
        "apiURL": f"https://minio.internal:9000/?X-Amz-Signature={EXEC_TOKEN}"}}})
    done = subprocess.run([sys.executable, "-m", "readiness", "init", "--preset", "langsmith", "--from-env", str(env),
                           "--from-values", str(values), "-o", "-"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not _leaks({"stdout": done.stdout, "stderr": done.stderr}, [EXEC_TOKEN])
    assert "endpoint_url" in done.stdout  # named in a comment: fill it in by hand


# --- the canary's API keys ----------------------------------------------------------------------------------------

CANARY_PK, CANARY_SK, CANARY_AK = "pk-lf-Cn1public4Qz", "sk-lf-Cn2secret5Rx", "lsv2_pt_Cn3apikey6Sy"


@pytest.mark.parametrize("product, accepted", [("langfuse", True), ("langfuse", False), ("langsmith", False)])
def test_the_canarys_keys_are_in_no_output_format(tmp_path: Path, product: str, accepted: bool) -> None:
    """Keys given as ${VARIABLES}; a server that refuses them answers 401 with a body that echoes them."""
    from readiness.checklist import default_path
    from readiness.demo.product_api import ProductApi

    keys = {"public_key": "${CANARY_PK}", "secret_key": "${CANARY_SK}"} if product == "langfuse" \
        else {"api_key": "${CANARY_AK}"}
    env = {"CANARY_PK": CANARY_PK, "CANARY_SK": CANARY_SK, "CANARY_AK": CANARY_AK}
    server = {"public_key": CANARY_PK, "secret_key": CANARY_SK} if accepted else {}
    data = yaml.safe_load(Path(default_path()).read_text())
    data["sections"] = [{**s, "items": [i for i in s["items"] if i["id"] == "app.end-to-end-canary"]}
                        for s in data["sections"] if s["id"] == "app"]
    checklist = write_yaml(tmp_path / "checklist.yaml", data)
    with ProductApi(product, visible_after=0.1, **server).start() as api:
        targets = write_yaml(tmp_path / "targets.yaml", {"preset": product, "opt_in": ["app.end-to-end-canary"],
                                                         "http": {"base_url": api.url, "allow_writes": True, **keys}})
        texts = _audit_cli(tmp_path, str(checklist), targets, env)
    result = json.loads(texts["json"])["results"][0]
    assert result["status"] == ("pass" if accepted else "error"), result["message"]
    assert ("readable" in result["message"]) if accepted else ("refused the credentials (401)" in result["message"])
    assert not _leaks(texts, [CANARY_PK, CANARY_SK, CANARY_AK])
