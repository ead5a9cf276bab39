"""The checklist: what must hold.  Loaded and validated whole before anything runs; every problem reported at once."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from readiness import treecache
from readiness.deployment import KINDS as DEPLOYMENTS
from readiness.errors import ConfigError, Problem, did_you_mean
from readiness.locations import default_path
from readiness.params import validate
from readiness.presets import PRESETS, PROFILES
from readiness.probe import Param, Probe
from readiness.registry import Registry, probes
from readiness.yamlsrc import YMap, pos_of

LEVELS = ("required", "recommended", "optional")
_ID = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_OPT = None

_TOP = {"version": Param("int"), "name": Param("str"), "sections": Param("list")}
# Applicability, on a section (its items inherit it) or an item (which then overrides the section's):
# deployments: the deployment kinds it applies to; except_presets: products it does not apply to.
_APPLIES = {"deployments": Param("str-list", _OPT), "except_presets": Param("str-list", _OPT)}
_SECTION = {"id": Param("str"), "title": Param("str"), "items": Param("list"), **_APPLIES}
_ITEM = {
    "id": Param("str"), "title": Param("str"), "level": Param("any"),
    "probe": Param("str", _OPT), "with": Param("dict", _OPT), "preset_with": Param("dict", _OPT),
    "manual": Param("bool", False), "rationale": Param("str"), "remediation": Param("str", ""),
    "presets": Param("str-list", _OPT), "profiles": Param("str-list", _OPT), "timeout": Param("any", _OPT),
    "source": Param("str", _OPT), **_APPLIES,
}


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    title: str
    level: str | Mapping[str, str]  # one level, or one per profile
    rationale: str
    remediation: str = ""
    probe: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)  # validated, defaults filled
    preset_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    manual: bool = False
    presets: tuple[str, ...] | None = None
    profiles: tuple[str, ...] | None = None
    timeout: float | None = None
    source: str | None = None
    line: int = 0
    deployments: tuple[str, ...] | None = None     # compose | kubernetes; None: both
    except_presets: tuple[str, ...] | None = None  # products it does not apply to

    def level_for(self, profile: str) -> str:
        return self.level if isinstance(self.level, str) else self.level[profile]

    def params_for(self, preset: str | None) -> dict[str, Any]:
        merged = dict(self.params)
        if preset and preset in self.preset_params:
            merged.update(self.preset_params[preset])
        return merged


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Checklist:
    name: str
    version: int
    path: str
    sha256: str
    sections: tuple[Section, ...]

    @property
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    def find(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)


def load_checklist(path: str | os.PathLike[str] | None = None, registry: Registry | None = None,
                   source: tuple[bytes, str] | None = None) -> Checklist:
    """``source``: the file's bytes and sha256 when the caller has read them (a kept answer's key): read once."""
    name = os.fspath(path) if path else default_path()
    # only the packaged checklist is cached: one file per path would pile up for every checklist ever validated
    raw, digest = treecache.parsed(name, cache=os.path.abspath(name) == default_path(), source=source)
    reg = registry or probes()
    problems: list[Problem] = []
    top, found = validate(_TOP, raw, name, "checklist")
    problems.extend(found)
    if top.get("version") not in (None, 1) and not found:
        problems.append(Problem(name, *pos_of(raw, "version"), f"unsupported checklist version {top['version']!r} "
                                                               "(this readiness reads version 1)"))
    sections: list[Section] = []
    seen_ids: dict[str, int] = {}
    raw_sections: list[Any] = top["sections"] if isinstance(top.get("sections"), list) else []
    for s_index, raw_section in enumerate(raw_sections):
        sec, found = validate(_SECTION, raw_section, name, f"section {s_index + 1}", pos_of(raw_sections, s_index))
        problems.extend(found)
        if found and not isinstance(raw_section, Mapping):
            continue
        sec_id = str(sec.get("id", f"section-{s_index + 1}"))
        if "id" in sec and not _ID.match(sec_id):
            problems.append(Problem(name, *pos_of(raw_section, "id"), f"section id {sec_id!r} must match [a-z0-9.-]"))
        _check_unique(sec_id, raw_section, "id", seen_ids, name, problems)
        _check_applies(sec, raw_section, name, f"section {sec_id!r}", problems)
        inherited: dict[str, tuple[str, ...]] = {k: tuple(sec[k]) for k in _APPLIES if sec.get(k)}
        items = []
        raw_items: list[Any] = sec["items"] if isinstance(sec.get("items"), list) else []
        for i_index, raw_item in enumerate(raw_items):
            item = _load_item(raw_item, pos_of(raw_items, i_index), sec_id, i_index, name, reg, seen_ids, problems)
            if item is not None:
                items.append(replace(item, deployments=item.deployments or inherited.get("deployments"),
                                     except_presets=item.except_presets or inherited.get("except_presets")))
        sections.append(Section(sec_id, str(sec.get("title", sec_id)), tuple(items)))
    if problems:
        raise ConfigError(problems)
    return Checklist(str(top["name"]), int(top["version"]), name, digest, tuple(sections))


def _check_unique(value: str, raw: Any, key: str, seen: dict[str, int], file: str, problems: list[Problem]) -> None:
    line = pos_of(raw, key)[0]
    if value in seen:
        problems.append(Problem(file, *pos_of(raw, key), f"duplicate id {value!r} (first used on line {seen[value]})"))
    else:
        seen[value] = line


def _load_item(raw: Any, at: tuple[int, int], section: str, index: int, file: str, reg: Registry,
               seen: dict[str, int], problems: list[Problem]) -> Item | None:
    where = f"item {index + 1} of section {section!r}"
    if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
        where = f"item {raw['id']!r}"
    spec, found = validate(_ITEM, raw, file, where, at)
    problems.extend(found)
    if not isinstance(raw, Mapping):
        return None
    item_id = spec.get("id")
    if isinstance(item_id, str):
        if not _ID.match(item_id):
            problems.append(Problem(file, *pos_of(raw, "id"), f"item id {item_id!r} must be lower-case letters, "
                                                               "digits, dots and dashes"))
        _check_unique(item_id, raw, "id", seen, file, problems)
    level = _check_level(spec.get("level"), raw, file, where, problems)
    timeout = spec.get("timeout")
    number = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    if timeout is not None and not (number and math.isfinite(timeout) and timeout > 0):  # one sentence for all
        problems.append(Problem(file, *pos_of(raw, "timeout"), f"{where}: timeout must be a positive number of "
                                                               f"seconds, not {timeout!r}"))
        timeout = None
    for key, known in (("presets", PRESETS), ("profiles", PROFILES)):
        for value in spec.get(key) or ():
            if value not in known:
                problems.append(Problem(file, *pos_of(raw, key), f"{where}: unknown {key[:-1]} {value!r}"
                                        + did_you_mean(value, known) + f" (known: {', '.join(known)})"))
    _check_applies(spec, raw, file, where, problems)
    params: dict[str, Any] = {}
    preset_params: dict[str, dict[str, Any]] = {}
    kind = spec.get("probe")
    if spec.get("manual"):
        if kind is not None:
            problems.append(Problem(file, *pos_of(raw, "probe"), f"{where}: a manual item has no probe"))
        for key in ("with", "preset_with"):
            if key in raw:
                problems.append(Problem(file, *pos_of(raw, key), f"{where}: a manual item takes no {key!r}"))
    elif kind is None:
        problems.append(Problem(file, *pos_of(raw), f"{where} needs a 'probe' (or 'manual: true')"))
    elif kind not in reg.probes:
        hint = did_you_mean(kind, reg.probes)
        if not hint and reg.broken:
            hint = " (plugins that failed to load: " + "; ".join(f"{k}: {v}" for k, v in reg.broken.items()) + ")"
        problems.append(Problem(file, *pos_of(raw, "probe"), f"{where}: unknown probe kind {kind!r}{hint}"))
    else:
        probe = reg.probes[kind]
        params, found = validate(probe.params, raw.get("with"), file, f"{where} ({kind}) 'with'",
                                 pos_of(raw, "with"))
        if "with" not in raw:
            found = [Problem(p.file, *pos_of(raw), p.message.replace("'with' is missing", "needs 'with:' with"))
                     for p in found]
        problems.extend(found)
        preset_params = _preset_params(probe, raw, file, where, problems)
    if not isinstance(item_id, str):
        return None
    return Item(
        id=str(item_id), section=section, title=str(spec.get("title", item_id)), level=level,
        rationale=str(spec.get("rationale", "")), remediation=str(spec.get("remediation") or ""),
        probe=kind, params=params, preset_params=preset_params, manual=bool(spec.get("manual")),
        presets=tuple(spec["presets"]) if spec.get("presets") else None,
        profiles=tuple(spec["profiles"]) if spec.get("profiles") else None,
        timeout=timeout, source=spec.get("source"), line=pos_of(raw)[0],
        deployments=tuple(spec["deployments"]) if spec.get("deployments") else None,
        except_presets=tuple(spec["except_presets"]) if spec.get("except_presets") else None,
    )


def _check_applies(spec: Mapping[str, Any], raw: Any, file: str, where: str, problems: list[Problem]) -> None:
    for key, known, what in (("deployments", DEPLOYMENTS, "deployment kind"), ("except_presets", PRESETS, "preset")):
        for value in spec.get(key) or ():
            if value not in known:
                problems.append(Problem(file, *pos_of(raw, key), f"{where}: unknown {what} {value!r} in {key}"
                                        + did_you_mean(value, known) + f" (known: {', '.join(known)})"))


def _check_level(value: Any, raw: Any, file: str, where: str, problems: list[Problem]) -> str | dict[str, str]:
    at = pos_of(raw, "level")
    if isinstance(value, str):
        if value not in LEVELS:
            problems.append(Problem(file, *at, f"{where}: level must be one of {', '.join(LEVELS)}, not {value!r}"
                                    + did_you_mean(value, LEVELS)))
        return value
    if isinstance(value, Mapping):
        out = {}
        for profile in value:
            if profile not in PROFILES:
                problems.append(Problem(file, *at, f"{where}: level per profile takes {' and '.join(PROFILES)}, "
                                                   f"not {profile!r}" + did_you_mean(profile, PROFILES)))
        for profile in PROFILES:
            level = value.get(profile)
            if level not in LEVELS:
                problems.append(Problem(file, *at, f"{where}: level for {profile} must be one of "
                                                   f"{', '.join(LEVELS)}, not {level!r}"))
            out[profile] = str(level)
        return out
    if value is not None:
        problems.append(Problem(file, *at, f"{where}: level must be one of {', '.join(LEVELS)} or a mapping "
                                           f"per profile ({', '.join(PROFILES)})"))
    return "required"


def _preset_params(probe: Probe, raw: Any, file: str, where: str, problems: list[Problem]) -> dict[str, dict[str, Any]]:
    overrides = raw.get("preset_with")
    if not isinstance(overrides, Mapping):  # absent, or mistyped (already reported)
        return {}
    out: dict[str, dict[str, Any]] = {}
    for preset, values in overrides.items():
        at = overrides.at(preset) if isinstance(overrides, YMap) else pos_of(raw, "preset_with")
        if preset not in PRESETS:
            problems.append(Problem(file, *at, f"{where}: preset_with names unknown preset {preset!r}"
                                    + did_you_mean(preset, PRESETS)))
            continue
        # An override gives some parameters; the others come from 'with'.
        partial = {k: Param(p.type, None, p.help, p.choices) for k, p in probe.params.items()}
        checked, found = validate(partial, values, file, f"{where} preset_with {preset}")
        problems.extend(found)
        out[preset] = {k: v for k, v in checked.items() if isinstance(values, Mapping) and k in values}
    return out
