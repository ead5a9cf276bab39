"""Variants of the default checklist for tests: the same items with other parameters, or extra items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from readiness.checklist import default_path


def checklist_with(tmp_path: Path, overrides: dict[str, dict[str, Any]] | None = None,
                   extra: list[dict[str, Any]] | None = None, section: str = "redis") -> str:
    """The packaged checklist with some items' ``with`` changed (their preset overrides dropped; a None drops a
    parameter), and ``extra`` items appended to ``section``; returns the path of the written file."""
    data = yaml.safe_load(Path(default_path()).read_text())
    for sec in data["sections"]:
        for item in sec["items"]:
            if item["id"] in (overrides or {}):
                merged = {**(item.get("with") or {}), **overrides[item["id"]]}
                item["with"] = {k: v for k, v in merged.items() if v is not None}  # None drops a parameter
                item.pop("preset_with", None)
        if sec["id"] == section:
            sec["items"].extend(extra or [])
    path = tmp_path / "checklist.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def only(section: str, tmp_path: Path) -> str:
    """The default checklist's ``section`` alone (other sections' work in progress cannot break these tests)."""
    data = yaml.safe_load(Path(default_path()).read_text())
    data["sections"] = [s for s in data["sections"] if s["id"] == section]
    path = tmp_path / f"{section}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def generic_item(item_id: str, probe: str, **params: Any) -> dict[str, Any]:
    return {"id": item_id, "title": item_id, "level": "required", "probe": probe, "with": params,
            "rationale": "test item"}
