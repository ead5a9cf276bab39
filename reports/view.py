"""Facts derived from the report model that several renderers show the same way (not a format itself)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from readiness.models import NOT_SELECTED, is_blocking, unselected

LEVELS = ("required", "recommended", "optional")
# Worst first: the order people read them in.
STATUSES = ("fail", "error", "manual", "waived", "skipped", "pass")
SCORED_LEVELS = ("required", "recommended")
EXPIRING_DAYS = 30
SCORE_DEFINITION = (
    "Score = passing / applicable, over required and recommended items. Applicable means not skipped; "
    "errors, items awaiting attestation and waived items count as not passing."
)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: Any) -> str:
    """One line of plain text: control characters (newlines, ESC sequences, bidi overrides) written as escapes, so
    probed data (a Redis key, an application_name) cannot forge result lines in a terminal or a CI log."""
    value = str(text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else
                        f"\\u{ord(m.group()):04x}", value)


def blocking(result: Mapping[str, Any], fail_on: str) -> bool:
    """The runner records ``blocking``; reports written without it are judged by the same gate."""
    if "blocking" in result:
        return bool(result["blocking"])
    return is_blocking(result["level"], result["status"], fail_on)


def blocking_results(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in report["results"] if blocking(r, report["fail_on"])]


def is_unselected(result: Mapping[str, Any]) -> bool:
    return unselected(str(result.get("status")), str(result.get("message") or ""))


def selected(results: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The results that --only/--skip asked about, and one line that counts the rest (None when none was left out):
    a narrowed run shows what was asked, not a screen of "not selected"."""
    shown: list[dict[str, Any]] = []
    flags: dict[str, int] = {}
    for r in results:
        if not is_unselected(r):
            shown.append(r)
            continue
        message = str(r["message"])
        # "--only a b" / "--skip c", as the runner wrote it
        flag = message[len("not selected ("):-1] if message.startswith(NOT_SELECTED) else message[len("excluded by "):]
        flags[flag] = flags.get(flag, 0) + 1
    hidden = sum(flags.values())
    if not hidden:
        return shown, None
    return shown, f"{hidden} item{'' if hidden == 1 else 's'} not selected ({'; '.join(sorted(flags))}): not shown"


def by_section(results: Iterable[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Sections in the order the checklist gives them (results keep checklist order)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(r["section"], []).append(r)
    return list(groups.items())


def section_titles(report: Mapping[str, Any]) -> dict[str, str]:
    """Section id -> title; reports written before titles were recorded fall back to the id."""
    return {s["id"]: s["title"] for s in report.get("sections", [])}


def status_counts(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


class Score(NamedTuple):
    passing: int
    applicable: int

    @property
    def percent(self) -> int | None:
        # Rounded down so that 99.6% never reads as a clean 100%.
        return None if not self.applicable else self.passing * 100 // self.applicable

    def __str__(self) -> str:
        return "n/a" if self.percent is None else f"{self.percent}%"


def score(results: Iterable[Mapping[str, Any]]) -> Score:
    scored = [r for r in results if r["level"] in SCORED_LEVELS and r["status"] != "skipped"]
    return Score(sum(r["status"] == "pass" for r in scored), len(scored))


def report_date(report: Mapping[str, Any]) -> dt.date:
    return dt.date.fromisoformat(report["finished_at"][:10])


class WaiverState(NamedTuple):
    state: str  # expired | expiring | valid | unknown
    days_left: int | None


def waiver_state(waiver: Mapping[str, Any], today: dt.date) -> WaiverState:
    """Judged against the report's own date, so that a report reads the same whenever it is opened."""
    try:
        expires = dt.date.fromisoformat(str(waiver.get("expires")))
    except ValueError:
        return WaiverState("expired" if waiver.get("expired") else "unknown", None)
    days = (expires - today).days
    if waiver.get("expired") or days < 0:
        return WaiverState("expired", days)
    return WaiverState("expiring" if days <= EXPIRING_DAYS else "valid", days)


def format_value(value: Any, *, indent: int | None = None) -> str:
    """Strings as they are, anything else as JSON (so nested evidence reads as data, not as Python reprs)."""
    if isinstance(value, str):
        return value
    separators = (",", ": ") if indent else (", ", ": ")
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, default=str)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return text[: max(limit - 1, 0)] + "…", True


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s"
