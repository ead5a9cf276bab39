"""Which SQL the audit sends to ClickHouse, and what a node's refusal is called: statements declared as data (so a
test can run every one against a current engine), literals substituted safely, and the read-only guard that refuses
anything but one reading statement before it is sent.  Pure Python, no driver."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from readiness.errors import TargetUnavailable


class ClickHouseError(TargetUnavailable):
    """A node refused, failed or did not answer; the message names the node and says why in one line.  ``code`` is
    the server's error code when the server answered with an error."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class Unsupported(ClickHouseError):
    """The node's ClickHouse release lacks a system table or column a statement needs."""


@dataclass(frozen=True)
class Ident:
    """An identifier (database, table, column) substituted into a statement, back-quoted."""

    name: str


def literal(value: Any) -> str:
    """A value as a ClickHouse SQL literal (strings quoted and escaped; lists as arrays)."""
    if isinstance(value, Ident):
        return "`" + value.name.replace("\\", "\\\\").replace("`", "\\`") + "`"
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return "'" + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t").replace("\0", "\\0") + "'"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a ClickHouse literal")


@dataclass(frozen=True)
class Statement:
    """One read-only statement a probe sends.

    ``sql`` takes ``{name}`` placeholders, filled with literals (``Ident`` for identifiers).  ``needs`` lists the
    system tables (``system.disks``) and columns (``system.clusters.errors_count``) it reads, checked per node
    before it is sent; ``instead`` tells the operator what to check when the node lacks them.  ``example`` holds
    placeholder values for tests that run the statement against a current engine."""

    name: str
    sql: str
    needs: tuple[str, ...] = ()
    instead: str = ""
    example: Mapping[str, Any] = field(default_factory=dict)

    def render(self, values: Mapping[str, Any] | None = None) -> str:
        return self.sql.format(**{k: literal(v) for k, v in (values or {}).items()})


STATEMENTS: dict[str, Statement] = {}


def statement(name: str, sql: str, *, needs: Iterable[str] = (), instead: str = "",
              example: Mapping[str, Any] | None = None) -> Statement:
    """Declare (and register, for the statement tests) a statement."""
    stmt = Statement(name, " ".join(sql.split()), tuple(needs), instead, dict(example or {}))
    if name in STATEMENTS and STATEMENTS[name] != stmt:
        raise ValueError(f"statement {name!r} is declared twice")
    STATEMENTS[name] = stmt
    return stmt


# --- read-only, whatever the SQL says -----------------------------------------------------------------------------

_READING = {"SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXISTS"}
_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'?|`(?:[^`\\]|\\.)*`?|\"(?:[^\"\\]|\\.)*\"?|--[^\n]*|#[^\n]*|/\*.*?(?:\*/|$)|"
                    r"(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<sym>[;.=(])|\s+|.", re.S)


def refusal(sql: str) -> str | None:
    """Why ``sql`` is not a single reading statement (None when it is).  Checked before anything is sent, on top of
    the session's readonly=1: KILL QUERY, for one, runs in readonly mode."""
    words: list[tuple[str, str]] = []  # (kind, text) outside literals, quoted names and comments
    for m in _TOKEN.finditer(sql):
        if m["word"]:
            words.append(("word", m["word"].upper()))
        elif m["sym"]:
            words.append(("sym", m["sym"]))
    while words and words[-1] == ("sym", ";"):
        words.pop()
    first = next((text for kind, text in words if kind == "word"), "")
    if first not in _READING:
        return f"only SELECT, WITH, SHOW, DESCRIBE and EXISTS statements are sent, not {first or 'this statement'}"
    if ("sym", ";") in words:
        return "one statement per query: the text holds several (a ';' between them)"
    for i, (kind, text) in enumerate(words):
        after = words[i + 1:i + 4]
        if kind == "word" and text == "SETTINGS" and (i == 0 or words[i - 1] != ("sym", ".")) \
                and len(after) >= 2 and after[0][0] == "word" and after[1] == ("sym", "="):
            return "a check query may not change settings (SETTINGS ...): the session stays readonly"
        if kind == "word" and text == "INTO" and after[:1] == [("word", "OUTFILE")]:
            return "a check query may not write a file (INTO OUTFILE)"
    return None
