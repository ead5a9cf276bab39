"""Kubernetes benchmark (figures printed, nothing asserted): every Kubernetes item of the default checklist against a
fake cluster (the fake API server in this process, 500 per page), live and offline on the same objects as manifest
files, each audit in a fresh process (wall time, peak RSS, API requests).

``--case issue`` (issue 20): 1,250 each of Deployments, Services, HPAs and PVCs.  Beside the live audit it measures
the floor, the same requests the audit sent (every listing page by page at the same page size, discovery and the
version) sent raw with the same kubernetes client in a fresh process, and the start-up (``import readiness.cli`` in a
fresh process); the goal is the live audit within 1.5x of floor plus start-up (as whole processes: both import the
kubernetes client).  Every child runs with bytecode cached, as users run it (this environment sets
PYTHONDONTWRITEBYTECODE, which would time compiling readiness's own modules in the audit alone), after one warm-up
run; ``--rounds N`` runs audit, floor and start-up interleaved N times (paired: load falls on all alike), medians.
``--case mix``: ~5,000 objects across the kinds a busy namespace holds.
``--growth 1000,5000,20000``: the live audit at each size (it must grow linearly).  ``--profile``: cProfile of
the main and every worker thread of the live audit, merged, top functions by own time (BENCH_SORT=cumulative and
BENCH_TOP=N to see callers).  ``--timeline``: the audit child's phases (imports, inputs, connect, each listing, each
item, the report) in milliseconds since the child's interpreter started.

    .venv/bin/python bench/bench_kubernetes.py [--case issue|mix] [--objects 5000] [--rounds 3] [--growth N,N]
                                               [--profile] [--timeline]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# As users run it: bytecode cached.  The children import only what they measure (the fake server, yaml and the
# fixtures are the parent's, imported in its functions).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

SECTIONS = ["storage", "autoscaling", "k8s.ingress-body-size", "k8s.ingress-timeouts", "k8s.ingress-tls",
            "k8s.lb-source-ranges"]
# Share of the objects per kind: what a busy multi-tenant cluster's namespace looks like.
MIX = {"Pod": 0.40, "Deployment": 0.12, "Service": 0.12, "PersistentVolumeClaim": 0.08, "StatefulSet": 0.06,
       "HorizontalPodAutoscaler": 0.08, "PodDisruptionBudget": 0.05, "Ingress": 0.05, "ScaledObject": 0.02,
       "StorageClass": 0.01, "PersistentVolume": 0.01}
ISSUE = {"Deployment": 0.25, "Service": 0.25, "HorizontalPodAutoscaler": 0.25, "PersistentVolumeClaim": 0.25}


def _fake() -> Any:
    sys.path[:0] = [str(HERE.parent / "tests")]
    import fake_k8s

    return fake_k8s


def objects(total: int, mix: dict[str, float]) -> list[dict[str, Any]]:
    import copy

    base = _fake().load("good.yaml")
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


def _timeline(marks: list[tuple[float, str, str]]) -> Any:
    """Wrap the audit's phases so each end is marked (perf_counter, thread, what); returns the on_result hook."""
    import threading

    import readiness.clients.kubernetes as k8s
    import readiness.report as report
    import readiness.runner as runner

    def mark(what: str) -> None:
        marks.append((time.perf_counter(), threading.current_thread().name, what))

    def timed(owner: Any, name: str, label: Any) -> None:
        inner = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            out = inner(*args, **kwargs)
            mark(f"{label(args, out)} ({(time.perf_counter() - start) * 1000:.0f} ms)")
            return out

        setattr(owner, name, wrapper)

    timed(k8s, "connect", lambda a, out: "connected (kubernetes client imported, kubeconfig read, /version)")
    timed(k8s.LiveCluster, "list", lambda a, out: f"listed {a[1].plural} in {a[2] if len(a) > 2 else None}: "
                                                  f"{len(out)}")
    timed(runner, "run", lambda a, out: "every item done")
    timed(report, "build", lambda a, out: "report built")
    return lambda result: mark(f"item {result.id}: {result.status}") if result.status != "skipped" else None


def run_audit(targets_path: str, profile: bool, timeline: bool) -> None:
    """One audit in this (fresh) process; prints its figures as JSON (and, with ``profile``, the merged profile of
    every thread on stderr; with ``timeline``, its phases)."""
    marks: list[tuple[float, str, str]] = [(time.perf_counter(), "MainThread", "bench module run")]
    from readiness.audit import execute, load_inputs
    from readiness.runner import Options

    marks.append((time.perf_counter(), "MainThread", "readiness.audit imported"))
    on_result = _timeline(marks) if timeline else None
    inputs = load_inputs(None, targets_path)
    marks.append((time.perf_counter(), "MainThread", "inputs loaded (checklist, targets)"))
    profiles = []
    if profile:
        import cProfile
        import threading

        def per_thread(*args: Any) -> None:
            prof = cProfile.Profile()
            profiles.append(prof)
            sys.setprofile(None)  # this thread's hook; threading's stays set, so every later thread gets its own
            prof.enable()

        threading.setprofile(per_thread)
        main = cProfile.Profile()
        profiles.append(main)
        main.enable()
    start = time.perf_counter()
    _, results = execute(inputs, Options(preset="langsmith", profile="production", only=tuple(SECTIONS),
                                         timeout=120.0, concurrency=8), "required", on_result=on_result)
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
    if timeline:
        t0 = float(os.environ.get("BENCH_T0") or marks[0][0])  # the parent's clock when it spawned this process
        for at, thread, what in marks:
            print(f"{(at - t0) * 1000:7.0f} ms  {thread:<16} {what}", file=sys.stderr)
    statuses: dict[str, int] = {}
    results = [r for r in results if r.id.startswith("k8s.")]
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    print(json.dumps({"wall_s": round(wall, 3), "cpu_s": round(time.process_time(), 3), "peak_rss_mb": _rss_mb(),
                      "items": len(results), "statuses": statuses}))


def run_floor(kubeconfig: str, plan: str) -> None:
    """The floor: the requests the audit sent (``plan``: every listing, paged as the audit pages, and its other
    GETs), sent raw one after another with the kubernetes client the tool uses."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    cfg = k8s.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg, persist_config=False)
    api = k8s.ApiClient(cfg)
    todo = json.loads(Path(plan).read_text())
    start = time.perf_counter()

    def get(path: str, query: list[tuple[str, Any]]) -> Any:
        method, url, headers, _, _ = api.param_serialize("GET", path, query_params=query,
                                                         header_params={"Accept": "application/json"},
                                                         auth_settings=["BearerToken"])
        resp = api.call_api(method, url, header_params=headers)
        return json.loads(resp.read() if resp.data is None else resp.data)

    for path in todo["gets"]:
        get(path, [])
    count = 0
    for path in todo["lists"]:
        cont = ""
        while True:
            body = get(path, [("limit", todo["page"])] + ([("continue", cont)] if cont else []))
            count += len(body["items"])
            cont = body["metadata"].get("continue") or ""
            if not cont:
                break
    wall = time.perf_counter() - start
    print(json.dumps({"wall_s": round(wall, 3), "peak_rss_mb": _rss_mb(), "objects": count,
                      "requests": len(todo["gets"]) + len(todo["lists"])}))


def floor_plan(requests: list[str], page: int) -> dict[str, Any]:
    """The audit's requests as the floor sends them: each listing once (paged), each other GET once."""
    lists = list(dict.fromkeys(r.split("?")[0] for r in requests if "limit=" in r))
    gets = list(dict.fromkeys(r for r in requests if "limit=" not in r))
    return {"page": page, "lists": lists, "gets": gets}


def child(args: list[str], stderr: bool = False) -> tuple[dict[str, Any], float]:
    """A fresh process's last JSON line, and the process's whole wall time."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True,
                         env={**ENV, "BENCH_T0": repr(start)})
    wall = time.perf_counter() - start
    if stderr:
        print(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def startup() -> float:
    """The wall of a fresh ``import readiness.cli``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import readiness.cli"], check=True, env=ENV)
    return time.perf_counter() - start


def live_audit(objs: list[dict[str, Any]], tmp: Path, flags: tuple[str, ...] = (), rounds: int = 0
               ) -> dict[str, Any]:
    """The live audit in a fresh child after a warm-up run (the fake server runs in this process, so the child's
    RSS is the audit's alone); with ``rounds``, that many rounds of audit, floor and start-up, interleaved."""
    import yaml

    with _fake().FakeCluster(objs) as cluster:
        kubeconfig = cluster.kubeconfig(tmp / "kubeconfig")
        path = tmp / "live.yaml"
        path.write_text(yaml.safe_dump({"preset": "langsmith", "profile": "production", "kubernetes": {
            "kubeconfig": str(kubeconfig), "namespace": "langsmith", "release": "langsmith"}}))
        child(["--audit", str(path)])  # writes the bytecode, warms the page cache
        cluster.requests.clear()
        live, live["process_s"] = child(["--audit", str(path), *flags], stderr=bool(flags))
        live["requests"] = requests = list(cluster.requests)
        if rounds:
            from readiness.clients.kubernetes import PAGE_SIZE

            plan = tmp / "floor.json"
            plan.write_text(json.dumps(floor_plan(requests, PAGE_SIZE)))
            child(["--floor", str(kubeconfig), "--plan", str(plan)])
            startup()
            live["rounds"] = []
            for _ in range(rounds):
                audit, audit_s = child(["--audit", str(path)])
                floor, floor_s = child(["--floor", str(kubeconfig), "--plan", str(plan)])
                live["rounds"].append({"audit": audit, "audit_s": audit_s, "floor": floor, "floor_s": floor_s,
                                       "startup_s": startup(), "load": os.getloadavg()[0]})
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
    ap.add_argument("--rounds", type=int, default=3, help="paired rounds of audit, floor and start-up (issue)")
    ap.add_argument("--growth", help="comma-separated object counts: the live audit at each")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--timeline", action="store_true")
    ap.add_argument("--no-offline", action="store_true")
    ap.add_argument("--audit")
    ap.add_argument("--floor")
    ap.add_argument("--plan")
    args = ap.parse_args()
    if args.audit:
        run_audit(args.audit, args.profile, args.timeline)
        return
    if args.floor:
        run_floor(args.floor, args.plan)
        return
    import tempfile

    import yaml

    mix = ISSUE if args.case == "issue" else MIX
    flags = tuple(f for f, on in (("--profile", args.profile), ("--timeline", args.timeline)) if on)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.growth:
            for n in (int(x) for x in args.growth.split(",")):
                live = live_audit(objects(n, mix), tmp)
                # the audit's own CPU (the whole child's) grows with the objects whatever the fake server costs
                print(f"{n:>6} objects: {live['wall_s']:.2f} s (process {live['process_s']:.2f} s, its CPU "
                      f"{live['cpu_s']:.2f} s), peak RSS {live['peak_rss_mb']:.0f} MB, "
                      f"{len(live['requests'])} requests")
            return
        objs = objects(args.objects, mix)
        kinds = sorted({o["kind"] for o in objs})
        print(f"fake cluster ({args.case}): {len(objs)} objects across {len(kinds)} kinds ({', '.join(kinds)})")
        live = live_audit(objs, tmp, flags, rounds=args.rounds if args.case == "issue" else 0)
        print(f"live:    {describe(live)}")
        if live.get("rounds"):
            # both processes import the kubernetes client; the audit's start-up beyond it is readiness's own
            for i, r in enumerate(live["rounds"], 1):
                goal = 1.5 * (r["floor_s"] + r["startup_s"])
                print(f"round {i}: live process {r['audit_s']:.2f} s (in-process {r['audit']['wall_s']:.2f} s, "
                      f"peak RSS {r['audit']['peak_rss_mb']:.0f} MB); floor process {r['floor_s']:.2f} s "
                      f"({r['floor']['requests']} requests, {r['floor']['objects']} objects in "
                      f"{r['floor']['wall_s']:.2f} s); start-up {r['startup_s']:.2f} s; goal {goal:.2f} s: "
                      f"{'met' if r['audit_s'] <= goal else 'NOT met'} (load {r['load']:.1f})")
            med = {k: statistics.median(r[k] for r in live["rounds"]) for k in ("audit_s", "floor_s", "startup_s")}
            goal = 1.5 * (med["floor_s"] + med["startup_s"])
            print(f"medians of {len(live['rounds'])}: live process {med['audit_s']:.2f} s <= 1.5 x (floor process "
                  f"{med['floor_s']:.2f} s + start-up {med['startup_s']:.2f} s) = {goal:.2f} s: "
                  f"{'met' if med['audit_s'] <= goal else 'NOT met'}")
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
