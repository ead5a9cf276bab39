"""Start real PostgreSQL (from initdb) and PgBouncer processes for the demo and the tests.

Both refuse to run as root: as root they run as the ``postgres`` user (runuser), in work dirs handed to that user."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from readiness.demo.backend import Backend
from readiness.demo.process import Server, free_port
from readiness.demo.tls import TlsFiles

BINDIR = Path(os.environ.get("READINESS_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
SUPERUSER_PASSWORD = "demo-superuser-pw"


@dataclass
class PgSpec:
    """How to configure one PostgreSQL; ``settings`` go to postgresql.conf, ``setup`` runs as superuser after start."""

    settings: Mapping[str, Any] = field(default_factory=dict)
    ssl: TlsFiles | None = None
    next_xid: int | None = None  # pg_resetwal -x: an old cluster, close to wraparound
    setup: Sequence[str] = ()  # SQL run (autocommit) in database "postgres" as the superuser


def _run_as() -> str | None:
    return "postgres" if os.geteuid() == 0 else None


def _own(path: Path) -> None:
    """Hand a directory to the postgres user (when we are root)."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for root, dirs, files in os.walk(path):
            os.chown(root, pw.pw_uid, pw.pw_gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), pw.pw_uid, pw.pw_gid, follow_symlinks=False)


def _runas(argv: list[str], cwd: Path) -> None:
    import subprocess

    user = _run_as()
    full = ["runuser", "-u", user, "--", *argv] if user else argv
    done = subprocess.run(full, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip() or done.stdout}")


class PostgresServer(Server):
    stop_signal = signal.SIGINT

    def dsn(self, user: str = "postgres", password: str | None = SUPERUSER_PASSWORD, db: str = "postgres",
            **params: str) -> str:
        auth = f"{user}:{password}@" if password is not None else f"{user}@"
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://{auth}127.0.0.1:{self.port}/{db}" + (f"?{query}" if query else "")

    def execute(self, *statements: str, db: str = "postgres") -> list[Any]:
        """Run SQL as the superuser (set-up only: the audit itself never writes)."""
        import psycopg

        out = []
        with psycopg.connect(self.dsn(db=db), autocommit=True, connect_timeout=5) as conn:
            for sql in statements:
                cur = conn.execute(sql)
                out.append(cur.fetchall() if cur.description else None)
        return out


def start_postgres(workdir: Path, spec: PgSpec | None = None, name: str = "postgres",
                   port: int | None = None) -> PostgresServer:
    """initdb into ``<workdir>/data``, write its config, start it on a free 127.0.0.1 port and run ``spec.setup``."""
    spec = spec or PgSpec()
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    data, sock = workdir / "data", workdir / "sock"
    sock.mkdir(exist_ok=True)
    pwfile = workdir / "superuser.pw"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    _own(workdir)
    _runas([str(BINDIR / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile), "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"], workdir)
    if spec.next_xid:
        _reset_xid(data, spec.next_xid, workdir)
    settings: dict[str, Any] = {"listen_addresses": "127.0.0.1", "port": port, "unix_socket_directories": str(sock),
                                "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                                "logging_collector": "off", "timezone": "UTC", **spec.settings}
    if spec.ssl:
        copies = {}
        for label, src in (("server.crt", spec.ssl.cert), ("server.key", spec.ssl.key), ("ca.crt", spec.ssl.ca)):
            dest = data / label
            shutil.copy(src, dest)
            copies[label] = dest
        _own(data)
        os.chmod(copies["server.key"], 0o600)
        settings.update(ssl="on", ssl_cert_file=str(copies["server.crt"]), ssl_key_file=str(copies["server.key"]),
                        ssl_ca_file=str(copies["ca.crt"]))
    with open(data / "postgresql.conf", "a") as conf:
        conf.write("\n# readiness demo\n")
        for key, value in settings.items():
            conf.write(f"{key} = {_conf_value(value)}\n")
    server = PostgresServer(name, [str(BINDIR / "postgres"), "-D", str(data)], workdir, port=port, user=_run_as())
    server.start()
    try:
        _wait_ready(server)
        if spec.setup:
            server.execute(*spec.setup)
    except BaseException:
        server.stop()
        raise
    return server


def _conf_value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _reset_xid(data: Path, xid: int, workdir: Path) -> None:
    """Move the cluster's next transaction id forward (as if it had run ``xid`` transactions without freezing)."""
    _runas([str(BINDIR / "pg_resetwal"), "-x", str(xid), "-D", str(data)], workdir)
    # pg_resetwal leaves the commit log page for the new xid to us: a zeroed segment (32 pages of 32768 xids).
    segment = data / "pg_xact" / f"{xid // (32768 * 32):04X}"
    segment.write_bytes(b"\0" * 8192 * 32)
    _own(data / "pg_xact")


def _wait_ready(server: PostgresServer, timeout: float = 30.0) -> None:
    import psycopg

    end = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(server.dsn(), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > end or (server.proc and server.proc.poll() is not None):
                raise
            time.sleep(0.05)


def start_pgbouncer(workdir: Path, pg_port: int, databases: Mapping[str, str], users: Mapping[str, str],
                    admin_users: Sequence[str] = (), name: str = "pgbouncer", port: int | None = None,
                    settings: Mapping[str, Any] | None = None) -> Server:
    """PgBouncer on a free port in front of PostgreSQL on ``pg_port``.

    ``databases`` maps a client-side name to its connection string tail, e.g. {"app_tx": "dbname=app
    pool_mode=transaction"}; ``users`` are name -> password (plain, so PgBouncer can answer SCRAM both ways)."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    userlist = workdir / "userlist.txt"
    userlist.write_text("".join(f'"{u}" "{p}"\n' for u, p in users.items()))
    ini = workdir / f"{name}.ini"
    lines = ["[databases]"]
    lines += [f"{db} = host=127.0.0.1 port={pg_port} {tail}" for db, tail in databases.items()]
    conf: dict[str, Any] = {"listen_addr": "127.0.0.1", "listen_port": port, "unix_socket_dir": "",
                            "auth_type": "scram-sha-256", "auth_file": str(userlist), "pool_mode": "session",
                            "admin_users": ",".join(admin_users), "max_client_conn": 200, "default_pool_size": 10,
                            "ignore_startup_parameters": "extra_float_digits", **(settings or {})}
    lines += ["", "[pgbouncer]"] + [f"{k} = {v}" for k, v in conf.items()]
    ini.write_text("\n".join(lines) + "\n")
    os.chmod(userlist, 0o600)
    _own(workdir)
    return Server(name, [_pgbouncer(), str(ini)], workdir, port=port, user=_run_as()).start()


def _pgbouncer() -> str:
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not found:
        raise FileNotFoundError("pgbouncer is not installed (apt-get install pgbouncer)")
    return found


def demo_backend(workdir: Path) -> Backend:
    """PostgreSQL as a first deployment runs it: the product's database migrated, autovacuum and UTC, PgBouncer in
    front (right); the superuser with a placeholder password, no TLS, no WAL archiving, no slow-query visibility, and
    the pooler in transaction mode without Prisma's pgbouncer=true (wrong)."""
    password = "changeme"  # a placeholder password, as first deployments have
    server = start_postgres(workdir, PgSpec(setup=["CREATE DATABASE langfuse"]), name="postgres")
    try:
        server.execute("CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, "
                       "finished_at timestamptz, migration_name varchar(255) NOT NULL, logs text, "
                       "rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(), "
                       "applied_steps_count integer NOT NULL DEFAULT 0)",
                       "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, "
                       "applied_steps_count) SELECT g::text, md5(g::text), now(), format('2024%s_migration', g), 1 "
                       "FROM generate_series(1, 12) g", db="langfuse")
        server.execute(f"ALTER ROLE postgres PASSWORD '{password}'")  # last: the set-up above logs in with the other
        assert server.port is not None  # started on a port of its own
        bouncer = start_pgbouncer(workdir / "pgbouncer", server.port,
                                  {"langfuse": "dbname=langfuse pool_mode=transaction"},
                                  {"postgres": password}, admin_users=["postgres"])
    except BaseException:
        server.stop()
        raise
    auth = "postgres:${DEMO_POSTGRES_PASSWORD}@127.0.0.1"
    target = {"dsn": f"postgresql://{auth}:{bouncer.port}/langfuse",  # what DATABASE_URL points at: the pooler
              "pgbouncer_admin_dsn": f"postgresql://{auth}:{bouncer.port}/pgbouncer",
              "direct_dsn": f"postgresql://{auth}:{server.port}/langfuse"}  # DIRECT_URL, for migrations
    return Backend("postgres", target, [bouncer, server], {"DEMO_POSTGRES_PASSWORD": password})
