"""A readiness plugin that brings its own backend: memcached.

    # targets.yaml                          # checklist.yaml
    memcached: {host: cache, port: 11211}   - id: memcached.memory
                                              title: memcached has at least 64 MiB
                                              level: recommended
                                              probe: memcached.stat
                                              with: {stat: limit_maxbytes, expect: {min: 67108864}}
                                              rationale: ...
"""

from __future__ import annotations

import socket
from typing import Any

from readiness.clients import TargetKind
from readiness.probe import Param, Verdict, failed, passed, probe

# The targets-file section: its settings (validated like the built-ins') and the module that connects.
TARGET = TargetKind("memcached", {
    "host": Param("str", "127.0.0.1", help="memcached host"),
    "port": Param("int", 11211, help="memcached port"),
}, __name__)


class Memcached:
    """One connection; `stats` is the only command sent (read-only)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    def stats(self) -> dict[str, str]:
        self.sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("memcached closed the connection")
            data += chunk
            if data.startswith((b"ERROR", b"SERVER_ERROR", b"CLIENT_ERROR")):
                raise ConnectionError(data.decode(errors="replace").strip())
        out = {}
        for line in data.decode(errors="replace").splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0] == "STAT":
                out[parts[1]] = parts[2]
        return out


def connect(config: dict[str, Any], timeout: float) -> Memcached:
    sock = socket.create_connection((config["host"], config["port"]), timeout=timeout)
    sock.settimeout(timeout)
    return Memcached(sock)


def close(client: Memcached) -> None:
    client.sock.close()


def _stats(ctx: Any) -> dict[str, str]:
    return ctx.fact("stats", lambda client: client.stats())  # fetched once per target, shared by every item


@probe("memcached.stat", target="memcached", params={
    "stat": Param("str", help="a `stats` field, e.g. limit_maxbytes, evictions"),
    "expect": Param("expect", help="matchers the value must satisfy"),
})
def stat(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Any memcached `stats` field judged by `expect`."""
    from readiness.matchers import MISSING

    return p["expect"].judge(p["stat"], _stats(ctx).get(p["stat"], MISSING))


@probe("memcached.no-evictions", target="memcached")
def no_evictions(ctx: Any, p: dict[str, Any]) -> Verdict:
    """memcached has evicted nothing since it started."""
    evictions = _stats(ctx).get("evictions")
    if evictions is None or not evictions.isdigit():
        raise ValueError(f"memcached reported no usable evictions counter ({evictions!r})")
    if int(evictions) == 0:
        return passed("no evictions", evictions=0)
    return failed(f"{evictions} items evicted: memory is too small for the working set", evictions=int(evictions))
