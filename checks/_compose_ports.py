"""What a compose file's ``image:`` and ``ports:`` say: the image's name (registry and tag dropped), whether it is a
datastore's, and each published port (short or long syntax, ranges, IPv6) with the host address it binds."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def image_name(image: str) -> str:
    """``docker.io/library/redis:7@sha256:..`` -> ``redis``; ``clickhouse/clickhouse-server:24`` -> its path."""
    ref = image.split("@", 1)[0]
    parts = ref.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if parts and parts[0] == "library":
        parts = parts[1:]
    path = "/".join(parts)
    last = path.rsplit("/", 1)[-1]
    return path[: len(path) - len(last)] + last.split(":", 1)[0]


def is_datastore(image: str, patterns: list[str]) -> bool:
    name = image_name(image).lower()
    base = name.rsplit("/", 1)[-1]
    return any(name == pat or base == pat or base.startswith(pat + "-") or name.startswith(pat) for pat in patterns)


def loopback(host_ip: str) -> bool:
    host = host_ip.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Published:
    """One ``ports:`` entry: the host address and port(s) a user reaches, and the container port(s) behind them."""

    host_ip: str | None   # None: every interface (docker binds 0.0.0.0 and [::])
    host_port: str | None  # "63791", "8000-8010"; None: docker picks a free port
    container: list[int]

    def shown(self) -> str:
        ip = self.host_ip or "0.0.0.0"
        ip = f"[{ip}]" if ":" in ip else ip
        target = str(self.container[0]) + (f"-{self.container[-1]}" if len(self.container) > 1 else "")
        where = f"{ip}:{self.host_port}" if self.host_port else f"{ip} on a port docker picks"
        return f"on {where} (container {target})"


def _range(text: str) -> list[int] | None:
    lo, _, hi = text.strip().partition("-")
    try:
        first, last = int(lo), int(hi or lo)
    except ValueError:
        return None
    if last - first > 1000 or last < first or not 0 < first <= 65535 or last > 65535:
        return None
    return list(range(first, last + 1))


def published(spec: Any, text: str | None) -> Published | None:
    """One ``ports:`` entry, short (``[HOST_IP:][HOST_PORT:]CONTAINER[/PROTO]``, ranges too) or long
    (``target``/``published``/``host_ip``); None when it cannot be read."""
    if isinstance(spec, Mapping):
        container = _range(str(spec.get("target", "")))
        host_ip, published = spec.get("host_ip"), spec.get("published")
        if container is None or (published is not None and _range(str(published)) is None):
            return None
        return Published(str(host_ip) if host_ip else None, str(published) if published not in (None, "") else None,
                         container)
    # a string as interpolated; a number as written (YAML 1.1 reads 22:22 as the number 1342)
    raw = spec if isinstance(spec, str) or text is None else text
    if not isinstance(raw, (str, int)) or isinstance(raw, bool):
        return None
    raw = str(raw)
    raw = raw.split("/", 1)[0].strip()
    host_ip = None
    m = re.match(r"^\[([0-9a-fA-F:.]+)\]:(.*)$", raw)
    if m:
        host_ip, rest = m.group(1), m.group(2)
    else:
        fields = raw.split(":")
        if len(fields) > 3:  # an unbracketed IPv6 address
            host_ip, rest = ":".join(fields[:-2]), ":".join(fields[-2:])
        elif len(fields) == 3:
            host_ip, rest = fields[0], ":".join(fields[1:])
        else:
            rest = raw
    host_port, _, container_text = rest.rpartition(":")
    container = _range(container_text)
    if container is None or (host_port and _range(host_port) is None):
        return None
    return Published(host_ip or None, host_port or None, container)
