"""Kubernetes benchmark (figures printed, nothing asserted): every Kubernetes item of the default checklist against a
fake cluster (the fake API server in its own process, 500 per page), live and offline on the same objects as
manifest files, each audit in a fresh process (wall time, peak RSS, API requests).

``--case issue`` (issue 20): 1,250 each of Deployments, Services, HPAs and PVCs.  Beside the live audit it measures
the floor, the same objects listed raw page by page (same page size, the same kubernetes client, raw JSON) in a
fresh process, and the start-up (``import readiness.cli`` in a fresh process); the goal is the live audit within
1.5x of floor plus start-up (as whole processes: both import the kubernetes client).  ``--case mix``: ~5,000
objects across the kinds a busy namespace holds.
``--growth 1000,5000,20000``: the live audit at each size (it must grow linearly).  ``--profile``: cProfile of
every worker thread of the live audit (threading.setprofile), merged, top functions by own time (BENCH_SORT=cumulative
and BENCH_TOP=N to see callers).

    .venv/bin/python bench/bench_kubernetes.py [--case issue|mix] [--objects 5000] [--growth N,N] [--profile]
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
ISSUE = {"Deployment": 0.25, "Service": 0.25, "HorizontalPodAutoscaler": 0.25, "PersistentVolumeClaim": 0.25}
# The floor's listings: (kind, list path) in the target's namespace.
FLOOR = [("Deployment", "/apis/apps/v1/namespaces/langsmith/deployments"),
         ("Service", "/api/v1/namespaces/langsmith/services"),
         ("HorizontalPodAutoscaler", "/apis/autoscaling/v2/namespaces/langsmith/horizontalpodautoscalers"),
         ("PersistentVolumeClaim", "/api/v1/namespaces/langsmith/persistentvolumeclaims")]


def objects(total: int, mix: dict[str, float]) -> list[dict[str, Any]]:
    base = load("good.yaml")
    templates: dict[str, dict[str, Any]] = {}
    for obj in sorted(base, key=lambda o: o["metadata"].get("namespace") != "langsmith"):  # the product's first
        templates.setdefault(obj["kind"], obj)
    templates.setdefault("PersistentVolume", {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                 "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0"}}, "status": {"phase": "Bound"}})
    out = list(base)
    for kind, share in mix.items():
        for i in range(int(total * share)):
            obj = copy.deepcopy(templates[kind])
            obj["metadata"]["name"] = f"tenant-{i:05d}-{obj['metadata']['name']}"
            if "labels" in obj["metadata"]:  # other releases beside the product's, as in a shared namespace
                obj["metadata"]["labels"] = {**obj["metadata"]["labels"],
                                             "app.kubernetes.io/instance": f"tenant-{i:05d}"}
            obj["metadata"].pop("annotations", None) if kind == "StorageClass" else None
            if kind in ("HorizontalPodAutoscaler", "ScaledObject"):
                obj["spec"]["scaleTargetRef"]["name"] = f"tenant-{i:05d}-langsmith-backend"
            out.append(obj)
    return out


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_audit(targets_path: str, profile: bool) -> None:
    """One audit in this (fresh) process; prints its figures as JSON (and, with ``profile``, the merged profile of
    every thread on stderr)."""
    from readiness.audit import execute, load_inputs
    from readiness.runner import Options

    inputs = load_inputs(None, targets_path)
    profiles = []
    if profile:
        import cProfile
        import threading

        def per_thread(*args: Any) -> None:
            prof = cProfile.Profile()
            profiles.append(prof)
            threading.setprofile(None)  # this thread only: the next threads install their own
            sys.setprofile(None)
            prof.enable()

        threading.setprofile(per_thread)
        main = cProfile.Profile()
        profiles.append(main)
        main.enable()
    start = time.perf_counter()
    _, results = execute(inputs, Options(preset="langsmith", profile="production", only=tuple(SECTIONS),
                                         timeout=120.0, concurrency=8), "required")
    wall = time.perf_counter() - start
    if profile:
        import pstats

        for prof in profiles:
            prof.disable()
        stats = pstats.Stats(profiles[0], stream=sys.stderr)
        for prof in profiles[1:]:
            try:
                stats.add(prof)
            except TypeError:  # a thread that never ran a call
                pass
        stats.sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(int(os.environ.get("BENCH_TOP", "30")))
    statuses: dict[str, int] = {}
    results = [r for r in results if r.id.startswith("k8s.")]
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    print(json.dumps({"wall_s": round(wall, 3), "peak_rss_mb": _rss_mb(), "items": len(results),
                      "statuses": statuses}))


def run_floor(kubeconfig: str, page: int) -> None:
    """The floor: the issue's objects listed raw, page by page, with the kubernetes client the tool uses."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    cfg = k8s.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg, persist_config=False)
    api = k8s.ApiClient(cfg)
    start = time.perf_counter()
    count = 0
    for _, path in FLOOR:
        cont = ""
        while True:
            query: list[tuple[str, Any]] = [("limit", page)] + ([("continue", cont)] if cont else [])
            method, url, headers, _, _ = api.param_serialize("GET", path, query_params=query,
                                                             header_params={"Accept": "application/json"},
                                                             auth_settings=["BearerToken"])
            resp = api.call_api(method, url, header_params=headers)
            body = json.loads(resp.read() if resp.data is None else resp.data)
            count += len(body["items"])
            cont = body["metadata"].get("continue") or ""
            if not cont:
                break
    wall = time.perf_counter() - start
    print(json.dumps({"wall_s": round(wall, 3), "peak_rss_mb": _rss_mb(), "objects": count}))


def child(args: list[str], stderr: bool = False) -> tuple[dict[str, Any], float]:
    """A fresh process's last JSON line, and the process's whole wall time."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    if stderr:
        print(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def startup() -> float:
    """Median wall of a fresh ``import readiness.cli`` (of 5)."""
    walls = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import readiness.cli"], check=True)
        walls.append(time.perf_counter() - start)
    return sorted(walls)[len(walls) // 2]


def live_audit(objs: list[dict[str, Any]], tmp: Path, profile: bool = False, floor: bool = False
               ) -> dict[str, Any]:
    # The fake server runs in this process; the audit in a fresh child, so its RSS is the audit's alone.
    with FakeCluster(objs) as cluster:
        kubeconfig = cluster.kubeconfig(tmp / "kubeconfig")
        path = tmp / "live.yaml"
        path.write_text(yaml.safe_dump({"preset": "langsmith", "profile": "production", "kubernetes": {
            "kubeconfig": str(kubeconfig), "namespace": "langsmith", "release": "langsmith"}}))
        live, process = child(["--audit", str(path)] + (["--profile"] if profile else []), stderr=profile)
        live["process_s"] = process
        requests = list(cluster.requests)
        if floor:
            live["floor"], live["floor_process_s"] = child(["--floor", str(kubeconfig)])
    live["requests"] = requests
    return live


def describe(live: dict[str, Any]) -> str:
    requests = live["requests"]
    pages = sum(1 for r in requests if "continue=" in r)
    lists = sum(1 for r in requests if "limit=" in r)
    paths = {r.split("?")[0] for r in requests if "limit=" in r}
    return (f"{live['items']} items {live['statuses']} in {live['wall_s']:.2f} s (process {live['process_s']:.2f} "
            f"s), peak RSS {live['peak_rss_mb']:.0f} MB; {len(requests)} API requests ({lists} list pages of "
            f"{len(paths)} listings, {pages} continuations; every listing once: {lists - pages == len(paths)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=("issue", "mix"), default="issue")
    ap.add_argument("--objects", type=int, default=5000)
    ap.add_argument("--growth", help="comma-separated object counts: the live audit at each")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--no-offline", action="store_true")
    ap.add_argument("--audit")
    ap.add_argument("--floor")
    args = ap.parse_args()
    if args.audit:
        run_audit(args.audit, args.profile)
        return
    if args.floor:
        from readiness.clients.kubernetes import PAGE_SIZE

        run_floor(args.floor, PAGE_SIZE)
        return
    mix = ISSUE if args.case == "issue" else MIX
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.growth:
            for n in (int(x) for x in args.growth.split(",")):
                live = live_audit(objects(n, mix), tmp)
                print(f"{n:>6} objects: {live['wall_s']:.2f} s, peak RSS {live['peak_rss_mb']:.0f} MB, "
                      f"{len(live['requests'])} requests")
            return
        objs = objects(args.objects, mix)
        kinds = sorted({o["kind"] for o in objs})
        print(f"fake cluster ({args.case}): {len(objs)} objects across {len(kinds)} kinds ({', '.join(kinds)})")
        live = live_audit(objs, tmp, args.profile, floor=args.case == "issue")
        print(f"live:    {describe(live)}")
        if args.case == "issue":
            up = startup()
            floor = live["floor"]
            # both processes import the kubernetes client; the audit's start-up beyond it is readiness's own
            goal = 1.5 * (live["floor_process_s"] + up)
            print(f"floor:   {floor['objects']} objects listed raw in {floor['wall_s']:.2f} s (process "
                  f"{live['floor_process_s']:.2f} s), peak RSS {floor['peak_rss_mb']:.0f} MB")
            print(f"start-up (import readiness.cli): {up:.2f} s; goal: live process {live['process_s']:.2f} s <= "
                  f"1.5 x (floor process + start-up) = {goal:.2f} s: "
                  f"{'met' if live['process_s'] <= goal else 'NOT met'}")
        if not args.no_offline:
            manifests = tmp / "manifests"
            manifests.mkdir()
            by_kind: dict[str, list[dict[str, Any]]] = {}
            for o in objs:
                by_kind.setdefault(o["kind"], []).append(o)
            for kind, items in by_kind.items():
                (manifests / f"{kind.lower()}.yaml").write_text(yaml.safe_dump_all(items, sort_keys=False))
            size = sum(f.stat().st_size for f in manifests.iterdir())
            path = tmp / "offline.yaml"
            path.write_text(yaml.safe_dump({"preset": "langsmith", "profile": "production", "kubernetes": {
                "manifests": str(manifests), "namespace": "langsmith", "release": "langsmith"}}))
            offline, process = child(["--audit", str(path)])
            print(f"offline: {offline['items']} items {offline['statuses']} in {offline['wall_s']:.2f} s (process "
                  f"{process:.2f} s), peak RSS {offline['peak_rss_mb']:.0f} MB; {len(by_kind)} files, "
                  f"{size / 2**20:.1f} MiB of YAML")
        print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
