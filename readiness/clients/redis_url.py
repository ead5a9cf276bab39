"""Redis URLs, parsed without redis-py: every form the audit takes, the credentials they hold, and errors that never
echo a piece of the URL.

    redis://[user:password@]host:6379/0          rediss://... (TLS)          unix:///run/redis.sock
    redis+sentinel://s1:26379,s2:26379/mymaster/0                             (rediss+sentinel:// for TLS)
    redis+cluster://n1:6379,n2:6379,n3:6379                                   (rediss+cluster:// for TLS)

Why not ``redis.connection.parse_url``: ``validate`` and the secret scrubber run without redis-py loaded, the
multi-host forms are not redis-py's, and where redis-py reads the same form it is looser (a db that is not a number is
silently 0, ``user@host`` is a username, an unencoded ``/`` or ``#`` in a password splits the URL, a bad port is echoed
in its error): tests/test_redis_urls.py shows each difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from readiness.errors import TargetUnavailable
from readiness.redact import secret_values

_SCHEMES = {"redis": ("standalone", False), "rediss": ("standalone", True), "unix": ("standalone", False),
            "redis+sentinel": ("sentinel", False), "rediss+sentinel": ("sentinel", True),
            "redis+cluster": ("cluster", False), "rediss+cluster": ("cluster", True)}
_SCHEME_LIST = ", ".join(f"{s}://" for s in _SCHEMES)
_OTHER_SCHEMES = {"http", "https", "tcp", "tls", "ssl", "valkey", "valkeys", "redis-sentinel", "sentinel", "cluster",
                  "postgres", "postgresql", "clickhouse", "clickhouses", "memcached", "amqp", "file", "s3"}


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


@dataclass(frozen=True)
class _Pieces:
    scheme: str
    userinfo: str | None
    location: str  # hosts (or the unix path) up to the path
    path: str
    query: str


def _split(url: str) -> _Pieces:
    """scheme://[userinfo@]hosts[/path][?query][#fragment], by hand: the userinfo ends at the LAST '@' (a password
    may hold '/', '#', '?' or '@' unencoded), hosts are split by commas, IPv6 hosts are bracketed.  urlsplit's netloc
    rules differ between Python releases (3.11.2 refuses a host list with a bracketed IPv6 host)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        raise TargetUnavailable(f"the redis url has no scheme: it must start with one of {_SCHEME_LIST}")
    scheme = scheme.lower()
    if scheme not in _SCHEMES:
        shown = f"{scheme}://" if scheme in _OTHER_SCHEMES else "another scheme"  # never echo unknown text
        raise TargetUnavailable(f"the redis url scheme is {shown}: it must be one of {_SCHEME_LIST}")
    userinfo, at, tail = rest.rpartition("@")
    if not at:
        userinfo, tail = None, rest  # type: ignore[assignment]
    if scheme == "unix":  # unix://[:password@]/run/redis.sock?db=0
        location, _, query = tail.partition("?")
        return _Pieces(scheme, userinfo, location.partition("#")[0], "", query.partition("#")[0])
    end = min((i for i in (tail.find("/"), tail.find("?"), tail.find("#")) if i >= 0), default=len(tail))
    location, remainder = tail[:end], tail[end:]
    remainder = remainder.partition("#")[0]
    path, _, query = remainder.partition("?")
    return _Pieces(scheme, userinfo, location, path, query)


def _credentials(userinfo: str | None) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, sep, password = userinfo.partition(":")
    if not sep:  # redis://secret@host is the old password-only form (redis-py accepts it)
        return None, unquote(user) or None
    return unquote(user) or None, unquote(password) if password else None


def parse_url(url: str) -> Endpoint:
    """Every URL form; errors say what is wrong without echoing pieces of the URL (they may hold a password)."""
    pieces = _split(str(url))
    topology, tls = _SCHEMES[pieces.scheme]
    username, password = _credentials(pieces.userinfo)
    query = dict(parse_qsl(pieces.query))
    # redis-py's from_url takes credentials from the query too (the userinfo wins)
    username, password = username or query.get("username") or None, password or query.get("password") or None
    protocol = int(query["protocol"]) if query.get("protocol", "").isdigit() else None
    if pieces.scheme == "unix":
        if not pieces.location:
            raise TargetUnavailable("the redis url names no socket path (unix:///run/redis.sock)")
        db_text = query.get("db", "0") or "0"
        if not db_text.isdigit():
            raise TargetUnavailable("the redis url's db is not a number")
        return Endpoint(topology, False, (("localhost", 0),), int(db_text), None, username, password,
                        unquote(pieces.location), protocol)
    default_port = 26379 if topology == "sentinel" else 6379
    entries = pieces.location.split(",")
    if not any(e.strip() for e in entries):
        raise TargetUnavailable(f"the redis url names no host ({pieces.scheme}://host:port)")
    hosts = tuple(_host_port(e, default_port, n) for n, e in enumerate(entries, 1))
    segments = [unquote(s) for s in pieces.path.split("/") if s]
    master = None
    if topology == "sentinel":
        if not segments:
            raise TargetUnavailable("a redis+sentinel url needs the master's name: redis+sentinel://h1:26379,"
                                    "h2:26379/mymaster/0")
        master, segments = segments[0], segments[1:]
    db_text = segments[0] if segments else query.get("db", "0")
    if len(segments) > 1 or not str(db_text).isdigit():
        raise TargetUnavailable("the redis url's database (the path after the host) is not a number")
    return Endpoint(topology, tls, hosts, int(db_text), master, username, password, None, protocol)


def _host_port(text: str, default: int, n: int) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [::1]:6379
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise TargetUnavailable(f"host {n} of the redis url has an unclosed or malformed [IPv6] address")
        port = rest[1:]
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:  # a bare name, or a bare IPv6 address without a port
        host, port = text, ""
    if port and not port.isdigit() or port and not 0 < int(port) < 65536:
        raise TargetUnavailable(f"host {n} of the redis url has a port that is not a number from 1 to 65535")
    if not host:
        raise TargetUnavailable(f"host {n} of the redis url is empty")
    return host, int(port) if port else default


def secrets(config: Mapping[str, Any]) -> set[str]:
    """Every credential in a redis target's settings, as written and as decoded, whatever the URL form."""
    out: set[str] = set()
    try:
        for name in ("password", "sentinel_password"):
            if config.get(name) not in (None, ""):
                out.add(str(config[name]))
        url = config.get("url")
        if isinstance(url, str):
            out |= secret_values(url)  # every URL form, the password-only redis://PW@host included
    except Exception:  # never raises: a scrubber must not fail on odd settings
        pass
    return {s for s in out if s}


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for redis settings that can never work; messages never echo pieces of the URL."""
    url = config.get("url")
    if url is None or (isinstance(url, str) and "${" in url):
        return []
    try:
        parse_url(str(url))
    except TargetUnavailable as exc:
        return [("url", str(exc))]
    except Exception:
        return [("url", "the redis url cannot be parsed")]
    return []
