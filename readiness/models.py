"""The verdict for one item, kept apart from the checklist item (spec) and the probe's evidence (observation)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("pass", "fail", "error", "skipped", "manual", "waived")
BLOCKING_STATUSES = ("fail", "error", "manual")
LEVEL_RANK = {"required": 3, "recommended": 2, "optional": 1}
FAIL_ON = ("required", "recommended", "optional", "never")
# How the runner words an item left out by --only/--skip: reports hide those (they were not asked about), and
# recognise them by this wording, since the report schema has no field for it.
NOT_SELECTED = "not selected (--only "
EXCLUDED = "excluded by --skip "


def unselected(status: str, message: str) -> bool:
    return status == "skipped" and message.startswith((NOT_SELECTED, EXCLUDED))


@dataclass
class Result:
    id: str
    section: str
    title: str
    level: str
    status: str
    probe: str | None
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    rationale: str = ""
    remediation: str = ""
    duration_s: float = 0.0
    waiver: dict[str, Any] | None = None
    attestation: dict[str, Any] | None = None
    blocking: bool = False
    attestable: bool = False  # an error the probe declared invisible to it: an attestation may cover it
    traceback: str | None = None  # shown with --debug, never written to reports

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("traceback")
        out.pop("attestable")
        out["duration_s"] = round(self.duration_s, 6)
        return out


def is_blocking(level: str, status: str, fail_on: str) -> bool:
    if fail_on == "never" or status not in BLOCKING_STATUSES:
        return False
    return LEVEL_RANK[level] >= LEVEL_RANK[fail_on]


def jsonable(value: Any, depth: int = 0) -> Any:
    """Evidence as JSON values: whatever a client library hands back, reports must be able to show it."""
    if depth > 12:
        return str(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v, depth + 1) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value]
    return str(value)


MAX_TEXT = 2000  # characters of one string kept in a result (a planted 40,000-character key name stays short)
MAX_ITEMS = 200  # members of one list or mapping kept
MAX_EVIDENCE = 64_000  # characters of evidence kept per item, all strings together


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... [{len(text) - limit} more characters]"


def bounded(value: Any, budget: list[int] | None = None) -> Any:
    """JSON evidence cut to size: long strings shortened, long lists and mappings cut, a total budget per item.
    Applied after secrets are blanked, so a cut never leaves a piece of a secret behind."""
    budget = [MAX_EVIDENCE] if budget is None else budget
    if isinstance(value, str):
        kept = shorten(value, max(0, min(MAX_TEXT, budget[0])))
        budget[0] -= len(kept)
        return kept
    if isinstance(value, list):
        out = [bounded(v, budget) for v in value[:MAX_ITEMS] if budget[0] > 0]
        if len(out) < len(value):
            out.append(f"... [{len(value) - len(out)} more]")
        return out
    if isinstance(value, dict):
        kept_map: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS or budget[0] <= 0:
                kept_map["..."] = f"{len(value) - i} more"
                break
            kept_map[shorten(k, 200)] = bounded(v, budget)
        return kept_map
    return value
