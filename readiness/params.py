"""Validate a YAML mapping against a declared set of ``Param``s: probe parameters, target fields, waiver records."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from readiness.errors import Problem, did_you_mean
from readiness.matchers import Expect
from readiness.yamlsrc import YList, YMap, pos_of

# Parameter types a checklist may give; "expect" is a matcher (readiness.matchers); "path" is a file path,
# relative to the file that gives it ("path-list": several); "url-path" is a path on a target's URL, never a URL
# of another host; "k8s-*" names what a Kubernetes read is built from (readiness.clients.kubernetes_names).
PARAM_TYPES = ("str", "int", "number", "bool", "list", "str-list", "int-list", "dict", "date", "path", "path-list",
               "url-path", "expect", "any", "k8s-name", "k8s-kind", "k8s-api-version")

_REQUIRED: Any = object()


@dataclass(frozen=True)
class Param:
    type: str
    default: Any = _REQUIRED
    help: str = ""
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"unknown parameter type {self.type!r}")

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED



_TYPE_WORDS = {
    "str": "a string", "int": "an integer", "number": "a number", "bool": "true or false", "list": "a list",
    "str-list": "a list of strings", "int-list": "a list of integers", "dict": "a mapping",
    "date": "a date (YYYY-MM-DD)", "path": "a file path", "path-list": "a list of file paths",
    "url-path": "a path (like /metrics)", "expect": "a mapping of matchers", "any": "a value",
    "k8s-name": "a DNS-1123 label", "k8s-kind": "a Kind name", "k8s-api-version": "an apiVersion",
}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def coerce(param: Param, value: Any) -> tuple[Any, str | None]:
    """The value in its declared type, or an error message."""
    t = param.type
    ok = True
    if t in ("str", "path"):
        ok = isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool))
        value = str(value) if ok else value
    elif t == "url-path":
        if not isinstance(value, str):
            return value, f"must be {_TYPE_WORDS[t]}, not {_describe(value)}"
        from readiness.urlpath import path_problem  # the client refuses the same paths again

        problem = path_problem(value)
        if problem:
            return value, problem.removeprefix(f"path {value!r} ")
    elif t.startswith("k8s-"):
        if not isinstance(value, str):
            return value, f"must be {_TYPE_WORDS[t]}, not {_describe(value)}"
        from readiness.clients.kubernetes_names import PARAM_CHECKS  # the reads are parsed again when made

        problem = PARAM_CHECKS[t](value)
        if problem:
            return value, problem
    elif t == "int":
        ok = _is_int(value)
    elif t == "number":
        ok = _is_int(value) or (isinstance(value, float) and math.isfinite(value))  # .nan compares false to all
    elif t == "bool":
        ok = isinstance(value, bool)
    elif t == "list":
        ok = isinstance(value, list)
    elif t in ("str-list", "path-list"):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif t == "int-list":
        ok = isinstance(value, list) and all(_is_int(v) for v in value)
    elif t == "dict":
        ok = isinstance(value, Mapping)
    elif t == "date":
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                ok = False
        ok = ok and isinstance(value, dt.date)
        if ok and isinstance(value, dt.datetime):
            value = value.date()
    elif t == "expect":
        found = Expect.problems(value)
        if found:  # the caller names the parameter: "expect must be a mapping" would say it twice
            return value, "; ".join(msg.removeprefix("expect ") for _, msg in found)
        value = Expect(dict(value))
    if not ok:
        return value, f"must be {_TYPE_WORDS[t]}, not {_describe(value)}"
    if param.choices and value not in param.choices:
        return value, f"must be one of {', '.join(map(str, param.choices))}, not {value!r}" + did_you_mean(
            value, [str(c) for c in param.choices])
    return value, None


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validate(schema: Mapping[str, Param], raw: Any, file: str, what: str,
             at: tuple[int, int] | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """Check ``raw`` (a YAML mapping) against ``schema``; defaults filled in. ``what`` names it in messages, ``at``
    says where a value that is not a mapping was written (its parent knows)."""
    problems: list[Problem] = []
    if raw is None:
        raw = YMap()
        raw.pos = at or raw.pos
    if not isinstance(raw, Mapping):
        return {}, [Problem(file, *(at or pos_of(raw)), f"{what} must be a mapping, not {_describe(raw)}")]
    out: dict[str, Any] = {}
    for key in raw:
        if key not in schema:
            known = ", ".join(schema) or "none"
            problems.append(Problem(file, *_key_pos(raw, key), f"unknown key {key!r} in {what}"
                                    + (did_you_mean(key, schema) or f" (known: {known})")))
    for name, param in schema.items():
        if name not in raw:
            if param.required:
                problems.append(Problem(file, *pos_of(raw), f"{what} is missing {name!r}"))
            else:
                out[name] = param.default
            continue
        value, error = coerce(param, _as_written(param, raw, name))
        if error:
            problems.append(Problem(file, *pos_of(raw, name), f"{what}: {name} {error}"))
            value = None if param.required else param.default  # later checks see only well-typed values
        out[name] = value
    return out, problems


def _as_written(param: Param, raw: Any, name: str) -> Any:
    """Text fields (credentials, ids, names) take a plain scalar as written: YAML 1.1 reads ``0755`` as 493,
    ``12:30:00`` as 45000 and ``yes`` as true, none of which is what the user typed."""
    value = raw[name]
    if param.type in ("str", "path") and value is not None and not isinstance(value, str) and isinstance(raw, YMap):
        return raw.text_of(name) or value
    if param.type in ("str-list", "path-list") and isinstance(value, YList):
        return [v if isinstance(v, str) or v is None else (value.text_of(i) or v) for i, v in enumerate(value)]
    return value


def _key_pos(raw: Any, key: Any) -> tuple[int, int]:
    return raw.key_at(key) if isinstance(raw, YMap) else pos_of(raw)
