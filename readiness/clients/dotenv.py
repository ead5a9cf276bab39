"""Env files and compose interpolation as docker compose reads them, each value kept with where it was written.

``parse_env``: KEY=VALUE, ``export`` allowed, '#' comments, quotes (a double-quoted value may span lines).
``interpolate``: ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+alt}``,
``$VAR`` and ``$$``.  Pure Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from readiness.errors import ConfigError, Problem
from readiness.yamlsrc import map_strings

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*$")
_VAR = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{|\$([A-Za-z_][A-Za-z0-9_]*)")
_ESCAPE = re.compile(r"\\(.)", re.S)


def _closing(text: str, quote: str) -> int:
    """Where the quoted value ends: compose's rule (compose-spec/godotenv parser.go, extractVarValue) is the first
    quote that does not follow a backslash, in single and double quotes alike."""
    at = text.find(quote, 1)
    while at != -1 and text[at - 1] == "\\":
        at = text.find(quote, at + 1)
    return at


def _unescape(m: re.Match[str]) -> str:
    """A backslash escape in a double-quoted value, as compose expands it (expandEscapes, then expandVariables for
    \\$): \\n and \\r are line breaks, any other \\X is X (so \\" is a quote and \\\\ a backslash)."""
    c = m.group(1)
    return {"n": "\n", "r": "\r"}.get(c, c)


@dataclass(frozen=True)
class Loc:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column}


@dataclass(frozen=True)
class Setting:
    """One variable as written: in the env file, or in a compose service's ``environment:``."""

    key: str
    value: str
    loc: Loc
    source: str  # "env file" or "compose service <name>"


def parse_env(text: str, path: str, shown: str) -> dict[str, Setting]:
    """A dotenv file as docker compose reads it: KEY=VALUE, ``export`` allowed, '#' comments, quotes."""
    out: dict[str, Setting] = {}
    problems: list[Problem] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        i += 1
        stripped = raw.lstrip()
        indent = len(raw) - len(stripped)
        if not stripped or stripped.startswith("#"):
            continue
        body = stripped[7:].lstrip() if stripped.startswith("export ") else stripped
        offset = indent + (len(stripped) - len(body))
        key, sep, rest = body.partition("=")
        key = key.rstrip()
        if not sep or not _NAME.match(key):
            what = "a line without '='" if not sep else "not a variable name"
            problems.append(Problem(path, lineno, offset + 1, f"{what}: env files hold KEY=VALUE lines"))
            continue
        col = offset + len(body) - len(rest) + 1
        lead = len(rest) - len(rest.lstrip())
        value_text = rest.lstrip()
        col += lead
        if value_text[:1] in ("'", '"'):
            quote = value_text[0]
            closing = _closing(value_text, quote)
            # a double-quoted value may run over several lines
            while closing == -1 and quote == '"' and i < len(lines) and i - lineno < 1000:
                value_text += "\n" + lines[i]
                i += 1
                closing = _closing(value_text, quote)
            if closing == -1:
                problems.append(Problem(path, lineno, col, f"unterminated {quote} quote"))
                continue
            value = value_text[1:closing]
            if quote == '"':
                value = _ESCAPE.sub(_unescape, value)
            col += 1
        else:
            value = re.split(r"\s+#", value_text, maxsplit=1)[0].rstrip()
        out[key] = Setting(key, value, Loc(shown, lineno, col), "env file")
    if problems:
        raise ConfigError(problems)
    return out


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[str], list[str]]:
    """Compose interpolation of one string: (value, errors that stop compose, warnings)."""
    errors: list[str] = []
    warnings: list[str] = []

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        if m.group(2) is not None:
            name = m.group(2)
            if name not in env:
                warnings.append(f"${name} is not set (compose substitutes an empty string)")
            return env.get(name, "")
        body = m.group(1)
        if body is None:
            errors.append("invalid interpolation: unterminated ${ (write $$ for a literal $)")
            return m.group(0)
        op = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", body, re.S)
        if not op:
            errors.append(f"invalid interpolation format for ${{{body[:40]}}}")
            return m.group(0)
        name, how, arg = op.group(1), op.group(2), op.group(3) or ""
        value = env.get(name)
        unset_or_empty = value is None or value == ""
        if how == ":-":
            return arg if unset_or_empty else str(value)
        if how == "-":
            return arg if value is None else value
        if how in (":?", "?"):
            if (how == ":?" and unset_or_empty) or (how == "?" and value is None):
                errors.append(f"required variable {name} is missing a value: {arg}"[:200])
                return ""
            return str(value)
        if how == ":+":
            return "" if unset_or_empty else arg
        if how == "+":
            return "" if value is None else arg
        if value is None:
            warnings.append(f"${{{name}}} is not set (compose substitutes an empty string)")
            return ""
        return value

    return _VAR.sub(one, text), errors, warnings


def interpolate_tree(node: Any, env: Mapping[str, str], file: str, where: tuple[int, int],
                      problems: list[Problem], warnings: list[str]) -> Any:
    def one(text: str, at: tuple[int, int]) -> str:
        value, errors, warned = interpolate(text, env)
        problems.extend(Problem(file, *at, e) for e in errors)
        warnings.extend(f"{file}:{at[0]}:{at[1]}: {w}" for w in warned)
        return value

    return map_strings(node, one, where)
