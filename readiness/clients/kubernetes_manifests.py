"""Kubernetes objects from files: rendered manifests (``helm template`` output, ``kubectl get -o yaml`` dumps,
multi-document files, ``List`` kinds) read once, and a chart rendered in the process, served as listings by
Kind name (files carry no plurals and need no discovery).  Aliases are expanded within the budgets of every
other YAML file; FIFOs, devices and sockets are refused by their type, never opened."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from readiness.clients.kubernetes import Cluster, Kind, KubernetesError
from readiness.fsio import special

MAX_MANIFEST_BYTES = 256 * 1024 * 1024
MAX_MANIFEST_FILES = 20_000
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestCluster(Cluster):
    """Objects from files; listings filter them by kind and namespace (objects without one are in ``default_ns``)."""

    live = False

    def __init__(self, root: Path, default_ns: str | None, objects: list[dict[str, Any]] | None = None):
        self.source = str(root)
        self.default_ns = default_ns
        self.objects = load_manifests(root) if objects is None else objects

    def list(self, kind: Kind, namespace: str | None = None) -> list[dict[str, Any]]:
        self.requests += 1
        out = []
        for obj in self.objects:
            if obj.get("kind") != kind.kind or str(obj.get("apiVersion", "")).rpartition("/")[0] != kind.group:
                continue
            if kind.namespaced and namespace is not None:
                if ((obj.get("metadata") or {}).get("namespace") or self.default_ns) != namespace:
                    continue
            out.append(obj)
        return out

    def kinds(self) -> set[str]:
        return {str(o.get("kind")) for o in self.objects}


class ChartCluster(ManifestCluster):
    """The objects a chart renders (once per audit), read as manifests; a chart that does not render is an error
    of every item, with Helm's own message."""

    def __init__(self, config: Mapping[str, Any], default_ns: str | None, timeout: float):
        from readiness.clients.chart import render

        rendered = render(config, timeout)
        objects: list[dict[str, Any]] = []
        for where, text in rendered.templates:
            if not where.endswith("NOTES.txt"):  # helm template prints no NOTES either
                objects += parse_manifests(text, Path(where))
        super().__init__(Path(str(config["chart"])), default_ns, objects)
        self.source = f"chart {config['chart']} ({rendered.engine})"


def _regular(path: Path, what: str) -> os.stat_result:
    """A manifest's stat; a FIFO (reading it waits forever), a device (``/dev/zero`` never ends) or a socket is
    refused by its type, never opened."""
    try:
        st = path.stat()
    except OSError as exc:
        raise KubernetesError(f"manifests: {path}: cannot read: {exc.strerror or exc}") from None
    kind = special(st.st_mode)
    if kind and not (what == "root" and kind == "a directory"):
        expected = "a manifest file or a directory" if what == "root" else "a manifest file"
        raise KubernetesError(f"manifests: {path}: is {kind}, expected {expected}")
    return st


def _files(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Every manifest file under ``root`` with its stat, in a stable order; checks types only, reads nothing."""
    st = _regular(root, "root")
    if not special(st.st_mode):
        yield root, st
        return
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(MANIFEST_SUFFIXES):
                count += 1
                if count > MAX_MANIFEST_FILES:
                    raise KubernetesError(f"manifests: more than {MAX_MANIFEST_FILES} files under {root}")
                path = Path(dirpath) / name
                yield path, _regular(path, "file")


def load_manifests(root: Path) -> list[dict[str, Any]]:
    """Every object in the files under ``root``; ``List`` kinds unpacked.  YAML aliases are accepted (kubectl
    accepts them) within the alias and depth budgets of every other YAML file, so an alias bomb is refused."""
    from readiness.errors import ConfigError
    from readiness.fsio import read_bytes

    objects: list[dict[str, Any]] = []
    total = 0
    for path, st in _files(root):
        total += st.st_size
        if total > MAX_MANIFEST_BYTES:
            raise KubernetesError(f"manifests: more than {MAX_MANIFEST_BYTES // 2**20} MiB of files under {root}")
        try:
            text = read_bytes(str(path), "manifest file", MAX_MANIFEST_BYTES, "a manifest file").decode("utf-8-sig")
        except ConfigError as exc:
            raise KubernetesError(f"manifests: {exc.text}") from None
        except UnicodeDecodeError as exc:
            raise KubernetesError(f"manifests: {path}: not valid YAML ({exc})") from None
        objects += parse_manifests(text, path)
    return objects


def parse_manifests(text: str, path: Path) -> list[dict[str, Any]]:
    """The objects of one YAML stream (a manifest file, or a chart's rendered template), as ``manifests:`` reads
    them; KubernetesError at file:line:col for anything that is not a Kubernetes object."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    objects: list[dict[str, Any]] = []
    try:
        docs = list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise KubernetesError(f"manifests: {where}: not valid YAML ({getattr(exc, 'problem', None) or exc})"
                              ) from None
    except (ValueError, TypeError, OverflowError):  # an impossible value (2026-02-30): let yamlsrc locate it
        raise KubernetesError(f"manifests: {_located(text, path)}") from None
    docs = _with_aliases(docs, text, path)
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise KubernetesError(f"manifests: {path}: a document is not a mapping (a Kubernetes object)")
        items = doc["items"] if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"),
                                                                                      list) else [doc]
        for item in items:
            problem = _not_an_object(item)
            if problem:
                raise KubernetesError(f"manifests: {path}: {problem}")
            objects.append(item)
    return objects


def _with_aliases(docs: list[Any], text: str, path: Path) -> list[Any]:
    """Documents that use aliases, held to the alias and depth budgets of every other YAML file (an alias bomb is
    refused), each alias then expanded into its own copy, as kubectl sees it.  The budgets are counted on the
    parsed objects, where an alias is one shared object: parsing a large file again would cost seconds."""
    from readiness.yamlsrc import MAX_ALIASED, MAX_DEPTH

    memo: dict[int, tuple[int, int]] = {}  # id -> (values under it, itself included; its height)
    open_: set[int] = set()
    aliased = 0

    def measure(node: Any, depth: int) -> tuple[int, int]:
        nonlocal aliased
        if not isinstance(node, (dict, list)):
            return 1, 0
        key = id(node)
        if key in memo:
            size, height = memo[key]
            aliased += size
            if aliased > MAX_ALIASED or depth + height > MAX_DEPTH:
                raise _OverBudget
            return size, height
        if key in open_ or depth > MAX_DEPTH:
            raise _OverBudget
        open_.add(key)
        size, height = 1, 0
        for child in node.values() if isinstance(node, dict) else node:
            s, h = measure(child, depth + 1)
            size, height = size + s, max(height, h + 1)
        open_.discard(key)
        memo[key] = size, height
        return size, height

    out = []
    for doc in docs:
        if not _shares(doc):  # most documents of a large file: left as parsed
            out.append(doc)
            continue
        try:
            measure(doc, 1)
        except _OverBudget:
            raise KubernetesError(f"manifests: {_refusal(text, path)}") from None
        out.append(_copied(doc))
    return out


class _OverBudget(Exception):
    pass


def _refusal(text: str, path: Path) -> str:
    """Why yamlsrc refuses a file over its budgets, at its line (a bomb is small, so this parse is quick)."""
    from readiness.errors import ConfigError
    from readiness.yamlsrc import MAX_ALIASED, load_documents

    try:
        load_documents(text, str(path), max_nodes=None)
    except ConfigError as exc:
        return str(exc).splitlines()[0]
    return f"{path}: aliases repeat more than {MAX_ALIASED} values or nest too deep (an alias bomb?)"


def _copied(node: Any) -> Any:
    """A tree of plain dicts and lists sharing nothing (the budgets bound its size and depth)."""
    if isinstance(node, dict):
        return {key: _copied(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_copied(value) for value in node]
    return node


def _located(text: str, path: Path) -> str:
    from readiness.errors import ConfigError
    from readiness.yamlsrc import load_documents

    try:
        load_documents(text, str(path))
    except ConfigError as exc:
        return str(exc).splitlines()[0]
    return f"{path}: a value cannot be read (an impossible date or number?)"


def _not_an_object(item: Any) -> str | None:
    """Why a document is not a Kubernetes object the probes can read (None when it is one)."""
    if not isinstance(item, dict):
        return "a document is not a mapping (a Kubernetes object)"
    if not isinstance(item.get("kind"), str) or not isinstance(item.get("apiVersion"), str):
        return "an object has no kind or apiVersion (a values file, not rendered manifests?)"
    meta = item.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return f"a {item['kind']} has no metadata.name"
    if meta.get("namespace") is not None and not isinstance(meta.get("namespace"), str):
        return f"{item['kind']} {meta['name']}: metadata.namespace is not a string"
    return None


def _shares(doc: Any) -> bool:
    """Whether a parsed document holds one mapping or list in two places (the mark of a YAML alias); stops at the
    first, so a bomb costs no more than its own text."""
    seen: set[int] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                return True
            seen.add(id(node))
            stack.extend(node.values() if isinstance(node, dict) else node)
    return False
