"""The nginx configuration a team deploys from, parsed by crossplane (nginxinc/crossplane, the nginx config parser).

crossplane parses one file at a time here (``single=True``); this module follows the ``include`` directives itself,
the way crossplane and nginx do (a relative path is relative to the main file's directory, globs in sorted order), so
each included file is checked first: a regular file, at most MAX_BYTES, inside the project directory, at most
MAX_INCLUDES expansions, and never one that includes itself.  Includes are expanded in place (nginx's include is
textual), so a directive's context and add_header inheritance read as nginx reads them; each directive keeps the
file and line that say it.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from readiness.errors import ConfigError, Problem
from readiness.fsio import read_bytes
from readiness.yamlsrc import MAX_BYTES

MAX_INCLUDES = 256  # include expansions in all (a file included in every location counts each time)
MAX_DEPTH = 16


@dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...]
    file: str  # as shown
    line: int
    block: tuple[Directive, ...] | None = None

    def children(self, name: str) -> list[Directive]:
        return [d for d in self.block or () if d.name == name]


@dataclass
class _Walk:
    root: str
    conf_dir: str
    shown: Callable[[str], str]
    expansions: int = 0
    parsed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _check(path: str, walk: _Walk, at: tuple[str, int]) -> str:
    real = os.path.realpath(path)
    if os.path.commonpath([real, walk.root]) != walk.root:
        raise ConfigError([Problem(at[0], at[1], 1, f"include {path} is outside the project directory {walk.root}: "
                                                    "refused")])
    try:
        read_bytes(path, "nginx configuration file", MAX_BYTES)  # regular, bounded, readable
    except ConfigError as exc:
        raise ConfigError([Problem(at[0], at[1], 1, f"include: {exc.text.splitlines()[0]}")]) from None
    return real


def _parse(path: str, walk: _Walk, main: bool) -> list[dict[str, Any]]:
    real = os.path.realpath(path)
    if real in walk.parsed:
        return walk.parsed[real]
    import crossplane  # type: ignore[import-untyped]  # only when an nginx file is configured

    # an included file's context is the include's, which a single-file parse cannot know: check it in the main only
    try:
        payload = crossplane.parse(path, single=True, comments=False, catch_errors=True, check_ctx=main,
                                   check_args=True)
    except Exception as exc:  # noqa: BLE001 - whatever the parser trips on is a file it cannot read
        raise ConfigError([Problem(path, 1, 1, f"nginx configuration: cannot parse ({type(exc).__name__})")]) from None
    problems = []
    for err in payload.get("errors", []):
        text = re.sub(r" in \S+:\d+$", "", str(err.get("error", "cannot parse")))
        problems.append(Problem(path, int(err.get("line") or 1), 1, f"nginx configuration: {text}"))
    if problems:
        raise ConfigError(problems)
    config = payload.get("config") or [{}]
    walk.parsed[real] = list(config[0].get("parsed") or [])
    return walk.parsed[real]


def _build(items: list[dict[str, Any]], path: str, walk: _Walk, stack: tuple[str, ...]) -> tuple[Directive, ...]:
    out: list[Directive] = []
    shown = walk.shown(path)
    for item in items:
        name, args, line = str(item.get("directive")), tuple(str(a) for a in item.get("args", ())), int(item["line"])
        if name == "include" and args:
            out.extend(_include(args[0], path, line, walk, stack))
            continue
        block = item.get("block")
        out.append(Directive(name, args, shown, line,
                             _build(block, path, walk, stack) if isinstance(block, list) else None))
    return tuple(out)


def _include(pattern: str, path: str, line: int, walk: _Walk, stack: tuple[str, ...]) -> Iterator[Directive]:
    full = pattern if os.path.isabs(pattern) else os.path.join(walk.conf_dir, pattern)
    if glob.has_magic(full):
        names = sorted(glob.glob(full))
    else:
        names = [full]
    if len(stack) >= MAX_DEPTH:
        raise ConfigError([Problem(path, line, 1, f"includes nested deeper than {MAX_DEPTH}: refused")])
    for name in names:
        walk.expansions += 1
        if walk.expansions > MAX_INCLUDES:
            raise ConfigError([Problem(path, line, 1, f"more than {MAX_INCLUDES} includes: refused")])
        real = _check(name, walk, (path, line))
        if real in stack:
            raise ConfigError([Problem(path, line, 1, f"include {pattern} includes itself (a loop): refused")])
        yield from _build(_parse(name, walk, main=False), name, walk, (*stack, real))


def load(path: str, root: str, shown: Callable[[str], str],
         read: list[str] | None = None) -> tuple[Directive, ...]:
    """The directives of ``path`` with every include expanded; ConfigError at file:line for what nginx would
    refuse (a syntax error, a missing include) and for what is refused here (loops, size, outside the project).
    ``read`` receives every file parsed (so a cache can tell when an included one changed)."""
    main_dir = os.path.dirname(os.path.realpath(path))
    real_root = os.path.realpath(root)
    walk = _Walk(real_root if os.path.commonpath([main_dir, real_root]) == real_root else main_dir,
                 os.path.dirname(path), shown)
    read_bytes(path, "nginx configuration file", MAX_BYTES)
    try:
        return _build(_parse(path, walk, main=True), path, walk, (os.path.realpath(path),))
    finally:
        if read is not None:
            read.extend(walk.parsed)


def walk(directives: tuple[Directive, ...], parents: tuple[Directive, ...] = ()
         ) -> Iterator[tuple[Directive, tuple[Directive, ...]]]:
    """Every directive with its enclosing blocks (outermost first)."""
    for d in directives:
        yield d, parents
        if d.block is not None:
            yield from walk(d.block, (*parents, d))
