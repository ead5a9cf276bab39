"""Strict-Transport-Security as a browser reads it (RFC 6797 6.1, 8.1): only the first header counts, and a header
with a repeated directive or a max-age that is not digits is ignored whole, so it protects nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@dataclass(frozen=True)
class Hsts:
    max_age: int | None  # None: the header is one a browser ignores (see ``problem``)
    include_subdomains: bool
    problem: str | None


def parse_hsts(joined: str) -> Hsts:
    """``joined`` is the header's value, repeats joined with ", " (readiness.clients.http): judge the first only."""
    first = joined.split(",")[0]  # no HSTS directive value may hold a comma, so a comma starts a repeat
    seen: dict[str, str | None] = {}
    for part in first.split(";"):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        name = name.strip().lower()
        if not _TOKEN.fullmatch(name):
            return Hsts(None, False, f"directive {part!r} is malformed")
        if name in seen:
            return Hsts(None, False, f"directive {name} appears twice")
        seen[name] = value.strip() if eq else None
    age = seen.get("max-age")
    if age is None:
        return Hsts(None, False, "no max-age")
    digits = age[1:-1] if len(age) >= 2 and age[0] == age[-1] == '"' else age
    if not digits.isascii() or not digits.isdigit():
        return Hsts(None, False, f"max-age {age!r} is not a number of seconds")
    return Hsts(int(digits), "includesubdomains" in seen, None)
