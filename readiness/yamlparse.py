"""The YAML parser behind ``readiness.yamlsrc``: PyYAML's loaders with position-keeping constructors and the
budgets (values, aliases, depth) checked on the event stream before anything is built.  Imported on the first
parse only: PyYAML's import (its resolver compiles a dozen regular expressions) is a good part of a start-up."""

from __future__ import annotations

from typing import Any

import yaml

from readiness.errors import ConfigError, Problem
from readiness.yamlsrc import MAX_ALIASED, MAX_DEPTH, MAX_NODES
from readiness.ytree import Pos, YList, YMap

_C_BASE: Any = getattr(yaml, "CSafeLoader", None)


def _pos(mark: Any) -> Pos:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _plain_text(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) and not node.style else None  # LibYAML says ""


class _Constructing:
    """Constructors shared by the LibYAML and the pure-Python loaders; a value that cannot be built is a problem
    at its own node, and loading goes on so every problem is reported at once."""

    problems: list[tuple[Pos, str]]

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)  # type: ignore[misc]
        except yaml.constructor.ConstructorError as exc:
            self.problems.append((_pos(exc.problem_mark or node.start_mark), _constructor_message(exc, node)))
        except RecursionError:
            raise
        except Exception as exc:  # noqa: BLE001 - PyYAML's constructors raise ValueError, KeyError, AttributeError...
            self.problems.append((_pos(node.start_mark), _value_message(node, exc)))
        return None

    def construct_undefined(self, node: yaml.Node) -> Any:
        self.problems.append((_pos(node.start_mark), f"unknown YAML tag {node.tag!r} (settings files take plain "
                                                     "values, lists and mappings)"))
        return None


def _constructor_message(exc: yaml.constructor.ConstructorError, node: yaml.Node) -> str:
    return f"YAML syntax error: {exc.problem or exc.context or 'cannot read this value'}"


def _value_message(node: yaml.Node, exc: Exception) -> str:
    what = {"tag:yaml.org,2002:timestamp": "a date", "tag:yaml.org,2002:int": "an integer",
            "tag:yaml.org,2002:float": "a number", "tag:yaml.org,2002:bool": "true or false",
            "tag:yaml.org,2002:null": "null"}.get(node.tag, f"a {node.tag.rsplit(':', 1)[-1]} value")
    text = str(node.value) if isinstance(node, yaml.ScalarNode) else ""
    shown = repr(text if len(text) <= 40 else text[:37] + "...")
    why = str(exc).splitlines()[0] if str(exc) and isinstance(exc, ValueError) else ""
    return f"{shown} is not {what}" + (f" ({why})" if why and node.tag.endswith("timestamp") else "")


_MERGE = "tag:yaml.org,2002:merge"


def _construct_map(loader: Any, node: yaml.MappingNode) -> YMap:
    written = {id(k) for k, _ in node.value if k.tag != _MERGE}
    loader.flatten_mapping(node)  # merged pairs first, so the keys written here override them
    out = YMap()
    out.pos, out.key_pos, out.value_pos, out.value_text = _pos(node.start_mark), {}, {}, {}
    explicit: set[Any] = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            loader.problems.append((_pos(key_node.start_mark), "a mapping key must be a plain value"))
            continue
        if id(key_node) in written:
            if key in explicit:
                first = out.key_pos[key]
                loader.problems.append((_pos(key_node.start_mark),
                                        f"duplicate key {key!r} (first given on line {first[0]})"))
            explicit.add(key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_pos[key] = _pos(key_node.start_mark)
        out.value_pos[key] = _pos(value_node.start_mark)
        text = _plain_text(value_node)
        if text is not None:
            out.value_text[key] = text
        else:
            out.value_text.pop(key, None)
    return out


def _construct_seq(loader: Any, node: yaml.SequenceNode) -> YList:
    out = YList(loader.construct_object(child, deep=True) for child in node.value)
    out.pos, out.item_pos = _pos(node.start_mark), [_pos(child.start_mark) for child in node.value]
    out.item_text = [_plain_text(child) for child in node.value]
    return out


def _loader_class(base: Any) -> Any:
    cls: Any = type(f"_Loader{base.__name__}", (_Constructing, base), {})
    cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
    cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)
    cls.add_constructor(None, _Constructing.construct_undefined)
    return cls


PURE = _loader_class(yaml.SafeLoader)
FAST = _loader_class(_C_BASE) if _C_BASE is not None else None


_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _measure(loader: Any, max_nodes: int | None = MAX_NODES) -> None:
    """Walk the event stream once, before anything is built, refusing a file whose values (aliases expanded) are
    too many or nested too deep; ``${VAR}`` interpolation and validation visit every expanded value.  With
    ``max_nodes`` None only aliases count: the file's size bounds the rest."""
    limit = max_nodes if max_nodes is not None else float("inf")
    opened: list[tuple[int, str | None]] = []  # (values before it, anchor) per open collection
    sizes: dict[str, int] = {}  # values under each anchor, itself included
    total = aliased = 0
    scalar, alias, stream_end = yaml.ScalarEvent, yaml.AliasEvent, yaml.StreamEndEvent
    get = loader.get_event
    while True:
        event = get()
        kind = event.__class__
        if kind is scalar:
            total += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif kind in _OPENS:
            opened.append((total, event.anchor))
            total += 1
            if len(opened) > MAX_DEPTH:
                raise _Refused(event.start_mark, f"values are nested more than {MAX_DEPTH} deep: not a settings file")
        elif kind in _CLOSES:
            before, anchor = opened.pop()
            if anchor is not None:
                sizes[anchor] = total - before
        elif kind is alias:
            if event.anchor in sizes:
                aliased += sizes[event.anchor]
                total += sizes[event.anchor]
                if aliased > MAX_ALIASED:
                    raise _Refused(event.start_mark, f"aliases repeat more than {MAX_ALIASED} values (an alias "
                                                     "bomb?): write the values out, or use fewer aliases")
            elif any(anchor == event.anchor for _, anchor in opened):
                raise _Refused(event.start_mark, f"alias *{event.anchor} is inside the value it refers to")
            else:
                total += 1  # an undefined alias: the composer names it
        elif kind is stream_end or event is None:
            return
        if total > limit:
            raise _Refused(event.start_mark, f"more than {max_nodes} values (aliases expanded): not a settings file")


class _SyntaxError(ConfigError):
    """The parser's own refusal: its wording differs between LibYAML and PyYAML."""


class _Refused(Exception):
    def __init__(self, mark: Any, message: str):
        super().__init__(message)
        self.mark, self.message = mark, message


def _parse(text: str, name: str, cls: Any, many: bool = False, max_nodes: int | None = MAX_NODES) -> Any:
    loader = None
    try:
        loader = cls(text)  # the reader refuses control characters right here
        _measure(loader, max_nodes)  # the budgets hold for the whole stream, however many documents it has
        loader.dispose()
        loader = cls(text)
        loader.problems = []
        if many:
            data = []
            while loader.check_node():
                data.append(loader.construct_document(loader.get_node()))
        else:
            data = loader.get_single_data()
    except _Refused as exc:
        raise ConfigError([Problem(name, *_pos(exc.mark), exc.message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        if what.startswith("but ") and exc.context:  # "but found another document" says nothing alone
            what = f"{exc.context}, {what}"
        raise _SyntaxError([Problem(name, *_pos(mark), f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:  # reader errors (control characters) and the like
        mark = getattr(exc, "problem_mark", None)
        line, col = _pos(mark) if mark else (1, 1)
        why = f"not a readable YAML file: {str(exc).splitlines()[0]}"
        raise _SyntaxError([Problem(name, line, col, why)]) from None
    except RecursionError:
        raise ConfigError([Problem(name, 1, 1, "YAML nesting is too deep")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if loader.problems:
        raise ConfigError(Problem(name, line, col, msg) for (line, col), msg in loader.problems)
    return data



def either(text: str, name: str, fast: Any, pure: Any, libyaml: bool | None, many: bool,
           max_nodes: int | None = MAX_NODES) -> Any:
    if fast is None or libyaml is False:
        return _parse(text, name, pure, many, max_nodes)
    try:
        return _parse(text, name, fast, many, max_nodes)
    except _SyntaxError:
        return _parse(text, name, pure, many, max_nodes)  # the same message and location whichever parser is installed
