"""Prometheus text exposition format, for node_exporter's textfile collector or a sidecar: one gauge per item and
status (1 for the status it has, 0 for the others, so alerts can say `== 1`), plus the summary and the run's time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from readiness.models import STATUSES

EXTENSION = ".prom"


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    """Every digit: `:g` keeps six, which rounds a Unix time to 1,000 s."""
    if isinstance(value, bool) or (isinstance(value, int)):
        return str(int(value))
    return repr(float(value)).replace("nan", "NaN").replace("inf", "+Inf").replace("-+Inf", "-Inf")


def _sample(name: str, labels: dict[str, Any], value: float) -> str:
    inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
    return f"{name}{{{inner}}} {_number(value)}"


def _metric(name: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples]


def _timestamp(text: str) -> float:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc).timestamp()


def render(report: dict[str, Any]) -> str:
    cluster = report.get("cluster") or "default"
    base = {"cluster": cluster}
    results = report["results"]
    summary = report["summary"]
    lines: list[str] = []
    lines += _metric("readiness_item_status", "1 for the status the item has (pass, fail, error, skipped, manual, "
                     "waived), 0 for the others.",
                     (_sample("readiness_item_status", {**base, "id": r["id"], "section": r["section"],
                                                        "level": r["level"], "status": status},
                              1 if r["status"] == status else 0)
                      for r in results for status in STATUSES))
    lines += _metric("readiness_item_blocking", "1 when the item blocks the gate.",
                     (_sample("readiness_item_blocking", {**base, "id": r["id"], "section": r["section"],
                                                          "level": r["level"]}, 1 if r.get("blocking") else 0)
                      for r in results))
    lines += _metric("readiness_items", "Items by status in the last run.",
                     (_sample("readiness_items", {**base, "status": s}, summary[s]) for s in STATUSES))
    lines += _metric("readiness_blocking_items", "Items blocking the gate in the last run.",
                     [_sample("readiness_blocking_items", base, summary["blocking"])])
    lines += _metric("readiness_ready", "1 when the last run's verdict was ready.",
                     [_sample("readiness_ready", {**base, "fail_on": report["fail_on"]},
                              1 if summary["verdict"] == "ready" else 0)])
    lines += _metric("readiness_last_run_timestamp_seconds", "When the last run finished (Unix time).",
                     [_sample("readiness_last_run_timestamp_seconds", base, _timestamp(report["finished_at"]))])
    lines += _metric("readiness_run_duration_seconds", "How long the last run took.",
                     [_sample("readiness_run_duration_seconds", base, report["duration_s"])])
    lines += _canary(results, base)
    return "\n".join(lines) + "\n"


_CANARY_STEPS = {"accept_s": "accept", "visible_s": "visible"}


def _canary(results: list[dict[str, Any]], base: dict[str, Any]) -> list[str]:
    """The end-to-end canary's timings (evidence accept_s / visible_s), when an item measured them."""
    samples = [_sample("readiness_canary_seconds", {**base, "id": r["id"], "step": step}, float(value))
               for r in results for key, step in _CANARY_STEPS.items()
               if isinstance(value := (r.get("evidence") or {}).get(key), (int, float)) and not isinstance(value, bool)]
    return _metric("readiness_canary_seconds", "The end-to-end canary: seconds to accept the trace, and from "
                   "accepted to readable.", samples) if samples else []
