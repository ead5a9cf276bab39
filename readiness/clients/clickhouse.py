"""ClickHouse over the native protocol (clickhouse-driver): one connection per node, every query read-only and bounded.

The targets file gives ``url`` (one node) or ``urls`` (one per node): ``clickhouse://user:password@host:9000/db``,
``clickhouses://`` for TLS (port 9440 by default).  Every query carries ``max_execution_time`` and ``readonly=1``;
the session is checked to really be read-only before any probe uses it.

Probe modules describe their SQL as ``Statement`` constants (so a test can run every statement against a current
ClickHouse engine) and say which system tables and columns each needs; a node that lacks them answers
``Unsupported`` ("not available on ClickHouse 18.16: <what to check instead>") instead of a server error.
clickhouse-driver is imported only when a connection opens, never when a probe module is imported.
"""

from __future__ import annotations

import math
import re
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from readiness.context import TargetUnavailable

T = TypeVar("T")
DEFAULT_PORT, DEFAULT_TLS_PORT = 9000, 9440
# Server error codes that mean "these credentials may not log in": unknown user, wrong or required password,
# address not allowed, authentication failed.
AUTH_REFUSED = (192, 193, 194, 195, 516)
READONLY = 164  # "Cannot ... in readonly mode"
KEEPER_EXCEPTION = 999  # the server's Keeper/ZooKeeper session failed


class ClickHouseError(TargetUnavailable):
    """A node refused, failed or did not answer; the message names the node and says why in one line.  ``code`` is
    the server's error code when the server answered with an error."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class Unsupported(ClickHouseError):
    """The node's ClickHouse release lacks a system table or column a statement needs."""


# --- statements -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ident:
    """An identifier (database, table, column) substituted into a statement, back-quoted."""

    name: str


def literal(value: Any) -> str:
    """A value as a ClickHouse SQL literal (strings quoted and escaped; lists as arrays)."""
    if isinstance(value, Ident):
        return "`" + value.name.replace("\\", "\\\\").replace("`", "\\`") + "`"
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return "'" + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t").replace("\0", "\\0") + "'"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a ClickHouse literal")


@dataclass(frozen=True)
class Statement:
    """One read-only statement a probe sends.

    ``sql`` takes ``{name}`` placeholders, filled with literals (``Ident`` for identifiers).  ``needs`` lists the
    system tables (``system.disks``) and columns (``system.clusters.errors_count``) it reads, checked per node
    before it is sent; ``instead`` tells the operator what to check when the node lacks them.  ``example`` holds
    placeholder values for tests that run the statement against a current engine."""

    name: str
    sql: str
    needs: tuple[str, ...] = ()
    instead: str = ""
    example: Mapping[str, Any] = field(default_factory=dict)

    def render(self, values: Mapping[str, Any] | None = None) -> str:
        return self.sql.format(**{k: literal(v) for k, v in (values or {}).items()})


STATEMENTS: dict[str, Statement] = {}


def statement(name: str, sql: str, *, needs: Iterable[str] = (), instead: str = "",
              example: Mapping[str, Any] | None = None) -> Statement:
    """Declare (and register, for the statement tests) a statement."""
    stmt = Statement(name, " ".join(sql.split()), tuple(needs), instead, dict(example or {}))
    if name in STATEMENTS and STATEMENTS[name] != stmt:
        raise ValueError(f"statement {name!r} is declared twice")
    STATEMENTS[name] = stmt
    return stmt


IDENTITY = statement("identity", "SELECT version() AS version, hostName() AS host, uptime() AS uptime, "
                                 "toUInt8(value) AS readonly FROM system.settings WHERE name = 'readonly'")
SYSTEM_COLUMNS = statement("system-columns", "SELECT table, name FROM system.columns WHERE database = 'system'")


# --- URLs -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    user: str
    password: str
    database: str
    secure: bool
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"


def parse_url(url: str, config: Mapping[str, Any]) -> Endpoint:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ClickHouseError(f"bad ClickHouse URL: {exc}") from None
    if parts.scheme not in ("clickhouse", "clickhouses"):
        raise ClickHouseError(f"a ClickHouse URL starts with clickhouse:// or clickhouses://, not {parts.scheme}://")
    if not parts.hostname:
        raise ClickHouseError("a ClickHouse URL needs a host: clickhouse://user:password@host:9000/db")
    secure = parts.scheme == "clickhouses"
    database = unquote(parts.path.lstrip("/")) or config.get("database") or "default"
    return Endpoint(
        host=parts.hostname, port=port or (DEFAULT_TLS_PORT if secure else DEFAULT_PORT),
        user=unquote(parts.username) if parts.username else (config.get("user") or "default"),
        password=str(config["password"]) if config.get("password") is not None else unquote(parts.password or ""),
        database=database, secure=secure, options=dict(parse_qsl(parts.query)),
    )


def endpoints(config: Mapping[str, Any]) -> list[Endpoint]:
    urls = list(config.get("urls") or []) + ([config["url"]] if config.get("url") else [])
    if not urls:
        raise ClickHouseError("the clickhouse target needs 'url' (one node) or 'urls' (one per node)")
    out: list[Endpoint] = []
    for url in urls:
        ep = parse_url(url, config)
        if ep.name not in {e.name for e in out}:
            out.append(ep)
    return out


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


class Node:
    """One server: its own connection (used by one thread at a time), what it is, and what its system tables hold."""

    def __init__(self, endpoint: Endpoint, timeout: float, config: Mapping[str, Any]):
        from clickhouse_driver import Client  # type: ignore[import-untyped]  # heavy: only when a connection opens

        self.endpoint = endpoint
        self.name = endpoint.name
        self.queries = 0
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
                raise
            self._client.settings = {}
            row = self.query(IDENTITY)[0]
        self.version, self.host, self.uptime = str(row["version"]), str(row["host"]), int(row["uptime"])
        if int(row["readonly"]) < 1:
            self.close()
            raise ClickHouseError(f"{self.name}: the session is not read-only (readonly = {row['readonly']}); "
                                  "the audit only runs read-only")
        return self

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
        with self._lock:
            self.queries += 1
            try:
                rows, columns = self._client.execute(sql, with_column_types=True)
            except Exception as exc:  # driver, socket and server errors alike: say which node and why
                raise ClickHouseError(f"{self.name}: {_why(exc)}", getattr(exc, "code", None)) from exc
        names = [c[0] for c in columns]
        return [dict(zip(names, row, strict=True)) for row in rows]

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
