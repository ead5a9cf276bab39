"""One self-contained HTML file for reviewers: the verdict at a glance, filters, evidence, a sign-off."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import Markup
from readiness.reports import view

EXTENSION = ".html"
OPEN_STATUSES = ("fail", "error", "manual")
INLINE_VALUE_CHARS = 120
MAX_VALUE_CHARS = 20_000


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    # autoescape=True, not select_autoescape: the template name ends in .j2, which select_autoescape ignores.
    return jinja2.Environment(loader=jinja2.PackageLoader("readiness.reports", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@lru_cache(maxsize=1)
def _assets() -> tuple[str, str, str]:
    loader = _env().loader
    assert loader is not None
    css = loader.get_source(_env(), "report.css")[0]
    js = loader.get_source(_env(), "report.js")[0]
    # The page's CSP allows only this exact script: even a markup injection we failed to escape could not run.
    digest = base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
    return css, js, f"sha256-{digest}"


def _value(value: Any) -> dict[str, Any]:
    text = view.format_value(value)
    block = len(text) > INLINE_VALUE_CHARS or "\n" in text
    if block and not isinstance(value, str):
        text = view.format_value(value, indent=2)
    text, cut = view.truncate(text, MAX_VALUE_CHARS)
    kind = "str" if isinstance(value, str) else "json"
    return {"text": text, "block": block, "truncated": cut, "kind": kind}


def _item(result: dict[str, Any], fail_on: str, today: Any) -> dict[str, Any]:
    blocking = view.blocking(result, fail_on)
    waiver = result.get("waiver")
    return {
        **result,
        "anchor": f"item-{result['id']}",
        "blocking": blocking,
        "open": blocking or result["status"] in OPEN_STATUSES,
        "evidence_rows": [(str(k), _value(v)) for k, v in (result.get("evidence") or {}).items()],
        "waiver_state": view.waiver_state(waiver, today) if waiver else None,
    }


def context(report: dict[str, Any]) -> dict[str, Any]:
    fail_on = report["fail_on"]
    today = view.report_date(report)
    # Items --only/--skip left out are listed apart, folded: the filters and sections show what was asked.
    results, left_out = view.selected(report["results"])
    items = [_item(r, fail_on, today) for r in results]
    unselected = [r for r in report["results"] if view.is_unselected(r)]
    titles = view.section_titles(report)
    sections = [{"id": sid, "title": titles.get(sid, sid), "anchor": f"section-{n}", "results": group,
                 "counts": view.status_counts(group)}
                for n, (sid, group) in enumerate(view.by_section(items))]
    levels = {lv: view.status_counts(i for i in items if i["level"] == lv) for lv in view.LEVELS}
    css, js, script_hash = _assets()
    return {
        "report": report,
        "summary": report["summary"],
        "sections": sections,
        "items": items,
        "blocking": [i for i in items if i["blocking"]],
        "waivers": [i for i in items if i.get("waiver")],
        "attestations": [i for i in items if i.get("attestation")],
        "levels": levels,
        "statuses": view.STATUSES,
        "score": view.score(items),
        "score_definition": view.SCORE_DEFINITION,
        "expiring_days": view.EXPIRING_DAYS,
        "duration": view.format_duration(report["duration_s"]),
        "targets": [(name, [(str(k), view.format_value(v)) for k, v in settings.items()])
                    for name, settings in report["targets"].items()],
        "notices": report.get("notices") or [],
        "left_out": left_out,
        "unselected": unselected,
        "css": Markup(css),
        "js": Markup(js),
        "script_hash": script_hash,
    }


def render(report: dict[str, Any]) -> str:
    return _env().get_template("report.html.j2").render(context(report))
