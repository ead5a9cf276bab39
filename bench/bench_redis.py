"""The redis section's wall time as the keyspace grows: 10 000, 200 000 and 2 000 000 keys, and the ratio to the
smallest.  The goal (issue 20): every item decides (pass or fail, no error) at 2 000 000 keys, within 1.5x the time
of 10 000.

Run from the repository root with the project installed:  .venv/bin/python bench/bench_redis.py [RUNS] [SIZES...]
One redis-server per size (DEBUG allowed from loopback only, to fill it fast with DEBUG POPULATE), preset langfuse:
a few BullMQ queues with known depths, plus job-like keys bull:ingestion-queue:<n>.  The sizes are run in turn, run
by run, so that a busy machine slows them alike; the figure is the median.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import yaml

from readiness.audit import load_inputs
from readiness.checklist import default_path
from readiness.demo.redis import RedisSpec, start_redis
from readiness.runner import Options, close_sessions, plan, run

PASSWORD = "bench-pw"
SIZES = (10_000, 200_000, 2_000_000)


def fill(port: int, size: int) -> None:
    r = redis.Redis(port=port, password=PASSWORD)
    pipe = r.pipeline(transaction=False)
    for queue in ("ingestion-queue", "otel-ingestion-queue", "trace-upsert", "evaluation-execution-queue"):
        pipe.hset(f"bull:{queue}:meta", mapping={"opts.maxLenEvents": "10000"})
        pipe.rpush(f"bull:{queue}:wait", *range(50))
        pipe.zadd(f"bull:{queue}:failed", {f"j{i}": i for i in range(20)})
    pipe.execute()
    r.execute_command("DEBUG", "POPULATE", size - int(r.dbsize()), "bull:ingestion-queue")
    assert int(r.dbsize()) == size
    r.close()


def checklist(work: Path) -> Path:
    """The packaged checklist with the Redis container's limit given, so that memory-vs-limit decides too (it
    reads the limit from the kubernetes target otherwise)."""
    data = yaml.safe_load(Path(default_path()).read_text())
    for section in data["sections"]:
        for item in section["items"]:
            if item["id"] == "redis.memory-vs-limit":
                item["with"] = {**item.get("with", {}), "memory_limit": "4Gi"}
    path = work / "checklist.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def one_run(targets: Path) -> dict[str, Any]:
    inputs = load_inputs(str(targets.parent / "checklist.yaml"), str(targets))
    options = Options(profile="production", preset="langfuse", only=("redis",), timeout=30.0)
    start = time.perf_counter()
    results, sessions = run(plan(inputs.checklist, options), inputs.targets, options)
    close_sessions(sessions)
    wall = time.perf_counter() - start
    probed = [r for r in results if r.probe and r.status != "skipped" and r.section == "redis"]
    slowest = max(probed, key=lambda r: r.duration_s)
    return {"wall_s": wall, "slowest": (slowest.id, slowest.duration_s),
            "statuses": {s: sum(r.status == s for r in probed) for s in ("pass", "fail", "error")},
            "errors": {r.id: r.message[:110] for r in probed if r.status == "error"}}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    sizes = tuple(int(s) for s in sys.argv[2:]) or SIZES
    work = Path(tempfile.mkdtemp(prefix="readiness-bench-redis-"))
    os.chmod(work, 0o755)
    servers = []
    rows = []
    try:
        checklist(work)
        targets = []
        for db, size in enumerate(sizes):
            servers.append(start_redis(work / f"redis-{size}", RedisSpec(password=PASSWORD, maxmemory="2gb", extra={
                "enable-debug-command": "local"})))
            fill(servers[-1].port, size)
            targets.append(work / f"targets-{db}.yaml")
            targets[-1].write_text(yaml.safe_dump({"redis": {
                "url": f"redis://:{PASSWORD}@127.0.0.1:{servers[-1].port}/0"}}))
            one_run(targets[-1])  # warm-up: imports, first connection
        figures: list[list[dict[str, Any]]] = [[] for _ in sizes]
        for _ in range(runs):
            for db, path in enumerate(targets):
                figures[db].append(one_run(path))
        rows = [(size, statistics.median(f["wall_s"] for f in figures[db]), figures[db][-1])
                for db, size in enumerate(sizes)]
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    base = rows[0][1]
    print(f"redis section, preset langfuse, {runs} runs per size (median wall time)")
    for size, wall, last in rows:
        slow_id, slow_s = last["slowest"]
        print(f"  {size:>9,} keys: {wall * 1000:7.1f} ms  x{wall / base:4.2f}  verdicts {last['statuses']}  "
              f"slowest {slow_id} {slow_s * 1000:.1f} ms")
        for item, message in last["errors"].items():
            print(f"      error {item}: {message}")


if __name__ == "__main__":
    main()
