"""A parsed YAML file (``YMap``/``YList`` with every position and written text) as JSON and back, so a file read
again unchanged (the packaged checklist, on every ``validate`` and ``list``) needs neither PyYAML nor a parse.
Decoding checks every field: what was not written by ``encode`` is ``Corrupt``, never a tree."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from readiness import __version__, cachefile
from readiness.fsio import read_bytes
from readiness.yamlsrc import MAX_BYTES, decode_text, load_settings
from readiness.ytree import YList, YMap

FORMAT = 1


Corrupt = cachefile.Corrupt


def encode(node: Any) -> Any:
    """TypeError for anything a YAML file does not load into."""
    if node is None or isinstance(node, (bool, str)) or type(node) is int:
        return node
    if type(node) is float:
        return {"f": repr(node)}
    if type(node) is dt.datetime:
        return {"dt": node.isoformat()}
    if type(node) is dt.date:
        return {"d": node.isoformat()}
    if type(node) is YMap:
        pairs = [[encode(k), *node.key_at(k), *node.at(k), node.text_of(k), encode(v)] for k, v in node.items()]
        return {"m": [*node.pos, pairs]}
    if type(node) is YList:
        if len(getattr(node, "item_pos", ())) != len(node):
            raise TypeError("a list without its positions")
        items = [[*node.at(i), node.text_of(i), encode(v)] for i, v in enumerate(node)]
        return {"s": [*node.pos, items]}
    raise TypeError(f"{type(node).__name__} is not a loaded YAML value")


def _pos(a: Any, b: Any) -> tuple[int, int]:
    if type(a) is int and type(b) is int:
        return a, b
    raise Corrupt("position")


def _text(t: Any) -> str | None:
    if t is None or isinstance(t, str):
        return t
    raise Corrupt("text")


def decode(obj: Any) -> Any:
    if obj is None or isinstance(obj, (bool, str)) or type(obj) is int:
        return obj
    if not (isinstance(obj, dict) and len(obj) == 1):
        raise Corrupt("value")
    (tag, body), = obj.items()
    try:
        if tag == "f" and isinstance(body, str):
            return float(body)
        if tag == "dt" and isinstance(body, str):
            return dt.datetime.fromisoformat(body)
        if tag == "d" and isinstance(body, str):
            return dt.date.fromisoformat(body)
    except ValueError:
        raise Corrupt(tag) from None
    if tag in ("m", "s") and isinstance(body, list) and len(body) == 3 and isinstance(body[2], list):
        return _mapping(body) if tag == "m" else _sequence(body)
    raise Corrupt("value")


def _mapping(body: list[Any]) -> YMap:
    out = YMap()
    out.pos, out.key_pos, out.value_pos, out.value_text = _pos(body[0], body[1]), {}, {}, {}
    for pair in body[2]:
        if not (isinstance(pair, list) and len(pair) == 7):
            raise Corrupt("pair")
        key = cachefile.hashable(decode(pair[0]))
        out[key] = decode(pair[6])
        out.key_pos[key], out.value_pos[key] = _pos(pair[1], pair[2]), _pos(pair[3], pair[4])
        text = _text(pair[5])
        if text is not None:
            out.value_text[key] = text
    return out


def _sequence(body: list[Any]) -> YList:
    for item in body[2]:
        if not (isinstance(item, list) and len(item) == 4):
            raise Corrupt("item")
    out = YList(decode(item[3]) for item in body[2])
    out.pos = _pos(body[0], body[1])
    out.item_pos = [_pos(item[0], item[1]) for item in body[2]]
    out.item_text = [_text(item[2]) for item in body[2]]
    return out


def parsed(name: str, cache: bool = True, source: tuple[bytes, str] | None = None) -> tuple[Any, str]:
    """The checklist file's loaded YAML and the sha256 of its bytes; with ``cache``, a file parsed before, unchanged,
    comes from the cache with every position and written text (so every message is the same), without PyYAML.
    ``source``: the file's bytes and their sha256, already read and hashed by the caller (a kept answer's key)."""
    if source is not None:
        data, digest = source
    else:
        data = read_bytes(name, "checklist", MAX_BYTES, expected="a YAML checklist")
        digest = cachefile.sha256(data).hexdigest()
    where = cachefile.path(f"checklist-{cachefile.sha256(os.path.abspath(name).encode()).hexdigest()[:16]}.cache") \
        if cache else None
    key = f"{digest}:{FORMAT}:{_parser_stamp()}"
    kept = cachefile.read(where, FORMAT, key) if where else None
    if kept is not None:
        try:
            return decode(kept), digest
        except (Corrupt, RecursionError):
            pass  # parsed again below, and written over
    raw = load_settings(decode_text(data, name, "checklist"), name, "checklist")
    if where:
        try:
            body = encode(raw)
        except (TypeError, RecursionError):
            return raw, digest
        cachefile.write(where, FORMAT, key, body)
    return raw, digest


def _parser_stamp() -> str:
    """What else makes the tree: this version's parser code (its limits in yamlsrc, this encoding) and the installed
    PyYAML (found, not imported)."""
    from importlib.util import find_spec

    here = os.path.dirname(os.path.abspath(__file__))
    spec = find_spec("yaml")
    files = [os.path.join(here, n) for n in ("yamlparse.py", "ytree.py", "yamlsrc.py", "treecache.py")]
    files.append(spec.origin if spec is not None and spec.origin else "")
    return f"{__version__}|{cachefile.stamp(files)}"
