"""Read-only whatever the checklist says: clickhouse.query items that try to undo readonly and then write, run in
order by a user that may write, change nothing - as the server's own tables, read by a separate admin connection,
show - and each is an error."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import yaml

from readiness.demo.clickhouse import flush_logs

ATTACKS = [
    "SET readonly = 0",
    "SELECT count() FROM attack.victim SETTINGS readonly = 0",
    "SELECT 1 SETTINGS readonly = 2, max_execution_time = 0",
    "INSERT INTO attack.victim SELECT 99",
    "CREATE TABLE attack.created (a UInt8) ENGINE = Memory",
    "DROP TABLE attack.victim",
    "TRUNCATE TABLE attack.victim",
    "RENAME TABLE attack.victim TO attack.renamed",
    "SYSTEM STOP MERGES attack.victim",
    "OPTIMIZE TABLE attack.victim FINAL",
    "KILL QUERY WHERE query LIKE '%sleep(3) FROM system.numbers%' SYNC",
    "ALTER TABLE attack.victim DELETE WHERE 1",
    "SELECT 1; DROP TABLE attack.victim",
    "/* looks like a comment */ INSERT INTO attack.victim VALUES (98)",
    "SELECT a FROM attack.victim INTO OUTFILE '/tmp/readiness-ch-outfile'",
]


def test_a_checklist_cannot_make_the_audit_write(tmp_path, ch_single):
    node = ch_single.nodes[0]
    node.sql("CREATE DATABASE IF NOT EXISTS attack",
             "CREATE TABLE IF NOT EXISTS attack.victim (a UInt8) ENGINE = MergeTree ORDER BY a",
             "INSERT INTO attack.victim SELECT number + 1 FROM system.numbers LIMIT 3")
    items = [{"id": f"q.attack-{i}", "title": sql[:40], "level": "required", "probe": "clickhouse.query",
              "rationale": "r", "with": {"sql": sql, "expect": {"present": True}}} for i, sql in enumerate(ATTACKS)]
    checklist = tmp_path / "attack.yaml"
    checklist.write_text(yaml.safe_dump({"version": 1, "name": "attack", "sections": [
        {"id": "q", "title": "q", "items": items}]}))
    # 'app' uses the default profile: it may write, so only the audit's own guard keeps it read-only.
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"clickhouse": {"url": node.url(user="app")}}))
    outcome: dict[str, object] = {}

    def victim_query() -> None:  # a query of someone else's that KILL QUERY would end
        try:
            outcome["rows"] = node.sql("SELECT sleep(3) FROM system.numbers LIMIT 3 SETTINGS max_block_size = 1")
        except Exception as exc:
            outcome["error"] = exc

    started = time.time()
    sleeper = threading.Thread(target=victim_query)
    sleeper.start()
    try:
        time.sleep(0.5)  # let the sleeping query start (an ordering aid, not a timing assertion)
        proc = subprocess.run([sys.executable, "-m", "readiness", "audit", "-c", str(checklist), "-t", str(targets),
                               "--concurrency", "1", "--json", "-", "--quiet"],
                              capture_output=True, text=True, timeout=60)
        sleeper.join(20)
        # The server's own view, read as the admin: nothing changed, nothing was killed, nothing was even sent.
        assert "error" not in outcome and outcome["rows"] == [[(0,)] * 3], outcome
        assert node.sql("SELECT count() FROM attack.victim")[0] == [(3,)]
        assert node.sql("SELECT name FROM system.tables WHERE database = 'attack' ORDER BY name")[0] == [("victim",)]
        assert node.sql("SELECT count() FROM system.mutations WHERE database = 'attack'")[0] == [(0,)]
        flush_logs(node)
        sent = node.sql(f"SELECT query FROM system.query_log WHERE user = 'app' AND event_time >= {int(started)} "
                        "AND query NOT LIKE 'SELECT version()%' AND query NOT LIKE 'SELECT table, name FROM%'")[0]
        assert sent == [], sent

        report = json.loads(proc.stdout)
        results = {r["id"]: r for r in report["results"]}
        assert {r["status"] for r in results.values()} == {"error"}, {i: r["message"] for i, r in results.items()}
        for r in results.values():
            assert "refused before sending" in r["message"] and "the audit only reads" in r["message"], r["message"]
    finally:
        sleeper.join(10)
        node.sql("DROP DATABASE IF EXISTS attack")
