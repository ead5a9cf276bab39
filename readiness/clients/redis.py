"""Redis connections for the probes: every URL form, one connection per node, and read commands only.

    redis://[user:password@]host:6379/0          rediss://... (TLS)          unix:///run/redis.sock
    redis+sentinel://s1:26379,s2:26379/mymaster/0                             (rediss+sentinel:// for TLS)
    redis+cluster://n1:6379,n2:6379,n3:6379                                   (rediss+cluster:// for TLS)

Sentinel and Cluster are resolved here (the master through redis-py's ``Sentinel``; the primaries through CLUSTER
SLOTS), so probes see the same ``RedisHandle`` whatever the topology.  Each node gets a pool of exactly one
connection (redis-py's ``BlockingConnectionPool``): every path - ``call``, ``batch``, ``scan``, the redis-py read
methods offered to plugins - waits its turn for that connection, so concurrent callers never read each other's replies.
The read-only guard sits in the connection itself: whatever asks redis-py to send (a pipeline, ``execute_command``, a
bound method reached through a plugin), a command outside ``READ_COMMANDS`` is refused before a byte leaves.
redis-py is imported inside functions only, so ``readiness --help`` and ``validate`` never load it.

What ``RedisHandle`` offers a plugin (``ctx.client``):
    call(node, *args) / batch(node, [args, ...])   read commands on one node; an error reply raises ``ErrorReply``
    each(*args)                                      one command on every node (the master, or every cluster primary)
    scan(limit) / per_key(keys_by_node, *commands)   bounded SCAN; per-key commands in one round trip per node
    nodes, primary, node_for(key), endpoint          the topology
    llen(key), ttl(key), info(section), config_get(name) ...   redis-py's read methods on the primary
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from readiness.errors import TargetUnavailable
from readiness.redact import secret_values

# Commands (and subcommands) the audit may send.  SELECT only switches the connection's database.
READ_COMMANDS = frozenset({
    "PING", "INFO", "SCAN", "TYPE", "TTL", "PTTL", "LLEN", "ZCARD", "SCARD", "XLEN", "HLEN", "EXISTS", "DBSIZE",
    "ROLE", "SELECT", "CONFIG GET", "CLUSTER INFO", "CLUSTER SLOTS", "CLUSTER NODES",
    "SENTINEL MASTER", "SENTINEL MASTERS", "SENTINEL REPLICAS", "SENTINEL SLAVES", "SENTINEL SENTINELS",
    "SENTINEL CKQUORUM", "SENTINEL GET-MASTER-ADDR-BY-NAME",
})
# What redis-py's connection set-up sends: credentials, the RESP version, the database.
HANDSHAKE_COMMANDS = frozenset({"AUTH", "HELLO", "SELECT"})
_SUBCOMMANDS = {"CONFIG", "CLUSTER", "SENTINEL", "CLIENT", "SCRIPT", "FUNCTION", "ACL", "MODULE", "DEBUG", "MEMORY",
                "OBJECT", "XINFO", "COMMAND", "LATENCY", "SLOWLOG"}
_SCHEMES = {"redis": ("standalone", False), "rediss": ("standalone", True), "unix": ("standalone", False),
            "redis+sentinel": ("sentinel", False), "rediss+sentinel": ("sentinel", True),
            "redis+cluster": ("cluster", False), "rediss+cluster": ("cluster", True)}
_SCHEME_LIST = ", ".join(f"{s}://" for s in _SCHEMES)
_OTHER_SCHEMES = {"http", "https", "tcp", "tls", "ssl", "valkey", "valkeys", "redis-sentinel", "sentinel", "cluster",
                  "postgres", "postgresql", "clickhouse", "clickhouses", "memcached", "amqp", "file", "s3"}


class ServerRefused(TargetUnavailable):
    """The server answered and refused the session for a reason of its own (full, loading, no master)."""


class ReadOnlyViolation(PermissionError):
    """Something asked to send a command outside the read allow-list; nothing was sent."""


class NoAnswer(TimeoutError):
    """A node did not answer within the session's timeout (frozen, black-holed, or busy with an earlier command)."""


class ErrorReply(Exception):
    """A command answered an error (NOPERM, WRONGTYPE, LOADING ...): never data; the item cannot decide."""

    def __init__(self, node: str, args: Sequence[Any], reply: BaseException, label: str | None = None):
        self.node, self.command, self.reply = node, command_name(args), _reply_text(reply)
        key = f" {display(args[1 + (' ' in self.command)])}" if len(args) > 1 + (" " in self.command) else ""
        if label:
            key, self.command = "", label
        hint = " (the audit identity lacks this permission: see the README for its ACL)" \
            if self.reply.startswith("NOPERM") or "no permissions" in self.reply else ""
        super().__init__(f"{self.command}{key} on {node} answered an error: {self.reply}{hint}")


def _reply_text(reply: BaseException) -> str:
    """The server's error text with its code (redis-py turns NOPERM, LOADING ... into classes and drops the code)."""
    text = str(reply).strip()
    codes = {"NoPermissionError": "NOPERM", "BusyLoadingError": "LOADING", "ReadOnlyError": "READONLY",
             "NoScriptError": "NOSCRIPT", "ExecAbortError": "EXECABORT", "OutOfMemoryError": "OOM",
             "AuthenticationError": "NOAUTH", "AuthenticationWrongNumberOfArgsError": "ERR"}
    code = next((c for cls in type(reply).__mro__ for name, c in codes.items() if cls.__name__ == name), None)
    return f"{code} {text}" if code and not text.startswith(code) else text


def command_name(args: Sequence[Any]) -> str:
    first = args[0].decode(errors="replace") if isinstance(args[0], bytes) else str(args[0])
    name = first.upper()
    if name in _SUBCOMMANDS and len(args) > 1:
        second = args[1].decode(errors="replace") if isinstance(args[1], bytes) else str(args[1])
        name = f"{name} {second.upper()}"
    return name


def display(value: Any, limit: int = 120) -> str:
    """A key name (or any probed text) for messages: undecodable bytes as \\xNN, control characters escaped, long
    names cut, in linear time."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    text = str(value)
    cut = text[:limit]
    out = []
    for ch in cut:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape kept
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\\":  # so that a literal "\xff" and the byte 0xff never look alike
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                       if not 0xD800 <= code <= 0xDFFF else f"\\u{code:04x}")
        else:
            out.append(ch)
    shown = "".join(out)
    return shown if len(text) <= limit else f"{shown}... ({len(text)} characters)"


# --- URLs --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    """A parsed Redis URL (credentials kept apart so nothing prints them by accident)."""

    topology: str  # standalone | sentinel | cluster
    tls: bool
    hosts: tuple[tuple[str, int], ...]
    db: int = 0
    master: str | None = None  # sentinel: the monitored master's name
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    unix_path: str | None = None
    protocol: int | None = None

    @property
    def scheme(self) -> str:
        base = "rediss" if self.tls else "redis"
        return {"standalone": base, "sentinel": f"{base}+sentinel", "cluster": f"{base}+cluster"}[self.topology]


@dataclass(frozen=True)
class _Pieces:
    scheme: str
    userinfo: str | None
    location: str  # hosts (or the unix path) up to the path
    path: str
    query: str


def _split(url: str) -> _Pieces:
    """scheme://[userinfo@]hosts[/path][?query][#fragment], by hand: the userinfo ends at the LAST '@' (a password
    may hold '/', '#', '?' or '@' unencoded), hosts are split by commas, IPv6 hosts are bracketed.  urlsplit's netloc
    rules differ between Python releases (3.11.2 refuses a host list with a bracketed IPv6 host)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        raise TargetUnavailable(f"the redis url has no scheme: it must start with one of {_SCHEME_LIST}")
    scheme = scheme.lower()
    if scheme not in _SCHEMES:
        shown = f"{scheme}://" if scheme in _OTHER_SCHEMES else "another scheme"  # never echo unknown text
        raise TargetUnavailable(f"the redis url scheme is {shown}: it must be one of {_SCHEME_LIST}")
    userinfo, at, tail = rest.rpartition("@")
    if not at:
        userinfo, tail = None, rest  # type: ignore[assignment]
    if scheme == "unix":  # unix://[:password@]/run/redis.sock?db=0
        location, _, query = tail.partition("?")
        return _Pieces(scheme, userinfo, location.partition("#")[0], "", query.partition("#")[0])
    end = min((i for i in (tail.find("/"), tail.find("?"), tail.find("#")) if i >= 0), default=len(tail))
    location, remainder = tail[:end], tail[end:]
    remainder = remainder.partition("#")[0]
    path, _, query = remainder.partition("?")
    return _Pieces(scheme, userinfo, location, path, query)


def _credentials(userinfo: str | None) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, sep, password = userinfo.partition(":")
    if not sep:  # redis://secret@host is the old password-only form (redis-py accepts it)
        return None, unquote(user) or None
    return unquote(user) or None, unquote(password) if password else None


def parse_url(url: str) -> Endpoint:
    """Every URL form; errors say what is wrong without echoing pieces of the URL (they may hold a password)."""
    pieces = _split(str(url))
    topology, tls = _SCHEMES[pieces.scheme]
    username, password = _credentials(pieces.userinfo)
    query = dict(parse_qsl(pieces.query))
    protocol = int(query["protocol"]) if query.get("protocol", "").isdigit() else None
    if pieces.scheme == "unix":
        if not pieces.location:
            raise TargetUnavailable("the redis url names no socket path (unix:///run/redis.sock)")
        db_text = query.get("db", "0") or "0"
        if not db_text.isdigit():
            raise TargetUnavailable("the redis url's db is not a number")
        return Endpoint(topology, False, (("localhost", 0),), int(db_text), None, username, password,
                        unquote(pieces.location), protocol)
    default_port = 26379 if topology == "sentinel" else 6379
    entries = pieces.location.split(",")
    if not any(e.strip() for e in entries):
        raise TargetUnavailable(f"the redis url names no host ({pieces.scheme}://host:port)")
    hosts = tuple(_host_port(e, default_port, n) for n, e in enumerate(entries, 1))
    segments = [unquote(s) for s in pieces.path.split("/") if s]
    master = None
    if topology == "sentinel":
        if not segments:
            raise TargetUnavailable("a redis+sentinel url needs the master's name: redis+sentinel://h1:26379,"
                                    "h2:26379/mymaster/0")
        master, segments = segments[0], segments[1:]
    db_text = segments[0] if segments else query.get("db", "0")
    if len(segments) > 1 or not str(db_text).isdigit():
        raise TargetUnavailable("the redis url's database (the path after the host) is not a number")
    return Endpoint(topology, tls, hosts, int(db_text), master, username, password, None, protocol)


def _host_port(text: str, default: int, n: int) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [::1]:6379
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise TargetUnavailable(f"host {n} of the redis url has an unclosed or malformed [IPv6] address")
        port = rest[1:]
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:  # a bare name, or a bare IPv6 address without a port
        host, port = text, ""
    if port and not port.isdigit() or port and not 0 < int(port) < 65536:
        raise TargetUnavailable(f"host {n} of the redis url has a port that is not a number from 1 to 65535")
    if not host:
        raise TargetUnavailable(f"host {n} of the redis url is empty")
    return host, int(port) if port else default


def secrets(config: Mapping[str, Any]) -> set[str]:
    """Every credential in a redis target's settings, as written and as decoded, whatever the URL form."""
    out: set[str] = set()
    try:
        for name in ("password", "sentinel_password"):
            if config.get(name) not in (None, ""):
                out.add(str(config[name]))
        url = config.get("url")
        if isinstance(url, str):
            out |= secret_values(url)  # every URL form, the password-only redis://PW@host included
    except Exception:  # never raises: a scrubber must not fail on odd settings
        pass
    return {s for s in out if s}


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for redis settings that can never work; messages never echo pieces of the URL."""
    url = config.get("url")
    if url is None or (isinstance(url, str) and "${" in url):
        return []
    try:
        parse_url(str(url))
    except TargetUnavailable as exc:
        return [("url", str(exc))]
    except Exception:
        return [("url", "the redis url cannot be parsed")]
    return []


# --- the read-only connection ------------------------------------------------------------------------------------

def _command_names(packed: Any) -> list[str]:
    """The command names in what redis-py is about to send (RESP arrays of bulk strings), in linear time."""
    if isinstance(packed, str):
        data = packed.encode()
    elif isinstance(packed, (bytes, bytearray, memoryview)):
        data = bytes(packed)
    else:
        data = b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in packed)
    names, i, n = [], 0, len(data)
    try:
        while i < n:
            if data[i:i + 1] != b"*":
                return ["(not a command array)"]
            j = data.index(b"\r\n", i)
            count, i = int(data[i + 1:j]), j + 2
            args: list[bytes] = []
            for k in range(count):
                if data[i:i + 1] != b"$":
                    return ["(not a command array)"]
                j = data.index(b"\r\n", i)
                size, i = int(data[i + 1:j]), j + 2
                if k < 2:
                    args.append(data[i:i + size])
                i += size + 2
            names.append(command_name(args) if args else "(empty)")
    except ValueError:
        return ["(not a command array)"]
    return names


def check_read_only(names: Iterable[str]) -> None:
    for name in names:
        if name not in READ_COMMANDS and name not in HANDSHAKE_COMMANDS:
            raise ReadOnlyViolation(f"readiness sends read commands only; refused to send {display(name, 40)}")


@cache
def _guarded(kind: str) -> type:
    """redis-py's connection class whose every send is checked against the allow-list first."""
    from redis import connection as rc

    base: Any = {"tcp": rc.Connection, "ssl": rc.SSLConnection, "unix": rc.UnixDomainSocketConnection}[kind]

    def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        check_read_only(_command_names(command))
        base.send_packed_command(self, command, check_health)

    return type(f"ReadOnly{base.__name__}", (base,), {"send_packed_command": send_packed_command})


class RedisClient(Protocol):
    """What a probe (a plugin's too) gets as ``ctx.client`` for a redis target; ``RedisHandle`` implements it.  Every
    method is safe to call from several threads; every command goes through the read-only guard."""

    endpoint: Endpoint
    nodes: dict[str, Any]  # "host:port" -> the node's redis-py client (guarded; prefer the methods below)
    sentinels: dict[str, Any]

    @property
    def primary(self) -> str: ...
    def call(self, node: str, *args: Any) -> Any: ...
    def batch(self, node: str, commands: Iterable[Sequence[Any]], *, errors: str = "raise") -> list[Any]: ...
    def each(self, *args: Any) -> dict[str, Any]: ...
    def node_for(self, key: str) -> str: ...
    def scan(self, limit: int, count: int = 1000, match: str | None = None) -> tuple[dict[str, list[str]], bool]: ...
    def per_key(self, keys_by_node: Mapping[str, Sequence[str]], *commands: str) -> dict[str, list[Any]]: ...
    # and redis-py's read methods on the primary: llen, ttl, type, info, config_get, scan_iter ... (__getattr__)


class RedisHandle:
    """One target: one connection per node, the topology it was reached through, and read-only calls."""

    def __init__(self, endpoint: Endpoint, config: Mapping[str, Any], timeout: float):
        self.endpoint, self.config, self.timeout = endpoint, config, timeout
        self.nodes: dict[str, Any] = {}  # "host:port" -> redis.Redis over a pool of one connection
        self.sentinels: dict[str, Any] = {}  # sentinel topology: the Sentinels that answered
        self.slots: list[tuple[int, int, str]] = []  # cluster: (first, last, node)
        self.commands = 0  # round trips sent, for the benchmark
        self._count = threading.Lock()

    @property
    def primary(self) -> str:
        """The node probes talk to: the master (standalone, sentinel) or the first primary (cluster)."""
        return next(iter(self.nodes))

    @property
    def address(self) -> tuple[str, int]:
        if self.endpoint.unix_path:
            return self.endpoint.unix_path, 0
        host, _, port = self.primary.rpartition(":")
        return host, int(port)

    def __getattr__(self, name: str) -> Any:
        """redis-py's read methods (llen, ttl, info, config_get ...) on the primary node, for plugin probes; a
        method whose command is not a read (set, delete, config_set, pipeline ...) does not exist here, and the
        connection refuses anything else that reaches it."""
        if name.startswith("_") or command_name(name.upper().split("_", 1)) not in READ_COMMANDS:
            raise AttributeError(f"{type(self).__name__} offers read commands only; {name!r} is not one")
        if not self.nodes:
            raise AttributeError(name)
        method, node = getattr(self.nodes[self.primary], name), self.primary

        def read(*args: Any, **kwargs: Any) -> Any:
            with self._faults(node):
                return method(*args, **kwargs)

        read.__name__, read.__doc__, read.__self__ = name, method.__doc__, method.__self__  # type: ignore[attr-defined]
        return read

    def _faults(self, node: str) -> Any:
        """redis-py's timeouts and dropped connections as one sentence naming the node (a timeout stays a
        TimeoutError, so the runner fails the session on the first one)."""
        from contextlib import contextmanager

        from redis import exceptions as rex

        @contextmanager
        def translating() -> Any:
            try:
                yield
            except rex.BusyLoadingError:
                raise
            except rex.TimeoutError as exc:
                raise NoAnswer(f"redis at {node} did not answer within {self.timeout:g}s ({exc})") from None
            except rex.ConnectionError as exc:
                if "No connection available" in str(exc):
                    raise NoAnswer(f"redis at {node} did not answer within {self.timeout:g}s: its one connection "
                                   "stayed busy with an earlier command") from None
                raise explain(exc, node, self.endpoint.tls) from None

        return translating()

    def _client(self, node: str) -> Any:
        client = self.nodes.get(node) or self.sentinels.get(node)
        if client is None:
            raise KeyError(f"{node} is not a node of this target ({', '.join([*self.nodes, *self.sentinels])})")
        return client

    def call(self, node: str, *args: Any) -> Any:
        return self.batch(node, [args])[0]

    def batch(self, node: str, commands: Iterable[Sequence[Any]], *, errors: str = "raise") -> list[Any]:
        """Read commands on one node in one round trip (redis-py's non-transactional pipeline).

        An error reply raises ``ErrorReply`` naming the command and the reason (errors="return": it is returned in
        its place, for the callers whose finding is the error itself)."""
        commands = [tuple(c) for c in commands]
        check_read_only(command_name(c) for c in commands)
        if not commands:
            return []
        pipe = self._client(node).pipeline(transaction=False)
        for c in commands:
            pipe.execute_command(*c)
        with self._count:
            self.commands += 1
        from redis.exceptions import BusyLoadingError

        try:
            with self._faults(node):
                replies = pipe.execute(raise_on_error=False)
        except BusyLoadingError as exc:  # redis-py raises LOADING as a connection error, whatever raise_on_error says
            names = list(dict.fromkeys(command_name(c) for c in commands))
            label = None if len(commands) == 1 else f"one of {len(commands)} commands ({', '.join(names[:5])})"
            raise ErrorReply(node, commands[0], exc, label) from None
        if errors == "raise":
            for c, reply in zip(commands, replies, strict=True):
                if isinstance(reply, Exception):
                    raise ErrorReply(node, c, reply)
        return list(replies)

    def each(self, *args: Any) -> dict[str, Any]:
        """One command on every node (the master, or every cluster primary)."""
        return {node: self.call(node, *args) for node in self.nodes}

    def node_for(self, key: str) -> str:
        if not self.slots:
            return self.primary
        from redis.crc import key_slot

        slot = key_slot(key.encode("utf-8", "surrogateescape"))
        return next((node for first, last, node in self.slots if first <= slot <= last), self.primary)

    def scan(self, limit: int, count: int = 1000, match: str | None = None) -> tuple[dict[str, list[str]], bool]:
        """Up to ``limit`` key names per node with SCAN (never KEYS); and whether every node was scanned to the end.
        Key names that are not UTF-8 keep their bytes as surrogates (``display`` shows them as \\xNN)."""
        found: dict[str, list[str]] = {}
        complete = True
        for node in self.nodes:
            keys: list[str] = []
            cursor = 0
            while True:
                args: list[Any] = ["SCAN", cursor, "COUNT", max(1, min(count, limit))]
                if match:
                    args[2:2] = ["MATCH", match]
                cursor, page = self.call(node, *args)
                cursor = int(cursor)
                keys.extend(page)
                if cursor == 0:
                    break
                if len(keys) >= limit:
                    complete = False
                    break
            found[node] = keys[:limit] if len(keys) > limit else keys
            complete = complete and len(keys) <= limit
        return found, complete

    def per_key(self, keys_by_node: Mapping[str, Sequence[str]], *commands: str) -> dict[str, list[Any]]:
        """For each key, the answers to ``commands`` (e.g. TYPE, TTL), one round trip per node; an error reply
        raises ``ErrorReply``."""
        out: dict[str, list[Any]] = {}
        for node, keys in keys_by_node.items():
            answers = self.batch(node, [(c, k) for k in keys for c in commands])
            for i, key in enumerate(keys):
                out[key] = answers[i * len(commands):(i + 1) * len(commands)]
        return out

    def close(self) -> None:
        for client in [*self.nodes.values(), *self.sentinels.values()]:
            shut(client)


def shut(client: Any) -> None:
    """Close a node client and its socket (a client over a pool it was given does not close that pool itself)."""
    try:
        client.close()
        client.connection_pool.disconnect()
    except Exception:  # best effort: the verdicts are made
        pass


def open_node(host: str, port: int, config: Mapping[str, Any], endpoint: Endpoint, timeout: float, *,
              credentials: bool = True, db: int | None = None, unix_path: str | None = None) -> Any:
    """A client for one node (or Sentinel) over a pool of exactly one read-only connection, opened lazily."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    kwargs: dict[str, Any] = {
        "socket_timeout": timeout, "decode_responses": True, "encoding_errors": "surrogateescape",
        "retry": Retry(NoBackoff(), 0), "db": endpoint.db if db is None else db, "driver_info": None,
        "protocol": config.get("protocol") or endpoint.protocol or 2,
    }
    try:
        from redis.maint_notifications import MaintNotificationsConfig

        kwargs["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
    except ImportError:  # older redis-py: no maintenance handshake to turn off
        pass
    if unix_path:
        kind = "unix"
        kwargs["path"] = unix_path
    else:
        kind = "ssl" if endpoint.tls else "tcp"
        kwargs.update(host=host, port=port, socket_connect_timeout=timeout)
    if credentials:
        kwargs["username"] = config.get("username") or endpoint.username
        kwargs["password"] = config.get("password") or endpoint.password
    if endpoint.tls:
        verify = config.get("verify", True) is not False
        kwargs.update(ssl_ca_certs=config.get("ca_file"), ssl_certfile=config.get("cert_file"),
                      ssl_keyfile=config.get("key_file"), ssl_cert_reqs="required" if verify else "none",
                      ssl_check_hostname=verify)
    pool = redis.BlockingConnectionPool(connection_class=_guarded(kind), max_connections=1, timeout=timeout,
                                        **kwargs)
    return redis.Redis(connection_pool=pool, protocol=kwargs["protocol"])


def connect(config: Mapping[str, Any], timeout: float) -> RedisHandle:
    endpoint = parse_url(str(config["url"]))
    handle = RedisHandle(endpoint, config, timeout)
    try:
        if endpoint.topology == "sentinel":
            host, port = _master_from_sentinels(handle)
            _open(handle, host, port)
        elif endpoint.topology == "cluster":
            _open_cluster(handle)
        else:
            host, port = endpoint.hosts[0]
            _open(handle, host, port)
    except BaseException:
        handle.close()
        raise
    return handle


def close(handle: RedisHandle) -> None:
    handle.close()


def _open(handle: RedisHandle, host: str, port: int) -> None:
    label = handle.endpoint.unix_path or f"{host}:{port}"
    try:
        client = open_node(host, port, handle.config, handle.endpoint, handle.timeout,
                           unix_path=handle.endpoint.unix_path)
        handle.nodes[label] = client
        with handle._count:
            handle.commands += 1
        client.execute_command("PING")
    except Exception as exc:
        if handle.endpoint.unix_path:
            raise explain(exc, label, handle.endpoint.tls) from None
        said = _greeting(host, port, handle.timeout) if not handle.endpoint.tls else None
        if said and "max number of clients" in said:  # the refusal raced our PING and was lost in a reset
            raise ServerRefused(f"redis at {label} refuses new connections: {said}") from None
        raise explain(exc, label, handle.endpoint.tls, sniff=(host, port, handle.timeout)) from None


def _greeting(host: str, port: int, timeout: float) -> str | None:
    """What the server says on accept before any command (Redis says "-ERR max number of clients reached" when full)."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=min(timeout, 1.0)) as sock:
            sock.settimeout(min(timeout, 0.3))
            data = sock.recv(256)
    except OSError:
        return None
    return data.decode(errors="replace").strip().lstrip("-") or None


def looks_like(host: str, port: int, timeout: float) -> str:
    """What answers on a port that failed as Redis: "redis", "tls", "postgresql", "http" or "other"."""
    import socket
    import ssl

    budget = min(timeout / 3, 0.5)  # three short looks, together within the item's timeout
    try:
        with socket.create_connection((host, port), timeout=budget) as sock:
            sock.sendall(b"PING\r\n")
            said = sock.recv(64)
    except OSError:
        said = b""
    if said[:1] in (b"+", b"-") and (said.startswith((b"+PONG", b"-NOAUTH", b"-ERR", b"-WRONGPASS", b"-DENIED"))):
        return "redis"
    if said.startswith(b"HTTP/"):
        return "http"
    try:  # PostgreSQL answers its SSLRequest with one byte, N or S
        with socket.create_connection((host, port), timeout=budget) as sock:
            sock.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")
            if sock.recv(8) in (b"N", b"S"):
                return "postgresql"
    except OSError:
        pass
    try:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with socket.create_connection((host, port), timeout=budget) as raw, \
                context.wrap_socket(raw, server_hostname=host):
            return "tls"
    except (OSError, ssl.SSLError, ValueError):
        return "other"


def _master_from_sentinels(handle: RedisHandle) -> tuple[str, int]:
    """Ask each Sentinel with redis-py's ``Sentinel.discover_master`` (which also refuses a master that a Sentinel
    sees down); the Sentinels that answered stay open for redis.ha."""
    from redis.sentinel import MasterNotFoundError, Sentinel

    endpoint, config = handle.endpoint, handle.config
    sentinel_config = {**config, "username": None, "password": config.get("sentinel_password")}
    bare = Endpoint("standalone", endpoint.tls, (), 0)
    errors, known_to_none = [], 0
    for host, port in endpoint.hosts:
        label = f"{host}:{port}"
        client = open_node(host, port, sentinel_config, bare, handle.timeout)
        finder = Sentinel([], min_other_sentinels=0)
        finder.sentinels = [client]
        try:
            with handle._count:
                handle.commands += 1
            master = finder.discover_master(endpoint.master)
        except MasterNotFoundError as exc:
            text = str(exc)
            if " - " in text:  # redis-py collected a connection error from this Sentinel
                shut(client)
                errors.append(f"{label}: did not answer ({text.rpartition(' - ')[2].strip()})")
                continue
            handle.sentinels[label] = client
            known_to_none += 1
            errors.append(f"{label}: knows no healthy master named {endpoint.master!r}")
            continue
        except Exception as exc:
            shut(client)
            errors.append(f"{label}: {explain(exc, label, endpoint.tls)}")
            continue
        handle.sentinels[label] = client
        return str(master[0]), int(master[1])
    if known_to_none and known_to_none == len(errors):
        raise TargetUnavailable(f"no Sentinel knows a healthy master named {endpoint.master!r} "
                                f"({'; '.join(errors)}): check the name against `sentinel monitor` "
                                "(SENTINEL MASTERS) and the master's state")
    raise TargetUnavailable("no Sentinel answered: " + "; ".join(errors))


def _open_cluster(handle: RedisHandle) -> None:
    """The primaries from CLUSTER SLOTS of the first node that answers (redis-py parses the reply); one connection to
    each primary.  RedisCluster itself is not used: its node clients cannot take the guarded connection class, and it
    sends COMMAND, opens clients for every replica, shuffles and re-dials nodes on its own - more than an audit should
    do to a cluster."""
    errors = []
    for host, port in handle.endpoint.hosts:
        label = f"{host}:{port}"
        seed = open_node(host, port, handle.config, handle.endpoint, handle.timeout, db=0)
        try:
            with handle._count:
                handle.commands += 1
            slots = seed.execute_command("CLUSTER", "SLOTS")
        except Exception as exc:
            errors.append(str(explain(exc, label, handle.endpoint.tls)))
            continue
        finally:
            shut(seed)
        if not slots:
            raise ServerRefused(f"{label} is not serving any cluster slot (CLUSTER SLOTS is empty)")
        ranges = sorted((int(s[0]), int(s[1]), f"{s[2][0] or host}:{int(s[2][1])}") for s in slots)
        handle.slots = ranges
        for node in dict.fromkeys(n for _, _, n in ranges):
            h, _, p = node.rpartition(":")
            _open(handle, h, int(p))
        return
    raise TargetUnavailable("no cluster node answered: " + "; ".join(errors))


def explain(exc: BaseException, where: str, tls: bool,
            sniff: tuple[str, int, float] | None = None) -> TargetUnavailable:
    """A connection failure as one sentence that says what to do."""
    import ssl

    from redis import exceptions as rex

    if isinstance(exc, TargetUnavailable):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = text.lower()
    if "max number of clients" in low:
        return ServerRefused(f"redis at {where} refuses new connections: {text}")
    if "loading" in low or "masterdown" in low:
        return ServerRefused(f"redis at {where} cannot serve yet: {text}")
    if isinstance(exc, rex.AuthenticationError) or "wrongpass" in low or "noauth" in low or "invalid password" in low:
        return TargetUnavailable(f"redis at {where} refused the credentials: {text} (check username/password)")
    if isinstance(exc, ErrorReply):
        return TargetUnavailable(f"redis at {where}: {exc}")
    if isinstance(exc, (ssl.SSLError,)) or "ssl" in low or "certificate" in low or "wrong version number" in low:
        hint = ("; is the port TLS? use redis:// for a plain port" if "wrong version" in low
                else "; check ca_file / verify")
        return TargetUnavailable(f"TLS to redis at {where} failed: {text}{hint}")
    timed_out = isinstance(exc, (rex.TimeoutError, TimeoutError)) or "timed out" in low or "timeout" in low
    refused = isinstance(exc, ConnectionRefusedError) or "connection refused" in low
    if sniff and not refused and not timed_out and not tls:
        kind = looks_like(*sniff)
        if kind == "tls":
            return TargetUnavailable(f"redis at {where} did not answer as plain Redis ({text}): the port speaks TLS, "
                                     "use rediss://")
        if kind in ("postgresql", "http", "other"):
            what = {"postgresql": "it answers like PostgreSQL", "http": "it answers HTTP",
                    "other": "it does not answer the Redis protocol"}[kind]
            return TargetUnavailable(f"{where} does not look like Redis ({what}; the client said: {text}): check the "
                                     "host and port")
    if timed_out:
        hint = " (a TLS handshake to a plain port hangs like this: is the port TLS?)" if tls else ""
        return TargetUnavailable(f"redis at {where} did not answer in time ({text}){hint}")
    if isinstance(exc, rex.ConnectionError):
        return TargetUnavailable(f"cannot connect to redis at {where}: {text}")
    return TargetUnavailable(f"redis at {where}: {type(exc).__name__}: {text}")


def try_anonymous(handle: RedisHandle) -> tuple[str, str]:
    """Open a second connection without credentials and PING: ("refused" | "accepted" | "restricted", what was said).

    RESP2 sends nothing until the first command (PING answers NOAUTH); RESP3 says HELLO first, and that is refused
    with a longer NOAUTH text.  Both are refusals."""
    host, port = handle.address
    started = time.monotonic()
    client = None
    try:
        client = open_node(host, port, handle.config, handle.endpoint, handle.timeout, credentials=False, db=0,
                           unix_path=handle.endpoint.unix_path)
        with handle._count:
            handle.commands += 1
        answer = client.execute_command("PING")
        return ("accepted", f"PING answered {answer!r} without credentials") if answer in (True, "PONG") else (
            "restricted", f"PING answered {answer!r}")
    except Exception as exc:
        from redis.exceptions import AuthenticationError
        from redis.exceptions import TimeoutError as RedisTimeout

        text = _reply_text(exc) or type(exc).__name__
        low = text.lower()
        # RESP2: PING -> "NOAUTH Authentication required."; RESP3: HELLO -> "NOAUTH HELLO must be called with the
        # client already authenticated ..."; redis-py drops the NOAUTH code and raises AuthenticationError.
        if isinstance(exc, AuthenticationError) or "noauth" in low or "authentication required" in low \
                or "must be called with the client already authenticated" in low:
            return "refused", text
        if "NOPERM" in text:
            return "restricted", text
        if isinstance(exc, (TimeoutError, RedisTimeout)) or time.monotonic() - started >= handle.timeout:
            raise TargetUnavailable(f"the connection without credentials timed out: {text}") from None
        raise explain(exc, f"{host}:{port}", handle.endpoint.tls) from None
    finally:
        if client is not None:
            shut(client)
