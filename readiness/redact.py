"""Secrets never leave the process: one place that blanks them in URLs, target settings and any text we print."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
_SECRET_WORDS = re.compile(r"pass(word)?|secret|token|(^|_)key$|credential|auth", re.I)
# Every pattern below is linear in the length of the text: a match may only start where a scheme, a query
# separator or a word starts (look-behinds), so a 200,000-character key or host name cannot make it backtrack from
# every position.  userinfo runs to the LAST '@' of its token: an unencoded '/', '#' or '@' in a password is still
# inside what is masked.
_URL_USER = re.compile(r"(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]{0,30}://)(?P<user>[^:/@\s]*):", re.I)
_SPACE = re.compile(r"\s")
_QUERY_SECRET = re.compile(
    r"(?P<k>[?&;](?:[a-z_]{0,40}(?:password|secret|token|key)[a-z_]{0,40}))=(?P<v>[^&;#\s]*)", re.I)
_KV_SECRET = re.compile(r"(?P<k>(?:^|(?<=\s))(?:password|sslpassword)\s*=\s*)(?P<v>'[^']*'|[^\s&;]+)", re.I)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_WORDS.search(name))


def userinfo_passwords(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each URL password (scheme://user:PASSWORD@), the password running to the last '@' of its
    token.  One scan: each token is searched once, so the cost stays linear in the length of the text."""
    pos = 0
    while (m := _URL_USER.search(text, pos)) is not None:
        space = _SPACE.search(text, m.end())
        end = space.start() if space else len(text)
        at = text.rfind("@", m.end(), end)
        if at == -1:
            pos = end
            continue
        if at > m.end():
            yield m.end(), at
        pos = at + 1


def _mask_userinfo(text: str) -> str:
    out, pos = [], 0
    for start, end in userinfo_passwords(text):
        out += [text[pos:start], MASK]
        pos = end
    return "".join(out) + text[pos:] if out else text


def redact_text(text: str) -> str:
    """Blank passwords in URLs (user:pw@), secret query parameters and libpq ``password=`` pairs."""
    text = _mask_userinfo(text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['k']}={MASK}", text)
    return _KV_SECRET.sub(lambda m: f"{m['k']}{MASK}", text)


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
            for start, end in userinfo_passwords(value):
                found.add(value[start:end])
                found.add(_unquote(value[start:end]))
            if "://" in value:
                try:
                    query = urlsplit(value).query
                except ValueError:
                    query = ""
                found.update(v for k, v in parse_qsl(query) if is_secret_name(k) and v)
            found.update(m["v"].strip("'") for m in _KV_SECRET.finditer(value))

    visit("", config)
    return {s for s in found if len(s) >= 3}


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


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
