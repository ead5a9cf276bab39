"""Loaded YAML that remembers where it was written: ``YMap`` (a dict) and ``YList`` (a list) carry the line and
column of their own start and of every member, and the text each plain scalar member was written as.  No YAML
library here: validators and the parsed-file cache use these without importing the parser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Pos = tuple[int, int]  # 1-based line and column


class YMap(dict):  # type: ignore[type-arg]
    pos: Pos = (1, 1)
    key_pos: dict[Any, Pos]
    value_pos: dict[Any, Pos]
    value_text: dict[Any, str]

    def at(self, key: Any) -> Pos:
        """Where the value of ``key`` is (or, if absent, where this mapping starts)."""
        return self.value_pos.get(key, self.pos) if hasattr(self, "value_pos") else self.pos

    def key_at(self, key: Any) -> Pos:
        return self.key_pos.get(key, self.pos) if hasattr(self, "key_pos") else self.pos

    def text_of(self, key: Any) -> str | None:
        """The text a plain scalar value was written as (``0755``, ``yes``), or None."""
        return self.value_text.get(key) if hasattr(self, "value_text") else None


class YList(list):  # type: ignore[type-arg]
    pos: Pos = (1, 1)
    item_pos: list[Pos]
    item_text: list[str | None]

    def at(self, index: int) -> Pos:
        return self.item_pos[index] if hasattr(self, "item_pos") and index < len(self.item_pos) else self.pos

    def text_of(self, index: int) -> str | None:
        texts = getattr(self, "item_text", ())
        return texts[index] if index < len(texts) else None


def pos_of(container: Any, key: Any = None) -> Pos:
    if isinstance(container, (YMap, YList)):
        return container.pos if key is None else container.at(key)
    return (1, 1)


def map_strings(node: Any, fn: Callable[[str, Pos], str], where: Pos | None = None) -> Any:
    """A copy of a loaded tree with every string value replaced by ``fn(value, its position)``, every mapping and
    list keeping the positions (and the text as written) of the original; keys are left as they are."""
    where = where or pos_of(node)
    if isinstance(node, str):
        return fn(node, where)
    if isinstance(node, YMap):
        out = YMap()
        out.pos, out.key_pos, out.value_pos = node.pos, node.key_pos, node.value_pos
        out.value_text = getattr(node, "value_text", {})
        for key, value in node.items():
            out[key] = map_strings(value, fn, node.at(key))
        return out
    if isinstance(node, YList):
        items = YList(map_strings(v, fn, node.at(i)) for i, v in enumerate(node))
        items.pos, items.item_pos = node.pos, node.item_pos
        items.item_text = getattr(node, "item_text", [])
        return items
    return node
