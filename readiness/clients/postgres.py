"""PostgreSQL connections for the probes (psycopg 3): read-only, bounded statements, PgBouncer's admin console, the
direct (migration) DSN, and the AWS clients for an RDS instance.

Read-only whatever the checklist says: every statement (the audit's own and a checklist's) is checked by
``postgres_sql.check`` and runs in its own ``BEGIN READ ONLY`` transaction that is always rolled back, with
``SET LOCAL statement_timeout``.  Nothing a statement does (``set_config``, a write) outlives it, and nothing is left
on a pooled server connection for the application.  Where the server accepts startup options the session default is
read-only too.

Bounded: ``connect_timeout``, ``tcp_user_timeout`` and keepalives derive from the timeout given to ``connect``; a
statement the server does not finish in time is cancelled and, when even the cancel goes unanswered (a frozen server,
a black-holed network), its socket is shut down, so no call outlives its timeout by more than a small grace.
psycopg and boto3 are imported inside functions only.  The DSN's parsing, credentials and problems live in
postgres_dsn.py, what SQL may be sent in postgres_sql.py.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from readiness.clients.postgres_dsn import (  # secrets and config_problems: this client module's hooks
    config_problems,
    dsn_host_port,
    dsn_params,
    rds_region,
    secrets,
    split_dsn,
)
from readiness.clients.postgres_sql import Refused, check, tokens
from readiness.errors import TargetUnavailable

__all__ = ["PgHandle", "ServerRefused", "close", "config_problems", "connect", "dsn_host_port",
           "dsn_params", "explain", "secrets", "split_dsn"]

T = TypeVar("T")
_QUERIES = {("punct", "("), ("word", "select"), ("word", "with"), ("word", "values"), ("word", "table")}
# The server answered and refused the session for a reason of its own.
_REFUSALS = ("too many clients", "too many connections", "remaining connection slots are reserved",
             "the database system is starting up", "the database system is shutting down",
             "the database system is in recovery mode", "no more connections allowed")


_PARSE_ERRORS = ("uri query parameter", "invalid uri", "invalid connection option", "invalid integer value",
                 "invalid port", "unterminated quoted string", "missing \"=\"", "missing key/value separator",
                 "invalid percent-encoded token", "unexpected spaces found in", "invalid ipv6 host address",
                 "forbidden value %00", "end of string reached when looking for matching")


class ServerRefused(TargetUnavailable):
    """The server is up and refused the session (full, starting, shutting down)."""


def _local_addr(conn: Any) -> tuple[str, int] | None:
    """This side's address and port of the connection's TCP socket (None over a unix socket)."""
    import os
    import socket

    try:
        sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
    except Exception:
        return None
    try:
        name = sock.getsockname()
        return (str(name[0]), int(name[1])) if sock.family in (socket.AF_INET, socket.AF_INET6) else None
    except OSError:
        return None
    finally:
        sock.close()


def _shutdown(conn: Any) -> None:
    """Shut the connection's socket down under libpq's feet: a call blocked reading it returns at once."""
    import os
    import socket

    try:
        fd = conn.pgconn.socket
        sock = socket.socket(fileno=os.dup(fd))
    except Exception:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


def grace(limit: float) -> float:
    """How long past a statement's limit the watchdog waits before it cancels, and then before it shuts the socket."""
    return min(0.25, max(0.02, limit * 0.1))


class _Watchdog:
    """Cancels the statement running on ``conn`` when ``limit`` has passed, then shuts its socket if that is not
    enough; ``fired`` says why the statement ended."""

    def __init__(self, conn: Any, limit: float, on_fire: Callable[[], None]):
        self.conn, self.on_fire = conn, on_fire
        self.grace = grace(limit)
        self.fired = False
        self._done = threading.Event()
        self._timer = threading.Timer(limit + self.grace, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        if self._done.is_set():
            return
        self.fired = True
        self.on_fire()
        try:
            self.conn.cancel_safe(timeout=self.grace)
        except Exception:
            pass
        if not self._done.wait(self.grace):
            _shutdown(self.conn)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._timer.cancel()


def _connect_kwargs(timeout: float) -> dict[str, Any]:
    """libpq's own timeouts, from the audit's: connect (libpq's minimum is 2 s), unacknowledged data, dead peers."""
    return {"connect_timeout": max(2, math.ceil(timeout)), "tcp_user_timeout": max(100, int(timeout * 1000)),
            "keepalives": 1, "keepalives_idle": max(1, math.ceil(timeout)), "keepalives_interval": 1,
            "keepalives_count": 2}


class PgHandle:
    """One target: one read-only session, plus the admin console / direct DSN / AWS clients when a probe needs them."""

    def __init__(self, config: Mapping[str, Any], timeout: float):
        self.config, self.timeout = config, timeout
        self.conn: Any = None
        self.options_applied = False  # the server took default_transaction_read_only=on as a startup option
        self.identity: dict[str, Any] = {}
        self.dialled: tuple[str, int | None] = ("", None)
        self.local_addr: tuple[str, int] | None = None
        self.where = "postgres"
        self.app_params: dict[str, str] = {}
        self.dsn_params: dict[str, str] = {}  # libpq parameters of the DSN, password removed
        self.commands = 0  # statements sent, for the benchmark
        self.rows = 0  # rows fetched, for the benchmark and the growth tests
        self.broken: str | None = None  # why the session can no longer be used (the first timeout)
        self._lock = threading.Lock()  # the AWS clients
        self._turn = threading.Condition()  # one statement at a time on the session; waiters wake when it breaks
        self._busy = False
        self._admin: Any = None
        self._admin_lock = threading.Lock()
        self._aws: dict[str, Any] = {}

    # -- the application session --------------------------------------------------------------------------------

    def _statement(self, sql: str, run: Callable[[Any], T], timeout: float | None = None) -> T:
        """``run(conn)`` for one checked statement, in its own read-only transaction, rolled back, bounded."""
        import psycopg

        check(sql)
        limit = timeout or self.timeout
        # wait past the running statement's own watchdog, so a broken session is reported as such, not as busy
        deadline = time.monotonic() + limit + 3 * grace(limit)
        with self._turn:
            while self._busy and not self.broken:
                if not self._turn.wait(deadline - time.monotonic()) and time.monotonic() >= deadline:
                    raise TargetUnavailable(f"{self.where} is busy: another statement held the session for over "
                                            f"{limit:g}s")
            if self.broken:
                raise TargetUnavailable(self.broken)
            self._busy = True
        try:
            self.commands += 1

            def fire() -> None:
                self.broken = (f"{self.where} did not answer a statement within {limit:g}s (a frozen server or a "
                               "black-holed network): the statement was cancelled and the session closed")
                with self._turn:
                    self._turn.notify_all()

            watchdog = _Watchdog(self.conn, limit, fire)
            try:
                with watchdog, self.conn.transaction(force_rollback=True):
                    self.conn.execute(f"SET LOCAL statement_timeout = {max(1, int(limit * 1000))}")
                    return run(self.conn)
            except psycopg.Error as exc:
                if watchdog.fired:
                    raise TargetUnavailable(self.broken or "timed out") from None
                if self.conn.closed or self.conn.broken:
                    self.broken = f"{self.where} dropped the session: {' '.join(str(exc).split())}"
                    raise TargetUnavailable(self.broken) from None
                raise
        finally:
            with self._turn:
                self._busy = False
                self._turn.notify_all()

    def query(self, sql: str, params: Sequence[Any] | None = None, *, binary: bool = False,
              timeout: float | None = None) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement.  ``binary=True`` forces the extended protocol: one statement only."""
        def run(conn: Any) -> list[tuple[Any, ...]]:
            cur = conn.execute(sql, params, binary=binary)
            rows = cur.fetchall() if cur.description else []
            self.rows += len(rows)
            return rows

        return self._statement(sql, run, timeout)

    def first_rows(self, sql: str, limit: int = 2, *, timeout: float | None = None) -> list[tuple[Any, ...]]:
        """At most ``limit`` rows of one checked read: a query (SELECT, WITH, VALUES, TABLE) runs as a subquery under
        LIMIT, so a checklist's statement cannot make the audit fetch millions of rows."""
        toks = tokens(sql)
        if toks and toks[0] in _QUERIES:
            check(sql)
            body = re.sub(r"[\s;]+$", "", sql)
            sql = f"SELECT * FROM (\n{body}\n) AS readiness_query LIMIT {int(limit)}"
        return self.query(sql, binary=True, timeout=timeout)[:limit]

    def columns(self, sql: str, params: Sequence[Any] | None = None, *,
                timeout: float | None = None) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        def run(conn: Any) -> list[dict[str, Any]]:
            rows = conn.cursor(row_factory=dict_row).execute(sql, params).fetchall()
            self.rows += len(rows)
            return rows

        return self._statement(sql, run, timeout)

    @property
    def handshake_differs(self) -> bool:
        """The backend pid of the protocol handshake is not pg_backend_pid(): a pooler answered the handshake (a
        plain TCP forwarder passes the server's own through)."""
        ident = self.identity
        return bool(ident) and ident["client_pid"] != ident["backend_pid"]

    # -- the other doors --------------------------------------------------------------------------------------------

    def admin(self, sql: str) -> list[dict[str, Any]]:
        """A SHOW command on PgBouncer's admin console (``pgbouncer_admin_dsn``), simple query protocol."""
        if not re.fullmatch(r"\s*SHOW\s+[A-Za-z_]+\s*;?\s*", sql, re.I):
            raise Refused("only SHOW commands are sent to the PgBouncer admin console")
        dsn = self.config.get("pgbouncer_admin_dsn")
        if not dsn:
            raise TargetUnavailable("no pgbouncer_admin_dsn in the postgres target")
        import psycopg
        from psycopg.rows import dict_row

        if not self._admin_lock.acquire(timeout=self.timeout):
            raise TargetUnavailable("the PgBouncer admin console is busy")
        try:
            if self._admin is None:
                try:
                    self._admin = psycopg.connect(split_dsn(dsn)[0], autocommit=True,
                                                  **_connect_kwargs(self.timeout))
                except Exception as exc:
                    raise explain(exc, "the PgBouncer admin console") from None
            self.commands += 1
            watchdog = _Watchdog(self._admin, self.timeout, lambda: None)
            try:
                with watchdog:
                    return self._admin.cursor(row_factory=dict_row).execute(sql).fetchall()
            except psycopg.Error:
                if watchdog.fired:
                    raise TargetUnavailable(f"the PgBouncer admin console did not answer {sql.strip()} within "
                                            f"{self.timeout:g}s") from None
                raise
        finally:
            self._admin_lock.release()

    def direct_identity(self) -> dict[str, Any]:
        """Open the ``direct_dsn`` (migrations' DIRECT_URL) read-only, say whether a pooler answered it, close it."""
        dsn = self.config.get("direct_dsn")
        if not dsn:
            raise TargetUnavailable("no direct_dsn in the postgres target")
        other = PgHandle({"dsn": dsn}, self.timeout)
        _open(other, "the direct DSN")
        try:
            return {**other.identity, "pooled": other.handshake_differs, "dialled_port": other.dialled[1]}
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


def connect(config: Mapping[str, Any], timeout: float) -> PgHandle:
    handle = PgHandle(config, timeout)
    _open(handle, "postgres")
    return handle


def close(handle: PgHandle) -> None:
    handle.close()


_IDENTITY = """SELECT current_setting('transaction_read_only'), pg_backend_pid(), inet_server_port(),
       current_setting('server_version'), current_user, current_database(),
       (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), current_setting('default_transaction_read_only'),
       current_setting('is_superuser'), pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'),
       pg_has_role(current_user, 'pg_read_all_settings', 'USAGE'), pg_has_role(current_user, 'pg_monitor', 'USAGE')"""


def _open(handle: PgHandle, what: str) -> None:
    import psycopg

    dsn, handle.app_params = split_dsn(str(handle.config["dsn"]))
    handle.dialled = dsn_host_port(dsn)
    handle.dsn_params = dsn_params(dsn)
    handle.where = where = f"{what} at {handle.dialled[0] or 'the default socket'}" + (
        f":{handle.dialled[1]}" if handle.dialled[1] else "")
    ms = max(1, int(handle.timeout * 1000))
    options = (f"-c default_transaction_read_only=on -c statement_timeout={ms} "
               f"-c idle_in_transaction_session_timeout={max(1000, 2 * ms)}")
    kwargs = {"autocommit": True, "application_name": "readiness", **_connect_kwargs(handle.timeout)}
    try:
        try:
            handle.conn = psycopg.connect(dsn, options=options, **kwargs)
        except psycopg.OperationalError as exc:
            if "unsupported startup parameter" not in str(exc):
                raise
            handle.conn = psycopg.connect(dsn, **kwargs)  # a pooler that refuses startup options (PgBouncer)
        handle.conn.read_only = True  # every conn.transaction() begins READ ONLY
        handle.local_addr = _local_addr(handle.conn)
        row = handle.query(_IDENTITY)[0]
    except Exception as exc:
        handle.close()
        raise explain(exc, where) from None
    if row[0] != "on":
        handle.close()
        raise TargetUnavailable(f"{where}: the audit's transaction is not read-only (transaction_read_only is "
                                f"{row[0]}); refusing to go on")
    handle.options_applied = row[7] == "on"
    handle.identity = {"read_only": row[0], "backend_pid": row[1], "server_port": row[2], "server_version": row[3],
                       "user": row[4], "database": row[5], "server_ssl": row[6], "superuser": row[8] == "on",
                       "read_all_stats": bool(row[9]), "read_all_settings": bool(row[10]), "monitor": bool(row[11]),
                       "client_pid": handle.conn.info.backend_pid, "ssl_in_use": bool(handle.conn.pgconn.ssl_in_use)}


def explain(exc: BaseException, where: str) -> TargetUnavailable:
    """A connection failure as one sentence that says what to do."""
    if isinstance(exc, TargetUnavailable):
        return exc
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = re.sub(r"^connection failed: ", "", text)
    low = text.lower()
    if any(m in low for m in _PARSE_ERRORS):  # libpq quotes the pieces it could not parse: never repeat them
        return TargetUnavailable(f"the DSN of {where.split(' at ')[0]} cannot be parsed by libpq: percent-encode "
                                 "'/', '#', '?', '@', ':' and spaces in the user name and password (%2F, %23, %3F, "
                                 "%40, %3A, %20), or use key=value pairs with a quoted password")
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
