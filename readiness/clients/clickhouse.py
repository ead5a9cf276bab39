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

import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote

from readiness.errors import TargetUnavailable
from readiness.redact import secret_values

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

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_AUTHORITY = re.compile(r"(?P<host>\[[0-9A-Fa-f:.%]+\]|[^\s/?#@:\[\]]*)(?::(?P<port>[^/?#]*))?(?P<rest>[/?#].*)?",
                        re.S)
_SCHEMES = {"clickhouse": False, "clickhouses": True}
_EXAMPLE = "clickhouse://user:password@host:9000/db"


@dataclass(frozen=True)
class _Url:
    scheme: str
    user: str | None
    password: str | None  # as written (percent-encoded or not)
    host: str
    port: str | None
    rest: str


def _split(url: str) -> _Url | str:
    """A URL's pieces, or why it is not a URL (never echoing any part of it but a well-formed scheme).

    The user info ends at the last ``@`` that a host follows, so a password may hold unencoded ``/``, ``#``, ``@``."""
    m = _SCHEME.match(url.strip())
    if not m:
        return f"a ClickHouse URL starts with clickhouse:// or clickhouses:// ({_EXAMPLE})"
    scheme, rest = m.group(1).lower(), url.strip()[m.end():]
    user = password = None
    authority = rest
    for i in reversed([i for i, ch in enumerate(rest) if ch == "@"]):
        if _AUTHORITY.fullmatch(rest[i + 1:]):
            user, sep, pw = rest[:i].partition(":")
            password = pw if sep else None
            authority = rest[i + 1:]
            break
    a = _AUTHORITY.fullmatch(authority)
    if a is None:
        return f"the host part of the ClickHouse URL is not host:port ({_EXAMPLE})"
    return _Url(scheme, user, password, a["host"].strip("[]"), a["port"], a["rest"] or "")


def _url_problem(parts: _Url | str) -> str | None:
    if isinstance(parts, str):
        return parts
    if parts.scheme in ("http", "https"):
        return (f"{parts.scheme}:// is ClickHouse's HTTP interface; the audit speaks the native protocol: "
                "clickhouse://host:9000 (clickhouses://host:9440 for TLS)")
    if parts.scheme not in _SCHEMES:
        return f"a ClickHouse URL starts with clickhouse:// or clickhouses://, not {parts.scheme}://"
    if not parts.host:
        return f"a ClickHouse URL needs a host: {_EXAMPLE}"
    if parts.port is not None and parts.port != "" and not (parts.port.isdigit() and 0 < int(parts.port) < 65536):
        return "the port of the ClickHouse URL is not a number from 1 to 65535"
    return None


def _urls(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, URL) for every URL of the target."""
    out = []
    if isinstance(config.get("urls"), (list, tuple)):
        out += [("urls", u) for u in config["urls"] if isinstance(u, str)]
    if isinstance(config.get("url"), str) and config["url"]:
        out.append(("url", config["url"]))
    return out


def secrets(config: Mapping[str, Any]) -> set[str]:
    """Every credential of a clickhouse target: the password field and each URL's password (as written and decoded,
    and secret query parameters), whatever form the URL takes.  Never raises."""
    found: set[str] = set()
    try:
        if config.get("password") not in (None, ""):
            found.add(str(config["password"]))
        for _, url in _urls(config):
            found |= secret_values(url)
            parts = _split(url)
            if isinstance(parts, _Url):
                if parts.password:  # the password as the client itself reads it
                    found.update({parts.password, unquote(parts.password)})
            elif "@" in url:  # not a URL we can read: everything that could be user info is a secret
                info = url.split("://", 1)[-1].rpartition("@")[0]
                found.update(x for x in (info, info.partition(":")[2]) if x)
    except Exception:  # never raise: masking must not break a run
        pass
    return found


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for settings of a clickhouse target that can never work.  Never raises."""
    try:
        urls = _urls(config)
        if not urls:
            return [("url", f"the clickhouse target needs 'url' (one node) or 'urls' (one per node): {_EXAMPLE}")]
        many = sum(1 for f, _ in urls if f == "urls") > 1
        out = []
        for i, (name, url) in enumerate(u for u in urls if u[0] == "urls"):
            problem = _url_problem(_split(url))
            if problem:
                out.append((name, f"URL {i + 1}: {problem}" if many else problem))
        for name, url in urls:
            if name == "url":
                problem = _url_problem(_split(url))
                if problem:
                    out.append((name, problem))
        return out
    except Exception:
        return []


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
    parts = _split(url)
    problem = _url_problem(parts)
    if problem or not isinstance(parts, _Url):
        raise ClickHouseError(problem or "bad ClickHouse URL")
    secure = _SCHEMES[parts.scheme]
    path, _, query = parts.rest.partition("#")[0].partition("?")
    database = unquote(path.lstrip("/")) or config.get("database") or "default"
    return Endpoint(
        host=parts.host, port=int(parts.port) if parts.port else (DEFAULT_TLS_PORT if secure else DEFAULT_PORT),
        user=unquote(parts.user) if parts.user else (config.get("user") or "default"),
        password=str(config["password"]) if config.get("password") is not None else unquote(parts.password or ""),
        database=database, secure=secure, options=dict(parse_qsl(query)),
    )


def endpoints(config: Mapping[str, Any]) -> list[Endpoint]:
    urls = [u for _, u in _urls(config)]
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


# --- read-only, whatever the SQL says -----------------------------------------------------------------------------

_READING = {"SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXISTS"}
_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'?|`(?:[^`\\]|\\.)*`?|\"(?:[^\"\\]|\\.)*\"?|--[^\n]*|#[^\n]*|/\*.*?(?:\*/|$)|"
                    r"(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<sym>[;.=(])|\s+|.", re.S)


def refusal(sql: str) -> str | None:
    """Why ``sql`` is not a single reading statement (None when it is).  Checked before anything is sent, on top of
    the session's readonly=1: KILL QUERY, for one, runs in readonly mode."""
    words: list[tuple[str, str]] = []  # (kind, text) outside literals, quoted names and comments
    for m in _TOKEN.finditer(sql):
        if m["word"]:
            words.append(("word", m["word"].upper()))
        elif m["sym"]:
            words.append(("sym", m["sym"]))
    while words and words[-1] == ("sym", ";"):
        words.pop()
    first = next((text for kind, text in words if kind == "word"), "")
    if first not in _READING:
        return f"only SELECT, WITH, SHOW, DESCRIBE and EXISTS statements are sent, not {first or 'this statement'}"
    if ("sym", ";") in words:
        return "one statement per query: the text holds several (a ';' between them)"
    for i, (kind, text) in enumerate(words):
        after = words[i + 1:i + 4]
        if kind == "word" and text == "SETTINGS" and (i == 0 or words[i - 1] != ("sym", ".")) \
                and len(after) >= 2 and after[0][0] == "word" and after[1] == ("sym", "="):
            return "a check query may not change settings (SETTINGS ...): the session stays readonly"
        if kind == "word" and text == "INTO" and after[:1] == [("word", "OUTFILE")]:
            return "a check query may not write a file (INTO OUTFILE)"
    return None


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
