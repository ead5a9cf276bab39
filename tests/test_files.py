"""The files target: compose, env and Helm values audited statically, both verdicts for every item, each finding at
the file:line:col of the value that causes it, and no secret from those files in any output.

Fixtures (tests/data/files/) are modelled on the public Langfuse compose file, LangSight's env rules and the
LangSmith / Langfuse chart values: "default" is what a first install leaves, "hardened" the fixed variant.

Over 400 lines: every files item both ways, on one set of fixture files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import audit, write_yaml

from readiness.clients import dotenv
from readiness.clients import files as files_client

DATA = Path(__file__).parent / "data" / "files"
BIN = str(Path(sys.executable).parent / "readiness")


def stage(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copytree(DATA / name, dest)
    return dest


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def targets_for(tmp_path: Path, name: str, **extra: Any) -> dict[str, Any]:
    d = stage(tmp_path, name)
    cfg = {k: f"{name}/{f}" for k, f in (("compose", "docker-compose.yml"), ("env", ".env"),
                                          ("helm_values", "values.yaml")) if (d / f).exists()}
    return {"files": cfg, **extra}


def located(result: Any, file: str, line: int) -> bool:
    return any(loc["file"] == file and loc["line"] == line for loc in result.evidence["locations"])


LANGFUSE_ITEMS = ["app.placeholder-secrets", "app.compose-loopback", "app.compose-healthchecks", "app.images-pinned",
                  "files.values-hpa", "files.values-external-datastores", "files.values-clickhouse-resources",
                  "files.values-clickhouse-replicas", "files.values-frontend-service"]


def test_langfuse_defaults_fail_at_their_lines(tmp_path: Path) -> None:
    results, _ = audit(tmp_path, targets_for(tmp_path, "langfuse-default"), LANGFUSE_ITEMS, preset="langfuse")
    assert {i: results[i].status for i in LANGFUSE_ITEMS} == dict.fromkeys(LANGFUSE_ITEMS, "fail")
    compose = tmp_path / "langfuse-default" / "docker-compose.yml"
    values = tmp_path / "langfuse-default" / "values.yaml"
    name, vname = "langfuse-default/docker-compose.yml", "langfuse-default/values.yaml"
    secrets = results["app.placeholder-secrets"]
    for needle in ('SALT: "mysalt"', "ENCRYPTION_KEY:", "NEXTAUTH_SECRET: mysecret", "MINIO_ROOT_PASSWORD",
                   "DATABASE_URL:", "REDIS_AUTH:"):
        assert located(secrets, name, line_of(compose, needle)), needle
    for needle in ("value: mysalt", "password: myredissecret", "rootPassword: miniosecret"):
        assert located(secrets, vname, line_of(values, needle)), needle
    salt = next(loc for loc in secrets.evidence["locations"] if loc["line"] == line_of(compose, 'SALT: "mysalt"'))
    assert salt["column"] == compose.read_text().splitlines()[salt["line"] - 1].index('"mysalt"') + 1
    assert f"{name}:{line_of(compose, 'DATABASE_URL:')}" in secrets.message
    ports = results["app.compose-loopback"]
    for needle in ("- 8123:8123", "- 0.0.0.0:9000:9000", "- 6379:6379", "- 5432:5432"):
        assert located(ports, name, line_of(compose, needle)), needle
    # MinIO's S3 API is published by Langfuse's design (presigned uploads): noted, not a location to fix
    assert not located(ports, name, line_of(compose, "- 9090:9000"))
    assert any("9090" in n for n in ports.evidence["published_by_design"])
    assert not located(ports, name, line_of(compose, "- 127.0.0.1:6379:6379")) if "127.0.0.1:6379" in \
        compose.read_text() else True
    assert not located(ports, name, line_of(compose, "127.0.0.1:9091:9001"))
    assert "langfuse-worker" in results["app.compose-healthchecks"].message
    assert "langfuse-web" in results["app.compose-healthchecks"].message
    assert "clickhouse" not in results["app.compose-healthchecks"].message
    images = results["app.images-pinned"]
    assert located(images, name, line_of(compose, "image: docker.io/postgres:"))  # ${POSTGRES_VERSION:-latest}
    assert located(images, name, line_of(compose, "image: docker.io/minio/minio"))
    assert not located(images, name, line_of(compose, "image: docker.io/redis:7"))
    assert located(results["files.values-clickhouse-replicas"], vname, line_of(values, "replicaCount: 1"))
    assert located(results["files.values-hpa"], vname, line_of(values, "enabled: false"))


def test_langfuse_hardened_passes(tmp_path: Path) -> None:
    results, _ = audit(tmp_path, targets_for(tmp_path, "langfuse-hardened"), LANGFUSE_ITEMS, preset="langfuse")
    status = {i: results[i].status for i in LANGFUSE_ITEMS}
    # external datastores: the ClickHouse sizing and replica items do not apply (clickhouse.deploy false)
    assert status == {**dict.fromkeys(LANGFUSE_ITEMS, "pass"), "files.values-clickhouse-resources": "skipped",
                      "files.values-clickhouse-replicas": "skipped"}, {i: results[i].message for i in status}


LANGSMITH_ITEMS = ["app.cors", "app.placeholder-secrets", "app.images-pinned", "files.values-blob-storage",
                   "files.values-hpa", "files.values-external-datastores", "files.values-clickhouse-resources",
                   "files.values-frontend-service"]


def test_langsmith_values_both_ways(tmp_path: Path) -> None:
    bad, _ = audit(tmp_path, targets_for(tmp_path, "langsmith-default"), LANGSMITH_ITEMS, preset="langsmith")
    assert {i: bad[i].status for i in LANGSMITH_ITEMS} == dict.fromkeys(LANGSMITH_ITEMS, "fail")
    values, name = tmp_path / "langsmith-default" / "values.yaml", "langsmith-default/values.yaml"
    assert located(bad["app.cors"], name, line_of(values, 'allowedOrigins: "*"'))
    assert located(bad["files.values-blob-storage"], name, line_of(values, "blobStorage:") + 1)
    assert located(bad["app.images-pinned"], name, line_of(values, "tag: latest"))
    assert located(bad["files.values-frontend-service"], name, line_of(values, "type: LoadBalancer"))
    assert located(bad["files.values-clickhouse-resources"], name, line_of(values, "cpu: 3500m"))
    placeholders = bad["app.placeholder-secrets"]
    for needle in ('apiKeySalt: ""', 'initialOrgAdminPassword: "changeme"', 'jwtSecret: "secret"'):
        assert located(placeholders, name, line_of(values, needle)), needle
    # services the file leaves out get the chart's default (off), pointed at the nearest parent
    assert "platformBackend.autoscaling.hpa.enabled" in json.dumps(bad["files.values-hpa"].evidence)
    tmp2 = tmp_path / "good"
    tmp2.mkdir()
    good, _ = audit(tmp2, targets_for(tmp2, "langsmith-hardened"), LANGSMITH_ITEMS, preset="langsmith")
    status = {i: good[i].status for i in LANGSMITH_ITEMS}
    assert status == {**dict.fromkeys(LANGSMITH_ITEMS, "pass"), "files.values-clickhouse-resources": "skipped"}, \
        {i: good[i].message for i in status}


LANGSIGHT_ITEMS = ["app.redis-for-workers", "app.metrics-token", "app.trusted-proxies", "app.placeholder-secrets"]


def test_langsight_env_both_ways(tmp_path: Path) -> None:
    bad, _ = audit(tmp_path, targets_for(tmp_path, "langsight-default"), LANGSIGHT_ITEMS, preset="langsight")
    assert {i: bad[i].status for i in LANGSIGHT_ITEMS} == dict.fromkeys(LANGSIGHT_ITEMS, "fail")
    env, name = tmp_path / "langsight-default" / ".env", "langsight-default/.env"
    assert located(bad["app.redis-for-workers"], name, line_of(env, "LANGSIGHT_WORKERS=4"))
    assert located(bad["app.trusted-proxies"], name, line_of(env, "0.0.0.0/0"))
    assert located(bad["app.metrics-token"], name, line_of(env, "LANGSIGHT_METRICS_TOKEN="))
    assert located(bad["app.placeholder-secrets"], name, line_of(env, "LANGSIGHT_CLICKHOUSE_PASSWORD=changeme"))
    assert bad["app.redis-for-workers"].evidence["locations"][0]["column"] == len("LANGSIGHT_WORKERS=") + 1
    tmp2 = tmp_path / "good"
    tmp2.mkdir()
    good, _ = audit(tmp2, targets_for(tmp2, "langsight-hardened"), LANGSIGHT_ITEMS, preset="langsight")
    assert {i: good[i].status for i in LANGSIGHT_ITEMS} == dict.fromkeys(LANGSIGHT_ITEMS, "pass"), \
        {i: good[i].message for i in LANGSIGHT_ITEMS}
    # the token is a secret: its presence is evidence, its value never is
    token = re.search(r"LANGSIGHT_METRICS_TOKEN=(\S+)", (DATA / "langsight-hardened" / ".env").read_text())
    assert token and token.group(1) not in json.dumps([r.__dict__ for r in good.values()], default=str)


def test_workers_without_a_number_and_no_files_are_errors(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LANGSIGHT_WORKERS=four\nLANGSIGHT_REDIS_URL=\n")
    results, _ = audit(tmp_path, {"files": {"env": ".env"}}, ["app.redis-for-workers", "app.compose-loopback",
                                                               "files.values-hpa"], preset="langsight")
    assert results["app.redis-for-workers"].status == "error"
    assert results["app.compose-loopback"].status == "error"
    assert "compose" in results["app.compose-loopback"].message
    (tmp_path / "none").mkdir()
    results, _ = audit(tmp_path / "none", {"files": {}}, ["app.placeholder-secrets"])
    assert results["app.placeholder-secrets"].status == "error"


def test_compose_ports_every_syntax(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n"
                       "  redis:\n    image: redis:7.2\n    healthcheck: {test: [CMD, redis-cli, ping]}\n"
                       "    ports: ['[::1]:6379:6379', {target: 6379, published: 6380, host_ip: 127.0.0.1}, "
                       "'127.0.0.1::6379']\n"
                       "  cache:\n    image: valkey/valkey:8\n    healthcheck: {test: [CMD, valkey-cli, ping]}\n"
                       "    ports: [{target: 6379, published: 6381}]\n"
                       "  db:\n    image: example/app:1\n    healthcheck: {disable: true}\n"
                       "    ports: ['5432-5433:5432-5433/tcp']\n"
                       "  web:\n    image: example/web:2\n    healthcheck: {test: [NONE]}\n    ports: ['80:8080']\n")
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}},
                       ["app.compose-loopback", "app.compose-healthchecks"])
    ports = results["app.compose-loopback"]
    assert ports.status == "fail"
    lines = {loc["line"] for loc in ports.evidence["locations"]}
    assert lines == {line_of(compose, "published: 6381"), line_of(compose, "5432-5433")}, ports.message
    assert "web" not in ports.message  # port 8080 of an application image is not a datastore port
    hc = results["app.compose-healthchecks"]
    assert hc.status == "fail" and "db disables" in hc.message and "web disables" in hc.message


def test_compose_variables_resolved_like_docker_compose(tmp_path: Path) -> None:
    env = {"SET": "v", "EMPTY": ""}
    cases = {"${SET}": "v", "${UNSET:-d}": "d", "${EMPTY:-d}": "d", "${EMPTY-d}": "", "${UNSET-d}": "d",
             "${SET:+alt}": "alt", "${EMPTY:+alt}": "", "$$SET": "$SET", "$SET/x": "v/x", "${SET:?no}": "v",
             "a${UNSET}b": "ab"}
    for text, want in cases.items():
        value, errors, _ = dotenv.interpolate(text, env)
        assert (value, errors) == (want, []), text
    for text in ("${EMPTY:?needed}", "${UNSET?needed}", "${", "${1BAD}"):
        assert dotenv.interpolate(text, env)[1], text
    # the .env beside the compose file feeds it, also when the targets file names another env file
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / ".env").write_text("TAG=7.2.5\n")
    (tmp_path / "app" / "docker-compose.yml").write_text(
        "services:\n  redis:\n    image: redis:${TAG:-latest}\n    healthcheck: {test: [CMD, redis-cli, ping]}\n")
    results, _ = audit(tmp_path, {"files": {"compose": "app/docker-compose.yml"}}, ["app.images-pinned"])
    assert results["app.images-pinned"].status == "pass", results["app.images-pinned"].message
    (tmp_path / "app" / ".env").write_text("OTHER=1\n")
    results, _ = audit(tmp_path, {"files": {"compose": "app/docker-compose.yml"}}, ["app.images-pinned"])
    assert results["app.images-pinned"].status == "fail"


def test_required_variable_missing_stops_like_compose(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services:\n  db:\n    image: postgres:16\n    environment:\n"
                                                 "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it}\n")
    write_yaml(tmp_path / "targets.yaml", {"files": {"compose": "docker-compose.yml"}})
    proc = subprocess.run([BIN, "validate", "-t", str(tmp_path / "targets.yaml")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "docker-compose.yml:5:26: required variable POSTGRES_PASSWORD is missing a value" in proc.stderr


def _secret_values() -> list[str]:
    out = []
    for env in DATA.glob("*/.env"):
        for line in env.read_text().splitlines():
            m = re.match(r"(?:export )?([A-Z_]+)=['\"]?([^'\"#\s]+)", line)
            if m and files_client.is_secret_key(m.group(1)) and m.group(2) not in files_client.PLACEHOLDERS:
                out.append(m.group(2))
    return out


@pytest.mark.parametrize("name,preset", [("langfuse-hardened", "langfuse"), ("langsight-hardened", "langsight"),
                                         ("langfuse-default", "langfuse"), ("langsight-default", "langsight")])
def test_no_secret_of_the_files_in_any_output(tmp_path: Path, name: str, preset: str) -> None:
    targets = targets_for(tmp_path, name, preset=preset)
    write_yaml(tmp_path / "targets.yaml", targets)
    out = tmp_path / "out"
    proc = subprocess.run([BIN, "audit", "-t", str(tmp_path / "targets.yaml"), "--only", "app", "--only", "files.*",
                           "--json", str(out.with_suffix(".json")), "--junit", str(out.with_suffix(".xml")),
                           "--markdown", str(out.with_suffix(".md")), "--no-color"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    written = proc.stdout + proc.stderr + "".join(p.read_text() for p in tmp_path.glob("out.*"))
    secrets = [s for s in _secret_values() if s in (tmp_path / name / ".env").read_text()]
    assert secrets or name.endswith("default")
    for secret in secrets:
        assert secret not in written, secret
    assert "placeholder-secrets" in written


def _flag_audit(tmp_path: Path, env: str, deployment: Any, sub: str) -> Any:
    d = tmp_path / sub
    d.mkdir()
    (d / ".env").write_text(env)
    results, _ = audit(d, {"files": {"env": ".env"}, **deployment.target()}, ["app.clickhouse-cluster-flag"],
                       preset="langfuse")
    return results["app.clickhouse-cluster-flag"]


def test_clickhouse_cluster_flag_against_real_servers(tmp_path: Path, ch_single: Any, ch_cluster: Any) -> None:
    # Langfuse's default (true) on a single node whose only cluster is "solo": migrations would fail
    r = _flag_audit(tmp_path, "SALT=x\n", ch_single, "default")
    assert r.status == "fail" and "'default'" in r.message and "solo" in r.message, r.message
    r = _flag_audit(tmp_path, "CLICKHOUSE_CLUSTER_ENABLED=true\n", ch_single, "true")
    assert r.status == "fail" and located(r, ".env", 1), r.message
    r = _flag_audit(tmp_path, "CLICKHOUSE_CLUSTER_ENABLED=true\nCLICKHOUSE_CLUSTER_NAME=solo\n", ch_single, "named")
    assert r.status == "pass", r.message
    r = _flag_audit(tmp_path, "CLICKHOUSE_CLUSTER_ENABLED=false\n", ch_single, "off")
    assert r.status == "pass", r.message
    r = _flag_audit(tmp_path, "CLICKHOUSE_CLUSTER_ENABLED=maybe\n", ch_single, "odd")
    assert r.status == "error", r.message
    # false on a real multi-node cluster: tables would not be replicated
    r = _flag_audit(tmp_path, f"CLICKHOUSE_CLUSTER_ENABLED=false\nCLICKHOUSE_CLUSTER_NAME={ch_cluster.cluster}\n",
                    ch_cluster, "cluster-off")
    assert r.status == "fail" and "hosts" in r.message, r.message
    r = _flag_audit(tmp_path, f"CLICKHOUSE_CLUSTER_ENABLED=true\nCLICKHOUSE_CLUSTER_NAME={ch_cluster.cluster}\n",
                    ch_cluster, "cluster-on")
    assert r.status == "pass", r.message


def test_clickhouse_cluster_flag_needs_the_clickhouse_target(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CLICKHOUSE_CLUSTER_ENABLED=false\n")
    results, _ = audit(tmp_path, {"files": {"env": ".env"}}, ["app.clickhouse-cluster-flag"], preset="langfuse")
    r = results["app.clickhouse-cluster-flag"]
    assert r.status == "error" and "needs the clickhouse target" in r.message


def test_nothing_observed_is_never_a_pass(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    (tmp_path / "built.yml").write_text("services:\n  app:\n    build: .\n    healthcheck: {test: [CMD, 'true']}\n")
    (tmp_path / "values.yaml").write_text("nothing: {}\nconfig:\n  blobStorage:\n    enabled:\n")
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml", "helm_values": "values.yaml"}},
                       ["app.compose-healthchecks", "files.values-blob-storage"], preset="langsmith")
    assert results["app.compose-healthchecks"].status == "error"
    assert results["files.values-blob-storage"].status == "error"  # enabled: (null) is not false, nor true
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "built.yml", tmp_path / "b" / "docker-compose.yml")
    results, _ = audit(tmp_path / "b", {"files": {"compose": "docker-compose.yml"}},
                       ["app.images-pinned", "app.placeholder-secrets"])
    assert results["app.images-pinned"].status == "error"
    assert results["app.placeholder-secrets"].status == "error"


def test_junk_healthchecks_and_secrets_are_never_a_pass(tmp_path: Path) -> None:
    # found by the hostile-facts test: a healthcheck test of .nan counted as a healthcheck, and secrets that are all
    # empty, unresolved or binary left placeholder-secrets with nothing judged yet passing
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  app:\n    image: app:1@sha256:" + "0" * 64 + "\n    healthcheck: {test: .nan}\n"
        "  web:\n    image: web:1\n    healthcheck: {test: [CMD]}\n")
    (tmp_path / ".env").write_text("NEXTAUTH_SECRET=${UNSET}\nREDIS_PASSWORD=\nDATABASE_PASSWORD=\n")
    # no preset: LangSight's would add its required secrets, unset here, as findings of their own
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml", "env": ".env"}},
                       ["app.compose-healthchecks", "app.placeholder-secrets"])
    hc = results["app.compose-healthchecks"]
    assert hc.status == "fail" and "app's healthcheck test is not a command" in hc.message, hc.message
    assert "web's healthcheck test is not a command" in hc.message
    assert results["app.placeholder-secrets"].status == "error", results["app.placeholder-secrets"].message
    (tmp_path / ".env").write_text("NEXTAUTH_SECRET=NaN\n")
    r = audit(tmp_path, {"files": {"env": ".env"}}, ["app.placeholder-secrets"], preset="langsight")[0]
    leftover = r["app.placeholder-secrets"]
    assert leftover.status == "fail" and "templating leftover" in leftover.message


def test_a_checklist_cannot_make_values_pass_by_construction(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("config:\n  blobStorage:\n    enabled: false\n")
    checklist = tmp_path / "c.yaml"
    checklist.write_text("version: 1\nname: t\nsections:\n  - id: s\n    title: S\n    items:\n"
                         "      - {id: s.none, title: T, level: required, probe: files.values, rationale: r,\n"
                         "         with: {keys: [], expect: {equals: true}}}\n"
                         "      - {id: s.nodefault, title: T, level: required, probe: files.values, rationale: r,\n"
                         "         with: {keys: [absent.key], expect: {absent: true}}}\n")
    results, _ = audit(tmp_path, {"files": {"helm_values": "values.yaml"}}, ["s.none", "s.nodefault"],
                       checklist=str(checklist))
    assert results["s.none"].status == "error"
    assert results["s.nodefault"].status == "error"


def test_compose_redis_password_and_policy(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("REDIS_AUTH=\n")
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n"
                       "  open:\n    image: redis:7.2\n    command: redis-server --maxmemory-policy allkeys-lru\n"
                       "  emptyvar:\n    image: redis:7.2\n"
                       "    command: [redis-server, --requirepass, '${REDIS_AUTH}']\n"
                       "  bitnami:\n    image: bitnami/redis:7.2\n    environment: [ALLOW_EMPTY_PASSWORD=yes]\n"
                       "  conf:\n    image: valkey/valkey:8\n    command: valkey-server /etc/redis.conf\n"
                       "    volumes: ['./redis.conf:/etc/redis.conf:ro']\n"
                       "  good:\n    image: redis:7.2\n"
                       "    command: --requirepass s3cret-x1 --maxmemory-policy noeviction\n")
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}}, ["files.compose-redis"])
    r = results["files.compose-redis"]
    assert r.status == "fail", r.message
    failing = {f.split(": service ")[1].split(":")[0] for f in r.evidence["findings"]}
    assert failing == {"open", "emptyvar", "bitnami", "conf reads a redis.conf, which is not visible here"}
    assert "allkeys-lru" in r.message and located(r, "docker-compose.yml", line_of(compose, "allkeys-lru"))
    assert "s3cret-x1" not in json.dumps(r.evidence) + r.message
    compose.write_text("services:\n  conf:\n    image: valkey/valkey:8\n    command: valkey-server /etc/redis.conf\n")
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}}, ["files.compose-redis"])
    assert results["files.compose-redis"].status == "error"
    compose.write_text("services:\n  r:\n    image: redis:7.2\n    command: --requirepass s3cret-x1\n"
                       "  db:\n    image: postgres:16\n")
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}}, ["files.compose-redis"])
    assert results["files.compose-redis"].status == "pass"  # Redis's own default policy is noeviction
    compose.write_text("services:\n  db:\n    image: postgres:16\n")
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}}, ["files.compose-redis"])
    assert results["files.compose-redis"].status == "skipped"


def test_compose_redis_empty_password_or_one_the_image_never_reads_is_no_password(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    for service in ('    image: redis:7.2\n    command: redis-server --requirepass ""\n',
                    # the official image ignores REDIS_PASSWORD (only Bitnami's reads it)
                    "    image: redis:7.2\n    environment: {REDIS_PASSWORD: rp-5c1e9a7b3d}\n"):
        compose.write_text("services:\n  r:\n" + service)
        results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}}, ["files.compose-redis"])
        r = results["files.compose-redis"]
        assert r.status == "fail" and "no --requirepass" in r.message, (service, r.message)
    compose.write_text("services:\n  r:\n    image: bitnami/redis:7.2\n"
                       "    environment: {REDIS_PASSWORD: rp-5c1e9a7b3d}\n")
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}}, ["files.compose-redis"])
    assert results["files.compose-redis"].status == "pass", results["files.compose-redis"].message


def test_secrets_hook_feeds_the_scrubber(tmp_path: Path) -> None:
    from readiness.targets import load_targets

    targets = targets_for(tmp_path, "langfuse-hardened")
    write_yaml(tmp_path / "targets.yaml", targets)
    loaded = load_targets(tmp_path / "targets.yaml", env={})
    found = files_client.secrets(loaded.configs["files"])
    env = (DATA / "langfuse-hardened" / ".env").read_text()
    assert {"Pg-7f3c1b9e4a2d8f60", "sa1t-5e9b2c7d1f4a8e30", "rd-ae2d8a571e03ac9c9eb76fac45af8e51",
            "nx-2b7e151628aed2a6abf7158809cf4f3c"} <= found
    assert all(s in env or s in (DATA / "langfuse-hardened" / "docker-compose.yml").read_text() for s in found)
    assert not found & files_client.PLACEHOLDERS
    assert "langfuse" not in found and "https://langfuse.example.com" not in found  # user names, URLs: not secrets
    scrub = loaded.scrubber()
    assert scrub.text("salt is sa1t-5e9b2c7d1f4a8e30") == "salt is ***"
    (tmp_path / "d").mkdir()
    default = targets_for(tmp_path / "d", "langfuse-default")
    write_yaml(tmp_path / "d" / "targets.yaml", default)
    shown = load_targets(tmp_path / "d" / "targets.yaml", env={}).scrubber().text("postgres.reachable on postgres")
    assert shown == "postgres.reachable on postgres"  # published placeholders are not masked as if secret


def test_an_escaped_quote_in_an_env_value_is_read_as_compose_reads_it(tmp_path: Path) -> None:
    # compose (compose-spec/godotenv extractVarValue, expandEscapes): a quote after a backslash does not end the
    # value, and in double quotes \X is X. A secret read cut at its escaped quote ("ab\\") was masked in part only
    from readiness.clients.dotenv import parse_env
    from readiness.targets import load_targets

    text = 'PW="Pa\\"ss-9f2c\\\\x"\nA=\'it\\\'s\'\nN="one\\ntwo" # note\n'
    got = {k: v.value for k, v in parse_env(text, "x.env", "x.env").items()}
    assert got == {"PW": 'Pa"ss-9f2c\\x', "A": "it\\'s", "N": "one\ntwo"}
    targets = targets_for(tmp_path, "langfuse-hardened")
    env = tmp_path / "langfuse-hardened" / ".env"
    env.write_text(env.read_text() + 'NEXTAUTH_SECRET="nx-4c1f\\"8e0b-escaped"\n')
    write_yaml(tmp_path / "targets.yaml", targets)
    scrub = load_targets(tmp_path / "targets.yaml", env={}).scrubber()
    assert scrub.text('secret nx-4c1f"8e0b-escaped') == "secret ***"


def test_service_env_files_are_read_too(tmp_path: Path) -> None:
    (tmp_path / "api.env").write_text("LANGSIGHT_WORKERS=3\nLANGSIGHT_METRICS_TOKEN=mt-77c1e0a94d\n")
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  api:\n    image: langsight/api:0.9\n    env_file: [api.env, {path: missing.env, "
                       "required: false}]\n")
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml"}},
                       ["app.redis-for-workers", "app.metrics-token"], preset="langsight")
    assert results["app.redis-for-workers"].status == "fail"
    assert located(results["app.redis-for-workers"], "api.env", 1)
    token = results["app.metrics-token"]
    assert token.status == "pass"
    assert "mt-77c1e0a94d" not in json.dumps(token.evidence) + token.message


def test_langsmith_env_defaults(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("AUTH_TYPE=none\nAPI_KEY_SALT=\nPOSTGRES_PASSWORD=postgres\nCLICKHOUSE_PASSWORD=password\n"
                   "LANGSMITH_LICENSE_KEY=lic-0f8e7d6c5b4a\n")
    results, _ = audit(tmp_path, {"files": {"env": ".env"}}, ["app.placeholder-secrets"], preset="langsmith")
    r = results["app.placeholder-secrets"]
    assert r.status == "fail"
    assert {loc["line"] for loc in r.evidence["locations"]} == {1, 2, 3, 4}
    assert "AUTH_TYPE=none turns authentication off" in r.message
    env.write_text("AUTH_TYPE=mixed\nAPI_KEY_SALT=salt-9c2f4e1a7b3d\nPOSTGRES_PASSWORD=pg-1e2d3c4b5a69\n")
    results, _ = audit(tmp_path, {"files": {"env": ".env"}}, ["app.placeholder-secrets"], preset="langsmith")
    assert results["app.placeholder-secrets"].status == "pass"
