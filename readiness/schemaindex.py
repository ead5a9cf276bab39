"""Probe schemas without importing the probe modules.

Importing every probe module for its parameters was a third of ``readiness validate``.  The schemas (kind, target,
params, summary, module, writes, static reads) are kept in a per-user cache file, keyed by what provides them: the
``readiness.probes`` entry points, their distributions (name and version) and the name, size and mtime of every
Python file beside each probe module (found without importing it), so an installed, upgraded or edited plugin
builds the index again.  An unwritable cache dir means building in memory; an unreadable, corrupt or foreign file
is ignored and rebuilt, never trusted: every field is checked before use.
"""

from __future__ import annotations

import os
import sys

from readiness import __version__, cachefile

TYPE_CHECKING = False  # the fingerprint is on the path of a cached `validate`: no typing there; mypy reads True
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    from readiness.entrypoints import EntryPoint
    from readiness.params import Param

FORMAT = 1


Corrupt = cachefile.Corrupt  # the cache file is not an index this version wrote


def cache_path() -> str | None:
    """One file per environment (venvs share ~/.cache)."""
    env = cachefile.sha256(sys.prefix.encode()).hexdigest()[:16]  # the key inside says which sys.path it was for
    return cachefile.path(f"probes-{FORMAT}-{env}.cache")


def _origin(module: str) -> str | None:
    """The module's file, without executing it (its parent packages are imported: they are light by contract)."""
    from importlib.util import find_spec

    try:
        spec = find_spec(module)
    except Exception:  # noqa: BLE001 - a missing parent package: the entry point is broken, the key says "none"
        return None
    return spec.origin if spec is not None and spec.has_location else None


def fingerprint(eps: Iterable[EntryPoint]) -> str:
    """What the index depends on; any change to it means building again."""
    h = cachefile.sha256(f"{FORMAT}\0{__version__}\0{sys.version}\0".encode())
    dirs = {os.path.dirname(os.path.abspath(__file__))}  # Param and the probe contract live here
    for ep in eps:
        module = ep.value.split("[", 1)[0].partition(":")[0].strip()
        origin = _origin(module)
        h.update(f"{ep.dist}\0{ep.name}\0{ep.value}\0{origin}\0".encode())
        if origin:
            dirs.add(os.path.dirname(origin))
    for d in sorted(dirs):
        try:
            names = sorted(e.name for e in os.scandir(d) if e.name.endswith(".py"))
        except OSError:
            names = []
        h.update(f"{cachefile.stamp(f'{d}/{name}' for name in names)}\0".encode())
    return h.hexdigest()


_given: tuple[list[tuple[str, str, str]], str] | None = None


def current() -> tuple[list[EntryPoint], str]:
    """The ``readiness.probes`` entry points by name and their fingerprint.  One given() a moment ago in this command
    for the same entry points is used once (a miss of a kept answer would stamp every plugin file twice)."""
    global _given
    from readiness.entrypoints import PROBE_GROUP, entry_points

    eps = sorted(entry_points(group=PROBE_GROUP), key=lambda e: e.name)
    given, _given = _given, None
    if given is not None and given[0] == [(ep.name, ep.value, ep.dist) for ep in eps]:
        return eps, given[1]
    return eps, fingerprint(eps)


def give(eps: Iterable[EntryPoint] | None, key: str = "") -> None:
    """Hand ``key``, the fingerprint of ``eps`` just taken, to the next current(); None takes it back unused."""
    global _given
    _given = None if eps is None else ([(ep.name, ep.value, ep.dist) for ep in eps], key)


# Values (defaults, choices) as JSON that gives back the same Python value: lists, tuples, dicts and floats tagged.
def _enc(v: Any) -> Any:
    if v is None or isinstance(v, (bool, str)) or (isinstance(v, int) and type(v) is int):
        return v
    if type(v) is float:
        return {"f": repr(v)}
    if type(v) is list:
        return {"l": [_enc(x) for x in v]}
    if type(v) is tuple:
        return {"t": [_enc(x) for x in v]}
    if type(v) is dict:
        return {"d": [[_enc(k), _enc(x)] for k, x in v.items()]}
    raise TypeError(f"{type(v).__name__} is not indexable")


def _dec(v: Any) -> Any:
    if v is None or isinstance(v, (bool, str, int)) and not isinstance(v, float):
        return v
    if isinstance(v, dict) and len(v) == 1:
        (tag, body), = v.items()
        if tag == "f" and isinstance(body, str):
            try:
                return float(body)
            except ValueError:
                raise Corrupt("float") from None
        if tag in ("l", "t") and isinstance(body, list):
            out = [_dec(x) for x in body]
            return out if tag == "l" else tuple(out)
        if tag == "d" and isinstance(body, list) and all(isinstance(p, list) and len(p) == 2 for p in body):
            return {cachefile.hashable(_dec(k)): _dec(x) for k, x in body}
    raise Corrupt("value")


def encode_probe(p: Any, entry: str) -> dict[str, Any]:
    """One probe's schema; TypeError when it cannot be kept (a default that is not plain data)."""
    params = []
    for name, param in p.params.items():
        params.append([name, {"type": param.type, "required": param.required,
                              "default": None if param.required else _enc(param.default), "help": param.help,
                              "choices": _enc(tuple(param.choices))}])
    reads = None if callable(p.reads) else list(p.reads)
    if reads is not None and not all(isinstance(r, str) for r in reads):
        raise TypeError("reads")
    return {"kind": p.kind, "target": p.target, "summary": p.summary, "module": p.module, "writes": p.writes,
            "reads": reads, "entry": entry, "params": params}


def _str(d: Mapping[str, Any], key: str, optional: bool = False) -> Any:
    v = d.get(key)
    if isinstance(v, str) or (optional and v is None):
        return v
    raise Corrupt(key)


def decode_probe(d: Any, make: Callable[..., Any]) -> Any:
    """A probe from its kept schema, through ``make(kind, target, params, summary, module, reads, writes, entry)``;
    Corrupt on anything that is not exactly what encode_probe writes."""
    from readiness.params import PARAM_TYPES, Param

    if not isinstance(d, dict) or not isinstance(d.get("params"), list) or not isinstance(d.get("writes"), bool):
        raise Corrupt("probe")
    params: dict[str, Param] = {}
    for pair in d["params"]:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and isinstance(pair[1], dict)):
            raise Corrupt("param")
        name, spec = pair
        if spec.get("type") not in PARAM_TYPES or not isinstance(spec.get("required"), bool):
            raise Corrupt("param type")
        choices = _dec(spec.get("choices"))
        if not isinstance(choices, tuple):
            raise Corrupt("choices")
        kw: dict[str, Any] = {"help": _str(spec, "help"), "choices": choices}
        if not spec["required"]:
            kw["default"] = _dec(spec.get("default"))
        params[name] = Param(spec["type"], **kw)
    reads = d.get("reads")
    if reads is not None and not (isinstance(reads, list) and all(isinstance(r, str) for r in reads)):
        raise Corrupt("reads")
    return make(_str(d, "kind"), _str(d, "target", optional=True), params, _str(d, "summary"), _str(d, "module"),
                None if reads is None else tuple(reads), d["writes"], _str(d, "entry"))


def read(path: str, key: str) -> list[Any] | None:
    """The kept probe schemas for ``key``, or None (no file, another key, unreadable or corrupt)."""
    body = cachefile.read(path, FORMAT, key)
    return body if isinstance(body, list) else None


def write(path: str, key: str, probes: list[dict[str, Any]]) -> bool:
    """Whether the index is now on disk."""
    return cachefile.write(path, FORMAT, key, probes)
