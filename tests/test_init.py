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


@pytest.mark.parametrize("case", ["langfuse-hardened", "langfuse-default", "langsight-hardened", "langsmith",
                                  "langsight-compose", "langsmith-env"])
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
        assert "# s3: none - LangSight keeps no blobs" in text and "# http: not inferred" in text
        assert "deployment: compose" in text and "# kubernetes:" not in text
        assert "deployment: compose" in proc.stdout
    if case == "langfuse-hardened":
        # compose builds DATABASE_URL from the .env's POSTGRES_PASSWORD: the reference is to the variable the user has
        assert 'url: "redis://:${REDIS_AUTH}@redis:6379/0"' in text
        assert 'dsn: "postgresql://langfuse:${POSTGRES_PASSWORD}@postgres:5432/langfuse"' in text


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


def test_init_reads_langsights_own_names_from_its_env_and_compose(tmp_path: Path) -> None:
    # LangSight/langsight config.py: LANGSIGHT_CLICKHOUSE_USERNAME/_DATABASE, LANGSIGHT_DASHBOARD_URL; its compose
    # maps the .env's CLICKHOUSE_USER/CLICKHOUSE_PASSWORD and builds LANGSIGHT_POSTGRES_URL from POSTGRES_PASSWORD
    case = DATA / "langsight-compose"
    proc = run("init", "--preset", "langsight", "--from-env", str(case / ".env"), "--from-compose",
               str(case / "docker-compose.yml"), "-o", "-")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert 'dsn: "postgresql://langsight:${POSTGRES_PASSWORD}@postgres:5432/langsight"' in text
    assert 'url: "clickhouse://clickhouse:9000/langsight"' in text and 'user: "langsight"' in text
    assert 'password: "${CLICKHOUSE_PASSWORD}"' in text  # the .env's own variable, not the compose-derived one
    assert 'base_url: "https://langsight.example.com"' in text
    assert "LangSight keeps no blobs" in text
    env = tmp_path / ".env"
    env.write_text("LANGSIGHT_CLICKHOUSE_URL=https://ch.internal:8443\nLANGSIGHT_CLICKHOUSE_DATABASE=traces\n"
                   "LANGSIGHT_CLICKHOUSE_USERNAME=ls_app\nLANGSIGHT_CLICKHOUSE_PASSWORD=ls-ch-3f9a1c7e5b\n"
                   "LANGSIGHT_DASHBOARD_URL=https://obs.example.com\n")
    proc = run("init", "--preset", "langsight", "--from-env", str(env), "-o", "-")
    assert proc.returncode == 0, proc.stderr
    assert 'url: "clickhouses://ch.internal:9440/traces"' in proc.stdout and 'user: "ls_app"' in proc.stdout
    assert 'password: "${LANGSIGHT_CLICKHOUSE_PASSWORD}"' in proc.stdout
    assert 'base_url: "https://obs.example.com"' in proc.stdout and "ls-ch-3f9a1c7e5b" not in proc.stdout


def test_init_langsmith_schemeless_database_uri_audits_a_real_server(tmp_path: Path, pg_stack: Any) -> None:
    # LangSmith writes POSTGRES_DATABASE_URI as user:pass@host:port/db (no scheme): the targets file adds one
    uri = pg_stack.dsn(pg_stack.good, sslmode="require").split("://", 1)[1]
    (tmp_path / ".env").write_text(f"POSTGRES_DATABASE_URI={uri}\nAPI_KEY_SALT=salt-4e1b7c9d2a\n")
    proc = run("init", "--preset", "langsmith", "--from-env", ".env", "-o", "targets.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "targets.yaml").read_text()
    assert 'dsn: "postgresql://${POSTGRES_DATABASE_URI}"' in text
    report = tmp_path / "report.json"
    proc = run("audit", "-t", "targets.yaml", "--only", "postgres.reachable", "--json", str(report),
               env={"POSTGRES_DATABASE_URI": uri}, cwd=tmp_path)
    results = {r["id"]: r for r in json.loads(report.read_text())["results"]}
    assert results["postgres.reachable"]["status"] == "pass", results["postgres.reachable"]["message"]
    assert uri.split("@")[0].split(":")[1] not in report.read_text() + proc.stdout
    # written by hand as the bare variable, validate says what is missing (never the value)
    (tmp_path / "hand.yaml").write_text('postgres: {dsn: "${POSTGRES_DATABASE_URI}"}\n')
    proc = run("validate", "-t", "hand.yaml", env={"POSTGRES_DATABASE_URI": uri}, cwd=tmp_path)
    assert proc.returncode == 2 and "needs postgresql:// in front" in proc.stderr, proc.stderr
    assert uri.split("@")[0].split(":")[1] not in proc.stdout + proc.stderr


def test_init_offers_the_chart_beside_the_values_file_as_an_offline_kubernetes_target(tmp_path: Path) -> None:
    import shutil

    chart = tmp_path / "charts" / "langfuse"
    shutil.copytree(Path(__file__).parent / "data" / "charts" / "langfuse", chart)
    shutil.copy(Path(__file__).parent / "data" / "charts" / "langfuse-values.yaml", chart / "prod-values.yaml")
    env_file = tmp_path / "langsmith.env"
    env_file.write_text(LANGSMITH_ENV)
    out = tmp_path / "targets.yaml"
    proc = run("init", "--preset", "langfuse", "--from-env", str(env_file), "--from-values",
               str(chart / "prod-values.yaml"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    offered = re.search(r"^#   or, offline, the chart rendered by the audit: (\{.*\})$", out.read_text(), re.M)
    assert offered is not None, out.read_text()
    assert offered.group(1) == '{chart: "charts/langfuse", values: ["charts/langfuse/prod-values.yaml"]}'
    # taken as offered, it is a kubernetes target that validates (the chart renders, offline)
    with out.open("a") as fh:
        fh.write(f"kubernetes: {offered.group(1)}\n")
    exported = {k: "x" for k in set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", out.read_text()))}
    exported.update(POSTGRES_DATABASE_URI="postgresql://u:p@h:5432/d", REDIS_DATABASE_URI="redis://h:6379/0")
    proc = run("validate", "-t", str(out), env=exported)
    assert proc.returncode == 0, proc.stdout + proc.stderr
