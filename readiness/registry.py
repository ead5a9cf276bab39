"""Probe kinds and report formats, collected from entry points (the built-ins are registered the same way)."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from readiness import schemaindex
from readiness.entrypoints import PROBE_GROUP, EntryPoint, entry_points
from readiness.probe import Probe

REPORTER_GROUP = "readiness.reporters"


@dataclass
class Registry:
    probes: dict[str, Probe] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # entry point -> why it could not be loaded
    # "read" from the schema index kept for ``fingerprint``, or "written" to it (the next run reads the same): only
    # then does the fingerprint say all the probes depend on (a module imported each run may import anything), so
    # only then may an answer made from them be kept (cli/resultcache.py)
    index: str = ""
    fingerprint: str = ""


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
    """Every probe kind; from the schema index when it is current, so no probe module is imported until one runs."""
    eps, key = schemaindex.current()
    path = schemaindex.cache_path()
    kept = schemaindex.read(path, key) if path else None
    if kept is not None:
        try:
            return Registry(_indexed(kept, {ep.value for ep in eps}), index="read", fingerprint=key)
        except (schemaindex.Corrupt, RecursionError, TypeError, ValueError):
            pass  # rebuilt below, and written over
    reg, entries = imported(eps)
    if path and not reg.broken:  # a broken plugin is tried again every run, and said every run
        try:
            index = [schemaindex.encode_probe(p, entries[kind]) for kind, p in reg.probes.items()]
        except TypeError:  # a default that is not plain data: this environment imports every time
            return reg
        if schemaindex.write(path, key, index):
            reg.index, reg.fingerprint = "written", key
    return reg


def _indexed(kept: list[Any], entries: set[str]) -> dict[str, Probe]:
    """The index's probes by kind; Corrupt (the whole index is a miss) for any malformed entry, a kind twice, or an
    entry that is not an installed ``readiness.probes`` entry point: a cache file must never choose what is imported."""
    out: dict[str, Probe] = {}
    for d in kept:
        p = schemaindex.decode_probe(d, _lazy)  # checks every field first, "kind" included
        if p.kind in out or not isinstance(p.func, _Deferred) or p.func.entry not in entries:
            raise schemaindex.Corrupt("entry")
        out[p.kind] = p
    return out


def imported(eps: list[EntryPoint]) -> tuple[Registry, dict[str, str]]:
    """Every probe kind by importing every entry point's module, and the entry point each kind came from."""
    reg = Registry()
    entries: dict[str, str] = {}
    for ep in eps:
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
            problem = _reads_problem(p)
            if problem:  # said by validate and `probes` now, not first by rbac or in the middle of an audit
                reg.broken[f"{ep.name} = {ep.value}"] = f"probe {p.kind!r}: {problem}"
                continue
            reg.probes[p.kind] = p
            entries[p.kind] = ep.value
    return reg, entries


def _reads_problem(p: Probe) -> str | None:
    """Why the probe's fixed Kubernetes reads are not each one resource (a read computed from the parameters is
    checked where it is computed), else None."""
    if callable(p.reads):
        return None
    from readiness.clients.kubernetes_names import parse_read
    from readiness.errors import ConfigError

    if isinstance(p.reads, str):
        return f"reads {p.reads!r} is one string, not a tuple of reads"
    try:
        for spec in p.reads:
            if not isinstance(spec, str):
                return f"its read {spec!r} is not a string"
            parse_read(spec)
    except ConfigError as exc:
        return str(exc)
    except TypeError:
        return f"reads {p.reads!r} is not a tuple of reads"
    return None


class _Deferred:
    """A probe function whose module is imported on first use."""

    def __init__(self, kind: str, entry: str):
        self.kind, self.entry = kind, entry

    def resolve(self) -> Probe:
        return loaded(self.kind, self.entry)

    def __call__(self, ctx: Any, params: dict[str, Any]) -> Any:
        return self.resolve().func(ctx, params)

    def reads(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        return self.resolve().declared_reads(params)


def _lazy(kind: str, target: str | None, params: dict[str, Any], summary: str, module: str,
          reads: tuple[str, ...] | None, writes: bool, entry: str) -> Probe:
    """A probe as the index describes it; its module is imported when it runs (or its reads are computed)."""
    deferred = _Deferred(kind, entry)
    return Probe(kind, target, params, deferred, summary, module, deferred.reads if reads is None else reads, writes)


class StaleIndex(RuntimeError):
    """The index described this probe otherwise than its module does: its defaults planned the item, so it must not
    run (a pass from the wrong defaults would be a lie); the index is deleted and built again next run."""

    def __init__(self) -> None:
        super().__init__("the probe schema index was stale; run again")


def _schema(p: Probe) -> tuple[Any, ...]:
    """What planning took from the index: target, params (defaults typed, as kept) and static reads; and writes."""
    try:
        d = schemaindex.encode_probe(p, "")
    except TypeError:  # not plain data, so never indexed: cannot match an indexed probe
        return (p.target, repr(p.params), None, p.writes, object())
    return d["target"], d["params"], d["reads"], d["writes"]


def resolved(p: Probe) -> Probe:
    """The probe with its module imported (the runner does it before the item's clock starts); StaleIndex when the
    real probe's schema is not the indexed one it was planned with."""
    if not isinstance(p.func, _Deferred):
        return p
    real = p.func.resolve()
    if _schema(real) != _schema(p):
        where = schemaindex.cache_path()
        if where:
            try:
                os.unlink(where)
            except OSError:
                pass
        raise StaleIndex()
    return real


@functools.cache
def loaded(kind: str, entry: str) -> Probe:
    """The probe object itself, from the entry point the index names."""
    for p in _probes_in(EntryPoint(kind, entry, PROBE_GROUP).load()):
        if p.kind == kind:
            return p
    raise RuntimeError(f"probe kind {kind!r} is no longer defined by {entry}")


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
