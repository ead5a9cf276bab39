"""The Kubernetes items' work grows with the objects, not with their product: a namespace of thousands of other
releases' Deployments, StatefulSets and PVCs is read in a bounded number of passes per audit (the component
lookups, the release's objects and the StatefulSet that owns each PVC are indexed once, not searched per item,
per component and per StatefulSet)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fake_k8s import FakeCluster, audit_k8s, live_targets, load

from readiness.clients import kubernetes as client

ITEMS = ["storage", "autoscaling"]


class Counted(dict):  # type: ignore[type-arg]
    """An object's metadata that counts how often it is read."""

    reads = 0

    def __getitem__(self, key: Any) -> Any:
        Counted.reads += 1
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        Counted.reads += 1
        return super().__contains__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        Counted.reads += 1
        return super().get(key, default)


def tenants(count: int) -> list[dict[str, Any]]:
    """good.yaml and ``count`` other releases beside it, each a Deployment, a StatefulSet and its PVC."""
    base = load("good.yaml")
    dep = next(o for o in base if o["kind"] == "Deployment" and o["metadata"]["namespace"] == "langsmith")
    sts = next(o for o in base if o["kind"] == "StatefulSet")
    pvc = next(o for o in base if o["kind"] == "PersistentVolumeClaim")
    out = list(base)
    for i in range(count):
        for tpl, name in ((dep, f"tenant-{i}-api"), (sts, f"tenant-{i}-db"), (pvc, f"data-tenant-{i}-db-0")):
            obj = copy.deepcopy(tpl)
            obj["metadata"]["name"] = name
            obj["metadata"]["labels"] = {"app.kubernetes.io/instance": f"tenant-{i}"}
            out.append(obj)
    return out


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Counted]]:
    listed = client.LiveCluster.list

    def counting(self: Any, kind: Any, namespace: str | None = None) -> list[dict[str, Any]]:
        items = listed(self, kind, namespace)
        for obj in items:
            obj["metadata"] = Counted(obj["metadata"])
        return items

    monkeypatch.setattr(client.LiveCluster, "list", counting)
    Counted.reads = 0
    yield Counted


def _reads_per_object(counted: type[Counted], tmp_path: Any, count: int) -> float:
    objs = tenants(count)
    with FakeCluster(objs) as cluster:
        results, _ = audit_k8s(tmp_path / str(count), live_targets(cluster, tmp_path), ITEMS, timeout=60.0)
    assert [r for r in results.values() if r.status == "pass"], {i: r.message for i, r in results.items()}
    reads, counted.reads = counted.reads, 0
    return reads / len(objs)


def test_metadata_reads_per_object_stay_flat_as_the_namespace_grows(counted, tmp_path):
    small = _reads_per_object(counted, tmp_path, 50)
    large = _reads_per_object(counted, tmp_path, 400)
    # linear work reads each object's metadata a bounded number of times whatever the size; a search per item,
    # component or StatefulSet reads it more times the more objects there are
    assert large < small * 1.5, (small, large)


def test_the_component_index_is_built_once_per_kind_per_audit(monkeypatch, tmp_path):
    from readiness.checks import _k8s_products

    built: list[str] = []
    index = _k8s_products._component_index

    def counting(found: list[dict[str, Any]], ident: Any) -> dict[str, dict[str, Any]]:
        built.append(found[0]["kind"] if found else "none")
        return index(found, ident)

    monkeypatch.setattr(_k8s_products, "_component_index", counting)
    with FakeCluster(tenants(20)) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ITEMS)
    assert results["k8s.hpa-coverage"].status == "fail", results["k8s.hpa-coverage"].message
    assert sorted(built) == sorted(set(built)), built  # one per kind (Deployments, StatefulSets), however many items
