"""Objects missing every optional field, or carrying fields of the wrong type, never crash a probe (no traceback)
and never pass an item that needs what is missing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_k8s import FakeCluster, audit_k8s, live_targets, load

SECTIONS = ["storage", "autoscaling", "network"]


def skeleton(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only apiVersion, kind and metadata.name/namespace/labels: what a just-created object may look like."""
    out = []
    for o in objects:
        meta = {k: v for k, v in o["metadata"].items() if k in ("name", "namespace", "labels")}
        out.append({"apiVersion": o["apiVersion"], "kind": o["kind"], "metadata": meta})
    return out


def wrong_types(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every mapping replaced by a list, string or number one level down the spec and status."""
    out = copy.deepcopy(objects)
    for i, o in enumerate(out):
        for part in ("spec", "status"):
            if isinstance(o.get(part), dict):
                for j, key in enumerate(list(o[part])):
                    o[part][key] = [["x"], "weird", 7, None, {"nested": True}][(i + j) % 5]
        o["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/proxy-body-size": "lots"}
    return out


@pytest.mark.parametrize("live", [True, False])
@pytest.mark.parametrize("mangle", [skeleton, wrong_types])
def test_no_probe_crashes_on_odd_objects(mangle: Any, live: bool, tmp_path: Path) -> None:
    objects = mangle(load("good.yaml") + load("bad.yaml"))
    if live:
        with FakeCluster(objects, extra=[("keda.sh/v1alpha1", "ScaledObject")]) as c:
            results, _ = audit_k8s(tmp_path, live_targets(c, tmp_path), SECTIONS)
    else:
        (tmp_path / "odd.yaml").write_text(yaml.safe_dump_all(objects))
        targets = {"preset": "langsmith", "kubernetes": {"manifests": str(tmp_path / "odd.yaml"),
                                                         "namespace": "langsmith", "release": "langsmith"}}
        results, _ = audit_k8s(tmp_path, targets, SECTIONS)
    k8s = {i: r for i, r in results.items() if i.startswith("k8s.") and r.status != "manual"}
    assert len(k8s) > 20
    crashed = {i: r.message for i, r in k8s.items() if r.traceback}
    assert not crashed
    if mangle is skeleton:
        # nothing says a PVC is Bound, a pod Ready, an HPA healthy or a class SSD: none of those may pass
        for item in ("k8s.clickhouse-pvcs-bound", "k8s.clickhouse-pods-ready", "k8s.hpa-healthy",
                     "k8s.ssd-storageclass", "k8s.default-storageclass", "k8s.metrics-api-available",
                     "k8s.ingress-tls", "k8s.resource-requests", "k8s.memory-limits"):
            assert k8s[item].status != "pass", (item, k8s[item].message)
