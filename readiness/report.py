"""The report model (schema ``readiness.report/v1``): every format is rendered from this one dict."""

from __future__ import annotations

import datetime as dt
from typing import Any

from readiness import __version__
from readiness.checklist import Checklist
from readiness.deployment import Deployment
from readiness.models import STATUSES, Result, is_blocking
from readiness.targets import Targets

SCHEMA = "readiness.report/v1"


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cluster_name(targets: Targets) -> str:
    """Which stack a report is about, for fleet views, uploads and metrics labels."""
    import os

    k8s = targets.configs.get("kubernetes", {})
    for candidate in (targets.name, k8s.get("context"), k8s.get("release")):
        if candidate:
            return str(candidate)
    if targets.path:
        return os.path.splitext(os.path.basename(targets.path))[0]
    return "default"


def build(checklist: Checklist, targets: Targets, results: list[Result], *, profile: str, preset: str | None,
          fail_on: str, started: dt.datetime, finished: dt.datetime,
          notices: list[str] | None = None, deployment: Deployment | None = None) -> dict[str, Any]:
    for r in results:
        r.blocking = is_blocking(r.level, r.status, fail_on)
    summary: dict[str, Any] = {"total": len(results), **{s: 0 for s in STATUSES}}
    for r in results:
        summary[r.status] += 1
    summary["blocking"] = sum(r.blocking for r in results)
    summary["verdict"] = "ready" if summary["blocking"] == 0 else "not-ready"
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "tool": {"name": "readiness", "version": __version__},
        "checklist": {"name": checklist.name, "version": checklist.version, "sha256": checklist.sha256,
                      "path": checklist.path},
        "profile": profile,
        "preset": preset,
        "deployment": deployment.to_dict() if deployment else None,
        "fail_on": fail_on,
        "started_at": _stamp(started),
        "finished_at": _stamp(finished),
        "duration_s": round((finished - started).total_seconds(), 3),
        "cluster": cluster_name(targets),
        "targets": targets.redacted(),
        "sections": [{"id": s.id, "title": s.title} for s in checklist.sections],
        "summary": summary,
        "results": [r.to_dict() for r in results],
    }
    if notices:
        report["notices"] = list(notices)
    return report
