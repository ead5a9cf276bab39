"""Markdown for a CI step summary or a merge-request comment: verdict, blocking items, a table per section.

The output stays under ``LIMIT`` bytes whatever the report's size (GitHub caps a step summary at 1 MiB and a
comment at 64 KiB): long cells are cut, then passing rows are left out, then rows past the budget; each cut is
said.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from readiness.reports import view

EXTENSION = ".md"
LIMIT = 60_000
BLOCKING_SHARE = 0.4  # of LIMIT: the blocking list must leave room for the per-section view
MESSAGE_CHARS = 160
REMEDIATION_CHARS = 200
ICONS = {"pass": "✅", "fail": "❌", "error": "⚠️", "manual": "✋", "waived": "🛡️", "skipped": "⏭️"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


class _Cut:
    """Records whether any text was shortened, so the report can say so once."""

    def __init__(self) -> None:
        self.cells = False

    def cell(self, text: Any, limit: int | None = None) -> str:
        # One line, no markup: whitespace runs (newlines included) become one space, HTML is escaped, and
        # Markdown punctuation is backslash-escaped so that `|` can never end a cell early.
        flat = view.printable(" ".join(str(text).split()))
        if limit is not None:
            flat, cut = view.truncate(flat, limit)
            self.cells = self.cells or cut
        return _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))

    def html(self, text: Any, limit: int) -> str:
        # Inside an HTML block Markdown escapes are not processed: escape for HTML only.
        flat, cut = view.truncate(view.printable(" ".join(str(text).split())), limit)
        self.cells = self.cells or cut
        return html.escape(flat)


def _status(status: str) -> str:
    return f"{ICONS.get(status, '')} {status}".strip()


def _size(lines: Iterable[str]) -> int:
    return sum(len(line.encode()) + 1 for line in lines)


def _header(report: dict[str, Any], cut: _Cut) -> list[str]:
    s = report["summary"]
    ready = s["verdict"] == "ready"
    gate = "gate disabled" if report["fail_on"] == "never" else f"gate: {report['fail_on']}"
    score = view.score(report["results"])
    checklist = report["checklist"]
    return [
        f"## {'✅' if ready else '❌'} readiness: {'ready' if ready else 'not ready'} — "
        f"{s['blocking']} blocking ({gate})",
        "",
        f"**{cut.cell(checklist['name'])}** v{checklist['version']} · profile `{report['profile']}` · "
        f"preset `{report['preset'] or 'none'}` · {cut.cell(report['tool']['name'])} "
        f"{cut.cell(report['tool']['version'])} · {report['started_at']} · "
        f"{view.format_duration(report['duration_s'])}",
        "",
        "| Verdict | Total | " + " | ".join(_status(st) for st in view.STATUSES) + " | Blocking | Score |",
        "|---|---:|" + "---:|" * len(view.STATUSES) + "---:|---:|",
        f"| **{'ready' if ready else 'not ready'}** | {s['total']} | "
        + " | ".join(str(s[st]) for st in view.STATUSES)
        + f" | **{s['blocking']}** | {score} ({score.passing}/{score.applicable}) |",
        "",
        f"<sub>{cut.cell(view.SCORE_DEFINITION)}</sub>",
        "",
    ]


def _blocking(report: dict[str, Any], cut: _Cut, budget: int) -> list[str]:
    rows = view.blocking_results(report)
    if not rows:
        return ["### Blocking items", "", "Nothing blocks at this gate.", ""]
    lines = [f"### Blocking items ({len(rows)})", "", "| Item | Level | Status | Message | Remediation |",
             "|---|---|---|---|---|"]
    for n, r in enumerate(rows):
        message = cut.cell(r["message"], MESSAGE_CHARS)
        remediation = cut.cell(r["remediation"], REMEDIATION_CHARS)
        line = f"| `{r['id']}` | {r['level']} | {_status(r['status'])} | {message} | {remediation} |"
        if _size(lines) + len(line.encode()) > budget:
            lines += ["", f"… and {len(rows) - n} more blocking items, not listed here for size."]
            break
        lines.append(line)
    return [*lines, ""]


def _waivers(report: dict[str, Any], cut: _Cut) -> list[str]:
    today = view.report_date(report)
    flagged = [(r, view.waiver_state(r["waiver"], today)) for r in report["results"] if r.get("waiver")]
    flagged = [(r, st) for r, st in flagged if st.state in ("expired", "expiring")]
    if not flagged:
        return []
    lines = [f"### Waivers expired or expiring within {view.EXPIRING_DAYS} days ({len(flagged)})", "",
             "| Item | Expires | State | Approved by |", "|---|---|---|---|"]
    for r, st in flagged[:50]:
        state = "**expired**" if st.state == "expired" else f"expires in {st.days_left} days"
        lines.append(f"| `{r['id']}` | {cut.cell(r['waiver'].get('expires'))} | {state} | "
                     f"{cut.cell(r['waiver'].get('approved_by') or '', 60)} |")
    if len(flagged) > 50:
        lines.append(f"\n… and {len(flagged) - 50} more.")
    return [*lines, ""]


def _sections(report: dict[str, Any], selected: list[dict[str, Any]], cut: _Cut, budget: int, *,
              passing: bool) -> tuple[list[str], int, int]:
    """Per-section tables within ``budget`` bytes: the lines, rows left out by choice, rows cut for size."""
    lines = ["### Results by section", ""]
    omitted = dropped = 0
    titles = view.section_titles(report)
    for section, results in view.by_section(selected):
        counts = view.status_counts(results)
        summary = " · ".join(f"{counts[st]} {st}" for st in view.STATUSES if counts[st])
        shown = [r for r in results if passing or r["status"] not in ("pass", "skipped")]
        omitted += len(results) - len(shown)
        title = f"<b>{cut.html(titles.get(section, section), 80)}</b> — {summary}"
        if not shown:
            lines += [f"<p>{title} (not listed)</p>", ""]
            continue
        block = [f"<details><summary>{title}</summary>", "", "| Item | Level | Status | Message |",
                 "|---|---|---|---|"]
        left_out = 0
        for r in shown:
            line = (f"| `{r['id']}` | {r['level']} | {_status(r['status'])} | "
                    f"{cut.cell(r['message'], MESSAGE_CHARS)} |")
            if left_out or _size(lines) + _size(block) + len(line.encode()) + 120 > budget:
                left_out += 1
                continue
            block.append(line)
        if left_out == len(shown):
            del block[1:]
        if left_out:
            block += ["", f"… {left_out} more items of this section are not listed, for size."]
        dropped += left_out
        lines += [*block, "", "</details>", ""]
    return lines, omitted, dropped


def render(report: dict[str, Any]) -> str:
    cut = _Cut()
    lines = _header(report, cut)
    lines += _blocking(report, cut, int(LIMIT * BLOCKING_SHARE))
    lines += _waivers(report, cut)
    selected, left_out = view.selected(report["results"])
    if left_out:
        lines += [cut.cell(left_out) + ".", ""]
    room = LIMIT - _size(lines) - 600  # the closing notes
    sections, omitted, dropped = _sections(report, selected, cut, room, passing=True)
    if dropped:
        sections, omitted, dropped = _sections(report, selected, cut, room, passing=False)
    lines += sections
    notes = []
    if omitted:
        notes.append(f"{omitted} passing or skipped items are not listed, to keep this summary small.")
    if dropped:
        notes.append(f"{dropped} more rows did not fit and are not listed.")
    if cut.cells:
        notes.append("Long messages are cut (…).")
    if notes:
        lines += ["> " + " ".join(notes) + " The HTML and JSON reports have every item in full.", ""]
    return "\n".join(lines)
