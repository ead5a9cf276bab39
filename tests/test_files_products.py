"""The products' settings as they name them, audited from their own kind of files: LangSight's compose file and .env
(tests/data/files/langsight-compose, modelled on LangSight/langsight docker-compose.yml and .env.example) and
LangSmith's compose .env (tests/data/files/langsmith-env, modelled on langchain-ai/helm's .env.example before the
compose directory was removed in Aug 2026)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import audit
from test_files import line_of, located, stage

COMPOSE = {"compose": "langsight-compose/docker-compose.yml", "env": "langsight-compose/.env"}


def _redis_finding(result: object) -> str:
    return next(f for f in result.evidence["findings"] if "service redis" in f)  # type: ignore[attr-defined]


def test_langsight_compose_redis_default_password_and_no_maxmemory_fail(tmp_path: Path) -> None:
    d = stage(tmp_path, "langsight-compose")
    results, _ = audit(tmp_path, {"files": COMPOSE}, ["files.compose-redis"], preset="langsight")
    r = results["files.compose-redis"]
    assert r.status == "fail", r.message
    finding = _redis_finding(r)
    assert "'changeme', a published default" in finding
    assert "no --maxmemory under the container's memory limit 128M" in finding
    # the finding points at the line of the flag inside the multi-line command
    assert located(r, "langsight-compose/docker-compose.yml", line_of(d / "docker-compose.yml", "--requirepass"))


def test_langsight_redis_with_its_own_password_and_room_passes(tmp_path: Path) -> None:
    d = stage(tmp_path, "langsight-compose")
    env = d / ".env"
    env.write_text(env.read_text() + "REDIS_PASSWORD=rd-6e2b9c4f1a7d3e58\n")
    compose = d / "docker-compose.yml"
    compose.write_text(compose.read_text().replace("--protected-mode yes", "--maxmemory 96mb --protected-mode yes"))
    results, _ = audit(tmp_path, {"files": COMPOSE}, ["files.compose-redis"], preset="langsight")
    r = results["files.compose-redis"]
    assert r.status == "pass", r.message
    assert "rd-6e2b9c4f1a7d3e58" not in json.dumps(r.evidence) + r.message


def test_maxmemory_must_leave_room_under_the_container_limit(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    base = "services:\n  r:\n    image: redis:7.2\n    command: redis-server --requirepass rp-5c1e9a7b3d {}\n{}"
    cases = {
        ("--maxmemory 128mb", "    mem_limit: 128m\n"): "fail",            # all of it: no room
        ("--maxmemory 0", "    mem_limit: 1g\n"): "fail",                  # unbounded
        ("--maxmemory 1gb", "    deploy: {resources: {limits: {memory: 2G}}}\n"): "pass",
        ("--maxmemory 100m", "    mem_limit: 128M\n"): "pass",             # redis m = 10^6 bytes: 75%
        ("", ""): "pass",                                                  # no limit: nothing to compare
        ("--maxmemory lots", "    mem_limit: 1g\n"): "error",
        ("--maxmemory 64mb", "    mem_limit: plenty\n"): "error",
    }
    for (flag, limit), expected in cases.items():
        compose.write_text(base.format(flag, limit))
        results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}}, ["files.compose-redis"])
        assert results["files.compose-redis"].status == expected, (flag, limit, results["files.compose-redis"].message)
    compose.write_text("services:\n  r:\n    image: redis:7.2\n    command: redis-server /etc/redis.conf "
                       "--requirepass rp-5c1e9a7b3d --maxmemory-policy noeviction\n    mem_limit: 1g\n")
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}}, ["files.compose-redis"])
    assert results["files.compose-redis"].status == "error"  # maxmemory may be in the redis.conf
    assert "redis.conf" in results["files.compose-redis"].message


def test_langsight_secrets_auth_off_and_command_line_password_are_findings(tmp_path: Path) -> None:
    d = stage(tmp_path, "langsight-compose")
    results, _ = audit(tmp_path, {"files": COMPOSE}, ["app.placeholder-secrets"], preset="langsight")
    r = results["app.placeholder-secrets"]
    assert r.status == "fail", r.message
    env, compose = d / ".env", d / "docker-compose.yml"
    text = " ".join(r.evidence["findings"])
    for key in ("LANGSIGHT_API_KEYS", "AUTH_SECRET", "LANGSIGHT_SECRET_KEY", "LANGSIGHT_PROXY_SECRET"):
        assert located(r, "langsight-compose/.env", line_of(env, f"{key}=")), key
    assert "LANGSIGHT_AUTH_DISABLED=true turns authentication off" in text
    assert located(r, "langsight-compose/.env", line_of(env, "LANGSIGHT_AUTH_DISABLED=true"))
    assert located(r, "langsight-compose/docker-compose.yml", line_of(compose, "--requirepass"))
    assert "requirepass is a default password" in text
    for secret in ("pg-4b1f9e7c2a5d8e30", "ch-9a7c5e3b1d2f4e60", "mt-1c3e5a7b9d2f4e60"):
        assert secret not in json.dumps(r.evidence) + r.message


def test_langsight_required_secrets_unset_everywhere_are_findings(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LANGSIGHT_METRICS_TOKEN=mt-8d1f3b5a7c9e2e40\n")
    results, _ = audit(tmp_path, {"files": {"env": ".env"}}, ["app.placeholder-secrets"], preset="langsight")
    r = results["app.placeholder-secrets"]
    assert r.status == "fail", r.message
    assert "LANGSIGHT_PROXY_SECRET is not set" in r.message or "LANGSIGHT_PROXY_SECRET is not set" in " ".join(
        r.evidence["findings"])
    (tmp_path / ".env").write_text("LANGSIGHT_METRICS_TOKEN=mt-8d1f3b5a7c9e2e40\nLANGSIGHT_API_KEYS=ak-1f2e3d4c5b6a\n"
                                   "AUTH_SECRET=as-7b8c9d0e1f2a\nLANGSIGHT_SECRET_KEY=sk-3c4d5e6f7a8b\n"
                                   "LANGSIGHT_PROXY_SECRET=ps-9e0f1a2b3c4d\nLANGSIGHT_AUTH_DISABLED=false\n")
    results, _ = audit(tmp_path, {"files": {"env": ".env"}}, ["app.placeholder-secrets"], preset="langsight")
    assert results["app.placeholder-secrets"].status == "pass", results["app.placeholder-secrets"].message


def test_langsmith_published_placeholders_under_their_real_names(tmp_path: Path) -> None:
    d = stage(tmp_path, "langsmith-env")
    results, _ = audit(tmp_path, {"files": {"env": "langsmith-env/.env"}}, ["app.placeholder-secrets"],
                       preset="langsmith")
    r = results["app.placeholder-secrets"]
    assert r.status == "fail", r.message
    env = d / ".env"
    for needle in ("API_KEY_SALT=super", "BASIC_AUTH_JWT_SECRET=your-jwt-secret", "POSTGRES_DATABASE_URI=postgres:",
                   "BLOB_STORAGE_ACCESS_KEY_SECRET=", "INITIAL_ORG_ADMIN_PASSWORD=your-password"):
        assert located(r, "langsmith-env/.env", line_of(env, needle)), needle
    assert "ch-5e8a2c4f6b1d3e90" not in json.dumps(r.evidence) + r.message
    assert not located(r, "langsmith-env/.env", line_of(env, "LANGSMITH_LICENSE_KEY="))  # a real-looking key


def test_langsight_has_no_worker_component() -> None:
    # LANGSIGHT_WORKERS counts uvicorn processes inside `api`: no item may look for a worker service of LangSight
    from readiness.checks import _products

    from readiness.checklist import load_checklist

    assert _products.PRODUCTS["langsight"].components() == ["api"]
    named = {item.id: item.params_for("langsight").get("deployments") for section in load_checklist().sections
             for item in section.items if item.probe}
    with_services = {i: d for i, d in named.items() if d}
    assert with_services and all("worker" not in d for d in with_services.values()), with_services


def test_a_command_line_password_is_masked_like_any_secret(tmp_path: Path) -> None:
    from readiness.clients import files as files_client

    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  redis:\n    image: redis:7.2\n    command: [redis-server, --requirepass, rp-0d9c8b7a6f5e]\n"
        "  replica:\n    image: redis:7.2\n    command: redis-server --masterauth=ma-1e2f3a4b5c6d\n")
    found = files_client.secrets({"root": str(tmp_path), "compose": str(tmp_path / "docker-compose.yml")})
    assert {"rp-0d9c8b7a6f5e", "ma-1e2f3a4b5c6d"} <= found
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}},
                       ["app.placeholder-secrets", "files.compose-redis"])
    written = json.dumps({k: (r.message, r.evidence) for k, r in results.items()}, default=str)
    assert "rp-0d9c8b7a6f5e" not in written and "ma-1e2f3a4b5c6d" not in written
    assert results["app.placeholder-secrets"].status == "pass", results["app.placeholder-secrets"].message


def test_langsight_compose_hardened_passes(tmp_path: Path) -> None:
    stage(tmp_path, "langsight-compose-hardened")
    targets = {"files": {"compose": "langsight-compose-hardened/docker-compose.yml",
                         "env": "langsight-compose-hardened/.env"}}
    items = ["files.compose-redis", "app.placeholder-secrets", "app.redis-for-workers", "app.metrics-token",
             "app.trusted-proxies", "app.compose-loopback"]
    results, _ = audit(tmp_path, targets, items, preset="langsight")
    assert {i: results[i].status for i in items} == dict.fromkeys(items, "pass"), \
        {i: results[i].message for i in items}


def test_a_leftover_or_unresolved_value_is_no_setting(tmp_path: Path) -> None:
    # found by the hostile-facts test once it read LangSight's env: LANGSIGHT_METRICS_TOKEN=NaN "matched \S"
    for value in ("NaN", "null", "${UNSET}", "undefined"):
        (tmp_path / ".env").write_text(f"LANGSIGHT_METRICS_TOKEN={value}\nLANGSIGHT_TRUSTED_PROXY_CIDRS={value}\n")
        results, _ = audit(tmp_path, {"files": {"env": ".env"}}, ["app.metrics-token", "app.trusted-proxies"],
                           preset="langsight")
        judged = {i: results[i] for i in ("app.metrics-token", "app.trusted-proxies")}
        assert {r.status for r in judged.values()} == {"error"}, (value, {k: r.message for k, r in judged.items()})


def test_minios_own_default_root_password_is_a_placeholder(tmp_path: Path) -> None:
    # MinIO runs with minioadmin/minioadmin when no root password is given: written out, it is a published default
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  minio:\n    image: minio/minio:RELEASE.2025-04-22T22-12-26Z\n"
        "    environment:\n      MINIO_ROOT_USER: minioadmin\n      MINIO_ROOT_PASSWORD: minioadmin\n")
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}}, ["app.placeholder-secrets"])
    r = results["app.placeholder-secrets"]
    assert r.status == "fail" and "MINIO_ROOT_PASSWORD" in r.message, r.message
