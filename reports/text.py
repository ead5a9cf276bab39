"""The terminal summary: sections with coloured statuses, evidence for what failed, and what blocks sign-off."""

from __future__ import annotations

import json
from typing import Any

import click
from readiness.reports.view import printable, selected

EXTENSION = ".txt"

COLOURS = {"pass": "green", "fail": "red", "error": "magenta", "skipped": "bright_black", "manual": "yellow",
           "waived": "cyan"}
LEVEL_TAG = {"required": "REQ", "recommended": "REC", "optional": "OPT"}


def _value(value: Any, width: int = 100) -> str:
    text = printable(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))
    return text if len(text) <= width else text[: width - 3] + "..."


def status_word(status: str, color: bool) -> str:
    word = f"{status.upper():7}"
    return click.style(word, fg=COLOURS.get(status), bold=status in ("fail", "error")) if color else word


def result_lines(r: dict[str, Any], color: bool, verbose: bool = True) -> list[str]:
    lines = [f"  {status_word(r['status'], color)} {LEVEL_TAG[r['level']]} {r['id']}: {printable(r['message'])}"]
    if verbose and r["status"] in ("fail", "error", "waived"):
        for key, value in list(r["evidence"].items())[:12]:
            lines.append(f"            {printable(key)} = {_value(value)}")
        if r.get("waiver"):
            w = r["waiver"]
            lines.append(f"            waived until {w['expires']}: {printable(w['justification'])}")
        if r["status"] == "fail" and r.get("remediation"):
            lines.append(f"            fix: {_value(r['remediation'].splitlines()[0], 200)}")
    return lines


def summary_lines(report: dict[str, Any], color: bool) -> list[str]:
    s = report["summary"]
    counts = "  ".join(f"{k} {s[k]}" for k in ("pass", "fail", "error", "manual", "waived", "skipped") if s[k])
    ready = s["verdict"] == "ready"
    verdict = "READY" if ready else "NOT READY"
    if color:
        verdict = click.style(verdict, fg="green" if ready else "red", bold=True)
    gate = f"gate: --fail-on {report['fail_on']}"
    lines = [f"{verdict}: {s['total']} items: {counts}  ({gate}, {s['blocking']} blocking)"]
    blocking = [r for r in report["results"] if r.get("blocking")]
    if blocking:
        lines.append("Blocking sign-off:")
        lines += [f"  {status_word(r['status'], color)} {LEVEL_TAG[r['level']]} {r['id']}: {printable(r['message'])}"
                  for r in blocking]
    for notice in report.get("notices", []):
        lines.append(f"note: {printable(notice)}")
    return lines


def render(report: dict[str, Any], color: bool = False, quiet: bool = False) -> str:
    lines: list[str] = []
    if not quiet:
        title = printable(report["checklist"]["name"])
        kind = (report.get("deployment") or {}).get("kind")
        where = ", ".join(x for x in (report.get("preset"), report.get("profile"),
                                      f"{kind} deployment" if kind else None) if x)
        lines.append(f"{title} ({where})" if where else title)
        section = None
        titles = {s["id"]: s["title"] for s in report.get("sections", [])}
        results, left_out = selected(report["results"])
        for r in results:
            if r["section"] != section:
                section = r["section"]
                heading = printable(titles.get(section, section))
                lines.append("")
                lines.append(click.style(heading, bold=True) if color else heading)
            lines += result_lines(r, color)
        lines.append("")
        if left_out:
            lines += [left_out, ""]
    lines += summary_lines(report, color)
    return "\n".join(lines) + "\n"
