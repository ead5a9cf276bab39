"""`readiness init`: a targets file from the application's own env file that validates, audits real servers without
edits once the application's variables are exported, names what it could not infer, and never holds a secret."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fixtures_redis import PW as REDIS_PW

from readiness.clients.files import PLACEHOLDERS, is_secret_key, load
from readiness.redact import secret_values as url_secrets

BIN = str(Path(sys.executable).parent / "readiness")
DATA = Path(__file__).parent / "data" / "files"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120, env=full, cwd=cwd)


def app_env(env_file: Path, compose: Path | None = None) -> dict[str, str]:
    """What the application would be given: the env file, then its compose services' environment."""
    cfg: dict[str, Any] = {"env": str(env_file)}
    if compose:
        cfg["compose"] = str(compose)
    files = load(cfg)
    out: dict[str, str] = {}
    for s in files.settings():
        out.setdefault(s.key, s.value)
    return out


def secret_values(env: dict[str, str]) -> set[str]:
    found = {v for k, v in env.items() if is_secret_key(k) and len(v) >= 4}
    found |= {s for v in env.values() for s in url_secrets(v)}
    return {s for s in found if s not in PLACEHOLDERS and len(s) >= 4}


LANGSMITH_ENV = """\
POSTGRES_DATABASE_URI=postgresql://langsmith:lsm-pg-8d969eef6ecad3c29a3a@postgres:5432/langsmith
REDIS_DATABASE_URI=redis://:lsm-rd-6b86b273ff34fce19d6b@redis:6379/0
CLICKHOUSE_HOST=clickhouse.internal
CLICKHOUSE_NATIVE_PORT=9440
CLICKHOUSE_TLS=true
CLICKHOUSE_USER=langsmith
CLICKHOUSE_PASSWORD=lsm-ch-d4735e3a265e16eee03f
CLICKHOUSE_DB=default
S3_BUCKET_NAME=langsmith-payloads
S3_API_URL=https://s3.us-east-1.amazonaws.com
S3_ACCESS_KEY=AKIAEXAMPLE0000
S3_ACCESS_KEY_SECRET=lsm-s3-4e07408562bedb8b60ce
"""


@pytest.mark.parametrize("case", ["langfuse-hardened", "langfuse-default", "langsight-hardened", "langsmith"])
def test_init_output_validates_and_holds_no_secret(tmp_path: Path, case: str) -> None:
    preset = case.split("-")[0]
    if case == "langsmith":
        env_file = tmp_path / "langsmith.env"
        env_file.write_text(LANGSMITH_ENV)
        extra: list[str] = ["--from-values", str(DATA / "langsmith-hardened" / "values.yaml")]
        compose = None
    else:
        env_file = DATA / case / ".env"
        compose = DATA / case / "docker-compose.yml"
        extra = ["--from-compose", str(compose)] if compose.exists() else []
        compose = compose if compose.exists() else None
    out = tmp_path / "targets.yaml"
    proc = run("init", "--preset", preset, "--from-env", str(env_file), *extra, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    given = app_env(env_file, compose)
    for secret in secret_values(given):
        assert secret not in text, secret
        assert secret not in proc.stdout + proc.stderr
    assert f"preset: {preset}" in text and "files:" in text
    referenced = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
    assert referenced <= set(given), referenced - set(given)
    exported = {k: given[k] for k in referenced}
    proc = run("validate", "-t", str(out), env=exported)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if case == "langsmith":
        assert 'url: "clickhouses://clickhouse.internal:9440/default"' in text
        assert '"${REDIS_DATABASE_URI}"' in text and '"${S3_ACCESS_KEY_SECRET}"' in text
    if case == "langsight-hardened":
        # LangSight ships compose only and stores no blobs: init says so instead of asking for a bucket
        assert "# s3: none - LangSight stores no blobs" in text and "# http: not inferred" in text
        assert "deployment: compose" in text and "# kubernetes:" not in text
        assert "deployment: compose" in proc.stdout
    if case == "langfuse-hardened":
        assert 'url: "redis://:${REDIS_AUTH}@redis:6379/0"' in text and '"${DATABASE_URL}"' in text


def test_init_then_audit_real_servers_without_edits(tmp_path: Path, redis_stack: Any, pg_stack: Any) -> None:
    dsn = pg_stack.dsn(pg_stack.good, sslmode="require") + "&schema=public"
    env_file = tmp_path / ".env"
    env_file.write_text(f"DATABASE_URL={dsn}\nREDIS_HOST=127.0.0.1\nREDIS_PORT={redis_stack.good.port}\n"
                        f"REDIS_AUTH={REDIS_PW}\nSALT=sa-0c3b1e77d2\nCLICKHOUSE_CLUSTER_ENABLED=false\n")
    proc = run("init", "--preset", "langfuse", "--from-env", ".env", "-o", "targets.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "targets.yaml").read_text()
    assert REDIS_PW not in text and pg_stack.dsn(pg_stack.good).split("@")[0].split(":")[-1] not in text
    assert "# clickhouse: not inferred" in text and "# s3: not inferred" in text
    exported = {"DATABASE_URL": dsn, "REDIS_AUTH": REDIS_PW}
    report = tmp_path / "report.json"
    proc = run("audit", "-t", "targets.yaml", "--only", "redis.reachable", "--only", "postgres.reachable",
               "--only", "app.placeholder-secrets", "--json", str(report), env=exported, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = {r["id"]: r for r in json.loads(report.read_text())["results"]}
    assert results["redis.reachable"]["status"] == "pass"
    assert results["postgres.reachable"]["status"] == "pass"
    assert results["app.placeholder-secrets"]["status"] == "pass"
    assert REDIS_PW not in report.read_text() + proc.stdout


def test_init_refuses_to_overwrite_and_bad_env_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://a@db/x\n")
    (tmp_path / "targets.yaml").write_text("keep: me\n")
    proc = run("init", "--preset", "langfuse", "--from-env", ".env", cwd=tmp_path)
    assert proc.returncode == 2 and "exists" in proc.stderr
    assert (tmp_path / "targets.yaml").read_text() == "keep: me\n"
    (tmp_path / "bad.env").write_text("not a setting\n")
    proc = run("init", "--preset", "langfuse", "--from-env", "bad.env", "-o", "-", cwd=tmp_path)
    assert proc.returncode == 2 and "bad.env:1:1:" in proc.stderr
    proc = run("init", "--preset", "langfuse", "--from-env", ".env", "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0 and 'dsn: "postgresql://a@db/x"' in proc.stdout  # no password: copied as written
