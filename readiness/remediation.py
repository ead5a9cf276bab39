"""Remediation in the product's own words: item id -> preset -> {text, where, snippet}, kept as data
(readiness/remediation.yaml) beside the checklist.  Loaded once, through the hostile-input-safe loader, validated.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from readiness.errors import ConfigError, Problem
from readiness.yamlsrc import YMap, load_file, pos_of

PATH = os.path.join(os.path.dirname(__file__), "remediation.yaml")
PRESETS = ("langsmith", "langfuse", "langsight")
WHERE_KEYS = ("helm", "env", "compose", "config")
ENTRY_KEYS = ("text", "where", "snippet")


def _check_entry(entry: Any, file: str, at: tuple[int, int], what: str) -> list[Problem]:
    if not isinstance(entry, Mapping):
        return [Problem(file, *at, f"{what} must be a mapping with text, where and snippet")]
    problems = [Problem(file, *entry.key_at(k) if isinstance(entry, YMap) else at, f"{what}: unknown key {k!r} "
                        f"(known: {', '.join(ENTRY_KEYS)})") for k in entry if k not in ENTRY_KEYS]
    if not isinstance(entry.get("text"), str) or not entry["text"].strip():
        problems.append(Problem(file, *pos_of(entry, "text"), f"{what}: text must be a sentence"))
    where = entry.get("where")
    if not isinstance(where, Mapping) or not where:
        problems.append(Problem(file, *pos_of(entry, "where"), f"{what}: where must name at least one of "
                                                               f"{', '.join(WHERE_KEYS)}"))
    else:
        for k, v in where.items():
            if k not in WHERE_KEYS or not isinstance(v, str) or not v.strip():
                problems.append(Problem(file, *pos_of(where, k), f"{what}: where.{k} must be one of "
                                                                 f"{', '.join(WHERE_KEYS)} naming a key, variable "
                                                                 "or line"))
    if "snippet" in entry and not isinstance(entry["snippet"], str):
        problems.append(Problem(file, *pos_of(entry, "snippet"), f"{what}: snippet must be text"))
    return problems


def load(path: str = PATH, known_ids: set[str] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """The table, validated: every problem at its file:line:col.  ``known_ids`` (the checklist's) refuses ids that
    do not exist."""
    raw = load_file(path, "remediation file")
    problems: list[Problem] = []
    if not isinstance(raw, Mapping) or raw.get("version") != 1 or not isinstance(raw.get("items"), Mapping):
        raise ConfigError([Problem(path, *pos_of(raw), "a remediation file is {version: 1, items: {ID: {PRESET: "
                                                       "{text, where, snippet}}}}")])
    items = raw["items"]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for item_id, presets in items.items():
        at = items.key_at(item_id) if isinstance(items, YMap) else (1, 1)
        if known_ids is not None and item_id not in known_ids:
            problems.append(Problem(path, *at, f"{item_id!r} is not an item of the checklist"))
        if not isinstance(presets, Mapping) or not presets:
            problems.append(Problem(path, *at, f"{item_id}: give a mapping of presets"))
            continue
        for preset, entry in presets.items():
            p_at = presets.key_at(preset) if isinstance(presets, YMap) else at
            if preset not in PRESETS:
                problems.append(Problem(path, *p_at, f"{item_id}: unknown preset {preset!r} "
                                                     f"(known: {', '.join(PRESETS)})"))
                continue
            problems += _check_entry(entry, path, pos_of(presets, preset), f"{item_id} {preset}")
            out.setdefault(str(item_id), {})[preset] = {"text": entry.get("text"), "where": dict(entry.get("where")
                                                        or {}), "snippet": entry.get("snippet")} \
                if isinstance(entry, Mapping) else {}
    if problems:
        raise ConfigError(problems)
    return out


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, dict[str, Any]]]:
    return load(PATH)


def for_item(item_id: str, preset: str | None) -> dict[str, Any] | None:
    """The product's own remediation of an item ({text, where, snippet}), or None (use the checklist's)."""
    if not preset:
        return None
    entry = _table().get(item_id, {}).get(preset)
    return dict(entry, where=dict(entry["where"])) if entry else None
