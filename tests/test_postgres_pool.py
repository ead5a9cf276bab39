"""Pooling items against a real PgBouncer in front of PostgreSQL, and what the audit's read-only session leaves behind
in a transaction pool (nothing) and sends to the server (a handful of statements, settings read once)."""

from __future__ import annotations

from pathlib import Path

import psycopg
from checklists import checklist_with
from fixtures_postgres import APP, PgStack
from forwarder import Forwarder
from helpers import audit


def pooled(stack: PgStack, db: str, flag: bool = False, **extra: str) -> dict:
    dsn = f"postgresql://{APP[0]}:{APP[1]}@127.0.0.1:{stack.bouncer.port}/{db}" + ("?pgbouncer=true" if flag else "")
    return {"postgres": {"dsn": dsn, "pgbouncer_admin_dsn": stack.admin_dsn(), **extra}}


def test_pooling_passes_through_pgbouncer_and_fails_when_the_dsn_bypasses_it(pg_stack: PgStack,
                                                                             tmp_path: Path) -> None:
    results, _ = audit(tmp_path, pooled(pg_stack, "app_session"), ["postgres.pooling", "postgres.reachable"])
    pooling = results["postgres.pooling"]
    assert pooling.status == "pass" and pooling.message.startswith("PgBouncer 1.")
    assert pooling.evidence["reported_pid"] != pooling.evidence["pg_backend_pid"]
    assert pooling.evidence["inet_server_port"] == pg_stack.good.port != pooling.evidence["dialled_port"]
    assert "read-only transaction" in results["postgres.reachable"].message
    direct = pg_stack.target(pg_stack.good, pgbouncer_admin_dsn=pg_stack.admin_dsn())
    results, _ = audit(tmp_path, direct, ["postgres.pooling"])
    assert results["postgres.pooling"].status == "fail" and "bypasses it" in results["postgres.pooling"].message
    without_admin = {"postgres": {"dsn": pooled(pg_stack, "app_session")["postgres"]["dsn"]}}
    results, _ = audit(tmp_path, without_admin, ["postgres.pooling"])
    assert results["postgres.pooling"].status == "pass"  # seen from the session alone


def test_pooler_mode_must_suit_the_product(pg_stack: PgStack, tmp_path: Path) -> None:
    item = "postgres.pooler-compatible"
    direct = pg_stack.dsn(pg_stack.good)
    cases = [
        ("langsmith", pooled(pg_stack, "app_session"), "pass", "pool_mode session"),
        ("langsmith", pooled(pg_stack, "app_tx"), "fail", "pool_mode is transaction; the product supports session"),
        ("langfuse", pooled(pg_stack, "app_tx", direct_dsn=direct), "fail", "prepared-statement support"),
        ("langfuse", pooled(pg_stack, "app_tx", True, direct_dsn=direct), "pass", "migrations direct"),
        ("langfuse", pooled(pg_stack, "app_tx", True, direct_dsn=pooled(pg_stack, "app_session")["postgres"]["dsn"]),
         "fail", "direct_dsn goes through a pooler"),
        ("langfuse", pooled(pg_stack, "app_tx", True), "error", "give direct_dsn"),
        ("langfuse", {"postgres": {"dsn": pooled(pg_stack, "app_tx")["postgres"]["dsn"]}}, "error",
         "give pgbouncer_admin_dsn"),
        ("langfuse", pg_stack.target(pg_stack.good), "skipped", "no pooler in the path"),
    ]
    for preset, target, status, words in cases:
        results, _ = audit(tmp_path, {"preset": preset, **target}, [item])
        assert (results[item].status, words in results[item].message) == (status, True), (preset, results[item].message)


def test_connection_budget_from_parameters(pg_stack: PgStack, tmp_path: Path) -> None:
    item = "postgres.connection-budget"
    for params, status in (({"replicas": 10, "pool_size": 15}, "pass"), ({"replicas": 10, "pool_size": 17}, "fail"),
                           ({"workloads": [{"name": "web", "replicas": 4, "pool_size": 20},
                                           {"name": "worker", "replicas": 6, "pool_size": 12}]}, "pass"),
                           ({"replicas": 10}, "error")):
        checklist = checklist_with(tmp_path, {item: params})
        results, _ = audit(tmp_path, pg_stack.target(pg_stack.good), [item], checklist=checklist)
        assert results[item].status == status, (params, results[item].message)
    checklist = checklist_with(tmp_path, {item: {"replicas": 10, "pool_size": 17}})
    results, _ = audit(tmp_path, pg_stack.target(pg_stack.good), [item], checklist=checklist)
    assert results[item].evidence["demand"] == 170 and results[item].evidence["budget"] == 157.6  # 0.8 x (200 - 3)


def test_the_audit_leaves_no_setting_behind_in_a_transaction_pool(pg_stack: PgStack, tmp_path: Path) -> None:
    audit(tmp_path, {"preset": "langfuse", **pooled(pg_stack, "app_tx", True)}, ["postgres"])
    dsn = pooled(pg_stack, "app_tx")["postgres"]["dsn"]
    with psycopg.connect(dsn, autocommit=True) as conn:  # PgBouncer hands out the same server connection
        read_only, timeout = conn.execute("SELECT current_setting('default_transaction_read_only'), "
                                          "current_setting('statement_timeout')").fetchone()
        conn.execute("CREATE TEMP TABLE the_app_can_still_write (a int)")
    assert (read_only, timeout) == ("off", "0")


def test_settings_are_read_once_and_every_statement_is_a_read(pg_stack: PgStack, tmp_path: Path) -> None:
    pg_stack.good.execute("SELECT pg_stat_statements_reset()", db="app")
    results, _ = audit(tmp_path, {"preset": "langfuse", **pg_stack.target(pg_stack.good)}, ["postgres"])
    rows = pg_stack.good.execute(
        "SELECT query, calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
        f"WHERE r.rolname = '{APP[0]}' AND query NOT LIKE '%pg_stat_statements_reset%'", db="app")[0]
    calls = {query: n for query, n in rows}
    assert calls, "pg_stat_statements saw nothing: the test would prove nothing"
    assert calls["SELECT name, setting, unit, source FROM pg_settings"] == 1  # shared by every settings item
    frame = {q: n for q, n in calls.items() if q in ("BEGIN READ ONLY", "ROLLBACK")
             or q.startswith("SET LOCAL statement_timeout = ")}
    reads = {q: n for q, n in calls.items() if q not in frame}
    assert all(q.lstrip().upper().startswith(("SELECT", "SHOW", "WITH")) for q in reads), calls
    # every statement in its own read-only transaction, and every one of them rolled back
    assert calls["BEGIN READ ONLY"] == calls["ROLLBACK"] == sum(reads.values()), calls
    assert sum(reads.values()) <= 16  # a handful of statements for the whole section
    assert results["postgres.reachable"].status == "pass"


def test_a_tcp_forwarder_is_no_pooler_and_pgbouncer_is_named_with_its_evidence(pg_stack: PgStack,
                                                                               tmp_path: Path) -> None:
    forwarder = Forwarder(pg_stack.good.port)
    try:
        dsn = f"postgresql://{APP[0]}:{APP[1]}@127.0.0.1:{forwarder.port}/app?sslmode=require"
        results, _ = audit(tmp_path, {"postgres": {"dsn": dsn}}, ["postgres.pooling", "postgres.pooler-compatible"])
    finally:
        forwarder.close()
    pooling = results["postgres.pooling"]
    assert pooling.evidence["inet_server_port"] == pg_stack.good.port != pooling.evidence["dialled_port"]
    assert pooling.status == "fail" and "no pooler seen" in pooling.message, pooling.message
    assert pooling.evidence["evidence"] == []
    assert results["postgres.pooler-compatible"].status == "skipped"
    for db in ("app_session", "app_tx"):
        results, _ = audit(tmp_path, pooled(pg_stack, db), ["postgres.pooling"])
        pooling = results["postgres.pooling"]
        assert pooling.status == "pass", pooling.message
        assert "SHOW CLIENTS lists this session" in pooling.message and "handshake" in pooling.message
        assert pooling.evidence["listed_in_show_clients"] is True
