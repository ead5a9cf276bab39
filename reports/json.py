"""The report model as JSON (schema ``readiness.report/v1``)."""

from __future__ import annotations

import json
from typing import Any

EXTENSION = ".json"


def render(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
