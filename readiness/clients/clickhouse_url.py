"""The clickhouse target's settings without a driver: its URLs (``url`` or ``urls``) as endpoints, the credentials
they carry (for masking) and the settings that can never work (for `readiness validate`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from readiness.clients.clickhouse_sql import ClickHouseError
from readiness.redact import secret_values

DEFAULT_PORT, DEFAULT_TLS_PORT = 9000, 9440

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_AUTHORITY = re.compile(r"(?P<host>\[[0-9A-Fa-f:.%]+\]|[^\s/?#@:\[\]]*)(?::(?P<port>[^/?#]*))?(?P<rest>[/?#].*)?",
                        re.S)
_SCHEMES = {"clickhouse": False, "clickhouses": True}
_EXAMPLE = "clickhouse://user:password@host:9000/db"


@dataclass(frozen=True)
class _Url:
    scheme: str
    user: str | None
    password: str | None  # as written (percent-encoded or not)
    host: str
    port: str | None
    rest: str


def _split(url: str) -> _Url | str:
    """A URL's pieces, or why it is not a URL (never echoing any part of it but a well-formed scheme).

    The user info ends at the last ``@`` that a host follows, so a password may hold unencoded ``/``, ``#``, ``@``."""
    m = _SCHEME.match(url.strip())
    if not m:
        return f"a ClickHouse URL starts with clickhouse:// or clickhouses:// ({_EXAMPLE})"
    scheme, rest = m.group(1).lower(), url.strip()[m.end():]
    user = password = None
    authority = rest
    for i in reversed([i for i, ch in enumerate(rest) if ch == "@"]):
        if _AUTHORITY.fullmatch(rest[i + 1:]):
            user, sep, pw = rest[:i].partition(":")
            password = pw if sep else None
            authority = rest[i + 1:]
            break
    a = _AUTHORITY.fullmatch(authority)
    if a is None:
        return f"the host part of the ClickHouse URL is not host:port ({_EXAMPLE})"
    return _Url(scheme, user, password, a["host"].strip("[]"), a["port"], a["rest"] or "")


def _url_problem(parts: _Url | str) -> str | None:
    if isinstance(parts, str):
        return parts
    if parts.scheme in ("http", "https"):
        return (f"{parts.scheme}:// is ClickHouse's HTTP interface; the audit speaks the native protocol: "
                "clickhouse://host:9000 (clickhouses://host:9440 for TLS)")
    if parts.scheme not in _SCHEMES:
        return f"a ClickHouse URL starts with clickhouse:// or clickhouses://, not {parts.scheme}://"
    if not parts.host:
        return f"a ClickHouse URL needs a host: {_EXAMPLE}"
    if parts.port is not None and parts.port != "" and not (parts.port.isdigit() and 0 < int(parts.port) < 65536):
        return "the port of the ClickHouse URL is not a number from 1 to 65535"
    return None


def _urls(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, URL) for every URL of the target."""
    out = []
    if isinstance(config.get("urls"), (list, tuple)):
        out += [("urls", u) for u in config["urls"] if isinstance(u, str)]
    if isinstance(config.get("url"), str) and config["url"]:
        out.append(("url", config["url"]))
    return out


def secrets(config: Mapping[str, Any]) -> set[str]:
    """Every credential of a clickhouse target: the password field and each URL's password (as written and decoded,
    and secret query parameters), whatever form the URL takes.  Never raises."""
    found: set[str] = set()
    try:
        if config.get("password") not in (None, ""):
            found.add(str(config["password"]))
        for _, url in _urls(config):
            found |= secret_values(url)
            parts = _split(url)
            if isinstance(parts, _Url):
                if parts.password:  # the password as the client itself reads it
                    found.update({parts.password, unquote(parts.password)})
            elif "@" in url:  # not a URL we can read: everything that could be user info is a secret
                info = url.split("://", 1)[-1].rpartition("@")[0]
                found.update(x for x in (info, info.partition(":")[2]) if x)
    except Exception:  # never raise: masking must not break a run
        pass
    return found


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for settings of a clickhouse target that can never work.  Never raises."""
    try:
        urls = _urls(config)
        if not urls:
            return [("url", f"the clickhouse target needs 'url' (one node) or 'urls' (one per node): {_EXAMPLE}")]
        many = sum(1 for f, _ in urls if f == "urls") > 1
        out = []
        for i, (name, url) in enumerate(u for u in urls if u[0] == "urls"):
            problem = _url_problem(_split(url))
            if problem:
                out.append((name, f"URL {i + 1}: {problem}" if many else problem))
        for name, url in urls:
            if name == "url":
                problem = _url_problem(_split(url))
                if problem:
                    out.append((name, problem))
        return out
    except Exception:
        return []


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    user: str
    password: str
    database: str
    secure: bool
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"


def parse_url(url: str, config: Mapping[str, Any]) -> Endpoint:
    parts = _split(url)
    problem = _url_problem(parts)
    if problem or not isinstance(parts, _Url):
        raise ClickHouseError(problem or "bad ClickHouse URL")
    secure = _SCHEMES[parts.scheme]
    path, _, query = parts.rest.partition("#")[0].partition("?")
    database = unquote(path.lstrip("/")) or config.get("database") or "default"
    return Endpoint(
        host=parts.host, port=int(parts.port) if parts.port else (DEFAULT_TLS_PORT if secure else DEFAULT_PORT),
        user=unquote(parts.user) if parts.user else (config.get("user") or "default"),
        password=str(config["password"]) if config.get("password") is not None else unquote(parts.password or ""),
        database=database, secure=secure, options=dict(parse_qsl(query)),
    )


def endpoints(config: Mapping[str, Any]) -> list[Endpoint]:
    urls = [u for _, u in _urls(config)]
    if not urls:
        raise ClickHouseError("the clickhouse target needs 'url' (one node) or 'urls' (one per node)")
    out: list[Endpoint] = []
    for url in urls:
        ep = parse_url(url, config)
        if ep.name not in {e.name for e in out}:
            out.append(ep)
    return out
