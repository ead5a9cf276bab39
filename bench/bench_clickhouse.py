"""Figures for the ClickHouse section against a real 3-replica cluster (Debian's clickhouse-server with a 3-node
ZooKeeper ensemble, started here): wall time of the section, queries sent per node, the slowest item and the ratio
of the section's wall time to it (1.0 would mean the items cost no more than the slowest one alone); then the section
with one node frozen (SIGSTOP) and with one killed: wall time against --timeout, verdicts, threads left.

Run from the repository root with the project installed:  .venv/bin/python bench/bench_clickhouse.py [RUNS]
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from readiness.audit import load_inputs
from readiness.demo import clickhouse as ch
from readiness.runner import Options, close_sessions, plan, run


def setup(work: Path) -> tuple[ch.ZooKeeper, list[ch.Node]]:
    zk = ch.zookeeper(work, 3)
    nodes = ch.cluster(work, zk, replicas=3)
    for i, n in enumerate(nodes):
        ch.trace_tables(n, replicated=True)
        ch.runs(n, delay_s=2, replicated=True, insert=i == 0)
    ch.migrations(nodes[0], dirty_last=False)
    nodes[0].sql("INSERT INTO default.traces SELECT toString(number), 'p', now() - number, 1 "
                 "FROM system.numbers LIMIT 100000")
    for n in nodes:
        ch.flush_logs(n)
    return zk, nodes


def one_run(targets_file: Path, preset: str) -> tuple[float, dict[str, int], list[tuple[str, float, str]]]:
    inputs = load_inputs(None, str(targets_file))
    options = Options(preset=preset, only=("clickhouse",), timeout=10)
    planned = plan(inputs.checklist, options)
    start = time.perf_counter()
    results, sessions = run(planned, inputs.targets, options)
    wall = time.perf_counter() - start
    client = sessions["clickhouse"].client
    queries = {n.name: n.queries for n in client.nodes}
    close_sessions(sessions)
    items = [(r.id, r.duration_s, r.status) for r in results if r.status != "skipped"]
    return wall, queries, items


def faulty_run(targets_file: Path, node: ch.Node, fault: signal.Signals, timeout: float) -> None:
    """The langfuse section with ``node`` frozen (it accepts connections, the kernel does, and never answers) or
    killed before the run: wall time against --timeout, verdicts, threads left behind.  (Freezing and killing a node
    in the middle of a query is tests/test_clickhouse_faults.py's.)"""
    assert node.server.proc is not None
    inputs = load_inputs(None, str(targets_file))
    options = Options(preset="langfuse", only=("clickhouse",), timeout=timeout)
    planned = plan(inputs.checklist, options)
    before = threading.active_count()
    os.kill(node.server.proc.pid, fault)
    start = time.perf_counter()
    results, sessions = run(planned, inputs.targets, options)
    wall = time.perf_counter() - start
    close_sessions(sessions)
    left = threading.active_count() - before
    statuses: dict[str, int] = {}
    for r in results:
        if r.status != "skipped":
            statuses[r.status] = statuses.get(r.status, 0) + 1
    name = "frozen (SIGSTOP)" if fault == signal.SIGSTOP else "killed (SIGKILL)"
    print(f"one node of 3 {name}, --timeout {timeout:g}: wall {wall:.2f} s, verdicts {statuses}, "
          f"threads left {left}")
    if fault == signal.SIGSTOP:
        os.kill(node.server.proc.pid, signal.SIGCONT)
        node.server.proc.poll()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        zk, nodes = setup(work)
        started = time.perf_counter() - t0
        try:
            targets = work / "targets.yaml"
            targets.write_text(yaml.safe_dump({"clickhouse": {"urls": [n.url() for n in nodes],
                                                              "cluster": "readiness"}}))
            for preset in ("langsmith", "langfuse"):
                walls, slowest = [], []
                queries: dict[str, int] = {}
                items: list[tuple[str, float, str]] = []
                for _ in range(runs):
                    wall, queries, items = one_run(targets, preset)
                    walls.append(wall)
                    slowest.append(max(items, key=lambda x: x[1]))
                top = max(items, key=lambda x: x[1])
                ratios = [w / s[1] for w, s in zip(walls, slowest, strict=True)]
                print(f"preset {preset}: {len(items)} items run, {runs} runs")
                print(f"  wall time     median {statistics.median(walls) * 1000:.0f} ms, "
                      f"min {min(walls) * 1000:.0f} ms, max {max(walls) * 1000:.0f} ms")
                print(f"  queries/node  {', '.join(f'{k}: {v}' for k, v in queries.items())}  (last run)")
                print(f"  slowest item  {top[0]} {top[1] * 1000:.0f} ms ({top[2]}) (last run)")
                print(f"  wall / slowest item  median {statistics.median(ratios):.2f}")
                statuses: dict[str, int] = {}
                for _, _, status in items:
                    statuses[status] = statuses.get(status, 0) + 1
                print(f"  verdicts      {statuses}")
            faulty_run(targets, nodes[2], signal.SIGSTOP, 2.0)
            faulty_run(targets, nodes[2], signal.SIGKILL, 2.0)
        finally:
            for n in nodes:
                n.stop()
            zk.stop()
        print(f"servers started and loaded in {started:.1f} s")


if __name__ == "__main__":
    main()
