"""Probe kinds and report formats, collected from entry points (the built-ins are registered the same way)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from readiness.entrypoints import entry_points
from readiness.probe import Probe

PROBE_GROUP = "readiness.probes"
REPORTER_GROUP = "readiness.reporters"


@dataclass
class Registry:
    probes: dict[str, Probe] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # entry point -> why it could not be loaded


def _probes_in(obj: Any) -> list[Probe]:
    if isinstance(obj, Probe):
        return [obj]
    if isinstance(obj, ModuleType):
        return [v for v in vars(obj).values() if isinstance(v, Probe)]
    if isinstance(obj, (list, tuple)):
        return [v for v in obj if isinstance(v, Probe)]
    return []


@functools.lru_cache(maxsize=1)
def probes() -> Registry:
    reg = Registry()
    for ep in sorted(entry_points(group=PROBE_GROUP), key=lambda e: e.name):
        try:
            found = _probes_in(ep.load())
        except Exception as exc:  # a broken plugin must not take the tool down
            reg.broken[f"{ep.name} = {ep.value}"] = f"{type(exc).__name__}: {exc}"
            continue
        if not found:
            reg.broken[f"{ep.name} = {ep.value}"] = "defines no probe"
        for p in found:
            if p.kind in reg.probes and reg.probes[p.kind] is not p:
                reg.broken[f"{ep.name} = {ep.value}"] = f"probe kind {p.kind!r} is already defined by " \
                                                        f"{reg.probes[p.kind].module}"
                continue
            reg.probes[p.kind] = p
    return reg


@dataclass(frozen=True)
class Reporter:
    """A report format: a module with ``render(report: dict) -> str`` and ``EXTENSION``, loaded when used."""

    name: str
    module: ModuleType

    @property
    def extension(self) -> str:
        return str(getattr(self.module, "EXTENSION", "." + self.name))

    def render(self, report: dict[str, Any]) -> str:
        return str(self.module.render(report))


@functools.lru_cache(maxsize=1)
def reporter_names() -> tuple[str, ...]:
    return tuple(sorted({ep.name for ep in entry_points(group=REPORTER_GROUP)}))


@functools.cache
def reporter(name: str) -> Reporter:
    for ep in entry_points(group=REPORTER_GROUP):
        if ep.name == name:
            return Reporter(name, ep.load())
    raise KeyError(name)
