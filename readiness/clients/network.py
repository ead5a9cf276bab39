"""TCP reachability from a viewpoint: connect, classify the outcome, close at once (nothing is sent).

    network: {public_host: observability.example.com, viewpoint: 203.0.113.7, public_ports: [80, 443],
              private_ports: [3003, 8000, 5432, 6379, 8123, 9000]}

``viewpoint`` is a local source address the connecting socket is bound to (the host's public address, or in tests
127.0.0.2), so a service listening on loopback only is seen refusing, as it is from outside.  Without it the public
host name is resolved as this machine resolves it and connected to from the default route.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from readiness.errors import TargetUnavailable

OPEN, REFUSED, TIMEOUT, UNREACHABLE = "open", "refused", "timeout", "unreachable"
MAX_PARALLEL = 32  # connects in flight at once, over every address and port


@dataclass(frozen=True)
class Outcome:
    port: int
    state: str  # open | refused | timeout | unreachable
    detail: str
    seconds: float


def secrets(config: Mapping[str, Any]) -> set[str]:
    return set()  # host names, addresses and ports only


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    viewpoint = config.get("viewpoint")
    if viewpoint:
        try:
            ipaddress.ip_address(str(viewpoint))
        except ValueError:
            problems.append(("viewpoint", "viewpoint must be a local IP address to connect from (e.g. the host's "
                                          "public address), not a host name"))
    for name in ("public_ports", "private_ports"):
        for port in config.get(name) or ():
            if not isinstance(port, int) or not 0 < port < 65536:
                problems.append((name, f"{name} holds {port!r}, which is not a TCP port (1-65535)"))
                break
    overlap = set(config.get("public_ports") or ()) & set(config.get("private_ports") or ())
    if overlap:
        problems.append(("private_ports", f"ports {sorted(overlap)} are listed both as public and as private"))
    return problems


class NetworkHandle:
    opened_total = 0  # every connect made by any handle in this process (for the benchmark)

    def __init__(self, config: Mapping[str, Any], timeout: float):
        self.config, self.timeout = config, timeout
        self.viewpoint = str(config["viewpoint"]) if config.get("viewpoint") else None
        self.connections = 0
        self._lock = threading.Lock()

    def resolve(self, host: str) -> list[str]:
        """The addresses ``host`` resolves to here (IPv4 first); a DNS failure is a TargetUnavailable."""
        family = socket.AF_INET6 if self.viewpoint and ":" in self.viewpoint else \
            socket.AF_INET if self.viewpoint else socket.AF_UNSPEC
        try:
            infos = socket.getaddrinfo(host, None, family, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise TargetUnavailable(f"DNS lookup of {host} failed: {exc.strerror or exc}") from None
        addrs = list(dict.fromkeys(str(info[4][0]) for info in infos))
        return sorted(addrs, key=lambda a: ":" in a)

    def connect_once(self, address: str, port: int, timeout: float, source: str | None = None) -> Outcome:
        """One TCP connect from ``source`` (default: the viewpoint); closed as soon as it is made."""
        source = source if source is not None else self.viewpoint
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with self._lock:
            self.connections += 1
            NetworkHandle.opened_total += 1
        sock = socket.socket(family, socket.SOCK_STREAM)
        started = time.perf_counter()
        try:
            sock.settimeout(timeout)
            if source:
                try:
                    sock.bind((source, 0))
                except OSError as exc:
                    raise TargetUnavailable(f"cannot connect from viewpoint {source}: {exc.strerror or exc} (it "
                                            "must be an address of this machine)") from None
            try:
                sock.connect((address, port))
            except ConnectionRefusedError:
                return Outcome(port, REFUSED, "connection refused", time.perf_counter() - started)
            except TimeoutError:
                return Outcome(port, TIMEOUT, f"no answer within {timeout:g}s", time.perf_counter() - started)
            except OSError as exc:
                if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM):
                    return Outcome(port, UNREACHABLE, exc.strerror or str(exc), time.perf_counter() - started)
                raise TargetUnavailable(f"connecting to {address}:{port} failed: {exc.strerror or exc}") from None
            return Outcome(port, OPEN, "connected", time.perf_counter() - started)
        finally:
            sock.close()

    def connect_many(self, address: str, ports: list[int], timeout: float) -> dict[int, Outcome]:
        """``connect_once`` to every port at the same time, so black-holed ports cost one timeout, not one each."""
        return self.connect_all([address], ports, timeout).get(address, {})

    def connect_all(self, addresses: list[str], ports: list[int], timeout: float,
                    workers: int = MAX_PARALLEL) -> dict[str, dict[int, Outcome]]:
        """Every port of every address, at most ``workers`` connects in flight; each connect waits ``timeout``."""
        from concurrent.futures import ThreadPoolExecutor

        ports = list(dict.fromkeys(ports))
        pairs = [(a, port) for a in dict.fromkeys(addresses) for port in ports]
        if not pairs:
            return {a: {} for a in addresses}
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pairs))),
                                thread_name_prefix="readiness-ports") as pool:
            futures = {pair: pool.submit(self.connect_once, pair[0], pair[1], timeout) for pair in pairs}
            out: dict[str, dict[int, Outcome]] = {a: {} for a in addresses}
            for (address, port), future in futures.items():
                out[address][port] = future.result()
        return out

    def close(self) -> None:
        pass


def datastore_addresses(configs: Mapping[str, Mapping[str, Any]]) -> dict[str, list[tuple[str, int]]]:
    """host:port of each configured datastore (redis, postgres, clickhouse) from its own target's settings.

    Unix sockets are left out (there is no TCP to time); a setting that cannot be parsed raises TargetUnavailable."""
    out: dict[str, list[tuple[str, int]]] = {}
    if "redis" in configs and configs["redis"].get("url"):
        from readiness.clients.redis import parse_url

        ep = parse_url(str(configs["redis"]["url"]))
        if not ep.unix_path:
            out["redis"] = list(dict.fromkeys(ep.hosts))
    if "postgres" in configs and configs["postgres"].get("dsn"):
        from readiness.clients.postgres import dsn_host_port

        host, port = dsn_host_port(str(configs["postgres"]["dsn"]))
        if host and not host.startswith("/"):  # no host: libpq's default unix socket
            out["postgres"] = [(host, port or 5432)]
    if "clickhouse" in configs:
        from readiness.clients.clickhouse import endpoints

        out["clickhouse"] = [(e.host, e.port) for e in endpoints(configs["clickhouse"])]
    return out


def connect(config: dict[str, Any], timeout: float) -> NetworkHandle:
    return NetworkHandle(config, timeout)


def close(handle: NetworkHandle) -> None:
    handle.close()
