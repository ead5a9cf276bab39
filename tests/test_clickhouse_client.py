"""The ClickHouse client against real servers: URLs, read-only and bounded sessions, one connection per node, and
the error cases (down, wrong password, a port that never answers, an unknown cluster, one node of several down)."""

from __future__ import annotations

import json
import time

import pytest
from helpers import audit
from servers import BlackHole, free_port

from readiness.clients import clickhouse as chc
from readiness.demo.clickhouse import ADMIN_PASSWORD


def test_urls_give_host_port_credentials_database_and_tls():
    ep = chc.parse_url("clickhouse://app:p%40ss@ch-0.example:9001/langfuse", {})
    assert (ep.host, ep.port, ep.user, ep.password, ep.database, ep.secure) == (
        "ch-0.example", 9001, "app", "p@ss", "langfuse", False)
    tls = chc.parse_url("clickhouses://ch-1", {"user": "reader", "password": "from-field", "database": "db"})
    assert (tls.port, tls.user, tls.password, tls.database, tls.secure) == (9440, "reader", "from-field", "db", True)
    assert chc.parse_url("clickhouse://h", {}).port == 9000
    with pytest.raises(chc.ClickHouseError, match="http:// is ClickHouse's HTTP interface; the audit speaks the "
                                                  "native protocol"):
        chc.parse_url("http://h:8123", {})
    with pytest.raises(chc.ClickHouseError, match="starts with clickhouse:// or clickhouses://, not tcp://"):
        chc.parse_url("tcp://h:9000", {})
    with pytest.raises(chc.ClickHouseError, match="needs 'url'"):
        chc.endpoints({})
    assert [e.name for e in chc.endpoints({"urls": ["clickhouse://a:1", "clickhouse://b:2", "clickhouse://a:1"]})] \
        == ["a:1", "b:2"]


def test_literals_and_identifiers_are_escaped():
    assert chc.literal("it's \\ odd\n") == "'it\\'s \\\\ odd\\n'"
    assert chc.literal(["a", 1, True]) == "['a', 1, 1]"
    assert chc.literal(chc.Ident("we`ird")) == "`we\\`ird`"
    stmt = chc.Statement("t", "SELECT {x} FROM {db}.{t}")
    assert stmt.render({"x": "a'b", "db": chc.Ident("d"), "t": chc.Ident("t")}) == "SELECT 'a\\'b' FROM `d`.`t`"


def test_every_query_runs_read_only_with_the_timeout_as_max_execution_time(ch_cluster):
    client = chc.connect(ch_cluster.target()["clickhouse"], 3.2)
    try:
        node = client.first
        seen = {r["name"]: r["value"] for r in node.execute(
            "SELECT name, value FROM system.settings WHERE name IN ('readonly', 'max_execution_time')")}
        assert seen == {"readonly": "1", "max_execution_time": "4"}
        with pytest.raises(chc.ClickHouseError, match=r"refused before sending: only SELECT, .* not CREATE"):
            node.execute("CREATE TABLE default.nope (a UInt8) ENGINE = Memory")
        # What passes the client's check still meets the server's readonly=1.
        with pytest.raises(chc.ClickHouseError, match=r"code 164: Table functions are forbidden in readonly mode"):
            node.execute("SELECT * FROM numbers(1)")
        assert [n.version for n in client.nodes] == ["18.16.1"] * 3
    finally:
        chc.close(client)


def test_the_whole_section_uses_one_connection_per_node(tmp_path, ch_cluster):
    from readiness.demo.clickhouse import flush_logs

    # As the 'app' user, which no other test connects as: its query_log rows are this audit's alone.
    target = ch_cluster.target(urls=[n.url(user="app") for n in ch_cluster.nodes])
    results, _ = audit(tmp_path, target, ["clickhouse"], preset="langsmith")
    assert results["clickhouse.reachable"].status == "pass"
    seen = {}
    for n in ch_cluster.nodes:
        flush_logs(n)
        seen[n.name] = n.sql("SELECT uniqExact(port), count() FROM system.query_log WHERE user = 'app' "
                             "AND toUInt8(type) = 1")[0][0]
    assert all(connections == 1 and queries >= 15 for connections, queries in seen.values()), seen


def test_a_server_that_is_down_makes_every_item_an_error_quickly(tmp_path):
    port = free_port()
    start = time.monotonic()
    results, _ = audit(tmp_path, {"clickhouse": {"url": f"clickhouse://default:x@127.0.0.1:{port}/default"}},
                       ["clickhouse"], preset="langfuse")
    ran = [r for r in results.values() if r.id.startswith("clickhouse.") and r.status != "skipped"]
    assert {r.status for r in ran} == {"error"}
    assert f"no ClickHouse node answered (127.0.0.1:{port}:" in results["clickhouse.reachable"].message
    assert "Connection refused" in results["clickhouse.reachable"].message
    assert time.monotonic() - start < 5


def test_a_wrong_password_is_an_error_that_names_it_and_never_shows_it(tmp_path, ch_cluster):
    url = ch_cluster.nodes[0].url(password="not-the-password")
    results, report = audit(tmp_path, {"clickhouse": {"url": url}}, ["clickhouse"], preset="langfuse")
    r = results["clickhouse.reachable"]
    assert r.status == "error" and "code 193: Wrong password for user default" in r.message
    assert results["clickhouse.replicas"].status == "error"
    assert "not-the-password" not in json.dumps(report)


def test_a_port_that_never_answers_costs_one_timeout_not_one_per_item(tmp_path):
    hole = BlackHole()
    try:
        start = time.monotonic()
        results, _ = audit(tmp_path, {"clickhouse": {"url": f"clickhouse://default:x@127.0.0.1:{hole.port}/default"}},
                           ["clickhouse"], preset="langfuse", timeout=1.5)
        took = time.monotonic() - start
    finally:
        hole.close()
    ran = [r for r in results.values() if r.id.startswith("clickhouse.") and r.status != "skipped"]
    assert {r.status for r in ran} == {"error"}
    assert any("timed out" in r.message or "no answer" in r.message for r in ran)
    assert took < 4, took


def test_an_unknown_cluster_name_is_an_error_listing_the_known_ones(tmp_path, ch_cluster):
    target = ch_cluster.target(cluster="prod")
    ids = ["clickhouse.reachable", "clickhouse.replicas", "clickhouse.single-shard", "clickhouse.disk-usage"]
    results, _ = audit(tmp_path, target, ids, preset="langfuse")
    assert results["clickhouse.reachable"].status == "pass"
    for item in ("clickhouse.replicas", "clickhouse.single-shard"):
        assert results[item].status == "error"
        assert "cluster 'prod' is not defined on 127.0.0.1:" in results[item].message
        assert "(system.clusters has: readiness, readiness_two_shards)" in results[item].message


def test_one_node_down_of_several_fails_reachability_and_blocks_per_node_passes(tmp_path, ch_cluster):
    down = free_port()
    target = ch_cluster.target()
    target["clickhouse"]["urls"].append(f"clickhouse://default:{ADMIN_PASSWORD}@127.0.0.1:{down}/default")
    ids = ["clickhouse.reachable", "clickhouse.timezone", "clickhouse.version"]
    results, _ = audit(tmp_path, target, ids, preset="langfuse")
    assert results["clickhouse.reachable"].status == "fail"
    assert f"1 of 4 nodes do not answer: 127.0.0.1:{down}:" in results["clickhouse.reachable"].message
    assert results["clickhouse.timezone"].status == "error"
    assert f"127.0.0.1:{down}" in results["clickhouse.timezone"].message


def test_a_node_url_missing_from_the_targets_keeps_per_node_items_from_passing(tmp_path, ch_cluster):
    target = {"clickhouse": {"url": ch_cluster.nodes[0].url(), "cluster": "readiness"}}
    results, _ = audit(tmp_path, target, ["clickhouse.timezone", "clickhouse.replica-health"], preset="langfuse")
    for item in ("clickhouse.timezone", "clickhouse.replica-health"):
        r = results[item]
        assert r.status == "error", r.message
        assert "are not in the target (list every node in 'urls')" in r.message
        assert len(r.evidence["not_checked"]) == 2


def test_a_user_whose_profile_is_already_read_only_can_audit(tmp_path, ch_cluster):
    target = ch_cluster.target(urls=[n.url(user="auditor") for n in ch_cluster.nodes])
    client = chc.connect(target["clickhouse"], 2.0)
    try:
        assert client.first.execute("SELECT value FROM system.settings WHERE name = 'readonly'") == [{"value": "1"}]
    finally:
        chc.close(client)
    results, _ = audit(tmp_path, target, ["clickhouse.reachable", "clickhouse.replica-health"])
    assert [results[i].status for i in ("clickhouse.reachable", "clickhouse.replica-health")] == ["pass", "pass"]


def test_help_validate_and_list_do_not_import_the_clickhouse_driver_or_chdb():
    import subprocess
    import sys

    code = ("import sys\nfrom readiness.cli import main\n"
            "for argv in (['--help'], ['validate'], ['list'], ['probes']):\n"
            "    sys.argv = ['readiness', *argv]\n"
            "    try:\n        main()\n    except SystemExit:\n        pass\n"
            "print('HEAVY:' + ','.join(m for m in ('clickhouse_driver', 'chdb') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "clickhouse.keeper-quorum" in proc.stdout  # the probes were loaded and listed
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY:", proc.stderr


def test_the_demo_node_starts_and_shows_its_planted_findings(tmp_path):
    from readiness.demo.clickhouse import start_demo

    servers, entry = start_demo(tmp_path / "demo")
    try:
        results, _ = audit(tmp_path, {"clickhouse": entry}, ["clickhouse"], preset="langfuse")
    finally:
        for s in servers:
            s.stop()
    status = {i: r.status for i, r in results.items() if i.startswith("clickhouse.")}
    assert status["clickhouse.reachable"] == "pass"
    assert status["clickhouse.permissions"] == status["clickhouse.migrations-clean"] == "fail"
    assert status["clickhouse.replicas"] == "fail"
