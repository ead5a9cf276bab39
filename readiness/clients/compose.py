"""A compose project read as ``docker compose`` reads it: the main file, the override file beside it, ``include:``
and ``extends:``, merged by the compose specification's rules (docs.docker.com/reference/compose-file/merge/,
include/, services/#extends; compose-go v2 override/merge.go):

- mappings merge key by key, the later file winning; sequences append, except ``command``, ``entrypoint`` and
  ``healthcheck.test`` (replaced) and ``ports``/``volumes``/``secrets``/``configs`` (appended without repeats);
  ``environment`` merges by variable whether written as a list or a mapping;
- ``include:`` paths are relative to the including file, each included file is its own project (its own ``.env``),
  and a service defined differently on both sides is an error, as compose makes it;
- ``extends:`` merges the named service (of this file, or of ``file:`` relative to this one) under the service's own
  keys.

Every mapping and list remembers the file each member was written in (``file_at``), so a finding names the file
that says it.  Bounded: at most MAX_FILES files, MAX_DEPTH levels, no cycles, nothing outside the project directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from readiness.errors import ConfigError, Problem
from readiness.yamlsrc import YList, YMap, load_file, pos_of

# compose-go cli/options.go DefaultOverrideFileNames: the first one present beside the main file is merged
OVERRIDES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
             "docker-compose.override.yaml")
MAX_FILES = 32
MAX_DEPTH = 8
_REPLACED = frozenset({"command", "entrypoint"})
_UNIQUE = frozenset({"ports", "volumes", "secrets", "configs"})

Interpolate = Callable[[YMap, str, str], YMap]  # (raw tree, path, directory of its .env) -> interpolated tree


def file_at(container: Any, key: Any, default: str) -> str:
    """The file (as shown) where ``container[key]`` was written."""
    if isinstance(container, YMap):
        return getattr(container, "key_file", {}).get(key) or getattr(container, "file", None) or default
    if isinstance(container, YList):
        files = getattr(container, "item_file", None)
        if files and isinstance(key, int) and key < len(files):
            return str(files[key])
        return getattr(container, "file", None) or default
    return default


def _tag(node: Any, shown: str) -> None:
    if isinstance(node, YMap):
        node.file = shown  # type: ignore[attr-defined]
        for value in node.values():
            _tag(value, shown)
    elif isinstance(node, YList):
        node.file = shown  # type: ignore[attr-defined]
        for value in node:
            _tag(value, shown)


def _empty_map(pos: tuple[int, int]) -> YMap:
    out = YMap()
    out.pos, out.key_pos, out.value_pos, out.value_text = pos, {}, {}, {}
    out.key_file = {}  # type: ignore[attr-defined]
    return out


def _put(out: YMap, src: Any, key: Any, value: Any, default: str) -> None:
    for attr in ("key_pos", "value_pos", "value_text", "key_file"):
        if not hasattr(out, attr):
            setattr(out, attr, {})
    out[key] = value
    out.key_pos[key] = src.key_at(key) if isinstance(src, YMap) else pos_of(src)
    out.value_pos[key] = pos_of(src, key)
    text = src.text_of(key) if isinstance(src, YMap) else None
    if text is not None:
        out.value_text[key] = text
    else:
        out.value_text.pop(key, None)
    out.key_file[key] = file_at(src, key, default)  # type: ignore[attr-defined]


def _env_map(env: Any, default: str) -> Any:
    """A list-form ``environment:`` as a mapping (positions at each value), so two forms merge by variable."""
    if not isinstance(env, YList):
        return env
    out = _empty_map(env.pos)
    for i, entry in enumerate(env):
        if not isinstance(entry, str):
            continue
        key, sep, value = entry.partition("=")
        line, col = env.at(i)
        quoted = 0 if env.text_of(i) is not None else 1
        out[key.strip()] = value if sep else None
        out.key_pos[key.strip()] = (line, col + quoted)
        out.value_pos[key.strip()] = (line, col + quoted + len(key) + 1)
        out.key_file[key.strip()] = file_at(env, i, default)  # type: ignore[attr-defined]
    return out


def _append(base: YList, over: YList, unique: bool, default: str) -> YList:
    out = YList()
    out.pos, out.item_pos, out.item_text = base.pos, [], []
    out.item_file = []  # type: ignore[attr-defined]
    seen: set[str] = set()
    for src in (base, over):
        for i, value in enumerate(src):
            ident = repr(value)
            if unique and ident in seen:
                continue
            seen.add(ident)
            out.append(value)
            out.item_pos.append(src.at(i))
            out.item_text.append(src.text_of(i))
            out.item_file.append(file_at(src, i, default))  # type: ignore[attr-defined]
    return out


def merge(base: Any, over: Any, path: tuple[str, ...] = (), default: str = "") -> Any:
    """``over`` merged onto ``base`` by the compose rules (``path``: the keys down to here from the file's top,
    ``("services", name, "ports")``)."""
    last = path[-1] if path else ""
    if last == "environment":
        base, over = _env_map(base, default), _env_map(over, default)
    if isinstance(base, YMap) and isinstance(over, YMap):
        out = _empty_map(base.pos)
        out.file = getattr(base, "file", default)  # type: ignore[attr-defined]
        for key, value in base.items():
            _put(out, base, key, value, default)
        service = len(path) == 2 and path[0] == "services"
        for key, value in over.items():
            replaced = (service and key in _REPLACED) or (path[-1:] == ("healthcheck",) and key == "test")
            merged = value if key not in out or replaced else merge(out[key], value, (*path, str(key)), default)
            # a merged container stays where it was first defined (a service: in the main file); its members
            # carry their own files
            _put(out, over if merged is value else base, key, merged, default)
        return out
    if isinstance(base, YList) and isinstance(over, YList):
        return _append(base, over, len(path) == 3 and path[0] == "services" and last in _UNIQUE, default)
    return over


class Project:
    """Loads one compose project; ``interpolate`` resolves a file's variables with the .env of a directory."""

    def __init__(self, root: str, shown: Callable[[str], str], interpolate: Interpolate):
        self.root = os.path.realpath(root)
        self.shown = shown
        self.interpolate = interpolate
        self.read: list[str] = []  # every file read, in order

    def _inside(self, path: str, where: tuple[str, int, int], what: str) -> str:
        real = os.path.realpath(path)
        if os.path.commonpath([real, self.root]) != self.root:
            raise ConfigError([Problem(where[0], where[1], where[2], f"{what} {path} is outside the project "
                                                                    f"directory {self.root}: refused")])
        if len(self.read) >= MAX_FILES:
            raise ConfigError([Problem(where[0], where[1], where[2], f"{what} {path}: more than {MAX_FILES} compose "
                                                                    "files in one project: refused")])
        return real

    def _file(self, path: str, env_dir: str) -> YMap:
        raw = load_file(path, "compose file")
        if not isinstance(raw, YMap):
            kind = "a list" if isinstance(raw, list) else type(raw).__name__
            raise ConfigError([Problem(path, *pos_of(raw), f"a compose file must be a mapping with 'services:', not "
                                                          f"{kind}")])
        self.read.append(path)
        data = self.interpolate(raw, path, env_dir)
        _tag(data, self.shown(path))
        return data

    def load(self, main: str, env_dir: str) -> YMap:
        """The main file, includes and extends resolved, with the first override file beside it merged on."""
        self.root = os.path.realpath(self.root)
        data = self._resolve(main, env_dir, (os.path.realpath(main),))
        for name in OVERRIDES:
            over = os.path.join(os.path.dirname(main), name)
            if os.path.isfile(over):
                self._inside(over, (main, 1, 1), "override file")
                data = merge(data, self._resolve(over, env_dir, (os.path.realpath(over),)), (),
                             self.shown(main))
                break
        return data

    def _resolve(self, path: str, env_dir: str, chain: tuple[str, ...]) -> YMap:
        data = self._file(path, env_dir)
        services = data.get("services")
        if isinstance(services, YMap):
            for name in list(services):
                if isinstance(services[name], YMap) and "extends" in services[name]:
                    services[name] = self._extends(path, data, str(name), env_dir, chain)
        includes = data.get("include")
        if includes is not None:
            data = self._include(path, data, includes, chain)
        return data

    def _extends(self, path: str, data: YMap, name: str, env_dir: str, chain: tuple[str, ...],
                 depth: int = 0) -> YMap:
        service = data["services"][name]
        spec = service["extends"]
        at = (path, *pos_of(service, "extends"))
        if depth >= MAX_DEPTH:
            raise ConfigError([Problem(*at, f"service {name}: extends nested deeper than {MAX_DEPTH} (a cycle?): "
                                            "refused")])
        base_name = spec if isinstance(spec, str) else spec.get("service") if isinstance(spec, Mapping) else None
        file = spec.get("file") if isinstance(spec, Mapping) else None
        if not isinstance(base_name, str) or (file is not None and not isinstance(file, str)):
            raise ConfigError([Problem(*at, f"service {name}: extends takes a service name, or "
                                            "{service: NAME, file: PATH}")])
        other_path, other = path, data
        if file:
            other_path = os.path.join(os.path.dirname(path), file)
            real = self._inside(other_path, at, "extends file")
            if real in chain:
                raise ConfigError([Problem(*at, f"service {name}: extends {file} again (a cycle): refused")])
            other = self._file(other_path, env_dir)
            chain = (*chain, real)
        services = other.get("services")
        base = services.get(base_name) if isinstance(services, Mapping) else None
        if not isinstance(base, YMap):
            raise ConfigError([Problem(*at, f"service {name} extends {base_name!r}, which "
                                            f"{os.path.basename(other_path)} does not define")])
        if base is service or (other is data and base_name == name):
            raise ConfigError([Problem(*at, f"service {name} extends itself: refused")])
        if "extends" in base:
            base = self._extends(other_path, other, base_name, env_dir, chain, depth + 1)
        own = _empty_map(service.pos)
        own.file = getattr(service, "file", "")  # type: ignore[attr-defined]
        for key, value in service.items():
            if key != "extends":
                _put(own, service, key, value, self.shown(path))
        return merge(base, own, ("services", name), self.shown(path))  # type: ignore[no-any-return]

    def _include(self, path: str, data: YMap, includes: Any, chain: tuple[str, ...]) -> YMap:
        if not isinstance(includes, list):
            raise ConfigError([Problem(path, *pos_of(data, "include"), "'include' must be a list of paths")])
        if len(chain) > MAX_DEPTH:
            raise ConfigError([Problem(path, *pos_of(data, "include"), f"includes nested deeper than {MAX_DEPTH}: "
                                                                      "refused")])
        services = data.get("services")
        if services is None:
            services = _empty_map(pos_of(data))
            data["services"] = services
        for i, entry in enumerate(includes):
            at = (path, *pos_of(includes, i))
            given = entry.get("path") if isinstance(entry, Mapping) else entry
            paths = given if isinstance(given, list) else [given]
            if not paths or not all(isinstance(p, str) and p for p in paths):
                raise ConfigError([Problem(*at, "an include entry is a path, or {path: PATH or [PATHS]}")])
            included: YMap | None = None
            for rel in paths:
                target = os.path.join(os.path.dirname(path), str(rel))
                real = self._inside(target, at, "included file")
                if real in chain:
                    raise ConfigError([Problem(*at, f"{rel} includes itself (a cycle): refused")])
                # each included file is its own project: variables from the .env of its own directory
                one = self._resolve(target, os.path.dirname(target), (*chain, real))
                included = one if included is None else merge(included, one, (), self.shown(target))
            theirs = included.get("services") if included is not None else None
            for name, svc in theirs.items() if isinstance(theirs, YMap) else ():
                if name in services and services[name] != svc:
                    raise ConfigError([Problem(*at, f"service {name} is defined both here and in the included "
                                                    f"{paths[0]}: compose refuses the conflict")])
                if isinstance(services, YMap):
                    _put(services, theirs, name, svc, self.shown(path))
        return data
