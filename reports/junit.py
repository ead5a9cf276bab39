"""JUnit XML for CI systems: one <testsuite> per checklist section, one <testcase> per item.

Mapping: fail -> <failure>, error -> <error>, skipped and waived -> <skipped> with the reason.  A manual item
is a <failure> when it blocks the gate (the pipeline is red for the same reason the exit code is 1) and
<skipped> otherwise, so that the CI view and the exit code never disagree about what blocked.

Items that --only/--skip left out are not testcases: a CI test view would count 133 "skipped" tests around the one
that was asked, as if they had been considered and set aside.  Their count and the selection are recorded as
properties of each <testsuite> (``not_selected``, ``selection``; <testsuites> has no properties in Jenkins' schema)
instead, and a section with no selected item has no <testsuite>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from readiness.reports import view

EXTENSION = ".xml"
_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: Any) -> str:
    """XML 1.0 cannot carry control characters (nor lone surrogates) even escaped: drop them."""
    return _ILLEGAL_XML.sub("", str(text))


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _details(result: dict[str, Any]) -> str:
    lines = [f"{result['title']} [{result['level']}]", result["message"], ""]
    if result.get("evidence"):
        lines.append("Evidence:")
        lines += [f"  {k}: {view.format_value(v)}" for k, v in result["evidence"].items()]
        lines.append("")
    if result.get("remediation"):
        lines += ["Remediation:", *(f"  {line}" for line in result["remediation"].splitlines()), ""]
    if result.get("rationale"):
        lines += ["Rationale:", f"  {result['rationale']}"]
    return "\n".join(lines).rstrip() + "\n"


def _waiver_reason(result: dict[str, Any]) -> str:
    waiver = result.get("waiver") or {}
    by = f" by {waiver['approved_by']}" if waiver.get("approved_by") else ""
    why = waiver.get("justification", "")
    return f"waived until {waiver.get('expires', '?')}{by}: {why} ({result['message']})"


def _outcome(result: dict[str, Any], blocking: bool) -> tuple[str, dict[str, str], str | None] | None:
    status = result["status"]
    if status == "fail" or (status == "manual" and blocking):
        return "failure", {"message": result["message"], "type": status}, _details(result)
    if status == "error":
        return "error", {"message": result["message"], "type": "error"}, _details(result)
    if status in ("skipped", "manual"):
        return "skipped", {"message": result["message"]}, None
    if status == "waived":
        return "skipped", {"message": _waiver_reason(result)}, None
    return None


def _testcase(result: dict[str, Any], fail_on: str) -> tuple[ET.Element, str | None]:
    case = ET.Element("testcase", {"classname": clean(result["section"]), "name": clean(result["id"]),
                                   "time": _seconds(result.get("duration_s", 0.0))})
    outcome = _outcome(result, view.blocking(result, fail_on))
    tag = None
    if outcome:
        tag, attrs, text = outcome
        child = ET.SubElement(case, tag, {k: clean(v) for k, v in attrs.items()})
        if text:
            child.text = clean(text)
    out = ET.SubElement(case, "system-out")
    # the message too: a passing case has no element of its own, and its message may carry figures (the canary's
    # timings) that CI should show
    out.text = clean(f"{result['title']}\nlevel: {result['level']}, status: {result['status']}, "
                     f"probe: {result.get('probe') or 'manual'}\n{result['message']}\n")
    return case, tag


def render(report: dict[str, Any]) -> str:
    fail_on = report["fail_on"]
    timestamp = report["started_at"][:19]  # the Ant schema's timestamp has no zone; the model's times are UTC
    root = ET.Element("testsuites", {"name": clean(f"readiness: {report['checklist']['name']}"),
                                     "time": _seconds(report["duration_s"])})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    selected, left_out = view.selected(report["results"])
    properties = [("profile", report["profile"]), ("preset", report["preset"] or ""), ("fail_on", fail_on),
                  ("checklist_sha256", report["checklist"]["sha256"])]
    if left_out:
        properties += [("not_selected", str(len(report["results"]) - len(selected))), ("selection", left_out)]
    for n, (section, results) in enumerate(view.by_section(selected)):
        suite = ET.SubElement(root, "testsuite", {"name": clean(section), "id": str(n),
                                                  "package": "readiness", "timestamp": timestamp,
                                                  "hostname": "readiness"})
        props = ET.SubElement(suite, "properties")
        for key, value in properties:
            ET.SubElement(props, "property", {"name": key, "value": clean(value)})
        counts = {"tests": len(results), "failures": 0, "errors": 0, "skipped": 0}
        for result in results:
            case, tag = _testcase(result, fail_on)
            suite.append(case)
            if tag:
                counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[tag]] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", _seconds(sum(r.get("duration_s", 0.0) for r in results)))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
