"""Redis connections for the probes: every URL form, one connection per node, and read commands only.

    redis://[user:password@]host:6379/0          rediss://... (TLS)          unix:///run/redis.sock
    redis+sentinel://s1:26379,s2:26379/mymaster/0                             (rediss+sentinel:// for TLS)
    redis+cluster://n1:6379,n2:6379,n3:6379                                   (rediss+cluster:// for TLS)

Sentinel and Cluster are resolved here (the master through the Sentinels; the primaries through CLUSTER SLOTS), so
probes see the same ``RedisHandle`` whatever the topology.  Every command goes through ``RedisHandle.call``, which
refuses anything outside a list of read commands: the audit never writes to a Redis it inspects.  redis-py is imported
inside functions only, so ``readiness --help`` and ``validate`` never load it.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from readiness.context import TargetUnavailable

# Commands (and subcommands) the audit may send.  SELECT only switches the connection's database.
READ_COMMANDS = frozenset({
    "PING", "INFO", "SCAN", "TYPE", "TTL", "PTTL", "LLEN", "ZCARD", "SCARD", "XLEN", "HLEN", "EXISTS", "DBSIZE",
    "ROLE", "SELECT", "CONFIG GET", "CLUSTER INFO", "CLUSTER SLOTS", "CLUSTER NODES",
    "SENTINEL MASTER", "SENTINEL REPLICAS", "SENTINEL SLAVES", "SENTINEL SENTINELS", "SENTINEL CKQUORUM",
    "SENTINEL GET-MASTER-ADDR-BY-NAME",
})
_SUBCOMMANDS = {"CONFIG", "CLUSTER", "SENTINEL"}
_SCHEMES = {"redis": ("standalone", False), "rediss": ("standalone", True), "unix": ("standalone", False),
            "redis+sentinel": ("sentinel", False), "rediss+sentinel": ("sentinel", True),
            "redis+cluster": ("cluster", False), "rediss+cluster": ("cluster", True)}


class ServerRefused(TargetUnavailable):
    """The server answered and refused the session for a reason of its own (full, loading, no master)."""


def command_name(args: Sequence[Any]) -> str:
    name = str(args[0]).upper()
    if name in _SUBCOMMANDS and len(args) > 1:
        name = f"{name} {str(args[1]).upper()}"
    return name


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


def parse_url(url: str) -> Endpoint:
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise TargetUnavailable(f"redis url is not a URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise TargetUnavailable(f"redis url scheme {scheme + '://' if scheme else '(none)'} is not one of "
                                + ", ".join(f"{s}://" for s in _SCHEMES))
    topology, tls = _SCHEMES[scheme]
    netloc = parts.netloc
    userinfo, _, hostpart = netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, sep, pw = userinfo.partition(":")
        username, password = (unquote(user) or None), (unquote(pw) if sep else None)
        if not sep:  # redis://secret@host is the old password-only form
            username, password = None, unquote(user) or None
    query = dict(parse_qsl(parts.query))
    protocol = int(query["protocol"]) if query.get("protocol", "").isdigit() else None
    if scheme == "unix":
        db = int(query.get("db", "0") or 0)
        return Endpoint(topology, False, (("localhost", 0),), db, None, username, password, parts.path, protocol)
    default_port = 26379 if topology == "sentinel" else 6379
    hosts = tuple(_host_port(h, default_port) for h in hostpart.split(",") if h.strip())
    if not hosts:
        raise TargetUnavailable(f"redis url names no host ({scheme}://host:port)")
    path = [p for p in parts.path.split("/") if p]
    master = None
    if topology == "sentinel":
        if not path:
            raise TargetUnavailable("redis+sentinel url needs the master's name: redis+sentinel://h1:26379,h2:26379/"
                                    "mymaster/0")
        master, path = unquote(path[0]), path[1:]
    db_text = path[0] if path else query.get("db", "0")
    if not str(db_text).isdigit():
        raise TargetUnavailable(f"redis url database {db_text!r} is not a number")
    return Endpoint(topology, tls, hosts, int(db_text), master, username, password, None, protocol)


def _host_port(text: str, default: int) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [::1]:6379
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if port and not port.isdigit():
        raise TargetUnavailable(f"redis url port {port!r} is not a number")
    return host, int(port) if port else default


class RedisHandle:
    """One target: a single connection per node, the topology it was reached through, and read-only calls."""

    def __init__(self, endpoint: Endpoint, config: dict[str, Any], timeout: float):
        self.endpoint, self.config, self.timeout = endpoint, config, timeout
        self.nodes: dict[str, Any] = {}  # "host:port" -> redis.Redis with one connection
        self.sentinels: dict[str, Any] = {}  # sentinel topology: the Sentinels that answered
        self.slots: list[tuple[int, int, str]] = []  # cluster: (first, last, node)
        self.commands = 0  # round trips sent, for the benchmark
        self._locks: dict[str, threading.Lock] = {}

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
        method whose command is not a read (set, delete, config_set ...) does not exist here."""
        if name.startswith("_") or command_name(name.upper().split("_", 1)) not in READ_COMMANDS:
            raise AttributeError(f"{type(self).__name__} offers read commands only; {name!r} is not one")
        return getattr(self.nodes[self.primary], name)

    def call(self, node: str, *args: Any) -> Any:
        return self.batch(node, [args])[0]

    def batch(self, node: str, commands: Iterable[Sequence[Any]]) -> list[Any]:
        """Send commands to one node in one round trip; a command's error is returned in its place."""
        from redis.exceptions import ResponseError

        commands = [tuple(c) for c in commands]
        for c in commands:
            if command_name(c) not in READ_COMMANDS:
                raise PermissionError(f"readiness sends read commands only; refused to send {command_name(c)}")
        if not commands:
            return []
        client = self.nodes.get(node) or self.sentinels[node]
        with self._locks.setdefault(node, threading.Lock()):
            conn = client.connection
            self.commands += 1
            if len(commands) == 1:
                return [client.execute_command(*commands[0])]
            conn.send_packed_command(conn.pack_commands(commands))
            out: list[Any] = []
            for _ in commands:
                try:
                    out.append(conn.read_response())
                except ResponseError as exc:
                    out.append(exc)
            return out

    def each(self, *args: Any) -> dict[str, Any]:
        """One command on every node (the master, or every cluster primary)."""
        return {node: self.call(node, *args) for node in self.nodes}

    def node_for(self, key: str) -> str:
        if not self.slots:
            return self.primary
        from redis.crc import key_slot

        slot = key_slot(key.encode())
        return next((node for first, last, node in self.slots if first <= slot <= last), self.primary)

    def scan(self, limit: int, count: int = 1000, match: str | None = None) -> tuple[dict[str, list[str]], bool]:
        """Up to ``limit`` key names per node with SCAN (never KEYS); and whether every node was scanned to the end."""
        found: dict[str, list[str]] = {}
        complete = True
        for node in self.nodes:
            keys: list[str] = []
            cursor = 0
            while True:
                args: list[Any] = ["SCAN", cursor, "COUNT", max(1, min(count, limit))]
                if match:
                    args[2:2] = ["MATCH", match]
                cursor, batch = self.call(node, *args)
                cursor = int(cursor)
                keys.extend(batch)
                if cursor == 0:
                    break
                if len(keys) >= limit:
                    complete = False
                    break
            found[node] = keys[:limit] if len(keys) > limit else keys
            complete = complete and len(keys) <= limit
        return found, complete

    def per_key(self, keys_by_node: dict[str, list[str]], *commands: str) -> dict[str, list[Any]]:
        """For each key, the answers to ``commands`` (e.g. TYPE, TTL), one round trip per node."""
        out: dict[str, list[Any]] = {}
        for node, keys in keys_by_node.items():
            answers = self.batch(node, [(c, k) for k in keys for c in commands])
            for i, key in enumerate(keys):
                out[key] = answers[i * len(commands):(i + 1) * len(commands)]
        return out

    def close(self) -> None:
        for client in [*self.nodes.values(), *self.sentinels.values()]:
            try:
                client.close()
            except Exception:  # best effort: the verdicts are made
                pass


def _quiet_kwargs(cls: Any) -> dict[str, Any]:
    """Keep redis-py from sending CLIENT SETINFO / maintenance handshakes: the audit sends read commands only."""
    params = inspect.signature(cls.__init__).parameters
    out: dict[str, Any] = {}
    if "driver_info" in params:
        out["driver_info"] = None
    elif "lib_name" in params:
        out["lib_name"], out["lib_version"] = None, None
    if "maint_notifications_config" in params:
        from redis.maint_notifications import MaintNotificationsConfig

        out["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
    return out


def open_node(host: str, port: int, config: dict[str, Any], endpoint: Endpoint, timeout: float, *,
              credentials: bool = True, db: int | None = None, unix_path: str | None = None) -> Any:
    """One connection to one node (or Sentinel), with TLS as configured; raises on failure."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    kwargs: dict[str, Any] = {
        "socket_timeout": timeout, "socket_connect_timeout": timeout, "decode_responses": True,
        "single_connection_client": True, "retry": Retry(NoBackoff(), 0), "db": endpoint.db if db is None else db,
        "protocol": config.get("protocol") or endpoint.protocol or 2, **_quiet_kwargs(redis.Redis),
    }
    if unix_path:
        kwargs["unix_socket_path"] = unix_path
    else:
        kwargs.update(host=host, port=port)
    if credentials:
        kwargs["username"] = config.get("username") or endpoint.username
        kwargs["password"] = config.get("password") or endpoint.password
    if endpoint.tls:
        verify = config.get("verify", True) is not False
        kwargs.update(ssl=True, ssl_ca_certs=config.get("ca_file"), ssl_certfile=config.get("cert_file"),
                      ssl_keyfile=config.get("key_file"), ssl_cert_reqs="required" if verify else "none",
                      ssl_check_hostname=verify)
    return redis.Redis(**kwargs)


def connect(config: dict[str, Any], timeout: float) -> RedisHandle:
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
        handle.call(label, "PING")
    except Exception as exc:
        said = _greeting(host, port, handle.timeout) if not handle.endpoint.tls and not handle.endpoint.unix_path \
            else None
        if said and "max number of clients" in said:  # the refusal raced our PING and was lost in a reset
            raise ServerRefused(f"redis at {label} refuses new connections: {said}") from None
        raise explain(exc, label, handle.endpoint.tls) from None


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


def _master_from_sentinels(handle: RedisHandle) -> tuple[str, int]:
    endpoint, config = handle.endpoint, handle.config
    sentinel_config = {**config, "username": None, "password": config.get("sentinel_password")}
    bare = Endpoint("standalone", endpoint.tls, (), 0)
    errors = []
    for host, port in endpoint.hosts:
        label = f"{host}:{port}"
        try:
            client = open_node(host, port, sentinel_config, bare, handle.timeout, credentials=True)
            answer = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", endpoint.master)
            handle.commands += 1
        except Exception as exc:
            errors.append(f"{label}: {explain(exc, label, endpoint.tls)}")
            continue
        handle.sentinels[label] = client
        if answer:
            return str(answer[0]), int(answer[1])
        errors.append(f"{label}: does not know a master named {endpoint.master!r}")
    if handle.sentinels and all("does not know" in e for e in errors):
        raise TargetUnavailable(f"no Sentinel knows a master named {endpoint.master!r} ({'; '.join(errors)}): check "
                                "the name against `sentinel monitor` (SENTINEL MASTERS)")
    raise TargetUnavailable("no Sentinel answered: " + "; ".join(errors))


def _open_cluster(handle: RedisHandle) -> None:
    errors = []
    for host, port in handle.endpoint.hosts:
        label = f"{host}:{port}"
        try:
            seed = open_node(host, port, handle.config, handle.endpoint, handle.timeout, db=0)
            slots = seed.execute_command("CLUSTER", "SLOTS")
            handle.commands += 1
        except Exception as exc:
            errors.append(str(explain(exc, label, handle.endpoint.tls)))
            continue
        seed.close()
        if not slots:
            raise ServerRefused(f"{label} is not serving any cluster slot (CLUSTER SLOTS is empty)")
        ranges = sorted((int(s[0]), int(s[1]), f"{s[2][0] or host}:{int(s[2][1])}") for s in slots)
        handle.slots = ranges
        for node in dict.fromkeys(n for _, _, n in ranges):
            h, _, p = node.rpartition(":")
            _open(handle, h, int(p))
        return
    raise TargetUnavailable("no cluster node answered: " + "; ".join(errors))


def explain(exc: BaseException, where: str, tls: bool) -> TargetUnavailable:
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
    if isinstance(exc, (ssl.SSLError,)) or "ssl" in low or "certificate" in low or "wrong version number" in low:
        hint = ("; is the port TLS? use redis:// for a plain port" if "wrong version" in low
                else "; check ca_file / verify")
        return TargetUnavailable(f"TLS to redis at {where} failed: {text}{hint}")
    if isinstance(exc, (rex.TimeoutError, TimeoutError)) or "timed out" in low or "timeout" in low:
        hint = " (a TLS handshake to a plain port hangs like this: is the port TLS?)" if tls else ""
        return TargetUnavailable(f"redis at {where} did not answer in time ({text}){hint}")
    if not tls and ("closed by server" in low or "reset by peer" in low):
        return TargetUnavailable(f"redis at {where} closed the connection: {text} (if the port expects TLS, use "
                                 "rediss://)")
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
        handle.commands += 1
        answer = client.execute_command("PING")
        return ("accepted", f"PING answered {answer!r} without credentials") if answer in (True, "PONG") else (
            "restricted", f"PING answered {answer!r}")
    except Exception as exc:
        from redis.exceptions import AuthenticationError

        text = str(exc).strip() or type(exc).__name__
        low = text.lower()
        # RESP2: PING -> "NOAUTH Authentication required."; RESP3: HELLO -> "NOAUTH HELLO must be called with the
        # client already authenticated ..."; redis-py drops the NOAUTH code and raises AuthenticationError.
        if isinstance(exc, AuthenticationError) or "noauth" in low or "authentication required" in low \
                or "must be called with the client already authenticated" in low:
            return "refused", text
        if "NOPERM" in text:
            return "restricted", text
        if isinstance(exc, TimeoutError) or time.monotonic() - started >= handle.timeout:
            raise TargetUnavailable(f"the connection without credentials timed out: {text}") from None
        raise explain(exc, f"{host}:{port}", handle.endpoint.tls) from None
    finally:
        if client is not None:
            try:
                client.close()
            except Exception:
                pass
