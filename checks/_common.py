"""Small judgements shared by probe modules (not a probe module itself: no entry point)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
              "t": 1000**4, "tb": 1000**4, "p": 1000**5, "pb": 1000**5, "e": 1000**6, "eb": 1000**6, "ki": 1024,
              "kib": 1024, "mi": 1024**2, "mib": 1024**2, "gi": 1024**3, "gib": 1024**3, "ti": 1024**4,
              "tib": 1024**4, "pi": 1024**5, "pib": 1024**5, "ei": 1024**6, "eib": 1024**6}


def parse_size(text: str | int | float) -> int:
    """Bytes in "2Gi", "512Mi", "1.5GB", "1048576" (Redis and config spellings; a Kubernetes quantity, "0.5" CPU
    or "1e3", goes through _kubernetes_facts.quantity)."""
    if isinstance(text, (int, float)):
        return int(text)
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in SIZE_UNITS:
        raise ValueError(f"{text!r} is not a size (e.g. 2Gi, 512Mi, 1GB)")
    return int(float(m.group(1)) * SIZE_UNITS[m.group(2).lower()])


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def is_local(host: str, local_hosts: Iterable[str] = ("localhost", "127.0.0.1", "::1")) -> bool:
    """A unix socket, or one of ``local_hosts`` (other loopback addresses stand for other machines in tests)."""
    return not host or host.startswith("/") or host.strip("[]") in set(local_hosts)


def classify_host(host: str, managed: Sequence[str], bundled: Sequence[str]) -> tuple[str | None, str | None]:
    """("managed" | "bundled" | None, the pattern that matched); managed patterns are tried first."""
    for kind, patterns in (("managed", managed), ("bundled", bundled)):
        for pattern in patterns:
            if re.search(pattern, host, re.I):
                return kind, pattern
    return None, None


def globs_match(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def plain(value: Any) -> Any:
    """A database value fit for matchers: Decimal -> int/float, bytes -> str."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return value


def listing(values: Iterable[Any], limit: int = 8, total: int | None = None) -> str:
    """The first ``limit`` values, and how many more of ``total`` (default: all the values given) there are."""
    values = list(values)
    total = len(values) if total is None else total
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {total - limit} more" if total > limit else "")
