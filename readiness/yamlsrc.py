"""Read a user's YAML file into plain Python values that remember where each key and value was written.

Mappings become ``YMap`` (a dict) and sequences ``YList`` (a list); both carry the line and column of their own
start and of every member, and the text each plain scalar member was written as, so validators can say
``file:line:col`` for any value and text fields keep ``0755`` or ``12:30:00`` as written.  Duplicate keys, syntax
errors, impossible values (``2099-02-30``, ``!!int "abc"``), unknown tags, binary, empty and oversized files, and
files too big or too deep to be settings (alias bombs included) all become ``ConfigError`` with a location.

LibYAML parses when PyYAML has it; a file LibYAML refuses is parsed again by the pure-Python parser so the error
message and its location are the same whichever is installed.
"""

from __future__ import annotations

import os
from typing import Any

from readiness.errors import ConfigError, Problem
from readiness.fsio import read_bytes
from readiness.locations import MAX_BYTES  # defined there: the click-free paths need it without this module
from readiness.ytree import Pos, YList, YMap, map_strings, pos_of

__all__ = ["MAX_ALIASED", "MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "Pos", "YList", "YMap", "decode_text",
           "load_documents", "load_file", "load_settings", "load_text", "map_strings", "pos_of", "read_text"]

MAX_NODES = 100_000  # values in a file, aliases expanded: settings files hold a few thousand
MAX_ALIASED = 10_000  # values that aliases (and << merges) may repeat in all
MAX_DEPTH = 64


def _parsers() -> tuple[Any, Any]:
    """LibYAML's loader (None without it) and the pure-Python one, built on the first parse.  Tests set ``_FAST``
    to None to force the pure parser; a value set here first is kept."""
    g = globals()
    if "_PURE" not in g:
        from readiness import yamlparse

        g.setdefault("_FAST", yamlparse.FAST)
        g["_PURE"] = yamlparse.PURE
    return g["_FAST"], g["_PURE"]


def __getattr__(name: str) -> Any:
    if name in ("_FAST", "_PURE"):
        return _parsers()[name == "_PURE"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_text(text: str, name: str, libyaml: bool | None = None) -> Any:
    """Parse one YAML document; ``None`` for an empty one.  ``libyaml=False`` forces the pure-Python parser."""
    return _either(text, name, libyaml, many=False)


def load_documents(text: str, name: str, libyaml: bool | None = None, max_nodes: int | None = MAX_NODES) -> list[Any]:
    """Every document of a YAML stream (rendered manifests, ``---``-separated files), under the same budgets
    (``max_nodes=None``: alias and depth budgets only, for files whose size is capped by their reader)."""
    return list(_either(text, name, libyaml, many=True, max_nodes=max_nodes))


def _either(text: str, name: str, libyaml: bool | None, many: bool, max_nodes: int | None = MAX_NODES) -> Any:
    from readiness import yamlparse

    return yamlparse.either(text, name, *_parsers(), libyaml, many, max_nodes)


def read_text(path: str, what: str, kind: str = "a YAML") -> str:
    """A settings file's text; every way it can be unusable (missing, not a regular file, too large, binary, not
    UTF-8) is a ConfigError naming it.  ``kind`` completes "expected {kind} {what}"."""
    return decode_text(read_bytes(path, what, MAX_BYTES, expected=f"{kind} {what}"), path, what, kind)


def decode_text(raw: bytes, path: str, what: str, kind: str = "a YAML") -> str:
    """``read_text`` on bytes already read."""
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ConfigError([Problem(path, line, 1, f"binary data (a NUL byte): not {kind} {what}")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        why = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}): not {kind} {what}"
        raise ConfigError([Problem(path, line, 1, why)]) from None


def load_file(path: str | os.PathLike[str], what: str = "file") -> Any:
    """Read and parse a file; every way it can be unusable is a ConfigError naming it."""
    name = os.fspath(path)
    return load_settings(read_text(name, what), name, what)


def load_settings(text: str, name: str, what: str) -> Any:
    """``load_file`` on text already read: an empty file, or one of only comments, is a ConfigError too."""
    if not text.strip():
        raise ConfigError([Problem(name, 1, 1, f"{what} is empty")])
    data = load_text(text, name)
    if data is None:
        raise ConfigError([Problem(name, 1, 1, f"{what} has no settings (only comments)")])
    return data
