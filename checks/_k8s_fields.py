"""Fields of Kubernetes objects, read defensively (a missing or mistyped step is the default, never an
exception), and Kubernetes quantities."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any


def get(obj: Any, path: str, default: Any = None) -> Any:
    """A dotted field (``spec.template.spec``); ``default`` where any step is missing or not a mapping."""
    node = obj
    for part in path.split("."):
        # dict first: the objects are dicts, and an ABC check (Mapping) costs twice the whole step on thousands
        if not isinstance(node, (dict, Mapping)) or part not in node:
            return default
        node = node[part]
    return node if node is not None else default


def seq(obj: Any, path: str) -> list[Any]:
    """The list at ``path``; empty when it is missing or not a list."""
    value = get(obj, path)
    return value if isinstance(value, list) else []


def dicts(obj: Any, path: str) -> list[dict[str, Any]]:
    """The mappings of the list at ``path`` (other members are ignored)."""
    return [v for v in seq(obj, path) if isinstance(v, dict)]


def mapping(obj: Any, path: str) -> dict[str, Any]:
    """The mapping at ``path``; empty when it is missing or not a mapping."""
    value = get(obj, path)
    return value if isinstance(value, dict) else {}


def name(obj: Any) -> str:
    return str(get(obj, "metadata.name", "?"))


def ref(obj: Any) -> str:
    ns = get(obj, "metadata.namespace")
    return f"{ns}/{name(obj)}" if ns else name(obj)


def labels(obj: Any) -> dict[str, str]:
    value = get(obj, "metadata.labels", {})
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, (dict, Mapping)) else {}


def label(obj: Any, key: str) -> str | None:
    """``labels(obj).get(key)`` without copying every label (it is asked of each of thousands of objects)."""
    value = get(obj, "metadata.labels")
    if not isinstance(value, (dict, Mapping)):
        return None
    found = value.get(key, _NONE)  # every Mapping has .get (one branch: ~0.09 vs 0.11 us a call)
    return None if found is _NONE else str(found)


_NONE = object()


def annotations_of(obj: Any) -> dict[str, str]:
    value = get(obj, "metadata.annotations", {})
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, (dict, Mapping)) else {}


def condition(obj: Any, kind: str) -> dict[str, Any] | None:
    for cond in dicts(obj, "status.conditions"):
        if cond.get("type") == kind:
            return dict(cond)
    return None


def is_true(cond: Mapping[str, Any] | None) -> bool:
    return cond is not None and str(cond.get("status")) == "True"


def pod_spec(workload: Any) -> dict[str, Any]:
    spec = get(workload, "spec.template.spec") if get(workload, "kind") != "Pod" else get(workload, "spec")
    return spec if isinstance(spec, dict) else {}


def containers(workload: Any) -> list[dict[str, Any]]:
    return dicts(pod_spec(workload), "containers")


_QUANTITY = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?")


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity as a number (bytes, or cores: "500m" and "0.5" are 0.5; E, P, Ei ...); None when it is
    not one.  The client's own parser, loaded when first needed and without the rest of the client."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, str) and not _QUANTITY.fullmatch(value.strip()):
        return None  # Decimal would also take "1_000", "NaN" and "Infinity"
    try:
        number = float(_parse_quantity()(value.strip() if isinstance(value, str) else value))
    except (ValueError, ArithmeticError):
        return None
    return number if math.isfinite(number) else None


@functools.cache
def _parse_quantity() -> Callable[[Any], Any]:
    """The client's parser, kubernetes/utils/quantity.py (it needs only decimal), loaded by itself: through its
    package it costs the whole client's import first (0.7 s here), which a pre-commit hook judging a values file
    would pay on every commit."""
    import importlib.util
    import os
    import sys

    loaded = sys.modules.get("kubernetes.utils.quantity")
    spec = importlib.util.find_spec("kubernetes") if loaded is None else None  # finds, does not import
    for where in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(where, "utils", "quantity.py")
        alone = importlib.util.spec_from_file_location("readiness.checks._kubernetes_quantity", path)
        if alone is not None and alone.loader is not None and os.path.isfile(path):
            module = importlib.util.module_from_spec(alone)
            alone.loader.exec_module(module)
            return module.parse_quantity  # type: ignore[no-any-return]
    if loaded is not None:
        return loaded.parse_quantity  # type: ignore[no-any-return]
    from kubernetes.utils.quantity import parse_quantity

    return parse_quantity  # type: ignore[no-any-return]
