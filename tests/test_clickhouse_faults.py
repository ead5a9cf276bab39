"""Faults: a node frozen (SIGSTOP) or killed mid-audit costs about one timeout and leaves no threads behind; a
statement that fails inside a probe that runs several makes the item an error, never a missing row read as 0; a
down node prints no traceback on stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from helpers import audit
from readiness.checks import clickhouse, clickhouse_load, clickhouse_storage
from servers import free_port
from test_clickhouse_items import variant

from readiness.clients.clickhouse import statement
from readiness.demo import clickhouse as ch


def _checklist(path: Path, items: list[tuple[str, str]]) -> str:
    path.write_text(yaml.safe_dump({"version": 1, "name": "faults", "sections": [{"id": "q", "title": "q", "items": [
        {"id": f"q.{name}", "title": name, "level": "required", "probe": "clickhouse.query", "rationale": "r",
         "with": {"sql": sql, "expect": {"present": True}}} for name, sql in items]}]}))
    return str(path)


@pytest.fixture(scope="module")
def lone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ch.Node]:
    """A node of its own, without ZooKeeper: these tests freeze and kill it."""
    node = ch.node(tmp_path_factory.mktemp("ch-faults"), "lone")
    node.start()
    try:
        yield node
    finally:
        if node.server.proc is not None and node.server.proc.poll() is None:
            os.kill(node.server.proc.pid, signal.SIGCONT)
        node.stop()


def _when_running(node: ch.Node, marker: str, then: signal.Signals, done: threading.Event) -> threading.Thread:
    """A thread that sends ``then`` to the server as soon as a query holding ``marker`` runs on it."""
    admin = node.admin()

    def watch() -> None:
        try:
            for _ in range(500):  # bounded: 500 polls
                rows = admin.execute(f"SELECT count() FROM system.processes WHERE query LIKE '%{marker}%' "
                                     "AND query NOT LIKE '%system.processes%'")
                if rows[0][0]:
                    assert node.server.proc is not None
                    os.kill(node.server.proc.pid, then)
                    done.set()
                    return
                time.sleep(0.01)
        finally:
            admin.disconnect()

    t = threading.Thread(target=watch)
    t.start()
    return t


def test_a_node_frozen_before_the_audit_is_reported_down_and_the_others_still_judged(tmp_path, lone, ch_cluster):
    assert lone.server.proc is not None
    os.kill(lone.server.proc.pid, signal.SIGSTOP)  # the kernel still accepts connections; nothing answers
    try:
        start = time.monotonic()
        results, _ = audit(tmp_path, {"clickhouse": {"urls": [ch_cluster.nodes[0].url(), lone.url()]}},
                           ["clickhouse.reachable", "clickhouse.version", "clickhouse.query-concurrency"],
                           timeout=2.0)
        took = time.monotonic() - start
    finally:
        os.kill(lone.server.proc.pid, signal.SIGCONT)
    assert took < 2.0 + 1.0, took
    reach = results["clickhouse.reachable"]
    assert reach.status == "fail" and f"1 of 2 nodes do not answer: 127.0.0.1:{lone.port}: no answer" in reach.message
    assert results["clickhouse.version"].status == "fail"  # 18.16 on the node that answers
    assert results["clickhouse.query-concurrency"].status == "error"
    assert f"127.0.0.1:{lone.port}" in results["clickhouse.query-concurrency"].message


@pytest.mark.parametrize("fault", [signal.SIGSTOP, signal.SIGKILL], ids=["frozen", "killed"])
def test_a_node_frozen_or_killed_mid_audit_costs_one_timeout(tmp_path, lone, fault):
    if lone.server.proc is None or lone.server.proc.poll() is not None:
        lone.start()
    items = [("slow", "SELECT sleep(1.5) + 1 AS marker_fault")] + [(f"v{i}", f"SELECT {i} + 1") for i in range(11)]
    checklist = _checklist(tmp_path / "faults.yaml", items)
    before = threading.active_count()
    hit = threading.Event()
    watcher = _when_running(lone, "marker_fault", fault, hit)
    timeout = 2.0
    try:
        start = time.monotonic()
        results, _ = audit(tmp_path, {"clickhouse": {"url": lone.url()}}, [], checklist=checklist, timeout=timeout)
        took = time.monotonic() - start
    finally:
        watcher.join(10)
        if fault == signal.SIGSTOP and lone.server.proc is not None:
            os.kill(lone.server.proc.pid, signal.SIGCONT)
    assert hit.is_set()
    assert took < timeout + 1.5, took
    statuses = {i: r.status for i, r in results.items()}
    slow = results["q.slow"]
    assert slow.status == "error", slow.message
    # Items that ran before the fault pass; every other one ends as an error at once.
    late = [r for i, r in results.items() if i != "q.slow" and r.status != "pass"]
    assert late and all(r.status == "error" for r in late), statuses
    if fault == signal.SIGSTOP:
        assert "no answer" in slow.message or "timed out" in slow.message, slow.message
        # Those queued behind the frozen query end with it, before their own timeout.
        assert all(r.duration_s < timeout for r in late), [(r.id, r.duration_s, r.message) for r in late]
    for _ in range(10):  # no thread is left blocked on the node (the workers take a moment to exit)
        if threading.active_count() <= before + 1:
            break
        time.sleep(0.05)
    assert threading.active_count() <= before + 1, threading.enumerate()
    if fault == signal.SIGKILL:
        lone.server.proc.wait(10)  # type: ignore[union-attr]


def test_a_failed_statement_inside_a_multi_statement_probe_is_an_error(tmp_path, ch_single, monkeypatch):
    # Each statement parts-pressure, system-log-growth and replica-health send, made to fail on the real server in
    # turn (throwIf: a real error reply), and a statement that answers with no row where one is expected.
    failing = statement("fails", "SELECT throwIf(1) AS name, '' AS value, '' AS database, '' AS table, "
                                 "'' AS engine, '' AS engine_full, 0 AS parts, '' AS partition_id, 0 AS bytes")
    cases = [(clickhouse_storage, "CLAUSES", "clickhouse.parts-pressure"),
             (clickhouse_storage, "MERGE_TREE_SETTINGS", "clickhouse.parts-pressure"),
             (clickhouse_storage, "PARTS_PER_PARTITION", "clickhouse.parts-pressure"),
             (clickhouse_storage, "BYTES_PER_DATABASE", "clickhouse.system-log-growth"),
             (clickhouse_storage, "LOG_TABLES", "clickhouse.system-log-growth"),
             (clickhouse, "REPLICA_COUNTS", "clickhouse.replica-health"),
             (clickhouse, "UNHEALTHY_REPLICAS", "clickhouse.replica-health")]
    # Thresholds no finding reaches, so only the failed statement can keep the item from passing.
    checklist = variant(tmp_path, {"clickhouse.parts-pressure": {"max_ratio": 0.99},
                                   "clickhouse.system-log-growth": {"log_databases": ["nowhere"]}})
    judged = ["clickhouse.parts-pressure", "clickhouse.system-log-growth", "clickhouse.query-concurrency",
              "clickhouse.replica-health"]
    baseline, _ = audit(tmp_path, ch_single.target(), judged, checklist=checklist)
    assert [baseline[i].status for i in judged] == ["pass"] * 4, [baseline[i].message for i in judged]
    for module, name, item in cases:
        with monkeypatch.context() as m:
            m.setattr(module, name, failing)
            results, _ = audit(tmp_path, ch_single.target(), [item], checklist=checklist)
        r = results[item]
        assert r.status == "error", (name, r.status, r.message)
        assert "throwIf" in r.message or "non zero" in r.message, (name, r.message)

    empty = statement("no-row", "SELECT value FROM system.metrics WHERE metric = 'NoSuchMetric'")
    with monkeypatch.context() as m:
        m.setattr(clickhouse_load, "RUNNING_QUERIES", empty)
        results, _ = audit(tmp_path, ch_single.target(), ["clickhouse.query-concurrency"])
    r = results["clickhouse.query-concurrency"]
    assert r.status == "error" and "gave 0 rows for metric Query" in r.message, r.message


def test_a_down_node_prints_no_traceback_on_stderr(tmp_path, ch_cluster):
    urls = [ch_cluster.nodes[0].url(), f"clickhouse://default:x@127.0.0.1:{free_port()}/default"]
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"clickhouse": {"urls": urls}}))
    checklist = _checklist(tmp_path / "cl.yaml", [("one", "SELECT 1")])
    proc = subprocess.run([sys.executable, "-m", "readiness", "audit", "-c", checklist, "-t", str(targets),
                           "--json", "-"], capture_output=True, text=True, timeout=60)
    assert json.loads(proc.stdout)["results"][0]["status"] == "pass"
    assert "Traceback" not in proc.stderr and "Failed to connect" not in proc.stderr, proc.stderr
