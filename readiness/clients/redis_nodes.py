"""Reaching a Redis target's nodes: one guarded client per node, the master through Sentinel, the primaries of a
cluster, and connection failures told as one sentence that says what to do.

``handle`` below is a ``readiness.clients.redis.RedisHandle`` (typed loosely: that module imports this one).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from readiness.clients.redis_url import Endpoint
from readiness.clients.redis_wire import ErrorReply, guarded, reply_text
from readiness.errors import TargetUnavailable


class ServerRefused(TargetUnavailable):
    """The server answered and refused the session for a reason of its own (full, loading, no master)."""


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
    pool = redis.BlockingConnectionPool(connection_class=guarded(kind), max_connections=1, timeout=timeout,
                                        **kwargs)
    return redis.Redis(connection_pool=pool, protocol=kwargs["protocol"])


def reach(handle: Any) -> None:
    """Open the target's nodes into ``handle`` by its topology; on failure the caller closes the handle."""
    endpoint = handle.endpoint
    if endpoint.topology == "sentinel":
        _open(handle, *_master_from_sentinels(handle))
    elif endpoint.topology == "cluster":
        _open_cluster(handle)
    else:
        _open(handle, *endpoint.hosts[0])


def _open(handle: Any, host: str, port: int) -> None:
    label = handle.endpoint.unix_path or f"{host}:{port}"
    try:
        client = open_node(host, port, handle.config, handle.endpoint, handle.timeout,
                           unix_path=handle.endpoint.unix_path)
        handle.nodes[label] = client
        handle.count_round_trip()
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


def _master_from_sentinels(handle: Any) -> tuple[str, int]:
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
            handle.count_round_trip()
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


def _open_cluster(handle: Any) -> None:
    """The primaries from CLUSTER SLOTS of the first node that answers (redis-py parses the reply); one connection to
    each primary.  RedisCluster itself is not used: its node clients cannot take the guarded connection class, and it
    sends COMMAND, opens clients for every replica, shuffles and re-dials nodes on its own - more than an audit should
    do to a cluster."""
    errors = []
    for host, port in handle.endpoint.hosts:
        label = f"{host}:{port}"
        seed = open_node(host, port, handle.config, handle.endpoint, handle.timeout, db=0)
        try:
            handle.count_round_trip()
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


def try_anonymous(handle: Any) -> tuple[str, str]:
    """Open a second connection without credentials and PING: ("refused" | "accepted" | "restricted", what was said).

    RESP2 sends nothing until the first command (PING answers NOAUTH); RESP3 says HELLO first, and that is refused
    with a longer NOAUTH text.  Both are refusals."""
    host, port = handle.address
    started = time.monotonic()
    client = None
    try:
        client = open_node(host, port, handle.config, handle.endpoint, handle.timeout, credentials=False, db=0,
                           unix_path=handle.endpoint.unix_path)
        handle.count_round_trip()
        answer = client.execute_command("PING")
        return ("accepted", f"PING answered {answer!r} without credentials") if answer in (True, "PONG") else (
            "restricted", f"PING answered {answer!r}")
    except Exception as exc:
        from redis.exceptions import AuthenticationError
        from redis.exceptions import TimeoutError as RedisTimeout

        text = reply_text(exc) or type(exc).__name__
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
