"""The ``expect`` vocabulary of generic probes: a mapping of matcher names to operands, all of which must hold.

    expect: {equals: noeviction}
    expect: {min: "7.0"}              # versions compare component by component
    expect: {max: 0.8, present: true}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from readiness.errors import did_you_mean
from readiness.probe import Verdict, failed, passed, undecided

MISSING: Any = object()

_VERSION = re.compile(r"^v?\d+(\.\d+)+")


def _version(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value,)
    if isinstance(value, str):
        m = _VERSION.match(value.strip()) or re.match(r"^v?\d+$", value.strip())
        if m:
            return tuple(int(x) for x in m.group(0).lstrip("v").split("."))
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def compare(value: Any, bound: Any) -> int | None:
    """-1/0/1 comparing value to bound; versions when the bound is a string like "6.2", numbers otherwise."""
    if isinstance(bound, str):
        a, b = _version(value), _version(bound)
        if a is not None and b is not None:
            width = max(len(a), len(b))
            a, b = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
            return (a > b) - (a < b)
    x, y = _number(value), _number(bound)
    if x is None or y is None:
        return None
    return (x > y) - (x < y)


def _same(value: Any, operand: Any) -> bool:
    if value == operand:
        return True
    if isinstance(operand, bool) or isinstance(value, bool):
        return str(value).lower() in (("1", "true", "yes", "on") if operand else ("0", "false", "no", "off"))
    if isinstance(operand, (int, float)):
        return _number(value) == float(operand)
    return str(value) == str(operand)


def _ordered(op: str, want: Callable[[int], bool]) -> Callable[[Any, Any], bool | None]:
    def check(value: Any, bound: Any) -> bool | None:
        c = compare(value, bound)
        return None if c is None else want(c)

    check.__name__ = op
    return check


def _regex(value: Any, pattern: Any) -> bool:
    return re.search(str(pattern), str(value)) is not None


# name -> (test(value, operand) -> bool | None (None: not comparable), operand type, text)
_MATCHERS: dict[str, tuple[Callable[[Any, Any], bool | None], str, str]] = {
    "equals": (_same, "scalar", "= {}"),
    "not_equals": (lambda v, o: not _same(v, o), "scalar", "!= {}"),
    "one_of": (lambda v, o: any(_same(v, x) for x in o), "list", "one of {}"),
    "not_one_of": (lambda v, o: not any(_same(v, x) for x in o), "list", "none of {}"),
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
        """True when every matcher holds; None when the value cannot be compared (e.g. text against a number)."""
        if value is MISSING or value is None:
            if "absent" in self.spec:
                return True
            if "present" in self.spec or any(k not in ("absent",) for k in self.spec):
                return False
        elif "absent" in self.spec:
            return False
        for name, operand in self.spec.items():
            if name in ("present", "absent"):
                continue
            ok = _MATCHERS[name][0](value, operand)
            if ok is None:
                return None
            if not ok:
                return False
        return True

    def judge(self, name: str, value: Any, **evidence: Any) -> Verdict:
        shown = None if value is MISSING else value
        evidence = {name: shown, "expected": self.describe(), **evidence}
        ok = self.test(value)
        if value is MISSING or value is None:
            seen = f"{name} is not present"
        else:
            seen = f"{name} is {value}"
        if ok is None:
            return undecided(f"{seen}, which cannot be compared with {self.describe()}", **evidence)
        if ok:
            return passed(f"{seen}", **evidence)
        return failed(f"{seen}, expected {self.describe()}", **evidence)
