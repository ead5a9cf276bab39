"""SARIF 2.1.0 for code scanning: one result per failing or undecided item whose evidence names file locations
(the static findings of compose, env and values files), so a pull request's annotations point at the line.

Rules are the checklist items (title, rationale, remediation); an item's level gives the SARIF level (required ->
error, recommended -> warning, optional -> note).  Result URIs are relative to the files target's root (the targets
file's directory unless ``root:`` says otherwise), as code scanning expects; a location outside it stays an
absolute file: URI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

EXTENSION = ".sarif"
SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVELS = {"required": "error", "recommended": "warning", "optional": "note"}
_MAX_RELATED = 50


def _uri(file: str) -> str:
    if file.startswith("/"):
        return "file://" + quote(file)
    return quote(str(PurePosixPath(file)))


def _location(loc: Mapping[str, Any], index: int | None = None) -> dict[str, Any] | None:
    file, line = loc.get("file"), loc.get("line")
    if not isinstance(file, str) or not file or not isinstance(line, int) or isinstance(line, bool) or line < 1:
        return None
    region: dict[str, Any] = {"startLine": line}
    column = loc.get("column")
    if isinstance(column, int) and not isinstance(column, bool) and column >= 1:
        region["startColumn"] = column
    artifact: dict[str, Any] = {"uri": _uri(file)}
    if not file.startswith("/"):
        artifact["uriBaseId"] = "%SRCROOT%"
    out: dict[str, Any] = {"physicalLocation": {"artifactLocation": artifact, "region": region}}
    if index is not None:
        out["id"] = index
    return out


def _text(value: Any) -> str:
    return str(value or "").strip() or "-"


def render(report: dict[str, Any]) -> str:
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for r in report.get("results", []):
        if r.get("status") not in ("fail", "error"):
            continue
        evidence = r.get("evidence") or {}
        raw = evidence.get("locations") if isinstance(evidence, Mapping) else None
        if not isinstance(raw, list):
            continue
        locs = [x for x in (_location(loc) for loc in raw if isinstance(loc, Mapping)) if x]
        if not locs:
            continue
        level = _LEVELS.get(str(r.get("level")), "warning")
        if r["id"] not in rule_index:
            rule_index[r["id"]] = len(rules)
            rules.append({"id": r["id"], "name": _text(r.get("title")),
                          "shortDescription": {"text": _text(r.get("title"))},
                          "fullDescription": {"text": _text(r.get("rationale"))},
                          "help": {"text": _text(r.get("remediation"))},
                          "defaultConfiguration": {"level": level},
                          "properties": {"tags": [str(r.get("section") or "readiness")]}})
        undecided = r["status"] == "error"
        message = ("could not decide: " if undecided else "") + _text(r.get("message"))
        result: dict[str, Any] = {"ruleId": r["id"], "ruleIndex": rule_index[r["id"]], "level": level,
                                  "kind": "review" if undecided else "fail", "message": {"text": message},
                                  "locations": locs[:1], "properties": {"status": r["status"]}}
        related = [x for x in (_location(loc, i) for i, loc in enumerate(raw[1:_MAX_RELATED + 1], 1)
                               if isinstance(loc, Mapping)) if x]
        if related:
            result["relatedLocations"] = related
        results.append(result)
    tool = report.get("tool") or {}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": str(tool.get("name") or "readiness"), "version": str(tool.get("version") or "0"),
                            "rules": rules}},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [{"executionSuccessful": True,
                         **({"startTimeUtc": report["started_at"]} if report.get("started_at") else {}),
                         **({"endTimeUtc": report["finished_at"]} if report.get("finished_at") else {})}],
        "properties": {"verdict": (report.get("summary") or {}).get("verdict"), "preset": report.get("preset"),
                       "profile": report.get("profile")},
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False) + "\n"
