"""Run-to-run comparison of two JSON reports: what broke, what was fixed, what newly blocks the gate."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from readiness.errors import ConfigError
from readiness.models import is_blocking
from readiness.reports.view import LEVELS, STATUSES, blocking, format_value, truncate

SCHEMA = "readiness.diff/v1"
BAD = ("fail", "error")
UNRESOLVED = ("fail", "error", "manual", "waived")
_MISSING = object()
HEADINGS = (("new_blocking", "New blocking"), ("new_failures", "New failures"), ("fixed", "Fixed"),
            ("changed_status", "Other status changes"), ("added", "Added"), ("removed", "Removed"))


@lru_cache(maxsize=1)
def _required_keys() -> tuple[list[str], list[str], list[str]]:
    schema = json.loads((Path(__file__).parent / "schema" / "report-v1.json").read_text(encoding="utf-8"))
    summary = schema["properties"]["summary"]["required"]
    return schema["required"], summary, schema["$defs"]["result"]["required"]


def read_report(path: str) -> dict[str, Any]:
    """A saved JSON report (for ``diff`` and ``render``), checked for the shape the renderers rely on.  The fleet's
    bounds hold here too: the cap per report, and a parse that would take too much memory refused unparsed."""
    from readiness.fleetstore import checked_cost, read_local

    data = read_local(path)
    checked_cost(data, path)
    return parse_report(data, path)


def parse_report(data: bytes, path: str) -> dict[str, Any]:
    """The same checks on a report's bytes (from a file or an object store)."""
    try:
        report = json.loads(data.decode("utf-8"))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ConfigError(f"{path} is not a JSON report: {exc}") from None
    except RecursionError:  # "[[[[...": the decoder's own depth limit, a few KB of input
        raise ConfigError(f"{path} is not a JSON report: its values are nested too deeply") from None
    problem = _shape_problem(report)
    if problem:
        raise ConfigError(f"{path} is not a readiness.report/v1 report: {problem}")
    checked: dict[str, Any] = report
    return checked


def _shape_problem(report: Any) -> str | None:
    top, in_summary, per_result = _required_keys()
    if not isinstance(report, dict):
        return "the top level is not an object"
    if report.get("schema") != "readiness.report/v1":
        return f"its schema is {report.get('schema')!r}"
    missing = [k for k in top if k not in report]
    if missing:
        return f"it has no {', '.join(missing)}"
    for key, inner in (("checklist", ("name", "version", "sha256")), ("tool", ("name", "version"))):
        if not isinstance(report[key], dict) or not set(inner) <= report[key].keys():
            return f"its {key} lacks one of {', '.join(inner)}"
    targets = report["targets"]
    if not isinstance(targets, dict) or not all(isinstance(v, dict) for v in targets.values()):
        return "its targets are not settings by backend"
    if report["fail_on"] not in ("required", "recommended", "optional", "never"):
        return f"its fail_on is {report['fail_on']!r}"
    if not isinstance(report["summary"], dict) or not set(in_summary) <= report["summary"].keys():
        return f"its summary lacks one of {', '.join(in_summary)}"
    if not isinstance(report["results"], list):
        return "results is not a list"
    for n, r in enumerate(report["results"]):
        if not isinstance(r, dict):
            return f"results[{n}] is not an object"
        missing = [k for k in per_result if k not in r]
        if missing:
            return f"results[{n}] has no {', '.join(missing)}"
        if r["status"] not in STATUSES or r["level"] not in LEVELS:
            return f"results[{n}] ({r['id']}) has status {r['status']!r} and level {r['level']!r}"
    return None


def _run(report: Mapping[str, Any]) -> dict[str, Any]:
    return {"started_at": report["started_at"], "verdict": report["summary"]["verdict"],
            "blocking": report["summary"]["blocking"], "fail_on": report["fail_on"],
            "checklist_sha256": report["checklist"]["sha256"], "tool_version": report["tool"]["version"]}


def _entry(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, **extra: Any) -> dict[str, Any]:
    ref = new if new is not None else old
    assert ref is not None
    return {"id": ref["id"], "section": ref["section"], "title": ref["title"], "level": ref["level"],
            "old_status": old["status"] if old else None, "new_status": new["status"] if new else None,
            "message": ref["message"], **extra}


def _evidence_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        before, after = old.get(key, _MISSING), new.get(key, _MISSING)
        if before != after:
            kind = "added" if before is _MISSING else "removed" if after is _MISSING else "changed"
            changes.append({"key": key, "change": kind, "old": None if before is _MISSING else before,
                            "new": None if after is _MISSING else after})
    return changes


def compare(old: Mapping[str, Any], new: Mapping[str, Any], fail_on: str | None = None) -> dict[str, Any]:
    """Item by item, keyed by id. ``new_blocking``: blocking in ``new`` and not in ``old`` (or not there), by each
    report's own gate, or by ``fail_on`` for both (reports written with ``--fail-on never`` record no blocking).

    ``changed_status`` lists every status change, including those also listed in ``new_failures`` (now fail or
    error, and neither before) and ``fixed`` (now pass, and fail, error, manual or waived before).
    """
    before = {r["id"]: r for r in old["results"]}
    after = {r["id"]: r for r in new["results"]}
    diff: dict[str, Any] = {"schema": SCHEMA, "old": _run(old), "new": _run(new), "new_blocking": [],
                            "new_failures": [], "fixed": [], "changed_status": [], "changed_evidence": [],
                            "added": [], "removed": []}
    for id_, n in after.items():
        o = before.get(id_)
        if _blocks(n, new, fail_on) and not (o is not None and _blocks(o, old, fail_on)):
            diff["new_blocking"].append(_entry(o, n))
        if o is None:
            diff["added"].append(_entry(None, n))
            if n["status"] in BAD:
                diff["new_failures"].append(_entry(None, n))
            continue
        if n["status"] != o["status"]:
            diff["changed_status"].append(_entry(o, n))
            if n["status"] in BAD and o["status"] not in BAD:
                diff["new_failures"].append(_entry(o, n))
            elif n["status"] == "pass" and o["status"] in UNRESOLVED:
                diff["fixed"].append(_entry(o, n))
        changes = _evidence_changes(o.get("evidence") or {}, n.get("evidence") or {})
        if changes:
            diff["changed_evidence"].append(_entry(o, n, changes=changes))
    diff["removed"] = [_entry(o, None) for id_, o in before.items() if id_ not in after]
    return diff


def _blocks(result: Mapping[str, Any], report: Mapping[str, Any], fail_on: str | None) -> bool:
    if fail_on is None:
        return blocking(result, report["fail_on"])
    return is_blocking(result["level"], result["status"], fail_on)


def exit_code(diff: Mapping[str, Any]) -> int:
    """1 when something blocks now that did not before: the same meaning as ``readiness audit``'s gate."""
    return 1 if diff["new_blocking"] else 0


def _line(e: Mapping[str, Any]) -> str:
    move = f"{e['old_status'] or '(new)'} -> {e['new_status'] or '(removed)'}"
    message, _ = truncate(" ".join(str(e["message"]).split()), 140)
    return f"  {e['id']} [{e['level']}] {move}: {message}"


def _value(value: Any) -> str:
    return truncate(" ".join(format_value(value).split()), 80)[0]


def _change(c: Mapping[str, Any]) -> str:
    if c["change"] == "changed":
        return f"    {c['key']}: {_value(c['old'])} -> {_value(c['new'])}"
    return f"    {c['key']}: {c['change']} ({_value(c['new'] if c['change'] == 'added' else c['old'])})"


def render_text(diff: Mapping[str, Any]) -> str:
    old, new = diff["old"], diff["new"]
    lines = [f"readiness diff: {old['started_at']} ({old['verdict']}, {old['blocking']} blocking) -> "
             f"{new['started_at']} ({new['verdict']}, {new['blocking']} blocking)"]
    if old["checklist_sha256"] != new["checklist_sha256"]:
        lines.append("note: the two runs used different checklists")
    if old["fail_on"] != new["fail_on"]:
        lines.append(f"note: the gate changed from --fail-on {old['fail_on']} to --fail-on {new['fail_on']}")
    shown: set[str] = set()  # each item once, under the first heading it belongs to
    for key, title in HEADINGS:
        entries = [e for e in diff[key] if e["id"] not in shown]
        shown.update(e["id"] for e in entries)
        if entries:
            lines += ["", f"{title} ({len(entries)}):", *(_line(e) for e in entries)]
    if diff["changed_evidence"]:
        lines += ["", f"Evidence changed ({len(diff['changed_evidence'])}):"]
        for e in diff["changed_evidence"]:
            lines += [f"  {e['id']}:", *(_change(c) for c in e["changes"])]
    if not any(diff[k] for k in ("changed_status", "changed_evidence", "added", "removed", "new_blocking")):
        lines.append("No change.")
    verdict = "new blocking items, exit 1" if diff["new_blocking"] else "nothing newly blocks, exit 0"
    return "\n".join([*lines, "", f"Gate: {verdict}."]) + "\n"
