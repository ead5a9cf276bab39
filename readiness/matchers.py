"""The ``expect`` vocabulary of generic probes: a mapping of matcher names to operands, all of which must hold.

    expect: {equals: noeviction}
    expect: {min: "7.0"}              # versions compare component by component
    expect: {max: 0.8, present: true}
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from readiness.errors import did_you_mean
from readiness.lazyre import LazyPattern
from readiness.verdict import Verdict, failed, passed, undecided

MISSING: Any = object()

# A leading version, with a pre-release tag when there is one ("7.0.0-rc1", "16beta2", "v1.28.3", "23.8.2.7").
_VERSION = LazyPattern(r"v?(\d+(?:\.\d+)*)(?:[-_.~]?((?:a|b|c|rc|alpha|beta|pre|preview|dev)\.?\d*))?(?![\d.])", re.I)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _version(value: Any) -> Any:
    """A packaging Version for a version-like value (pre-releases order before their release), else None."""
    from packaging.version import InvalidVersion, Version

    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    m = _VERSION.match(str(value).strip())
    if m is None:
        return None
    try:
        return Version(m.group(1) + (m.group(2) or ""))
    except InvalidVersion:
        return None


def _number(value: Any) -> float | None:
    """A finite number, else None: NaN and infinities are not observations anything can be judged by."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def non_finite(value: Any) -> bool:
    """NaN or an infinity, however it was written (float('nan'), 'NaN', '-Infinity')."""
    if isinstance(value, bool):
        return False
    try:
        return isinstance(value, (int, float, str)) and not math.isfinite(float(value))
    except (ValueError, OverflowError):
        return False


def compare(value: Any, bound: Any) -> int | None:
    """-1/0/1 comparing value to bound; versions when the bound is a string like "6.2", numbers otherwise; None
    when they cannot be compared (text against a number, NaN, infinity)."""
    if non_finite(value) or non_finite(bound):
        return None
    if isinstance(bound, str) and not isinstance(value, float):
        a, b = _version(value), _version(bound)
        if a is not None and b is not None:
            return (a > b) - (a < b)
    x, y = _number(value), _number(bound)
    if x is None or y is None:
        return None
    return (x > y) - (x < y)


def _same(value: Any, operand: Any) -> bool | None:
    if non_finite(value):
        return None
    if isinstance(operand, bool) or isinstance(value, bool):
        # true/false compare by meaning on both sides: `SELECT true` never equals "false", "on" equals true
        a, b = _truth(value), _truth(operand)
        return None if a is None or b is None else a == b
    if value == operand:
        return True
    if isinstance(operand, (int, float)):
        number = _number(value)
        return None if number is None else number == float(operand)
    return str(value) == str(operand)


def _ordered(op: str, want: Callable[[int], bool]) -> Callable[[Any, Any], bool | None]:
    def check(value: Any, bound: Any) -> bool | None:
        c = compare(value, bound)
        return None if c is None else want(c)

    check.__name__ = op
    return check


def _negate(ok: bool | None) -> bool | None:
    return None if ok is None else not ok


def _any(answers: Any) -> bool | None:
    """True if one answer is True; None (cannot tell) if none is and one could not be compared."""
    seen = list(answers)
    return True if True in seen else None if None in seen else False


def _regex(value: Any, pattern: Any) -> bool:
    return re.search(str(pattern), str(value)) is not None


# name -> (test(value, operand) -> bool | None (None: not comparable), operand type, text)
_MATCHERS: dict[str, tuple[Callable[[Any, Any], bool | None], str, str]] = {
    "equals": (_same, "scalar", "= {}"),
    "not_equals": (lambda v, o: _negate(_same(v, o)), "scalar", "!= {}"),
    "one_of": (lambda v, o: _any(_same(v, x) for x in o), "list", "one of {}"),
    "not_one_of": (lambda v, o: _negate(_any(_same(v, x) for x in o)), "list", "none of {}"),
    "min": (_ordered("min", lambda c: c >= 0), "scalar", ">= {}"),
    "max": (_ordered("max", lambda c: c <= 0), "scalar", "<= {}"),
    "above": (_ordered("above", lambda c: c > 0), "scalar", "> {}"),
    "below": (_ordered("below", lambda c: c < 0), "scalar", "< {}"),
    "matches": (_regex, "regex", "matching /{}/"),
    "not_matches": (lambda v, o: not _regex(v, o), "regex", "not matching /{}/"),
    "contains": (lambda v, o: o in v if isinstance(v, (list, tuple, set, dict)) else str(o) in str(v),
                 "scalar", "containing {}"),
}
MATCHER_NAMES = tuple(_MATCHERS) + ("present", "absent")


_NEGATIVE = {"not_equals", "not_one_of", "not_matches"}


def _junk(value: Any) -> bool:
    """Bytes, blank text, or text with control characters / U+FFFD: not a value a negative matcher may pass."""
    if isinstance(value, (bytes, bytearray)):
        return True
    return isinstance(value, str) and (not value.strip() or re.search(r"[\x00-\x08\x0b-\x1f\ufffd]", value)
                                       is not None)


@dataclass(frozen=True)
class Expect:
    spec: Mapping[str, Any]

    @staticmethod
    def problems(spec: Any) -> list[tuple[str | None, str]]:
        """Validation problems as (key or None, message)."""
        if not isinstance(spec, Mapping) or not spec:
            return [(None, f"expect must be a mapping of matchers ({', '.join(MATCHER_NAMES)})")]
        out: list[tuple[str | None, str]] = []
        for name, operand in spec.items():
            if name in ("present", "absent"):
                if operand is not True:
                    out.append((name, f"{name} takes the value true"))
                continue
            if name not in _MATCHERS:
                out.append((name, f"unknown matcher {name!r}" + did_you_mean(name, MATCHER_NAMES)))
                continue
            kind = _MATCHERS[name][1]
            if kind == "list" and not (isinstance(operand, list) and operand):
                out.append((name, f"{name} takes a non-empty list"))
            elif kind != "list" and (operand is None or isinstance(operand, (list, dict))):
                out.append((name, f"{name} takes a single value"))
            elif kind == "regex":
                try:
                    re.compile(str(operand))
                except re.error as exc:
                    out.append((name, f"{name}: invalid regular expression: {exc}"))
            elif name in ("min", "max", "above", "below") and compare(operand, operand) is None:
                out.append((name, f"{name} takes a number or a version string, not {operand!r}"))
        return out

    def describe(self) -> str:
        parts = []
        for name, operand in self.spec.items():
            if name in ("present", "absent"):
                parts.append(name)
            else:
                parts.append(_MATCHERS[name][2].format(operand))
        return " and ".join(parts)

    def test(self, value: Any) -> bool | None:
        """True when every matcher holds; False when one does not; None when the value cannot be judged (NULL, NaN,
        an infinity, text against a number): never a pass without a value that was positively observed."""
        if non_finite(value):
            return None
        if value is MISSING or value is None:
            if "absent" in self.spec:
                return True
            if "present" in self.spec or value is MISSING:
                return False
            return None  # NULL: there is nothing to compare
        if "absent" in self.spec:
            return False
        if _NEGATIVE & set(self.spec) and _junk(value):
            return None  # "is not X" holds for any junk: only a readable value may pass it
        verdicts = [_MATCHERS[name][0](value, operand) for name, operand in self.spec.items()
                    if name not in ("present", "absent")]
        return False if False in verdicts else None if None in verdicts else True

    def judge(self, name: str, value: Any, **evidence: Any) -> Verdict:
        shown = None if value is MISSING else value
        evidence = {name: shown, "expected": self.describe(), **evidence}
        ok = self.test(value)
        if value is MISSING:
            seen = f"{name} is not present"
        elif value is None:
            seen = f"{name} is NULL"
        else:
            seen = f"{name} is {value}"
        if ok is None:
            return undecided(f"{seen}, which cannot be compared with {self.describe()}", **evidence)
        if ok:
            return passed(f"{seen}", **evidence)
        return failed(f"{seen}, expected {self.describe()}", **evidence)
