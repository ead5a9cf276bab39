"""Secrets never leave the process: one place that blanks them in URLs, target settings and any text we print."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
_SECRET_WORDS = re.compile(r"pass(word)?|secret|token|(^|_)key$|credential|auth", re.I)
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@", re.I)
_QUERY_SECRET = re.compile(
    r"(?P<k>[?&;](?:[a-z_]*(?:password|secret|token|key)[a-z_]*))=(?P<v>[^&;#\s]*)", re.I)
_KV_SECRET = re.compile(r"(?P<k>(?:^|(?<=\s))(?:password|sslpassword)\s*=\s*)(?P<v>'[^']*'|[^\s&;]+)", re.I)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_WORDS.search(name))


def redact_text(text: str) -> str:
    """Blank passwords in URLs (user:pw@), secret query parameters and libpq ``password=`` pairs."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@" if m["pw"] else m.group(0), text)
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
            for m in _USERINFO.finditer(value):
                if m["pw"]:
                    found.add(m["pw"])
                    found.add(_unquote(m["pw"]))
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
    """Replaces known secret values wherever they appear in results: messages, evidence, tracebacks."""

    def __init__(self, secrets: Iterable[str] = ()):
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def text(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return redact_text(text)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self(k) if isinstance(k, str) else k: self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return value
