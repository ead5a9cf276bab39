"""The redis section's wall time as the keyspace grows: 10 000, 200 000 and 2 000 000 keys, and the ratio to the
smallest.  The goal (issue 20): every item decides (pass or fail, no error) at 2 000 000 keys, within 1.5x the time
of 10 000.

Run from the repository root with the project installed:  .venv/bin/python bench/bench_redis.py [RUNS] [SIZES...]
One redis-server (DEBUG allowed from loopback only, to fill it fast with DEBUG POPULATE), preset langfuse: a few
BullMQ queues with known depths, plus N job-like keys bull:ingestion-queue:<n>.
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
from readiness.demo.redis import RedisSpec, start_redis
from readiness.runner import Options, close_sessions, plan, run

PASSWORD = "bench-pw"
SIZES = (10_000, 200_000, 2_000_000)


def fill(port: int, size: int) -> None:
    r = redis.Redis(port=port, password=PASSWORD)
    r.flushall()
    pipe = r.pipeline(transaction=False)
    for queue in ("ingestion-queue", "otel-ingestion-queue", "trace-upsert", "evaluation-execution-queue"):
        pipe.hset(f"bull:{queue}:meta", mapping={"opts.maxLenEvents": "10000"})
        pipe.rpush(f"bull:{queue}:wait", *range(50))
        pipe.zadd(f"bull:{queue}:failed", {f"j{i}": i for i in range(20)})
    pipe.execute()
    r.execute_command("DEBUG", "POPULATE", size - int(r.dbsize()), "bull:ingestion-queue")
    assert int(r.dbsize()) == size
    r.close()


def one_run(targets: Path) -> dict[str, Any]:
    inputs = load_inputs(None, str(targets))
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
    server = start_redis(work / "redis", RedisSpec(password=PASSWORD, maxmemory="2gb",
                                                   extra={"enable-debug-command": "local"}))
    rows = []
    try:
        targets = work / "targets.yaml"
        targets.write_text(yaml.safe_dump({"redis": {"url": f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"}}))
        for size in sizes:
            fill(server.port, size)
            one_run(targets)  # warm-up: imports, first connection
            figures = [one_run(targets) for _ in range(runs)]
            rows.append((size, statistics.median(f["wall_s"] for f in figures), figures[-1]))
    finally:
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
