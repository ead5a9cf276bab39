"""The compose project read as `docker compose` reads it (override file beside the main one, include:, extends:),
findings at the file:line of the file that says it, published ports named as the user sees them on the host, and
MinIO's S3 API judged as Langfuse's design requires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import audit

from readiness.clients import files as files_client

LOOPBACK = "app.compose-loopback"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def run(tmp_path: Path, item: str = LOOPBACK, preset: str | None = None, **extra: Any) -> Any:
    results, _ = audit(tmp_path, {"files": {"compose": "docker-compose.yml", **extra}}, [item], preset=preset)
    return results[item]


def located(result: Any, file: str, line: int) -> bool:
    return any(loc["file"] == file and loc["line"] == line for loc in result.evidence["locations"])


MAIN = """services:
  redis:
    image: redis:7.2
    command: --requirepass s3cr3t-from-main
    ports:
      - 127.0.0.1:6379:6379
    environment:
      - REDIS_ARGS=--appendonly yes
"""


def test_an_override_that_publishes_redis_fails_at_the_override_line(tmp_path: Path) -> None:
    write(tmp_path / "docker-compose.yml", MAIN)
    over = write(tmp_path / "docker-compose.override.yml", "services:\n  redis:\n    ports:\n      - \"6379:6379\"\n")
    result = run(tmp_path)
    assert result.status == "fail", result.message
    assert located(result, "docker-compose.override.yml", line_of(over, "6379:6379")), result.evidence
    assert "docker-compose.override.yml:4: service redis publishes redis on 0.0.0.0:6379 (container 6379)" \
        in result.message


def test_compose_override_yaml_is_merged_too_and_the_main_file_alone_passes(tmp_path: Path) -> None:
    write(tmp_path / "docker-compose.yml", MAIN)
    assert run(tmp_path).status == "pass"
    write(tmp_path / "compose.override.yaml", "services:\n  redis:\n    ports: ['0.0.0.0:6380:6379']\n")
    assert run(tmp_path).status == "fail"


def test_merge_rules_command_replaced_environment_merged_by_variable(tmp_path: Path) -> None:
    write(tmp_path / "docker-compose.yml", MAIN)
    over = write(tmp_path / "docker-compose.override.yml",
                 "services:\n  redis:\n    command: --maxmemory-policy allkeys-lru\n"
                 "    environment:\n      REDIS_ARGS: --save 60 1\n      EXTRA: one\n")
    f = files_client.load({"compose": str(tmp_path / "docker-compose.yml"), "root": str(tmp_path)})
    svc = f.services()["redis"]
    assert svc["command"] == "--maxmemory-policy allkeys-lru"  # replaced, not appended
    assert list(svc["ports"]) == ["127.0.0.1:6379:6379"]
    env = {s.key: s for s in f.settings()}
    assert env["REDIS_ARGS"].value == "--save 60 1" and env["EXTRA"].value == "one"
    assert env["REDIS_ARGS"].loc.file == "docker-compose.override.yml"
    assert env["REDIS_ARGS"].loc.line == line_of(over, "REDIS_ARGS")
    assert f.sources[-1].endswith("docker-compose.override.yml")
    # the service itself stays where the main file defines it
    assert f.at(f.services(), "redis").file == "docker-compose.yml"
    # the password of the main file's command is gone: compose-redis judges the merged command
    redis = run(tmp_path, "files.compose-redis")
    assert redis.status == "fail" and "docker-compose.override.yml" in redis.message, redis.message


def test_list_commands_are_replaced_and_repeated_ports_kept_once(tmp_path: Path) -> None:
    write(tmp_path / "docker-compose.yml", MAIN.replace("command: --requirepass s3cr3t-from-main",
                                                       "command: [redis-server, --requirepass, s3cr3t-from-main]"))
    write(tmp_path / "docker-compose.override.yml",
          "services:\n  redis:\n    command: [redis-server, --appendonly, 'yes']\n"
          "    ports: [127.0.0.1:6379:6379, 127.0.0.1:6380:6379]\n")
    f = files_client.load({"compose": str(tmp_path / "docker-compose.yml"), "root": str(tmp_path)})
    svc = f.services()["redis"]
    assert list(svc["command"]) == ["redis-server", "--appendonly", "yes"]
    assert list(svc["ports"]) == ["127.0.0.1:6379:6379", "127.0.0.1:6380:6379"]


def test_include_is_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path / "docker-compose.yml", "include:\n  - stores/db.yml\nservices:\n  web:\n    image: web:1\n")
    write(tmp_path / "stores" / "db.yml", "include:\n  - path: [more/pg.yml]\nservices: {}\n")
    pg = write(tmp_path / "stores" / "more" / "pg.yml",
               "services:\n  postgres:\n    image: postgres:16\n    ports:\n      - ${PG_PORT}:5432\n")
    write(tmp_path / "stores" / "more" / ".env", "PG_PORT=5433\n")  # an included file is its own project
    result = run(tmp_path)
    assert result.status == "fail"
    assert located(result, "stores/more/pg.yml", line_of(pg, ":5432")), result.evidence
    assert "publishes postgres on 0.0.0.0:5433 (container 5432)" in result.message


def test_extends_with_file_takes_the_base_service_ports(tmp_path: Path) -> None:
    base = write(tmp_path / "common" / "base.yml",
                 "services:\n  cache:\n    image: redis:7.2\n    ports:\n      - 6379:6379\n")
    write(tmp_path / "docker-compose.yml",
          "services:\n  redis:\n    extends: {file: common/base.yml, service: cache}\n    restart: always\n")
    result = run(tmp_path)
    assert result.status == "fail"
    assert located(result, "common/base.yml", line_of(base, "6379:6379")), result.evidence


def test_findings_name_the_host_port_and_read_long_syntax_and_ranges(tmp_path: Path) -> None:
    # modelled on LangSmith's former compose: 63791:6379 and 5433:5432
    write(tmp_path / "docker-compose.yml", """services:
  langchain-redis:
    image: redis:7
    ports:
      - "63791:6379"
  langchain-db:
    image: postgres:14.7
    ports:
      - target: 5432
        published: "5433"
        host_ip: 0.0.0.0
  ch:
    image: clickhouse/clickhouse-server:24.8
    ports:
      - "18123-18124:8123-8124"
      - "[::1]:19000:9000"
      - "9009"
""")
    result = run(tmp_path)
    assert result.status == "fail"
    text = " | ".join(result.evidence["findings"])
    assert "publishes redis on 0.0.0.0:63791 (container 6379)" in text
    assert "publishes postgres on 0.0.0.0:5433 (container 5432)" in text
    assert "on 0.0.0.0:18123-18124 (container 8123-8124)" in text
    assert "on 0.0.0.0 on a port docker picks (container 9009)" in text
    assert "19000" not in text  # ::1 is loopback


LANGFUSE_MINIO = """services:
  minio:
    image: docker.io/minio/minio:RELEASE.2025-04-22T22-12-26Z
    entrypoint: sh
    command: -c 'mkdir -p /data/langfuse && minio server --address ":9000" --console-address ":9001" /data'
    environment:
      MINIO_ROOT_USER: minio
      MINIO_ROOT_PASSWORD: miniosecret
    ports:
      - 9090:9000
      - {console}
"""


def test_minio_s3_api_published_is_langfuse_design_not_an_exposed_datastore(tmp_path: Path) -> None:
    compose = write(tmp_path / "docker-compose.yml", LANGFUSE_MINIO.format(console="127.0.0.1:9091:9001"))
    result = run(tmp_path, preset="langfuse")
    assert result.status == "pass", result.message
    assert "MinIO's S3 API on 0.0.0.0:9090 (container 9000)" in result.message
    assert "presigned URLs" in result.message and "TLS" in result.message
    assert any(f"docker-compose.yml:{line_of(compose, '9090:9000')}:" in note
               for note in result.evidence["published_by_design"])
    # the default credentials stay a finding
    secrets = run(tmp_path, "app.placeholder-secrets", preset="langfuse")
    assert secrets.status == "fail" and located(secrets, "docker-compose.yml",
                                                line_of(compose, "MINIO_ROOT_PASSWORD"))


def test_minio_console_published_and_minio_of_other_products_still_fail(tmp_path: Path) -> None:
    compose = write(tmp_path / "docker-compose.yml", LANGFUSE_MINIO.format(console="9091:9001"))
    result = run(tmp_path, preset="langfuse")
    assert result.status == "fail"
    assert "publishes the MinIO console on 0.0.0.0:9091 (container 9001)" in result.message
    assert not located(result, "docker-compose.yml", line_of(compose, "9090:9000"))
    assert located(result, "docker-compose.yml", line_of(compose, "9091:9001"))
    write(tmp_path / "docker-compose.yml", LANGFUSE_MINIO.format(console="127.0.0.1:9091:9001"))
    other = run(tmp_path, preset="langsmith")
    assert other.status == "fail" and "publishes minio/minio on 0.0.0.0:9090 (container 9000)" in other.message


def test_a_command_line_password_of_an_override_is_found_at_the_override_line(tmp_path: Path) -> None:
    write(tmp_path / "docker-compose.yml", MAIN)
    over = write(tmp_path / "docker-compose.override.yml",
                 "services:\n  redis:\n    command: >\n      redis-server\n      --requirepass changeme\n")
    result = run(tmp_path, "app.placeholder-secrets")
    assert result.status == "fail", result.message
    assert located(result, "docker-compose.override.yml", line_of(over, "--requirepass")), result.evidence
