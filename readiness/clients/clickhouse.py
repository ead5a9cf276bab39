"""ClickHouse over the native protocol (clickhouse-driver): one connection per node, every query read-only and bounded.

The targets file gives ``url`` (one node) or ``urls`` (one per node): ``clickhouse://user:password@host:9000/db``,
``clickhouses://`` for TLS (port 9440 by default).  Every query carries ``max_execution_time`` and ``readonly=1``;
the session is checked to really be read-only before any probe uses it.

Probe modules describe their SQL as ``Statement`` constants (so a test can run every statement against a current
ClickHouse engine) and say which system tables and columns each needs; a node that lacks them answers
``Unsupported`` ("not available on ClickHouse 18.16: <what to check instead>") instead of a server error.
clickhouse-driver is imported only when a connection opens, never when a probe module is imported.  Statements,
errors and the read-only guard live in clickhouse_sql.py, the URLs and credentials in clickhouse_url.py; this module,
the one probes and plugins import, re-exports their names.
"""

from __future__ import annotations

import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from readiness.clients.clickhouse_sql import (  # statements and errors: the names probes and plugins use
    STATEMENTS,
    ClickHouseError,
    Ident,
    Statement,
    Unsupported,
    literal,
    refusal,
    statement,
)
from readiness.clients.clickhouse_url import (  # secrets and config_problems: this client module's hooks
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    Endpoint,
    config_problems,
    endpoints,
    parse_url,
    secrets,
)

__all__ = ["AUTH_REFUSED", "KEEPER_EXCEPTION", "READONLY", "STATEMENTS", "ClickHouse", "ClickHouseError", "Endpoint",
           "Ident", "Node", "Statement", "Unsupported", "close", "config_problems", "connect", "endpoints", "literal",
           "parse_url", "refusal", "secrets", "statement"]

T = TypeVar("T")
# Server error codes that mean "these credentials may not log in": unknown user, wrong or required password,
# address not allowed, authentication failed.
AUTH_REFUSED = (192, 193, 194, 195, 516)
READONLY = 164  # "Cannot ... in readonly mode"
KEEPER_EXCEPTION = 999  # the server's Keeper/ZooKeeper session failed


IDENTITY = statement("identity", "SELECT version() AS version, hostName() AS host, uptime() AS uptime, "
                                 "toUInt8(value) AS readonly FROM system.settings WHERE name = 'readonly'")
SYSTEM_COLUMNS = statement("system-columns", "SELECT table, name FROM system.columns WHERE database = 'system'")


# --- nodes ------------------------------------------------------------------------------------------------------

def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:4])


def _why(exc: BaseException) -> str:
    """One line saying what went wrong, without the server's stack trace."""
    code = getattr(exc, "code", None)
    text = str(getattr(exc, "message", "") or exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith(("Code:", "Stack"))]
    first = lines[0] if lines else type(exc).__name__
    first = re.sub(r"^DB::Exception: ", "", first)
    first = re.sub(r"\.? ?Stack trace:.*$", "", first)
    if isinstance(exc, (socket.timeout, TimeoutError)) or type(exc).__name__ == "SocketTimeoutError":
        return f"no answer ({first})" if first and first != type(exc).__name__ else "no answer (timed out)"
    return f"code {code}: {first}" if code else first


def _speaks_http(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` answers an HTTP request (ClickHouse's HTTP interface, 8123, dialled as native)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"GET /ping HTTP/1.0\r\nHost: " + host.encode("ascii", "replace") + b"\r\n\r\n")
            return sock.recv(16).startswith(b"HTTP/1.")
    except (OSError, UnicodeError):
        return False


class _Demote(logging.Filter):
    """clickhouse-driver warns with a full traceback on every failed connect ("Failed to connect"); the audit
    reports that failure itself, so the driver's records go out as DEBUG: seen with --debug, never on stderr by
    Python's last-resort handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_DRIVER_LOGGERS = ("clickhouse_driver", "clickhouse_driver.connection", "clickhouse_driver.log",
                   "clickhouse_driver.compression", "clickhouse_driver.settings.writer",
                   "clickhouse_driver.columns.service", "clickhouse_driver.streams.native")
_DEMOTE = _Demote()


def _quiet_driver_logs() -> None:
    for name in _DRIVER_LOGGERS:  # a filter applies only to records of its own logger, not of its children
        logger = logging.getLogger(name)
        if _DEMOTE not in logger.filters:
            logger.addFilter(_DEMOTE)


def _lost(exc: BaseException) -> bool:
    """Whether the node stopped answering (timeout, connection lost) rather than refusing one query."""
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(isinstance(exc, (OSError, EOFError)) or names & {"SocketTimeoutError", "NetworkError"})


class Node:
    """One server: its own connection (used by one thread at a time), what it is, and what its system tables hold.

    A node that stopped answering (a timeout, a lost connection) is not asked again in this run: every later query
    on it fails at once with the first cause, so a frozen server costs one timeout, not one per query."""

    _broken: str | None = None
    _timeout: float = 10.0

    def __init__(self, endpoint: Endpoint, timeout: float, config: Mapping[str, Any]):
        from clickhouse_driver import Client  # type: ignore[import-untyped]  # heavy: only when a connection opens

        self.endpoint = endpoint
        self.name = endpoint.name
        self.queries = 0
        self.rows = 0  # rows fetched, for the benchmark and the growth tests
        self.version = ""
        self.host = ""
        self.uptime = 0
        self._lock = threading.Lock()
        self._columns_lock = threading.Lock()
        self._columns: dict[str, set[str]] | None = None
        # max_execution_time first: with readonly=1 already applied, a server may refuse to change it.
        settings = {"max_execution_time": max(1, math.ceil(timeout)), "readonly": 1}
        kwargs: dict[str, Any] = {}
        if endpoint.secure:
            kwargs.update(secure=True, verify=bool(config.get("verify", True)))
            if config.get("ca_file"):
                kwargs["ca_certs"] = config["ca_file"]
        self._timeout, self._tls = timeout, kwargs
        _quiet_driver_logs()
        self._client = Client(host=endpoint.host, port=endpoint.port, user=endpoint.user,
                              password=endpoint.password, database=endpoint.database, connect_timeout=timeout,
                              send_receive_timeout=timeout, sync_request_timeout=timeout, settings=settings,
                              client_name="readiness", **kwargs)

    def open(self) -> Node:
        try:
            row = self.query(IDENTITY)[0]
        except ClickHouseError as exc:
            # A user whose profile is already readonly=1 may not change settings on newer releases (18.16 ignores
            # the attempt): it is read-only anyway, so retry without them; the socket timeout still bounds queries.
            if exc.code != READONLY or not self._client.settings:
                raise self._login_failure(exc) from exc.__cause__
            self._client.settings = {}
            row = self.query(IDENTITY)[0]
        self.version, self.host, self.uptime = str(row["version"]), str(row["host"]), int(row["uptime"])
        if int(row["readonly"]) < 1:
            self.close()
            raise ClickHouseError(f"{self.name}: the session is not read-only (readonly = {row['readonly']}); "
                                  "the audit only runs read-only")
        return self

    def _login_failure(self, exc: ClickHouseError) -> ClickHouseError:
        """The login's failure in words a user can act on: the HTTP port dialled as native, a database the user may
        not open (18.16 just closes the connection)."""
        cause = exc.__cause__
        ep = self.endpoint
        if isinstance(cause, EOFError) or "Unexpected EOF" in str(exc):
            if ep.database != "system" and self._logs_in_to("system"):
                return ClickHouseError(
                    f"{self.name}: user {ep.user} may not open database {ep.database} (the server closed the "
                    f"connection): add it to the user's <allow_databases> in users.xml, or GRANT SHOW DATABASES, "
                    f"SELECT ON {ep.database}.* TO {ep.user}; or name a database the user may open in the URL",
                    exc.code)
        if (isinstance(cause, (EOFError, socket.timeout, TimeoutError)) or "no answer" in str(exc)
                or type(cause).__name__ in ("SocketTimeoutError", "UnexpectedPacketFromServerError")):
            # Within the margin the runner leaves above the client timeout, so a frozen node stays one timeout.
            if _speaks_http(ep.host, ep.port, min(0.5, self._timeout / 10)):
                return ClickHouseError(
                    f"{self.name}: this looks like ClickHouse's HTTP port (it answers HTTP); the audit speaks the "
                    f"native protocol: use the native port, {DEFAULT_TLS_PORT if ep.secure else DEFAULT_PORT} by "
                    "default (<tcp_port> in the server config)", exc.code)
        return exc

    def _logs_in_to(self, database: str) -> bool:
        from clickhouse_driver import Client

        ep = self.endpoint
        other = Client(host=ep.host, port=ep.port, user=ep.user, password=ep.password, database=database,
                       connect_timeout=self._timeout, send_receive_timeout=self._timeout,
                       settings={"readonly": 1}, client_name="readiness", **self._tls)
        try:
            other.execute("SELECT 1")
            return True
        except Exception:
            return False
        finally:
            other.disconnect()

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return _version(self.version)

    @property
    def release(self) -> str:
        return ".".join(str(x) for x in self.version_tuple[:2]) or self.version

    def execute(self, sql: str) -> list[dict[str, Any]]:
        """Run SQL text on this node; rows as dicts.  Errors become one-line ``ClickHouseError``s naming the node.

        clickhouse-driver drops the connection after any error and opens a new one for the next query, so probes
        avoid statements that are expected to fail (they check system.tables/columns first)."""
        refused = refusal(sql)
        if refused:
            raise ClickHouseError(f"{self.name}: refused before sending: {refused}; the audit only reads")
        self._take_lock()
        try:
            self._check()
            self.queries += 1
            try:
                rows, columns = self._client.execute(sql, with_column_types=True)
            except Exception as exc:  # driver, socket and server errors alike: say which node and why
                why = _why(exc)
                if getattr(exc, "code", None) is None and _lost(exc):
                    self._broken = why
                raise ClickHouseError(f"{self.name}: {why}", getattr(exc, "code", None)) from exc
        finally:
            self._lock.release()
        names = [c[0] for c in columns]
        self.rows += len(rows)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _take_lock(self) -> None:
        """The connection, within the timeout; given up as soon as the query holding it finds the node gone."""
        end = time.monotonic() + self._timeout
        while not self._lock.acquire(timeout=0.05):
            self._check()
            if time.monotonic() >= end:
                raise ClickHouseError(f"{self.name}: no answer (another query held its connection for more than "
                                      f"{self._timeout:g} s)")

    def _check(self) -> None:
        broken = self._broken
        if broken:
            raise ClickHouseError(f"{self.name}: stopped answering earlier in this run ({broken})")

    def columns(self) -> dict[str, set[str]]:
        """The node's system tables and their columns, read once."""
        with self._columns_lock:
            if self._columns is None:
                found: dict[str, set[str]] = {}
                for row in self.execute(SYSTEM_COLUMNS.render()):
                    found.setdefault(row["table"], set()).add(row["name"])
                self._columns = found
            return self._columns

    def missing(self, needs: Iterable[str]) -> list[str]:
        have = self.columns()
        out = []
        for need in needs:
            parts = need.split(".")
            table = parts[1] if len(parts) > 1 else parts[0]
            if table not in have or (len(parts) > 2 and parts[2] not in have[table]):
                out.append(need)
        return out

    def supports(self, stmt: Statement) -> bool:
        return not self.missing(stmt.needs)

    def query(self, stmt: Statement, values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        if stmt.needs:
            lacking = self.missing(stmt.needs)
            if lacking:
                raise Unsupported(f"not available on ClickHouse {self.release} ({self.name} has no "
                                  f"{', '.join(lacking)}): {stmt.instead or 'check it by hand'}")
        return self.execute(stmt.render(values))

    def close(self) -> None:
        self._client.disconnect()


@dataclass
class ClickHouse:
    """Every configured node: those that answered, and why the others did not."""

    nodes: list[Node]
    down: dict[str, str]
    cluster: str | None
    config: Mapping[str, Any]
    timeout: float

    @property
    def first(self) -> Node:
        return self.nodes[0]

    @property
    def all_names(self) -> list[str]:
        return [n.name for n in self.nodes] + list(self.down)

    def each(self, fetch: Callable[[Node], T]) -> dict[str, T | ClickHouseError]:
        """``fetch(node)`` on every configured node, in parallel; a node's failure is its value, not the caller's."""
        out: dict[str, T | ClickHouseError] = {name: ClickHouseError(f"{name}: {why}")
                                               for name, why in self.down.items()}

        def one(node: Node) -> T | ClickHouseError:
            try:
                return fetch(node)
            except ClickHouseError as exc:
                return exc

        if len(self.nodes) == 1:
            out[self.first.name] = one(self.first)
        else:
            with ThreadPoolExecutor(len(self.nodes)) as pool:
                for node, value in zip(self.nodes, pool.map(one, self.nodes), strict=True):
                    out[node.name] = value
        return {name: out[name] for name in self.all_names}

    def try_login(self, node: Node, user: str, password: str = "") -> str | None:
        """Open a separate session on ``node`` as ``user``: None when the server lets it in, else why it refused.
        Raises ClickHouseError when the node cannot be reached at all."""
        ep = node.endpoint
        other = Node(Endpoint(ep.host, ep.port, user, password, ep.database, ep.secure), self.timeout, self.config)
        try:
            other.open()
        except ClickHouseError as exc:
            if exc.code in AUTH_REFUSED:
                return str(exc).removeprefix(f"{node.name}: ")
            if "not read-only" in str(exc):
                return None
            raise
        other.close()
        return None

    def keeper_mode(self, host: str, port: int) -> str:
        """A ZooKeeper / ClickHouse Keeper node's role from its ``srvr`` answer (leader, follower, standalone);
        raises ClickHouseError when it does not answer."""
        try:
            with socket.create_connection((host, port), timeout=self.timeout) as sock:
                sock.settimeout(self.timeout)
                sock.sendall(b"srvr")
                data = b""
                while len(data) < 65536:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        except OSError as exc:
            raise ClickHouseError(f"keeper {host}:{port}: {_why(exc)}") from exc
        text = data.decode("utf-8", "replace")
        m = re.search(r"^Mode:\s*(\S+)", text, re.M)
        if m:
            return m.group(1)
        first = text.strip().splitlines()[0] if text.strip() else "an empty answer"
        raise ClickHouseError(f"keeper {host}:{port}: no role in its srvr answer ({first[:120]}); "
                              "allow srvr in 4lw.commands.whitelist")


def connect(config: dict[str, Any], timeout: float) -> ClickHouse:
    """Open every node in parallel.  The target is usable when at least one node answers; the others are
    remembered with the reason, and per-node probes report them."""
    eps = endpoints(config)

    def open_one(ep: Endpoint) -> Node | str:
        try:
            node = Node(ep, timeout, config)
            return node.open()
        except ClickHouseError as exc:
            return str(exc).removeprefix(f"{ep.name}: ")
        except Exception as exc:  # bad TLS files and the like
            return _why(exc)

    with ThreadPoolExecutor(len(eps)) as pool:
        opened = list(pool.map(open_one, eps))
    nodes = [n for n in opened if isinstance(n, Node)]
    down = {ep.name: why for ep, why in zip(eps, opened, strict=True) if isinstance(why, str)}
    if not nodes:
        detail = "; ".join(f"{name}: {why}" for name, why in down.items())
        raise ClickHouseError(f"no ClickHouse node answered ({detail})")
    return ClickHouse(nodes, down, config.get("cluster"), config, timeout)


def close(client: ClickHouse) -> None:
    for node in client.nodes:
        node.close()
