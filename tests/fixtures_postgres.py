"""Real PostgreSQL 15 clusters (initdb, run as the postgres user), PgBouncer and moto's server for the probe tests.

good      max_connections 200, pg_stat_statements preloaded, WAL archiving, ssl on, UTC, LangSmith's extensions,
          finished Prisma migrations and an Alembic version, three long-lived application connections
bad       max_connections 8, autovacuum off, a table full of dead tuples, next xid 300M (wraparound near),
          pg_stat_statements installed but not preloaded, no archiving, no ssl, America/New_York, a Prisma
          migration stuck half-way
bouncer   PgBouncer 1.x before good: app_session (pool_mode=session) and app_tx (pool_mode=transaction)
moto      moto_server with two RDS instances (mydb: 7 days of backups, 60 of 100 GiB free; fulldb: no backups,
          10 GiB free) and their CloudWatch FreeStorageSpace
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fixtures_tls import stop_all
from servers import Server, free_port

from readiness.demo.postgres import PgSpec, PostgresServer, start_pgbouncer, start_postgres
from readiness.demo.tls import TlsFiles

APP = ("app", "app-pw")
ADMIN = ("pgbadmin", "admin-pw")
EXTENSIONS = ("btree_gin", "btree_gist", "pgcrypto", "citext", "ltree", "pg_trgm")

_PRISMA = """CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL,
  finished_at timestamptz, migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz,
  started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count integer NOT NULL DEFAULT 0)"""


@dataclass
class PgStack:
    good: PostgresServer
    bad: PostgresServer
    bouncer: Server
    tls_files: TlsFiles
    app_connections: list[Any] = field(default_factory=list)
    app_since: float = 0.0

    def dsn(self, server: Server, db: str = "app", password: str = APP[1], **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://{APP[0]}:{password}@127.0.0.1:{server.port}/{db}" + (f"?{query}" if query else "")

    def target(self, server: Server, **extra: Any) -> dict[str, Any]:
        params = {"sslmode": "require"} if server is self.good else {}
        return {"postgres": {"dsn": self.dsn(server, **params), **extra}}

    def admin_dsn(self) -> str:
        return f"postgresql://{ADMIN[0]}:{ADMIN[1]}@127.0.0.1:{self.bouncer.port}/pgbouncer"

    def connect(self, server: Server, n: int) -> list[Any]:
        """n idle application connections (closed by the caller).  The bad server allows 8 connections in all: an
        earlier test's sessions may still be closing (the backend exits a moment after the client), so a refusal
        for "too many clients" is retried for a bounded while."""
        import psycopg

        out: list[Any] = []
        end = time.monotonic() + 15
        try:
            while len(out) < n:
                try:
                    out.append(psycopg.connect(self.dsn(server), application_name="app-under-test"))
                except psycopg.OperationalError as exc:
                    if "too many clients" not in str(exc) or time.monotonic() > end:
                        raise
                    time.sleep(0.2)
        except BaseException:
            for conn in out:
                conn.close()
            raise
        return out


def _common(db_setup: list[str]) -> list[str]:
    # pg_monitor: without it other roles' sessions are hidden and the headroom and reuse items cannot judge
    return [f"CREATE ROLE {APP[0]} LOGIN PASSWORD '{APP[1]}'", f"GRANT pg_monitor TO {APP[0]}",
            f"CREATE DATABASE app OWNER {APP[0]}", *db_setup]


def _wait_dead_tuples(server: PostgresServer) -> None:
    end = time.monotonic() + 20
    while time.monotonic() < end:
        rows = server.execute("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'events'", db="app")[0]
        if rows and rows[0][0] > 10000:
            return
        time.sleep(0.1)
    raise TimeoutError("the dead tuples never showed in pg_stat_user_tables")


@pytest.fixture(scope="session")
def pg_stack(request: pytest.FixtureRequest, server_root: Path, tls_files: TlsFiles) -> Iterator[PgStack]:
    root = server_root / "postgres"
    archive = root / "good" / "archive"  # inside the work dir, so it is handed to the postgres user with it
    archive.mkdir(parents=True)
    started: list[Server] = []
    stack = None
    try:
        good = start_postgres(root / "good", PgSpec(ssl=tls_files, settings={
            "max_connections": 200, "shared_preload_libraries": "pg_stat_statements", "archive_mode": "on",
            "archive_command": f"test ! -f {archive}/%f && cp %p {archive}/%f"}), name="good")
        started.append(good)
        good.execute(*_common([]))
        good.execute(*[f"CREATE EXTENSION {e}" for e in (*EXTENSIONS, "pg_stat_statements")], _PRISMA,
                     "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)"
                     " VALUES ('1', 'c1', now(), '20240101_init', 1), ('2', 'c2', now(), '20240201_traces', 1)",
                     "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)",
                     "INSERT INTO alembic_version VALUES ('4f1c2d3e5a6b')",
                     "CREATE TABLE events AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 5000) g",
                     "GRANT SELECT ON ALL TABLES IN SCHEMA public TO app", "ANALYZE", db="app")
        good.execute("SELECT pg_switch_wal()")
        bad = start_postgres(root / "bad", PgSpec(next_xid=300_000_000, settings={
            "max_connections": 8, "superuser_reserved_connections": 0, "autovacuum": "off",
            "autovacuum_freeze_max_age": 2_000_000_000, "timezone": "America/New_York"}), name="bad")
        started.append(bad)
        bad.execute(*_common([]))
        bad.execute(_PRISMA, "CREATE EXTENSION pg_stat_statements",  # installed, but not preloaded: collects nothing
                    "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, started_at) "
                    "VALUES ('1', 'c1', now(), '20240101_init', NULL, now() - interval '1 day'), "
                    "('2', 'c2', NULL, '20240301_add_index', 'ERROR: could not create unique index', now())",
                    "CREATE TABLE events AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 20000) g",
                    "DELETE FROM events WHERE id > 5000", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO app",
                    db="app")
        _wait_dead_tuples(bad)
        bouncer = start_pgbouncer(root / "bouncer", good.port, {
            "app_session": "dbname=app pool_mode=session", "app_tx": "dbname=app pool_mode=transaction"},
            {APP[0]: APP[1], ADMIN[0]: ADMIN[1]}, admin_users=[ADMIN[0]])
        started.append(bouncer)
        stack = PgStack(good, bad, bouncer, tls_files)
        stack.app_connections = stack.connect(good, 3)  # the application's long-lived pool
        stack.app_since = time.monotonic()
    except BaseException:
        for server in started:
            server.stop()
        raise
    yield stack
    for conn in stack.app_connections:
        conn.close()
    stop_all(request, started, "postgres")


@dataclass
class Moto:
    url: str
    region: str = "us-east-1"


@pytest.fixture(scope="session")
def moto(request: pytest.FixtureRequest, server_root: Path) -> Iterator[Moto]:
    """moto's server as a real process over HTTP, holding two RDS instances and their storage metrics."""
    import boto3

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    port = free_port()
    binary = str(Path(sys.executable).parent / "moto_server")
    server = Server("moto", [binary, "-H", "127.0.0.1", "-p", str(port)], server_root / "moto", port=port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        rds = boto3.client("rds", endpoint_url=url, region_name="us-east-1")
        cloudwatch = boto3.client("cloudwatch", endpoint_url=url, region_name="us-east-1")
        now = dt.datetime.now(dt.timezone.utc)
        for name, retention, free_gib in (("mydb", 7, 60), ("fulldb", 0, 10)):
            rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.medium",
                                   MasterUsername="root", MasterUserPassword="not-used-pw", AllocatedStorage=100,
                                   BackupRetentionPeriod=retention)
            for minutes, extra in ((30, 2), (5, 0)):  # the fullest point counts, not the latest
                cloudwatch.put_metric_data(Namespace="AWS/RDS", MetricData=[{
                    "MetricName": "FreeStorageSpace", "Unit": "Bytes", "Value": float((free_gib + extra) * 1024**3),
                    "Timestamp": now - dt.timedelta(minutes=minutes),
                    "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": name}]}])
    except BaseException:
        server.stop()
        raise
    yield Moto(url)
    stop_all(request, [server], "moto")
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
