"""Kubernetes benchmark (figures printed, nothing asserted): every Kubernetes item of the default checklist against a
fake cluster of ~5,000 objects across the kinds read, live (the fake API server in its own process, 500 per page)
and offline on the same objects as manifest files.  Reports API requests per audit (one list per kind and page),
wall time and the audit process's peak RSS (each mode in a fresh process).

    .venv/bin/python bench/bench_kubernetes.py [--objects 5000]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]
from fake_k8s import FakeCluster, load  # noqa: E402

SECTIONS = ["storage", "autoscaling", "k8s.ingress-body-size", "k8s.ingress-timeouts", "k8s.ingress-tls",
            "k8s.lb-source-ranges"]
# Share of the objects per kind: what a busy multi-tenant cluster's namespace looks like.
MIX = {"Pod": 0.40, "Deployment": 0.12, "Service": 0.12, "PersistentVolumeClaim": 0.08, "StatefulSet": 0.06,
       "HorizontalPodAutoscaler": 0.08, "PodDisruptionBudget": 0.05, "Ingress": 0.05, "ScaledObject": 0.02,
       "StorageClass": 0.01, "PersistentVolume": 0.01}


def objects(total: int) -> list[dict[str, Any]]:
    base = load("good.yaml")
    templates = {}
    for obj in base:
        templates.setdefault(obj["kind"], obj)
    templates.setdefault("PersistentVolume", {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                 "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0"}}, "status": {"phase": "Bound"}})
    out = list(base)
    for kind, share in MIX.items():
        for i in range(int(total * share)):
            obj = copy.deepcopy(templates[kind])
            obj["metadata"]["name"] = f"tenant-{i:05d}-{obj['metadata']['name']}"
            obj["metadata"].pop("annotations", None) if kind == "StorageClass" else None
            if kind in ("HorizontalPodAutoscaler", "ScaledObject"):
                obj["spec"]["scaleTargetRef"]["name"] = f"tenant-{i:05d}-langsmith-backend"
            out.append(obj)
    return out


def run_audit(targets_path: str) -> None:
    """One audit in this (fresh) process; prints its figures as JSON."""
    from readiness.audit import execute, load_inputs
    from readiness.runner import Options

    inputs = load_inputs(None, targets_path)
    start = time.perf_counter()
    _, results = execute(inputs, Options(preset="langsmith", profile="production", only=tuple(SECTIONS),
                                         timeout=60.0, concurrency=8), "required")
    wall = time.perf_counter() - start
    statuses: dict[str, int] = {}
    results = [r for r in results if r.id.startswith("k8s.")]
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    print(json.dumps({"wall_s": round(wall, 3), "peak_rss_mb": round(resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "items": len(results), "statuses": statuses}))


def child(targets: dict[str, Any], tmp: Path, name: str) -> dict[str, Any]:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(targets))
    out = subprocess.run([sys.executable, __file__, "--audit", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=5000)
    ap.add_argument("--audit")
    args = ap.parse_args()
    if args.audit:
        run_audit(args.audit)
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        objs = objects(args.objects)
        kinds = sorted({o["kind"] for o in objs})
        print(f"fake cluster: {len(objs)} objects across {len(kinds)} kinds ({', '.join(kinds)})")
        # The fake server runs in this process; the audit in a fresh child, so its RSS is the audit's alone.
        with FakeCluster(objs) as cluster:
            kubeconfig = cluster.kubeconfig(tmp / "kubeconfig")
            live = child({"preset": "langsmith", "profile": "production", "kubernetes": {
                "kubeconfig": str(kubeconfig), "namespace": "langsmith", "release": "langsmith"}}, tmp, "live")
            requests = list(cluster.requests)
        pages = sum(1 for r in requests if "continue=" in r)
        lists = sum(1 for r in requests if "limit=" in r)
        paths = {r.split("?")[0] for r in requests if "limit=" in r}
        print(f"live:    {live['items']} items {live['statuses']} in {live['wall_s']:.2f} s, peak RSS "
              f"{live['peak_rss_mb']:.0f} MB; {len(requests)} API requests ({lists} list pages of "
              f"{len(paths)} listings, {pages} continuations; every listing once: {lists - pages == len(paths)})")
        manifests = tmp / "manifests"
        manifests.mkdir()
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for o in objs:
            by_kind.setdefault(o["kind"], []).append(o)
        for kind, items in by_kind.items():
            (manifests / f"{kind.lower()}.yaml").write_text(yaml.safe_dump_all(items, sort_keys=False))
        size = sum(f.stat().st_size for f in manifests.iterdir())
        offline = child({"preset": "langsmith", "profile": "production", "kubernetes": {
            "manifests": str(manifests), "namespace": "langsmith", "release": "langsmith"}}, tmp, "offline")
        print(f"offline: {offline['items']} items {offline['statuses']} in {offline['wall_s']:.2f} s, peak RSS "
              f"{offline['peak_rss_mb']:.0f} MB; {len(by_kind)} files, {size / 2**20:.1f} MiB of YAML")
        print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
