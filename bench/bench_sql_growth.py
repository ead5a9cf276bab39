"""How the postgres and clickhouse sections grow with the data: time, statements sent, rows fetched and peak RSS of
the section's run (each in a fresh process, so its peak RSS is its own) as tables, connections and parts grow.

Run from the repository root with the project installed:  .venv/bin/python bench/bench_sql_growth.py [pg|ch ...]
PostgreSQL: 10, 1,000 and 10,000 tables, then 10, 200 and 1,000 idle client connections (max_connections is raised in
the bench's own server).  ClickHouse (one node): 10, 1,000 and 10,000 tables; then one table with thousands of parts
(merges stopped: a write of the bench's own set-up, never of the tool); then a 3-replica cluster with ZooKeeper and
growing replicated tables.  What should stay flat is statements and rows: they grow only with what a verdict names.
"""

from __future__ import annotations

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

ROWS = ("tables", "statements", "rows", "wall_s", "peak_rss_mb", "verdicts")


def measure(targets: str, section: str, preset: str) -> None:
    """(child) one run of ``section``, its figures as JSON on stdout."""
    from readiness.audit import load_inputs
    from readiness.runner import Options, close_sessions, plan, run

    inputs = load_inputs(None, targets)
    options = Options(profile="production", preset=preset, only=(section,), timeout=30.0)
    planned = plan(inputs.checklist, options)
    start = time.perf_counter()
    results, sessions = run(planned, inputs.targets, options)
    wall = time.perf_counter() - start
    client = sessions[section].client
    if section == "postgres":
        statements, rows = client.commands, client.rows
    else:
        statements, rows = sum(n.queries for n in client.nodes), sum(n.rows for n in client.nodes)
    close_sessions(sessions)
    verdicts: dict[str, int] = {}
    for r in results:
        if r.probe and r.status != "skipped":
            verdicts[r.status] = verdicts.get(r.status, 0) + 1
    print(json.dumps({"statements": statements, "rows": rows, "wall_s": round(wall, 3), "verdicts": verdicts,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))


def section_run(work: Path, target: dict[str, Any], section: str, preset: str = "langfuse") -> dict[str, Any]:
    path = work / f"{section}-targets.yaml"
    path.write_text(yaml.safe_dump({section: target}))
    done = subprocess.run([sys.executable, __file__, "--measure", str(path), section, preset], capture_output=True,
                          text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def show(label: str, size: int, figures: dict[str, Any]) -> None:
    print(f"  {label:>12} {size:>6}: {figures['wall_s']:7.2f} s, {figures['statements']:4} statements, "
          f"{figures['rows']:7} rows fetched, peak RSS {figures['peak_rss_mb']:4} MB, {figures['verdicts']}",
          flush=True)


def postgres(work: Path, tables: list[int], connections: list[int]) -> None:
    import psycopg

    from readiness.demo.postgres import PgSpec, start_postgres

    pg = start_postgres(work / "pg", PgSpec(settings={"max_connections": max(connections) + 50}, setup=[
        "CREATE ROLE app LOGIN PASSWORD 'app-pw' IN ROLE pg_monitor", "CREATE DATABASE app OWNER app"]))
    target = {"dsn": f"postgresql://app:app-pw@127.0.0.1:{pg.port}/app"}
    held: list[Any] = []
    try:
        pg.execute("CREATE TABLE alembic_version (version_num text)", "INSERT INTO alembic_version VALUES ('abc')",
                   "GRANT SELECT ON alembic_version TO app", db="app")
        print("postgres section (preset langfuse), by tables:")
        made = 1
        for n in tables:
            pg.execute(f"DO $$ BEGIN FOR i IN {made}..{n - 1} LOOP EXECUTE format('CREATE TABLE t%s (id int, v text)'"
                       ", i); END LOOP; END $$", db="app")
            made = n
            pg.execute("ANALYZE", db="app")
            show("tables", n, section_run(work, target, "postgres"))
        print("postgres section (preset langfuse), by idle client connections:")
        for n in connections:
            while len(held) < n:
                held.append(psycopg.connect(target["dsn"], application_name="app", autocommit=True))
            show("connections", n, section_run(work, target, "postgres"))
    finally:
        for conn in held:
            conn.close()
        pg.stop()


def clickhouse(work: Path, tables: list[int], parts: list[int], replicated: list[int]) -> None:
    from readiness.demo import clickhouse as ch

    # the part limits raised, so thousands of parts in one partition are inserted, not refused
    solo = ch.node(work, "solo", merge_tree={"parts_to_delay_insert": 100000, "parts_to_throw_insert": 100000})
    solo.start()
    try:
        ch.trace_tables(solo, replicated=False)
        ch.migrations(solo, dirty_last=False)
        print("clickhouse section (preset langfuse, one node), by tables:")
        client, made = solo.admin(), len(ch.TRACE_TABLES) + 1
        for n in tables:
            for i in range(made, n):
                client.execute(f"CREATE TABLE default.t{i} (id UInt64, v String) ENGINE = MergeTree ORDER BY id")
            made = max(made, n)
            show("tables", n, section_run(work, {"url": solo.url()}, "clickhouse"))
        print("clickhouse section (preset langfuse, one node), by active parts of one table:")
        solo.sql("SYSTEM STOP MERGES default.traces")
        have = 0
        for n in parts:
            for i in range(have, n):
                client.execute(f"INSERT INTO default.traces SELECT 'p{i}', 'proj', toDateTime('2024-01-15 00:00:00'), "
                               f"{i}")
            have = n
            show("parts", n, section_run(work, {"url": solo.url()}, "clickhouse"))
        client.disconnect()
    finally:
        solo.stop()
    if not replicated:
        return
    zk = ch.zookeeper(work, 1)
    nodes = ch.cluster(work, zk, replicas=3)
    try:
        for n in nodes:
            ch.trace_tables(n, replicated=True)
        print("clickhouse section (preset langfuse, 3 replicas), by replicated tables per node:")
        made = len(ch.TRACE_TABLES)
        target = {"urls": [n.url() for n in nodes], "cluster": "readiness"}
        for count in replicated:
            for n in nodes:
                n.sql(*[f"CREATE TABLE default.r{i} (id UInt64) ENGINE = ReplicatedMergeTree("
                        f"'/clickhouse/tables/{{shard}}/r{i}', '{{replica}}') ORDER BY id" for i in range(made, count)])
            made = max(made, count)
            show("replicated", count, section_run(work, target, "clickhouse"))
    finally:
        for n in nodes:
            n.stop()
        zk.stop()


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        measure(*sys.argv[2:5])
        return
    which = set(sys.argv[1:]) or {"pg", "ch"}
    small = os.environ.get("BENCH_SMALL") == "1"  # a quick pass: the same shape, smaller sizes
    with tempfile.TemporaryDirectory(prefix="readiness-growth-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        if "pg" in which:
            postgres(work, [10, 100] if small else [10, 1000, 10000], [10, 50] if small else [10, 200, 1000])
        if "ch" in which:
            clickhouse(work, [10, 100] if small else [10, 1000, 10000], [10, 100] if small else [100, 1000, 3000],
                       [10, 30] if small else [10, 100, 300])


if __name__ == "__main__":
    main()
