"""Read-only whatever the checklist says: a checklist written to undo the guard and then write, run in order by a role
that may DELETE, changes nothing, as the server's own counters (read by a separate superuser session) show."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from checklists import checklist_with, generic_item
from fixtures_postgres import PgStack
from helpers import audit, write_yaml

from readiness.audit import execute, load_inputs
from readiness.clients.postgres_sql import Refused, check
from readiness.demo.postgres import start_pgbouncer
from readiness.demo.process import Server
from readiness.runner import Options

ROLE = ("deleter", "deleter-pw")
ROWS = 50

ATTACKS = [
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "WITH d AS (DELETE FROM victim RETURNING 1) SELECT count(*) FROM d",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    "DELETE FROM victim",
    "SET default_transaction_read_only = off",
    "WITH d AS (DELETE FROM victim RETURNING 1) SELECT count(*) FROM d",
    "SELECT wipe()",
    "SELECT set_config('transaction_read_only', 'off', true), (SELECT count(*) FROM victim)",
    "SELECT pg_catalog.\"set_config\"('default_transaction_read_only', 'off', /* local? */ false)",
    "SELECT 1; DELETE FROM victim",
    "RESET ALL",
    "SELECT pg_advisory_lock(42)",
    "WITH d AS (DELETE FROM victim RETURNING 1) SELECT count(*) FROM d",
]


@pytest.fixture(scope="module")
def bouncer(pg_stack: PgStack, server_root: Path) -> Iterator[Server]:
    """A transaction-pooling PgBouncer the attacker's role may use: no startup options reach PostgreSQL through it."""
    workdir = Path(tempfile.mkdtemp(prefix="attack-bouncer-", dir=server_root))
    server = start_pgbouncer(workdir, pg_stack.good.port, {"app_tx": "dbname=app pool_mode=transaction"},
                             {ROLE[0]: ROLE[1]}, name="attack-bouncer")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def victim(pg_stack: PgStack) -> PgStack:
    pg_stack.good.execute(f"DROP ROLE IF EXISTS {ROLE[0]}", f"CREATE ROLE {ROLE[0]} LOGIN PASSWORD '{ROLE[1]}'")
    pg_stack.good.execute(
        "DROP TABLE IF EXISTS victim", f"CREATE TABLE victim AS SELECT g AS id FROM generate_series(1, {ROWS}) g",
        f"GRANT SELECT, DELETE ON victim TO {ROLE[0]}",
        "CREATE OR REPLACE FUNCTION wipe() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN "
        "PERFORM set_config('default_transaction_read_only', 'off', false); "
        "DELETE FROM victim; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$",
        f"GRANT EXECUTE ON FUNCTION wipe() TO {ROLE[0]}", db="app")
    return pg_stack


def server_counts(stack: PgStack) -> tuple[int, int, int]:
    """(rows, n_tup_del, n_tup_ins) of victim, once the audit's sessions are gone (their statistics flushed)."""
    end = time.monotonic() + 10
    while stack.good.execute(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{ROLE[0]}'")[0][0][0]:
        assert time.monotonic() < end, "the audit's sessions never ended"
        time.sleep(0.05)
    rows = stack.good.execute(
        "SELECT pg_stat_force_next_flush()", "SELECT (SELECT count(*) FROM victim), n_tup_del, n_tup_ins "
        "FROM pg_stat_user_tables WHERE relname = 'victim'", db="app")[1]
    return tuple(rows[0])  # type: ignore[return-value]


@pytest.mark.parametrize("path", ["direct", "pgbouncer-transaction-pool"])
def test_a_checklist_cannot_undo_read_only_and_write(victim: PgStack, bouncer: Server, tmp_path: Path,
                                                     path: str) -> None:
    before = server_counts(victim)
    assert before[0] == ROWS
    items = [generic_item(f"postgres.x-attack-{i}", "postgres.query", sql=sql, expect={"min": 0})
             for i, sql in enumerate(ATTACKS)]
    items.append(generic_item("postgres.x-rows", "postgres.query", sql="SELECT count(*) FROM victim",
                              expect={"equals": ROWS}))
    checklist = checklist_with(tmp_path, section="postgres", extra=items)
    dsn = f"postgresql://{ROLE[0]}:{ROLE[1]}@127.0.0.1:{victim.good.port}/app?sslmode=require"
    if path != "direct":
        dsn = f"postgresql://{ROLE[0]}:{ROLE[1]}@127.0.0.1:{bouncer.port}/app_tx"
    targets = write_yaml(tmp_path / "targets.yaml", {"postgres": {"dsn": dsn}})
    ids = tuple(item["id"] for item in items)
    _, results = execute(load_inputs(checklist, str(targets)), Options(only=ids, concurrency=1, timeout=10), "required")
    by_id: dict[str, Any] = {r.id: r for r in results}
    attacks = {sql: (by_id[f"postgres.x-attack-{i}"].status, by_id[f"postgres.x-attack-{i}"].message)
               for i, sql in enumerate(ATTACKS)}
    assert {status for status, _ in attacks.values()} == {"error"}, attacks
    # the server itself refused the write (as a query is fetched under LIMIT, a data-modifying WITH is a subquery)
    assert "data-modifying statement must be at the top level" in attacks[ATTACKS[1]][1]
    assert "read-only transaction" in attacks["SELECT wipe()"][1]
    assert "set_config() is refused" in attacks[ATTACKS[0]][1]
    assert "SET is refused" in attacks[ATTACKS[2]][1]
    assert by_id["postgres.x-rows"].status == "pass", by_id["postgres.x-rows"].message
    if path != "direct":  # PgBouncer keeps its server connection: the audit left nothing on it
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("off",)
        # end PgBouncer's pooled server connection, so that its backend flushes its statistics as it exits
        victim.good.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{ROLE[0]}'")
    after = server_counts(victim)
    assert after == before, (before, after)  # no row gone, and the server counted no delete


def test_a_rolled_back_local_setting_does_not_reach_the_next_statement(victim: PgStack) -> None:
    from readiness.clients import postgres

    dsn = f"postgresql://{ROLE[0]}:{ROLE[1]}@127.0.0.1:{victim.good.port}/app"
    handle = postgres.connect({"dsn": dsn}, 5.0)
    try:
        assert handle.query("SELECT set_config('statement_timeout', '123s', true)") == [("123s",)]
        # a fresh read-only transaction: the local setting is gone, the audit's own timeout is back
        assert handle.query("SELECT current_setting('statement_timeout'), current_setting('transaction_read_only')") \
            == [("5s", "on")]
    finally:
        postgres.close(handle)


@pytest.mark.parametrize("sql", [
    "SET statement_timeout = 0", "  reset all", "DISCARD ALL", "LISTEN x", "BEGIN", "COMMIT", "PREPARE p AS SELECT 1",
    "SELECT set_config('search_path', 'x', false)", "SELECT set_config('search_path', 'x', 1 = 1)",
    "select SET_CONFIG('a', 'b', false)", "SELECT 1; SELECT 2", "SELECT 1 ;; SELECT 2",
    "SELECT pg_terminate_backend(1)",
    "SELECT pg_stat_statements_reset()", "SELECT nextval('s')", "DO $$ BEGIN END $$", "CALL p()", "COPY t TO STDOUT",
    "VACUUM", "-- comment only", "",
    "SELECT U&\"pg\\005fadvisory\\005flock\"(1)", "SELECT u&'x'",
    "SELECT query_to_xml('SELECT pg_advisory_lock(1)', true, true, '')", "SELECT dblink_get_result('c')",
    "SELECT pg_stat_reset_shared('bgwriter')", "SELECT lo_unlink(1)",
])
def test_the_guard_refuses_what_a_rollback_does_not_undo(sql: str) -> None:
    with pytest.raises(Refused):
        check(sql)


@pytest.mark.parametrize("sql", [
    "SELECT 1", "select count(*) from events;", "WITH x AS (SELECT 1) SELECT * FROM x", "SHOW server_version",
    "SELECT 'SET x = 1; DELETE'", "SELECT $$ ; set_config( $$", "SELECT 1 -- ; RESET ALL",
    "SELECT set_config('statement_timeout', '1s', true)", "(SELECT 1)", "EXPLAIN SELECT 1", "VALUES (1)",
    "SELECT E'\\' ; RESET'", "SELECT pg_advisory_xact_lock(1)", "SELECT lo_get(1)", "SELECT u & 1 FROM t",
])
def test_the_guard_lets_reads_through(sql: str) -> None:
    check(sql)


def test_a_checklist_query_cannot_make_the_audit_fetch_millions_of_rows_or_huge_values(pg_stack: PgStack,
                                                                                        tmp_path: Path) -> None:
    items = {"postgres.x-many": "SELECT g FROM generate_series(1, 2000000) g",
             "postgres.x-huge": "SELECT repeat('x', 5000000)",
             "postgres.x-with": "WITH t AS (SELECT 41 AS n) SELECT n + 1 FROM t;  ",
             "postgres.x-show": "SHOW max_connections"}
    checklist = checklist_with(tmp_path, section="postgres", extra=[
        generic_item(i, "postgres.query", sql=sql, expect={"min": 0}) for i, sql in items.items()])
    results, _ = audit(tmp_path, pg_stack.target(pg_stack.good), list(items), checklist=checklist, timeout=20)
    many = results["postgres.x-many"]
    assert many.status == "error" and "more than one row" in many.message
    assert many.evidence["rows"] == [["1"], ["2"]]  # two rows fetched, not two million
    huge = results["postgres.x-huge"]
    assert huge.status == "error" and "5,000,000 characters long" in huge.message and len(str(huge.to_dict())) < 5000
    assert (results["postgres.x-with"].status, results["postgres.x-with"].message) == ("pass", "result is 42")
    assert results["postgres.x-show"].status == "pass"
