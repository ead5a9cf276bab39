"""PostgreSQL connections for the probes (psycopg 3): read-only sessions, statement timeouts, pooler detection,
PgBouncer's admin console, the direct (migration) DSN, and the AWS clients for an RDS instance.

Read-only: the session starts with ``default_transaction_read_only=on`` and ``statement_timeout`` as startup
options.  Poolers that refuse or ignore startup options (PgBouncer) get a read-only transaction per query instead
(``BEGIN READ ONLY`` + ``SET LOCAL statement_timeout``): nothing the audit sets outlives its own transaction, so a
pooled server connection handed to the application afterwards is unchanged.  psycopg and boto3 are imported inside
functions only.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from readiness.context import TargetUnavailable

# Query parameters of application DSNs (Prisma, SQLAlchemy) that libpq does not know: kept aside, not sent.
APP_PARAMS = ("pgbouncer", "connection_limit", "pool_timeout", "schema", "sslaccept", "sslidentity", "socket_timeout",
              "statement_cache_size")
# The server answered and refused the session for a reason of its own.
_REFUSALS = ("too many clients", "too many connections", "remaining connection slots are reserved",
             "the database system is starting up", "the database system is shutting down",
             "the database system is in recovery mode", "no more connections allowed")


class ServerRefused(TargetUnavailable):
    """The server is up and refused the session (full, starting, shutting down)."""


def split_dsn(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN libpq understands, and the application-only parameters it carried (e.g. Prisma's pgbouncer=true)."""
    dsn = dsn.strip()
    if "://" not in dsn:
        return dsn, {}
    parts = urlsplit(dsn)
    scheme = parts.scheme.split("+", 1)[0]  # postgresql+psycopg:// (SQLAlchemy) -> postgresql://
    if scheme == "postgres":
        scheme = "postgresql"
    query = parse_qsl(parts.query, keep_blank_values=True)
    app = {k: v for k, v in query if k in APP_PARAMS}
    kept = urlencode([(k, v) for k, v in query if k not in APP_PARAMS])
    return urlunsplit((scheme, parts.netloc, parts.path, kept, parts.fragment)), app


def dsn_params(dsn: str) -> dict[str, str]:
    """The libpq parameters of a DSN, password removed."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(split_dsn(dsn)[0])
    except Exception:
        return {}
    params.pop("password", None)
    return {k: str(v) for k, v in params.items()}


def dsn_host_port(dsn: str) -> tuple[str, int | None]:
    params = dsn_params(dsn)
    host = str(params.get("host") or params.get("hostaddr") or "").split(",")[0]
    port = str(params.get("port") or "").split(",")[0]
    return host, int(port) if port.isdigit() else None


class PgHandle:
    """One target: one read-only session, plus the admin console / direct DSN / AWS clients when a probe needs them."""

    def __init__(self, config: dict[str, Any], timeout: float):
        self.config, self.timeout = config, timeout
        self.timeout_ms = max(100, int(timeout * 1000))
        self.conn: Any = None
        self.per_transaction = False  # True when startup options could not make the session read-only
        self.identity: dict[str, Any] = {}
        self.dialled: tuple[str, int | None] = ("", None)
        self.app_params: dict[str, str] = {}
        self.dsn_params: dict[str, str] = {}  # libpq parameters of the DSN, password removed
        self.commands = 0  # statements sent, for the benchmark
        self._lock = threading.Lock()
        self._admin: Any = None
        self._aws: dict[str, Any] = {}

    # -- the application session --------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | None = None, *, binary: bool = False) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement.  ``binary=True`` forces the extended protocol: one statement only."""
        with self._lock:
            self.commands += 1
            if not self.per_transaction:
                cur = self.conn.execute(sql, params, binary=binary)
                return cur.fetchall() if cur.description else []
            with self.conn.transaction():
                self.conn.execute(f"SET LOCAL statement_timeout = {self.timeout_ms}")
                cur = self.conn.execute(sql, params, binary=binary)
                return cur.fetchall() if cur.description else []

    def columns(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            self.commands += 1
            from psycopg.rows import dict_row

            if not self.per_transaction:
                return self.conn.cursor(row_factory=dict_row).execute(sql, params).fetchall()
            with self.conn.transaction():
                self.conn.execute(f"SET LOCAL statement_timeout = {self.timeout_ms}")
                return self.conn.cursor(row_factory=dict_row).execute(sql, params).fetchall()

    @property
    def pooled(self) -> bool | None:
        """Whether a pooler sits between us and PostgreSQL, as the session shows it."""
        ident = self.identity
        if not ident:
            return None
        port = self.dialled[1]
        return bool(ident["client_pid"] != ident["backend_pid"]
                    or (port is not None and ident["server_port"] is not None and ident["server_port"] != port))

    # -- the other doors --------------------------------------------------------------------------------------------

    def admin(self, sql: str) -> list[dict[str, Any]]:
        """A SHOW command on PgBouncer's admin console (``pgbouncer_admin_dsn``), simple query protocol."""
        dsn = self.config.get("pgbouncer_admin_dsn")
        if not dsn:
            raise TargetUnavailable("no pgbouncer_admin_dsn in the postgres target")
        import psycopg
        from psycopg.rows import dict_row

        with self._lock:
            if self._admin is None:
                try:
                    self._admin = psycopg.connect(split_dsn(dsn)[0], autocommit=True,
                                                  connect_timeout=max(2, math.ceil(self.timeout)))
                except Exception as exc:
                    raise explain(exc, "the PgBouncer admin console") from None
            self.commands += 1
            return self._admin.cursor(row_factory=dict_row).execute(sql).fetchall()

    def direct_identity(self) -> dict[str, Any]:
        """Open the ``direct_dsn`` (migrations' DIRECT_URL) read-only, say whether it is pooled, close it."""
        dsn = self.config.get("direct_dsn")
        if not dsn:
            raise TargetUnavailable("no direct_dsn in the postgres target")
        other = PgHandle({"dsn": dsn}, self.timeout)
        _open(other, "the direct DSN")
        try:
            return {**other.identity, "pooled": other.pooled, "dialled_port": other.dialled[1]}
        finally:
            other.close()

    def aws(self, service: str) -> Any:
        """A boto3 client for ``service`` (rds, cloudwatch) in the instance's region; standard credential chain."""
        with self._lock:
            if service not in self._aws:
                import boto3
                from botocore.config import Config

                region = self.config.get("region") or rds_region(self.dialled[0])
                self._aws[service] = boto3.session.Session().client(
                    service, region_name=region, endpoint_url=self.config.get("endpoint_url"),
                    config=Config(connect_timeout=self.timeout, read_timeout=self.timeout,
                                  retries={"max_attempts": 1}))
            self.commands += 1
            return self._aws[service]

    def close(self) -> None:
        for conn in (self.conn, self._admin):
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    pass


def rds_region(host: str) -> str | None:
    m = re.search(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com$", host or "")
    return m.group(1) if m else None


def connect(config: dict[str, Any], timeout: float) -> PgHandle:
    handle = PgHandle(config, timeout)
    _open(handle, "postgres")
    return handle


def close(handle: PgHandle) -> None:
    handle.close()


_IDENTITY = """SELECT current_setting('transaction_read_only'), pg_backend_pid(), inet_server_port(),
       current_setting('server_version'), current_user, current_database(),
       (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())"""


def _open(handle: PgHandle, what: str) -> None:
    import psycopg

    dsn, handle.app_params = split_dsn(str(handle.config["dsn"]))
    handle.dialled = dsn_host_port(dsn)
    handle.dsn_params = dsn_params(dsn)
    where = f"{what} at {handle.dialled[0] or 'the default socket'}" + (
        f":{handle.dialled[1]}" if handle.dialled[1] else "")
    connect_timeout = max(2, math.ceil(handle.timeout))
    options = f"-c default_transaction_read_only=on -c statement_timeout={handle.timeout_ms}"
    try:
        try:
            handle.conn = psycopg.connect(dsn, autocommit=True, options=options, connect_timeout=connect_timeout,
                                          application_name="readiness")
        except psycopg.OperationalError as exc:
            if "unsupported startup parameter" not in str(exc):
                raise
            # a pooler that refuses startup options
            handle.conn = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout,
                                          application_name="readiness")
            handle.per_transaction = True
        row = handle.conn.execute(_IDENTITY).fetchone()
        if row[0] != "on":  # the options were ignored (a pooler): make every query its own read-only transaction
            handle.per_transaction = True
        if handle.per_transaction:
            handle.conn.autocommit = False
            handle.conn.read_only = True
        handle.commands += 1
    except Exception as exc:
        handle.close()
        raise explain(exc, where) from None
    handle.identity = {"read_only": row[0], "backend_pid": row[1], "server_port": row[2], "server_version": row[3],
                       "user": row[4], "database": row[5], "server_ssl": row[6],
                       "client_pid": handle.conn.info.backend_pid, "ssl_in_use": bool(handle.conn.pgconn.ssl_in_use)}


def explain(exc: BaseException, where: str) -> TargetUnavailable:
    """A connection failure as one sentence that says what to do."""
    if isinstance(exc, TargetUnavailable):
        return exc
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = re.sub(r"^connection failed: ", "", text)
    low = text.lower()
    if any(r in low for r in _REFUSALS):
        return ServerRefused(f"{where} refuses new sessions: {text}")
    if "password authentication failed" in low or "no password supplied" in low or "authentication failed" in low:
        return TargetUnavailable(f"{where} refused the credentials: {text} (check the user and password in the DSN)")
    if "ssl" in low or "certificate" in low:
        return TargetUnavailable(f"TLS to {where} failed: {text} (check sslmode / sslrootcert against the server's "
                                 "ssl setting)")
    if "timeout" in low or "timed out" in low:
        return TargetUnavailable(f"{where} did not answer in time ({text})")
    return TargetUnavailable(f"cannot open a session on {where}: {text}")
