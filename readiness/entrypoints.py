"""Entry points of the installed distributions, read without importlib.metadata.

``import importlib.metadata`` alone costs about 20 ms of every start-up (it pulls in email, zipfile, csv, ...), and
each ``entry_points(group=...)`` call reads every distribution again: more than ``validate`` spends on the checklist.
The answers are the same for what an installed or editable package declares: ``*.dist-info`` / ``*.egg-info``
directories on ``sys.path``, the first distribution of a name wins.  A path entry this cannot read (a zip file) makes
it ask importlib.metadata instead.
"""

from __future__ import annotations

import os
import re
import sys
from importlib import import_module

TYPE_CHECKING = False  # typing and dataclasses are most of a cached `validate`; mypy reads this name as True
if TYPE_CHECKING:
    from typing import Any

_SUFFIXES = (".dist-info", ".egg-info")
PROBE_GROUP = "readiness.probes"  # here, not in the registry: the kept answers' key reads it without the registry


class EntryPoint:
    """``name = value`` in ``group``.  ``dist`` is the distribution's metadata dir ("name-1.0.dist-info"): its name
    and version, for the schema index's key; not part of what the entry point is (equality, hash).  Immutable, as
    importlib.metadata's: its hash is its fields and one instance is shared by every caller (the process cache)."""

    __slots__ = ("name", "value", "group", "dist")
    name: str
    value: str
    group: str
    dist: str

    def __init__(self, name: str, value: str, group: str, dist: str = "") -> None:
        init = object.__setattr__  # the only writes there are: __setattr__ below refuses every other
        init(self, "name", name)
        init(self, "value", value)
        init(self, "group", group)
        init(self, "dist", dist)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"EntryPoint is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"EntryPoint is immutable: cannot delete {name!r}")

    def _id(self) -> tuple[str, str, str]:
        return self.name, self.value, self.group

    def __eq__(self, other: object) -> bool:
        return other._id() == self._id() if isinstance(other, EntryPoint) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._id())

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r}, dist={self.dist!r})"

    def load(self) -> Any:
        module, _, attrs = self.value.split("[", 1)[0].partition(":")  # "[extras]" select nothing at load time
        obj = import_module(module.strip())
        for attr in filter(None, attrs.strip().split(".")):
            obj = getattr(obj, attr)
        return obj


_cache: dict[tuple[str, ...], dict[str, list[EntryPoint]] | None] = {}


def entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group``, in ``sys.path`` order (read once per ``sys.path``)."""
    key = tuple(sys.path)
    if key not in _cache:
        _cache[key] = _scan(key)
    found = _cache[key]
    if found is None:
        from importlib.metadata import entry_points as slow

        return [EntryPoint(ep.name, ep.value, group, f"{ep.dist.name}-{ep.dist.version}" if ep.dist else "")
                for ep in slow(group=group)]
    return list(found.get(group, ()))


def _normalized(dirname: str) -> str:
    """``Foo.Bar-1.0.dist-info`` and ``foo_bar.egg-info`` name one distribution: ``foo_bar``."""
    stem = dirname.rsplit(".", 1)[0].removesuffix(".dist").removesuffix(".egg")
    return re.sub(r"[-_.]+", "_", stem.split("-", 1)[0]).lower()


def _scan(path: tuple[str, ...]) -> dict[str, list[EntryPoint]] | None:
    groups: dict[str, list[EntryPoint]] = {}
    seen: set[str] = set()
    for entry in path:
        where = entry or "."
        if os.path.isfile(where):
            return None  # a zipped path entry: only importlib.metadata reads those
        try:
            names = sorted(os.listdir(where))
        except OSError:
            continue
        for dirname in names:
            if not dirname.endswith(_SUFFIXES):
                continue
            dist = _normalized(dirname)
            if dist in seen:
                continue
            try:
                with open(os.path.join(where, dirname, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except NotADirectoryError:
                continue
            except OSError:
                if os.path.isdir(os.path.join(where, dirname)):
                    seen.add(dist)  # a distribution without entry points still shadows later ones
                continue
            seen.add(dist)
            _parse(text, groups, dirname)
    return groups


def _parse(text: str, groups: dict[str, list[EntryPoint]], dist: str = "") -> None:
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        name, sep, value = line.partition("=")
        if group is not None and sep:
            groups.setdefault(group, []).append(EntryPoint(name.strip(), value.strip(), group, dist))
