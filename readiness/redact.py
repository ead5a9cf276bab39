"""Secrets never leave the process: one place that finds them in URLs, target settings and any text we print."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote, unquote_plus

from readiness.lazyre import LazyPattern

MASK = "***"
_SECRET_WORDS = LazyPattern(r"pass(word)?|secret|token|(^|_)key$|credential|auth", re.I)
# Every pattern below is linear in the length of the text: a match may only start where a scheme, a query
# separator or a word starts (look-behinds), and each token is scanned once, so a 200,000-character key or host
# name cannot make it backtrack from every position.  userinfo runs to the LAST '@' of its token: an unencoded '/',
# '#' or '@' in a password is still inside what is masked.
_URL_USER = LazyPattern(r"(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]{0,30})://(?P<user>[^:/@\s]*)(?P<sep>[:@]?)", re.I)
# Scheme-less userinfo (LangSmith's POSTGRES_DATABASE_URI=user:password@host:5432/db): a token that starts with a
# user name and a ':' and whose last '@' is followed by a host (and port) that ends the token or its authority.
_BARE_USER = LazyPattern(r"(?<![^\s\"'=(\[,;<>`])(?P<user>[A-Za-z0-9._~%!$&*+-]{1,256}):(?!//)")
_HOST_AFTER = LazyPattern(
    r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?(?=[/?#,;\"')\]]|$)")
_TOKEN_END = LazyPattern(r"[\s\"'`<>]")
_SPACE = LazyPattern(r"\s")
# A scheme whose user-only userinfo is the credential: redis://PASSWORD@host (redis-py), https://TOKEN@host.
_USER_IS_SECRET = frozenset({"redis", "rediss", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster",
                             "valkey", "valkeys", "unix", "http", "https"})
_QUERY_SECRET = LazyPattern(
    r"(?P<k>[?&;](?:[a-z_.-]{0,40}(?:pass|pwd|secret|token|key|signature|credential|auth)[a-z_.-]{0,40}))=(?P<v>[^&;#\s]*)",
    re.I)
_KV_SECRET = LazyPattern(r"(?P<k>(?:^|(?<=\s))(?:password|sslpassword)\s*=\s*)(?P<v>'[^']*'|[^\s&;]+)", re.I)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_WORDS.search(name))


def _userinfo(text: str, users: bool = False) -> Iterator[tuple[int, int]]:
    """scheme://user:PASSWORD@host, and the user-only scheme://PASSWORD@host of redis (whose unencoded password may
    hold '/', '#' or '?': redis-py reads all of it up to the last '@') and of http(s) (a token)."""
    pos = 0
    while (m := _URL_USER.search(text, pos)) is not None:
        space = _SPACE.search(text, m.end())
        end = space.start() if space else len(text)
        at = text.rfind("@", m.start("user"), end)
        if at == -1:
            pos = end
            continue
        scheme = m["scheme"].lower()
        if m["sep"] == ":" and at > m.end():
            yield m.end(), at
            if users and m["user"]:  # an S3 endpoint's user is its access key
                yield m.start("user"), m.end("user")
        elif scheme in _USER_IS_SECRET and ":" not in text[m.start("user"):at] and at > m.start("user"):
            if scheme.startswith(("redis", "valkey", "unix")) or m["sep"] == "@":
                yield m.start("user"), at
        pos = at + 1


def _bare_userinfo(text: str) -> Iterator[tuple[int, int]]:
    """user:PASSWORD@host[:port][/...] without a scheme (the password runs to the token's last '@')."""
    pos = 0
    while (m := _BARE_USER.search(text, pos)) is not None:
        stop = _TOKEN_END.search(text, m.end())
        end = stop.start() if stop else len(text)
        at = text.rfind("@", m.end(), end)
        if at > m.end() and _HOST_AFTER.match(text, at + 1, end):
            yield m.end(), at
        pos = max(at + 1, m.end()) if at != -1 else end


def _query(text: str) -> Iterator[tuple[int, int]]:
    for m in _QUERY_SECRET.finditer(text):
        if m["v"]:
            yield m.start("v"), m.end("v")


def _kv(text: str) -> Iterator[tuple[int, int]]:
    for m in _KV_SECRET.finditer(text):
        yield m.start("v"), m.end("v")


def secret_spans(text: str, users: bool = False) -> list[tuple[int, int]]:
    """(start, end) of every credential the text carries in a URL or DSN, sorted and merged: URL userinfo with or
    without a scheme (multi-host URLs and unencoded '/', '#', '@' in the password included), secret query
    parameters (password=, secret=, token=, ...key=), libpq ``password=`` pairs.  The one place that knows.
    ``users``: the user names of scheme://user:password@ URLs too (where the user is a key, as on S3)."""
    spans = sorted({*_userinfo(text, users), *_bare_userinfo(text), *_query(text), *_kv(text)})
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def secret_values(text: str, users: bool = False) -> set[str]:
    """Every credential of ``secret_spans`` as written and as decoded (a server or a library may echo either)."""
    found: set[str] = set()
    for start, end in secret_spans(text, users):
        raw = text[start:end]
        found |= {raw, raw.strip("'"), unquote(raw), unquote_plus(raw)}
    return {s for s in found if s}


def redact_text(text: str) -> str:
    """Blank every credential ``secret_spans`` finds (URL passwords with or without a scheme, secret query
    parameters, libpq ``password=`` pairs)."""
    spans = secret_spans(text)
    if not spans:
        return text
    out, pos = [], 0
    for start, end in spans:
        out += [text[pos:start], MASK]
        pos = end
    return "".join(out) + text[pos:]


def redact_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A target's settings fit to show: secret fields masked, credentials in URLs masked."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if value is None:
            continue
        if is_secret_name(key) and not isinstance(value, bool):
            out[key] = MASK
        elif isinstance(value, str):
            out[key] = redact_text(value)
        elif isinstance(value, Mapping):
            out[key] = redact_config(value)
        elif isinstance(value, list):
            out[key] = [redact_text(v) if isinstance(v, str) else v for v in value]
        else:
            out[key] = value
    return out


def secrets_in(config: Mapping[str, Any]) -> set[str]:
    """Every secret value a target holds: secret fields, URL passwords, secret query parameters."""
    found: set[str] = set()

    def visit(key: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                visit(str(k), v)
        elif isinstance(value, list):
            for v in value:
                visit(key, v)
        elif isinstance(value, str) and value:
            if is_secret_name(key):
                found.add(value)
            found.update(secret_values(value))

    visit("", config)
    return {s for s in found if len(s) >= 3}


class Scrubber:
    """Replaces known secret values wherever they appear in results: messages, evidence, tracebacks.

    One pass of one alternation (longest first) over the text: linear in its length, whatever the number of
    secrets."""

    def __init__(self, secrets: Iterable[str] = ()):
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._any = re.compile("|".join(re.escape(s) for s in self.secrets)) if self.secrets else None

    def text(self, text: str) -> str:
        if self._any is not None:
            text = self._any.sub(MASK, text)
        return redact_text(text)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self(k) if isinstance(k, str) else k: self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return value
