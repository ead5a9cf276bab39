"""Redis for the probes: ``RedisHandle``, one target's nodes behind read commands only.

Each node gets a pool of exactly one connection (redis-py's ``BlockingConnectionPool``): every path - ``call``,
``batch``, ``scan``, the redis-py read methods offered to plugins - waits its turn for that connection, so concurrent
callers never read each other's replies.  Roles live beside this module: URLs in ``redis_url`` (no redis-py), the
read-only guard and error replies in ``redis_wire``, topology and connection failures in ``redis_nodes``.  redis-py
is imported inside functions only, so ``readiness --help`` and ``validate`` never load it.

What ``RedisHandle`` offers a plugin (``ctx.client``):
    call(node, *args) / batch(node, [args, ...])   read commands on one node; an error reply raises ``ErrorReply``
    each(*args)                                      one command on every node (the master, or every cluster primary)
    scan(limit) / per_key(keys_by_node, *commands)   bounded SCAN; per-key commands in one round trip per node
    nodes, primary, node_for(key), endpoint          the topology
    llen(key), ttl(key), info(section), config_get(name) ...   redis-py's read methods on the primary
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any, Protocol

from readiness.clients.redis_nodes import ServerRefused, explain, reach, shut, try_anonymous
from readiness.clients.redis_url import Endpoint, config_problems, parse_url, secrets
from readiness.clients.redis_wire import (
    HANDSHAKE_COMMANDS,
    READ_COMMANDS,
    ErrorReply,
    ReadOnlyViolation,
    check_read_only,
    command_name,
    display,
)

# The names plugins, checks and tests import from here.
__all__ = ["HANDSHAKE_COMMANDS", "READ_COMMANDS", "Endpoint", "ErrorReply", "NoAnswer", "ReadOnlyViolation",
           "RedisClient", "RedisHandle", "ServerRefused", "close", "command_name", "config_problems", "connect",
           "display", "parse_url", "secrets", "try_anonymous"]


class NoAnswer(TimeoutError):
    """A node did not answer within the session's timeout (frozen, black-holed, or busy with an earlier command)."""


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
        self._lock = threading.Lock()

    def count_round_trip(self) -> None:
        with self._lock:
            self.commands += 1

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

    @contextmanager
    def _faults(self, node: str) -> Iterator[None]:
        """redis-py's timeouts and dropped connections as one sentence naming the node (a timeout stays a
        TimeoutError, so the runner fails the session on the first one)."""
        from redis import exceptions as rex

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
        self.count_round_trip()
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
        """Up to ``limit`` key names per node with redis-py's ``scan_iter`` (SCAN, never KEYS); and whether every
        node was scanned to the end.  Key names that are not UTF-8 keep their bytes as surrogates (``display`` shows
        them as \\xNN).  An error reply (NOPERM, LOADING ...) raises ``ErrorReply``."""
        from redis.exceptions import BusyLoadingError, ResponseError

        found: dict[str, list[str]] = {}
        complete = True
        for node in self.nodes:
            client = self._client(node)
            try:
                with self._faults(node):
                    pages = type(client).scan_iter(_Counted(client, self.count_round_trip), match=match,
                                                   count=max(1, min(count, limit)))
                    keys = list(islice(pages, limit + 1))  # one more than the limit tells a cut scan
            except (ResponseError, BusyLoadingError) as exc:
                raise ErrorReply(node, ("SCAN",), exc) from None
            complete = complete and len(keys) <= limit
            found[node] = keys[:limit]
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


class _Counted:
    """A node client as ``scan_iter`` sees it, counting each SCAN page as a round trip (for the benchmark)."""

    def __init__(self, client: Any, count: Any):
        self._client, self._count = client, count

    def scan(self, *args: Any, **kwargs: Any) -> Any:
        self._count()
        return self._client.scan(*args, **kwargs)


def connect(config: Mapping[str, Any], timeout: float) -> RedisHandle:
    handle = RedisHandle(parse_url(str(config["url"])), config, timeout)
    try:
        reach(handle)
    except BaseException:
        handle.close()
        raise
    return handle


def close(handle: RedisHandle) -> None:
    handle.close()
