"""Figures for the redis and postgres sections against local servers: total wall time, round trips per target, and
the ratio of the total wall time to the slowest single item (1.0 = the run takes no longer than its slowest item).

Run from the repository root with the project installed:  .venv/bin/python bench/bench_redis_postgres.py [RUNS]
Starts a Redis (10 000 keys, BullMQ-like queues) and a PostgreSQL (pg_stat_statements on) with the demo launchers;
round trips are counted by the clients and, independently, by the servers (INFO commandstats, pg_stat_statements).
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

import psycopg
import redis
import yaml
from timing import print_timing

from readiness.audit import load_inputs
from readiness.checklist import default_path
from readiness.demo.postgres import PgSpec, start_postgres
from readiness.demo.redis import RedisSpec, start_redis
from readiness.runner import Options, close_sessions, plan, run

PASSWORD = "bench-pw"


def seed_redis(port: int) -> None:
    r = redis.Redis(port=port, password=PASSWORD)
    pipe = r.pipeline(transaction=False)
    for queue in ("ingestion-queue", "otel-ingestion-queue", "trace-upsert", "evaluation-execution-queue"):
        pipe.rpush(f"bull:{queue}:wait", *range(50))
        pipe.zadd(f"bull:{queue}:failed", {f"j{i}": i for i in range(20)})
        for i in range(2500):
            pipe.hset(f"bull:{queue}:{i}", mapping={"name": "job", "data": "{}"})
    # Key names anyone who can write a key can plant: not UTF-8, and 40,000 characters long.
    pipe.rpush(b"bull:\xff\xfe:wait", b"job")
    pipe.rpush(b"bull:" + b"q" * 40000 + b":wait", b"job")
    pipe.execute()
    r.close()


def concurrent_plugin_calls(port: int, threads: int = 12, calls: int = 300) -> tuple[float, int]:
    """Plugins calling ctx.client from many threads over the one connection: calls per second, and wrong replies."""
    import threading

    from readiness.clients.redis import connect

    handle = connect({"url": f"redis://:{PASSWORD}@127.0.0.1:{port}/0"}, 10.0)
    queues = ("ingestion-queue", "otel-ingestion-queue", "trace-upsert", "evaluation-execution-queue")
    wrong = []

    def worker(n: int) -> None:
        for i in range(calls):
            if (n + i) % 2:
                got, want = handle.llen(f"bull:{queues[(n + i) % 4]}:wait"), 50
            else:
                got, want = handle.batch(handle.primary, [("ZCARD", f"bull:{queues[(n + i) % 4]}:failed"),
                                                          ("TYPE", f"bull:{queues[i % 4]}:wait")]), [20, "list"]
            if got != want:
                wrong.append(got)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    handle.close()
    return threads * calls / elapsed, len(wrong)


def redis_calls(port: int) -> int:
    stats = redis.Redis(port=port, password=PASSWORD).info("commandstats")
    return sum(v["calls"] for v in stats.values())


_FRAME = "(query IN ('BEGIN READ ONLY', 'ROLLBACK') OR query LIKE 'SET LOCAL statement_timeout%')"


def pg_calls(dsn: str, frame: bool = False) -> int:
    """Statements of the audit's role the server counted: its reads, or (frame) the read-only transactions' BEGIN,
    SET LOCAL statement_timeout and ROLLBACK around each."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_roles r "
                           f"ON r.oid = s.userid WHERE r.rolname = 'app' AND {'' if frame else 'NOT '}{_FRAME}"
                           ).fetchone()
        return int(row[0])


def frozen_postgres(pg: Any, work: Path, timeout: float = 2.0) -> dict[str, Any]:
    """The postgres section while the whole server is frozen (SIGSTOP) during its first item, a sleep."""
    import signal
    import threading

    data = yaml.safe_load(Path(default_path()).read_text())
    section = next(s for s in data["sections"] if s["id"] == "postgres")
    section["items"].insert(0, {"id": "postgres.x-sleep", "title": "sleep", "level": "required",
                                "probe": "postgres.query", "rationale": "bench",
                                "with": {"sql": "SELECT 1 FROM pg_sleep(0.8)", "expect": {"equals": 1}}})
    (work / "frozen.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (work / "frozen-targets.yaml").write_text(yaml.safe_dump({
        "postgres": {"dsn": f"postgresql://app:app-pw@127.0.0.1:{pg.port}/app"}}))
    inputs = load_inputs(str(work / "frozen.yaml"), str(work / "frozen-targets.yaml"))
    options = Options(profile="production", preset="langfuse", only=("postgres",), timeout=timeout, concurrency=4)
    master = int((pg.workdir / "data" / "postmaster.pid").read_text().split()[0])
    pids: list[int] = []

    def freeze() -> None:
        for _ in range(500):
            if pg.execute("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%FROM pg_sleep(0.8)' AND "
                          "application_name = 'readiness'")[0]:
                break
            time.sleep(0.01)
        # the postmaster and every backend, the audit's among them (each backend leads a session of its own)
        pids.extend([master] + [int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit()
                                and _ppid(d) == master])
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)

    before = threading.active_count()
    striker = threading.Thread(target=freeze)
    striker.start()
    start = time.perf_counter()
    results, sessions = run(plan(inputs.checklist, options), inputs.targets, options)
    close_sessions(sessions)
    wall = time.perf_counter() - start
    striker.join()
    for pid in [*pids, pg.proc.pid]:  # runuser stops itself when its child stops
        os.kill(pid, signal.SIGCONT)
    end = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < end:
        time.sleep(0.05)
    probed = [r for r in results if r.probe and r.status != "skipped"]
    return {"wall_s": wall, "items": len(probed), "errors": sum(r.status == "error" for r in probed),
            "threads_left": threading.active_count() - before, "timeout": timeout}


def _ppid(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def one_run(targets: Path, redis_port: int, admin_dsn: str) -> dict[str, Any]:
    inputs = load_inputs(None, str(targets))
    options = Options(profile="production", preset="langfuse", only=("redis", "postgres"), timeout=10.0)
    planned = plan(inputs.checklist, options)
    before_redis, before_pg = redis_calls(redis_port), pg_calls(admin_dsn)
    before_frame = pg_calls(admin_dsn, frame=True)
    start = time.perf_counter()
    results, sessions = run(planned, inputs.targets, options)
    close_sessions(sessions)
    wall = time.perf_counter() - start
    probed = [r for r in results if r.probe and r.status != "skipped" and r.section in ("redis", "postgres")]
    slowest = max(probed, key=lambda r: r.duration_s)
    redis_items = [r for r in probed if r.section == "redis"]
    return {
        "wall_s": wall,
        "slowest_s": slowest.duration_s, "slowest_id": slowest.id, "items": len(probed),
        "redis_slowest_s": max(r.duration_s for r in redis_items),
        "redis_facts": sessions["redis"].round_trips, "pg_facts": sessions["postgres"].round_trips,
        "redis_client_round_trips": sessions["redis"].client.commands,
        "pg_client_statements": sessions["postgres"].client.commands,
        # the servers' own counts (minus the INFO commandstats / pg_stat_statements read of this script)
        "redis_server_commands": redis_calls(redis_port) - before_redis - 1,
        "pg_server_statements": pg_calls(admin_dsn) - before_pg,
        "pg_server_frame": pg_calls(admin_dsn, frame=True) - before_frame,
        "statuses": {s: sum(r.status == s for r in probed) for s in ("pass", "fail", "error")},
        "errors": [r.id for r in probed if r.status == "error"],
    }


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    work = Path(tempfile.mkdtemp(prefix="readiness-bench-"))
    os.chmod(work, 0o755)
    servers = []
    try:
        r = start_redis(work / "redis", RedisSpec(password=PASSWORD))
        servers.append(r)
        seed_redis(r.port)
        pg = start_postgres(work / "pg", PgSpec(settings={"shared_preload_libraries": "pg_stat_statements"}, setup=[
            "CREATE ROLE app LOGIN PASSWORD 'app-pw' IN ROLE pg_monitor", "CREATE DATABASE app OWNER app"]))
        servers.append(pg)
        pg.execute("CREATE EXTENSION pg_stat_statements", "CREATE TABLE alembic_version (version_num text)",
                   "INSERT INTO alembic_version VALUES ('abc')", "GRANT SELECT ON alembic_version TO app", db="app")
        targets = work / "targets.yaml"
        targets.write_text(yaml.safe_dump({
            "redis": {"url": f"redis://:{PASSWORD}@127.0.0.1:{r.port}/0"},
            "postgres": {"dsn": f"postgresql://app:app-pw@127.0.0.1:{pg.port}/app"}}))
        admin_dsn = pg.dsn(db="app")
        one_run(targets, r.port, admin_dsn)  # warm-up: imports, first connections
        figures = [one_run(targets, r.port, admin_dsn) for _ in range(runs)]
        rate, wrong = concurrent_plugin_calls(r.port)
        frozen = frozen_postgres(pg, work)
    finally:
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    last = figures[-1]
    wall, slowest = print_timing(figures, f"redis + postgres sections, preset langfuse, {last['items']} probed items, "
                                          f"{runs} runs (median)",
                                 f"{last['statuses']}; errors: {', '.join(last['errors'])}")
    print(f"  wall / slowest item:    {wall / slowest:7.2f}")
    print(f"  slowest redis item:     {statistics.median(f['redis_slowest_s'] for f in figures) * 1000:7.1f} ms   "
          "(10 000 keys, one of them 40 000 characters long and one not UTF-8)")
    print(f"  plugin calls from 12 threads over one connection: {rate:.0f} calls/s, {wrong} wrong replies")
    print("  round trips per target (last run):")
    print(f"    redis:    {last['redis_client_round_trips']} round trips counted by the client, "
          f"{last['redis_server_commands']} commands counted by the server (INFO commandstats), "
          f"{last['redis_facts']} shared facts; INFO sent once")
    print(f"    postgres: {last['pg_client_statements']} statements counted by the client, "
          f"{last['pg_server_statements']} counted by the server (pg_stat_statements), {last['pg_facts']} shared facts"
          f"; each in its own read-only transaction ({last['pg_server_frame']} BEGIN/SET LOCAL/ROLLBACK)")
    print(f"  frozen postgres (SIGSTOP during the first item, --timeout {frozen['timeout']:g}): "
          f"{frozen['items']} items in {frozen['wall_s']:.2f} s, {frozen['errors']} errors, "
          f"{frozen['threads_left']} threads left")


if __name__ == "__main__":
    main()
