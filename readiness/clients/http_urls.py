"""Where the http target's requests may go: the origin of a URL, a path that stays on it, a redirect that stays on
its host, and the Basic credentials a URL carries.  Messages never repeat a URL (it may hold a password)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from readiness.errors import TargetUnavailable


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def https(self) -> bool:
        return self.scheme == "https"

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.https else 80) else f"{host}:{self.port}"


def parse_origin(url: str, what: str = "base_url") -> Origin:
    """Scheme, host, port and path of an http(s) URL; the message never repeats the URL (it may hold a password)."""
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port
    except ValueError:
        raise TargetUnavailable(f"http {what} is not a valid URL (bad host or port)") from None
    if parts.scheme not in ("http", "https"):
        scheme = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise TargetUnavailable(f"http {what} must start with http:// or https:// (it has {scheme})")
    if not parts.hostname:
        raise TargetUnavailable(f"http {what} names no host (https://host[:port]/)")
    return Origin(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), parts.path or "/")


def basic_auth(parts: Any) -> dict[str, str]:
    """Credentials in the URL (https://user:pw@host/) as HTTP Basic, as browsers and httpx send them."""
    if not parts.username:
        return {}
    import base64

    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def origin_key(url: str) -> tuple[str, str, int]:
    o = parse_origin(url, "URL")
    return o.scheme, o.host.lower(), o.port


def may_follow(current: str, target: str) -> bool:
    """A redirect on the same origin, or the same host upgraded from http to https."""
    try:
        here, there = origin_key(current), origin_key(target)
    except TargetUnavailable:
        return False
    return here == there or (here[0], there[0]) == ("http", "https") and here[1] == there[1]
