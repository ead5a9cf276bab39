"""Read a user's YAML file into plain Python values that remember where each key and value was written.

Mappings become ``YMap`` (a dict) and sequences ``YList`` (a list); both carry the line and column of their own
start and of every member, so validators can say ``file:line:col`` for any value.  Duplicate keys, syntax errors,
binary files, empty files and oversized files all become ``ConfigError`` with a location.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from readiness.errors import ConfigError, Problem

MAX_BYTES = 4 * 1024 * 1024

Pos = tuple[int, int]  # 1-based line and column


def _pos(mark: Any) -> Pos:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


class YMap(dict):  # type: ignore[type-arg]
    pos: Pos = (1, 1)
    key_pos: dict[Any, Pos]
    value_pos: dict[Any, Pos]

    def at(self, key: Any) -> Pos:
        """Where the value of ``key`` is (or, if absent, where this mapping starts)."""
        return self.value_pos.get(key, self.pos) if hasattr(self, "value_pos") else self.pos

    def key_at(self, key: Any) -> Pos:
        return self.key_pos.get(key, self.pos) if hasattr(self, "key_pos") else self.pos


class YList(list):  # type: ignore[type-arg]
    pos: Pos = (1, 1)
    item_pos: list[Pos]

    def at(self, index: int) -> Pos:
        return self.item_pos[index] if hasattr(self, "item_pos") and index < len(self.item_pos) else self.pos


def pos_of(container: Any, key: Any = None) -> Pos:
    if isinstance(container, (YMap, YList)):
        return container.pos if key is None else container.at(key)
    return (1, 1)


class _Loader(yaml.SafeLoader):
    problems: list[tuple[Pos, str]]


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> YMap:
    loader.flatten_mapping(node)
    out = YMap()
    out.pos, out.key_pos, out.value_pos = _pos(node.start_mark), {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            loader.problems.append((_pos(key_node.start_mark), "a mapping key must be a plain value"))
            continue
        if key in out:
            first = out.key_pos[key]
            loader.problems.append((_pos(key_node.start_mark),
                                    f"duplicate key {key!r} (first given on line {first[0]})"))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_pos[key] = _pos(key_node.start_mark)
        out.value_pos[key] = _pos(value_node.start_mark)
    return out


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> YList:
    out = YList(loader.construct_object(child, deep=True) for child in node.value)
    out.pos, out.item_pos = _pos(node.start_mark), [_pos(child.start_mark) for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def load_text(text: str, name: str) -> Any:
    """Parse one YAML document; ``None`` for an empty one."""
    loader = None
    try:
        loader = _Loader(text)  # the reader refuses control characters right here
        loader.problems = []
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([Problem(name, *_pos(mark), f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:  # reader errors (control characters) and the like
        mark = getattr(exc, "problem_mark", None)
        line, col = _pos(mark) if mark else (1, 1)
        raise ConfigError([Problem(name, line, col, f"not a readable YAML file: {str(exc).splitlines()[0]}")]) from None
    except RecursionError:
        raise ConfigError([Problem(name, 1, 1, "YAML nesting is too deep")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if loader.problems:
        raise ConfigError(Problem(name, line, col, msg) for (line, col), msg in loader.problems)
    return data


def load_file(path: str | os.PathLike[str], what: str = "file") -> Any:
    """Read and parse a file; every way it can be unusable is a ConfigError naming it."""
    name = os.fspath(path)
    try:
        size = os.path.getsize(name)
        if size > MAX_BYTES:
            raise ConfigError([Problem(name, 1, 1, f"{what} is {size / 1e6:.1f} MB; files over "
                                                   f"{MAX_BYTES // (1024 * 1024)} MB are refused")])
        with open(name, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{name}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{name}: is a directory, expected a YAML {what}") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {what}: {exc.strerror or exc}") from None
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ConfigError([Problem(name, line, 1, f"binary data (a NUL byte): not a YAML {what}")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        why = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}): not a YAML {what}"
        raise ConfigError([Problem(name, line, 1, why)]) from None
    if not text.strip():
        raise ConfigError([Problem(name, 1, 1, f"{what} is empty")])
    return load_text(text, name)
