"""The modern path, against a current ClickHouse engine in-process (chdb): every statement the probes can send
parses and resolves its tables and columns there, and the items whose states 18.16 cannot show (system.disks,
TTLs, async inserts, table-level part limits, modern error codes) reach their verdicts on real modern tables."""

from __future__ import annotations

import re
import time

import chdb_engine
import pytest
from chdb_engine import use_chdb
from helpers import audit
from readiness.checks import clickhouse_security as sec
from test_clickhouse_items import variant

from readiness.checklist import load_checklist
from readiness.clients.clickhouse import STATEMENTS, Statement, refusal
from readiness.registry import probes

# System tables a server has and an in-process engine cannot: each statement reading them is parsed here (EXPLAIN
# AST) and run for real against the 18.16 servers in the other ClickHouse tests.
CHDB_LACKS = {"asynchronous_metrics", "query_log", "zookeeper"}


def _statements() -> dict[str, Statement]:
    probes()  # loads every probe module, which declares its statements
    out = dict(STATEMENTS)
    for item in load_checklist().items:
        if item.probe == "clickhouse.query":
            out[f"checklist:{item.id}"] = Statement(item.id, item.params["sql"])
    return out


STATEMENT_LIST = _statements()


@pytest.fixture(scope="module")
def modern():
    """Product-shaped schema in the chdb engine (Langfuse traces with and without TTL, LangSmith runs with
    DateTime64 timestamps, golang-migrate's table, logs with TTLs) - created once."""
    chdb_engine.sql(
        "CREATE DATABASE IF NOT EXISTS lf",
        "CREATE TABLE IF NOT EXISTS lf.traces (id String, ts DateTime) ENGINE = MergeTree ORDER BY id "
        "TTL ts + INTERVAL 30 DAY",
        "CREATE TABLE IF NOT EXISTS lf.observations (id String, ts DateTime) ENGINE = MergeTree ORDER BY id "
        "TTL ts + INTERVAL 30 DAY",
        "CREATE TABLE IF NOT EXISTS lf.scores (id String, ts DateTime) ENGINE = MergeTree ORDER BY id",
        "CREATE TABLE IF NOT EXISTS default.runs (id String, received_at DateTime64(6), inserted_at DateTime64(6)) "
        "ENGINE = MergeTree ORDER BY id",
        "INSERT INTO default.runs SELECT toString(number), now64(6) - 3, now64(6) FROM numbers(20)",
        "CREATE TABLE IF NOT EXISTS default.schema_migrations (version Int64, dirty UInt8, sequence UInt64) "
        "ENGINE = TinyLog",
        "INSERT INTO default.schema_migrations VALUES (1, 0, 1), (2, 0, 2)",
        "CREATE DATABASE IF NOT EXISTS logs",
        "CREATE TABLE IF NOT EXISTS logs.query_log (event_date Date, q String) ENGINE = MergeTree ORDER BY q "
        "TTL event_date + INTERVAL 7 DAY",
        "CREATE TABLE IF NOT EXISTS logs.trace_log_1 (event_date Date, q String) ENGINE = MergeTree ORDER BY q",
        # Six parts in one partition of a table whose own SETTINGS lower the limit to 10.
        "CREATE TABLE IF NOT EXISTS lf.events (id UInt64, ts Date) ENGINE = MergeTree PARTITION BY ts ORDER BY id "
        "SETTINGS parts_to_delay_insert = 10, parts_to_throw_insert = 20",
        "SYSTEM STOP MERGES lf.events",
    )
    for i in range(6):
        chdb_engine.sql(f"INSERT INTO lf.events VALUES ({i}, '2024-01-01')")
    return chdb_engine.engine()


@pytest.mark.parametrize("name", sorted(STATEMENT_LIST))
def test_every_statement_is_valid_on_a_current_clickhouse(modern, name):
    stmt = STATEMENT_LIST[name]
    sql = stmt.render(stmt.example)
    assert refusal(sql) is None, f"{name}: the client's read-only guard refuses it: {refusal(sql)}"
    try:
        modern.query("EXPLAIN PLAN " + sql)  # parsed, and its tables, columns, functions and types resolved
    except Exception as exc:
        m = re.search(r"Unknown table expression identifier 'system\.(\w+)'", str(exc))
        assert m and m.group(1) in CHDB_LACKS, f"{name}: {sql}\n{exc}"
        present = str(modern.query(f"SELECT count() FROM system.tables WHERE database = 'system' "
                                   f"AND name = '{m.group(1)}'", "TSV")).strip()
        assert present == "0"
        assert "SelectQuery" in str(modern.query("EXPLAIN AST " + sql, "TSV"))
        return
    try:
        modern.query(sql)
    except Exception as exc:  # the engine's default user may not read users, grants and policies
        assert "ACCESS_DENIED" in str(exc), f"{name}: {sql}\n{exc}"


def test_the_statement_list_covers_the_modern_only_variants_and_the_exempt_tables_are_all_used():
    names = set(STATEMENT_LIST)
    assert {"disks-remote", "disks-type", "disks", "clusters-errors", "mutations-reason", "users", "grants",
            "row-policies", "server-memory", "checklist:clickhouse.timezone"} <= names
    used = {t for s in STATEMENT_LIST.values() for t in CHDB_LACKS if f"system.{t}" in s.sql}
    assert used == CHDB_LACKS


def _run(tmp_path, monkeypatch, ids, checklist=None, preset="langfuse"):
    target = use_chdb(monkeypatch)
    results, _ = audit(tmp_path, target, ids, checklist=checklist, preset=preset)
    return results


def test_items_reach_their_verdicts_on_a_current_clickhouse(tmp_path, monkeypatch, modern):
    r = _run(tmp_path, monkeypatch, ["clickhouse"])
    got = {i: (x.status, x.message) for i, x in r.items() if i.startswith("clickhouse.")}
    assert got["clickhouse.reachable"][0] == "pass"
    assert got["clickhouse.version"] == ("pass", f"ClickHouse {r['clickhouse.version'].evidence['versions']['chdb']} "
                                                 "(>= 24.3)")
    assert got["clickhouse.disk-usage"][0] in ("pass", "fail")  # the host's real disk; both thresholds below
    assert got["clickhouse.migrations-clean"] == ("pass", "latest migration 2 is clean")
    assert got["clickhouse.stuck-mutations"][0] == "pass"
    assert got["clickhouse.query-concurrency"] == ("pass", "0 running queries at most (< 100)")
    assert got["clickhouse.timezone"][0] == "pass"
    assert got["clickhouse.data-volume"][0] == "pass"
    assert got["clickhouse.replica-health"] == ("skipped", "no replicated tables on any node")
    assert got["clickhouse.keeper-quorum"][0] == "skipped"
    assert got["clickhouse.replicated-engines"][0] == "skipped"
    # A current engine without query logging, asynchronous metrics or the right to read users and policies:
    assert got["clickhouse.system-tables-accessible"] == (
        "fail", "chdb: system.query_log does not exist (query logging is off): diagnosing an incident will need them")
    assert got["clickhouse.query-latency"][0] == "error"
    assert "not available on ClickHouse 26." in got["clickhouse.query-latency"][1]
    assert got["clickhouse.node-resources"][0] == "error"
    assert "(chdb has no system.asynchronous_metrics)" in got["clickhouse.node-resources"][1]
    for item in ("clickhouse.permissions", "clickhouse.row-policies"):
        assert got[item][0] == "error" and "code 497" in got[item][1] and "Not enough privileges" in got[item][1]
    # The table's own SETTINGS (10), not the server's 1000, is the limit for lf.events:
    assert got["clickhouse.parts-pressure"] == (
        "fail", "chdb: lf.events partition 20240101 has 6 active parts, 60% of parts_to_delay_insert = 10 "
                "(want < 50%): merges are not keeping up with inserts")


def test_disk_usage_is_judged_from_system_disks(tmp_path, monkeypatch, modern):
    ok = _run(tmp_path, monkeypatch, ["clickhouse.disk-usage"],
              variant(tmp_path, {"clickhouse.disk-usage": {"max_used": 1.0}}))["clickhouse.disk-usage"]
    full = _run(tmp_path, monkeypatch, ["clickhouse.disk-usage"],
                variant(tmp_path, {"clickhouse.disk-usage": {"max_used": 0.0}}))["clickhouse.disk-usage"]
    assert ok.status == "pass" and "default" in ok.evidence["usage"]["chdb"]
    assert full.status == "fail" and full.message.startswith("chdb: disk default ")


def test_ttls_pass_on_tables_that_have_one_and_fail_on_those_that_do_not(tmp_path, monkeypatch, modern):
    cl = variant(tmp_path, {"clickhouse.ttl-configured": {"tables": ["lf.traces", "lf.observations"]}})
    assert _run(tmp_path, monkeypatch, ["clickhouse.ttl-configured"], cl)["clickhouse.ttl-configured"].status == "pass"
    r = _run(tmp_path, monkeypatch, ["clickhouse.ttl-configured"])["clickhouse.ttl-configured"]  # langfuse preset
    assert (r.status, r.message.startswith("no DELETE TTL on lf.scores (chdb)")) == ("fail", True)


def test_a_move_only_ttl_is_not_retention(tmp_path, monkeypatch, modern):
    # TO VOLUME / TO DISK / RECOMPRESS keep every row: the disk still fills (it passed as "TTL set" before)
    chdb_engine.sql("CREATE TABLE IF NOT EXISTS lf.moved (id String, ts DateTime) ENGINE = MergeTree ORDER BY id "
                    "TTL ts + INTERVAL 7 DAY TO VOLUME 'default', ts + INTERVAL 30 DAY RECOMPRESS CODEC(ZSTD(3))",
                    "CREATE TABLE IF NOT EXISTS logs.moved_log (event_date Date, q String) ENGINE = MergeTree "
                    "ORDER BY q TTL event_date + INTERVAL 7 DAY TO DISK 'default'")
    try:
        cl = variant(tmp_path, {"clickhouse.ttl-configured": {"tables": ["lf.moved"]},
                                "clickhouse.system-log-growth": {"log_databases": ["logs"]}})
        got = _run(tmp_path, monkeypatch, ["clickhouse.ttl-configured", "clickhouse.system-log-growth"], cl)
        r = got["clickhouse.ttl-configured"]
        assert (r.status, r.message.startswith("no DELETE TTL on lf.moved (chdb)")) == ("fail", True), r.message
        r = got["clickhouse.system-log-growth"]
        assert r.status == "fail" and "logs.moved_log" in r.message, r.message
    finally:
        chdb_engine.sql("DROP TABLE IF EXISTS lf.moved", "DROP TABLE IF EXISTS logs.moved_log")


def test_system_logs_with_ttls_pass_and_a_copy_without_fails(tmp_path, monkeypatch, modern):
    cl = variant(tmp_path, {"clickhouse.system-log-growth": {"log_databases": ["logs"]}})
    r = _run(tmp_path, monkeypatch, ["clickhouse.system-log-growth"], cl)["clickhouse.system-log-growth"]
    assert r.status == "fail" and "no DELETE TTL on logs.trace_log_1" in r.message and "query_log" not in r.message
    chdb_engine.sql("ALTER TABLE logs.trace_log_1 MODIFY TTL event_date + INTERVAL 7 DAY")
    try:
        r = _run(tmp_path, monkeypatch, ["clickhouse.system-log-growth"], cl)["clickhouse.system-log-growth"]
        assert r.status == "pass" and r.evidence["log_tables"]["chdb"] == ["logs.query_log", "logs.trace_log_1"]
    finally:
        chdb_engine.sql("ALTER TABLE logs.trace_log_1 REMOVE TTL")


def test_async_insert_settings_are_compared_strictly(tmp_path, monkeypatch, modern):
    chdb_engine.sql("SET async_insert = 0")
    r = _run(tmp_path, monkeypatch, ["clickhouse.async-insert"])["clickhouse.async-insert"]
    assert (r.status, r.message) == ("fail", "chdb: async_insert = 0, wait_for_async_insert = 1 (want async_insert = "
                                             "1, wait_for_async_insert = 0 for default)")
    chdb_engine.sql("SET async_insert = 1", "SET wait_for_async_insert = 0")
    try:
        r = _run(tmp_path, monkeypatch, ["clickhouse.async-insert"])["clickhouse.async-insert"]
        assert (r.status, r.message) == ("pass", "async_insert = 1, wait_for_async_insert = 0 for default")
    finally:
        chdb_engine.sql("SET wait_for_async_insert = 1")


def test_ingestion_delay_reads_datetime64_columns(tmp_path, monkeypatch, modern):
    r = _run(tmp_path, monkeypatch, ["clickhouse.ingestion-delay"], preset="langsmith")["clickhouse.ingestion-delay"]
    assert (r.status, r.message) == ("pass", "p95 ingestion delay is 3 s (< 60 s)")


def test_a_mutation_is_stuck_on_a_current_clickhouse_too(tmp_path, monkeypatch, modern):
    chdb_engine.sql("ALTER TABLE lf.events DELETE WHERE id = 1 SETTINGS mutations_sync = 0")  # merges stopped: pending
    time.sleep(1.1)
    cl = variant(tmp_path, {"clickhouse.stuck-mutations": {"max_age_s": 0}})
    try:
        r = _run(tmp_path, monkeypatch, ["clickhouse.stuck-mutations"], cl)["clickhouse.stuck-mutations"]
    finally:
        chdb_engine.sql("KILL MUTATION WHERE database = 'lf' AND table = 'events'")
    assert r.status == "fail" and "lf.events mutation_" in r.message and "(DELETE WHERE id = 1)" in r.message


# --- users and row policies: the engine's default user may not read them (the error above), so the judgement is
# --- proven on rows of the shape the modern statements return (their columns are resolved in chdb above).

def _user(name, auth="['sha256_password']", ip=("10.0.0.0/8",), regexp=(), like=()):
    return {"name": name, "auth": auth, "host_ip": list(ip), "host_names": [], "host_names_regexp": list(regexp),
            "host_names_like": list(like)}


def test_users_without_password_or_open_to_any_host_are_findings():
    rows = [_user("ok"), _user("nopw", auth="['no_password']"), _user("open", ip=("::/0",)),
            _user("rx", ip=(), regexp=(".*",)), _user("exempt", ip=("::/0",))]
    assert sec._user_findings(rows, ignore=["exempt"]) == [
        "user nopw has no password", "user open may connect from any host", "user rx may connect from any host"]
    assert sec._user_findings([_user("ok"), _user("also", auth="no_password", ip=())], ["also"]) == []


def test_the_application_user_needs_its_grants_and_no_admin_rights():
    def g(access, grant_option=0):
        return {"access": access, "database": "db", "table": None, "grant_option": grant_option}

    assert sec._grant_findings("app", [g("SELECT"), g("INSERT")], ["SELECT", "INSERT"], False) == []
    assert sec._grant_findings("app", [g("SELECT")], ["SELECT", "INSERT"], False) == [
        "application user app lacks INSERT"]
    assert sec._grant_findings("app", [g("ALL")], ["SELECT", "INSERT"], False) == [
        "application user app holds ALL: more than it needs"]
    assert sec._grant_findings("app", [g("ALL")], ["SELECT", "INSERT"], True) == []
    assert sec._grant_findings("app", [g("SELECT", 1), g("INSERT")], ["SELECT"], False) == [
        "application user app holds GRANT OPTION: more than it needs"]
