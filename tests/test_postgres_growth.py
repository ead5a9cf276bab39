"""The postgres section reads no more rows for 300 more tables or 15 more connections: what grows is counted and
named by the server (the worst first), never fetched row by row into Python.  The verdicts stay the same."""

from __future__ import annotations

from pathlib import Path

from fixtures_postgres import PgStack
from sections import fetched


def _tables(stack: PgStack, first: int, last: int) -> None:
    stack.good.execute(f"DO $$ BEGIN FOR i IN {first}..{last} LOOP EXECUTE format('CREATE TABLE t%s (id int)', i); "
                       "END LOOP; END $$", "ANALYZE", db="growth")


def test_autovacuum_reads_the_same_rows_for_10_or_310_tables(pg_stack: PgStack, tmp_path: Path) -> None:
    pg_stack.good.execute("DROP DATABASE IF EXISTS growth", "CREATE DATABASE growth OWNER app")
    _tables(pg_stack, 1, 10)
    pg_stack.good.execute("ALTER TABLE t3 SET (autovacuum_enabled = false)",
                          "ALTER TABLE t7 SET (autovacuum_enabled = off, fillfactor = 90)", db="growth")
    target = {"postgres": {"dsn": pg_stack.dsn(pg_stack.good, db="growth")}}
    small, _, rows_small = fetched(tmp_path, target, ["postgres.autovacuum"])
    _tables(pg_stack, 11, 310)
    large, statements, rows_large = fetched(tmp_path, target, ["postgres.autovacuum"])
    for results, tables in ((small, 10), (large, 310)):
        item = results["postgres.autovacuum"]
        assert item.status == "fail"
        assert item.evidence["tables"] == tables
        assert item.evidence["autovacuum_disabled_on"] == ["public.t3", "public.t7"]
        assert item.message == "autovacuum is disabled on public.t3, public.t7"
    assert rows_large == rows_small, "rows fetched grew with the tables"
    assert statements <= 4


def test_connection_items_read_the_same_rows_for_15_more_connections(pg_stack: PgStack, tmp_path: Path) -> None:
    items = ["postgres.connection-headroom", "postgres.connection-reuse"]
    target = pg_stack.target(pg_stack.good)
    before, _, rows_before = fetched(tmp_path, target, items)
    extra = pg_stack.connect(pg_stack.good, 15)
    try:
        after, _, rows_after = fetched(tmp_path, target, items)
    finally:
        for conn in extra:
            conn.close()
    headroom = [r["postgres.connection-headroom"].evidence for r in (before, after)]
    assert headroom[1]["in_use"] - headroom[0]["in_use"] == 15
    assert headroom[1]["by_user"]["app"] - headroom[0]["by_user"]["app"] == 15
    reuse = [r["postgres.connection-reuse"].evidence for r in (before, after)]
    assert reuse[1]["connections"] - reuse[0]["connections"] == 15
    assert reuse[1]["youngest_s"] <= reuse[0]["youngest_s"] and reuse[1]["oldest_s"] >= reuse[0]["oldest_s"]
    assert rows_after == rows_before, "rows fetched grew with the connections"


def test_autovacuum_disabled_by_any_boolean_spelling_or_on_the_toast_table_is_named(pg_stack: PgStack,
                                                                                      tmp_path: Path) -> None:
    # reloptions keep what was written: "autovacuum_enabled=0" did not match the old text test (false|off)
    pg_stack.good.execute("DROP DATABASE IF EXISTS spelled", "CREATE DATABASE spelled OWNER app")
    pg_stack.good.execute(*[f"CREATE TABLE {t} (id int, body text)" for t in ("zero", "no", "f", "toast", "kept")],
                          "ALTER TABLE zero SET (autovacuum_enabled = 0)",
                          "ALTER TABLE no SET (autovacuum_enabled = no)", "ALTER TABLE f SET (autovacuum_enabled = f)",
                          "ALTER TABLE kept SET (autovacuum_enabled = 1)",
                          "ALTER TABLE toast SET (toast.autovacuum_enabled = false)", "ANALYZE", db="spelled")
    target = {"postgres": {"dsn": pg_stack.dsn(pg_stack.good, db="spelled")}}
    results, _, _ = fetched(tmp_path, target, ["postgres.autovacuum"])
    item = results["postgres.autovacuum"]
    assert item.status == "fail"
    assert item.evidence["autovacuum_disabled_on"] == ["public.f", "public.no", "public.toast", "public.zero"]


def test_the_named_tables_are_ordered_by_json_agg_itself() -> None:
    # a subquery's ORDER BY reaches json_agg only in practice; the aggregate's own ORDER BY is the guarantee
    from readiness.checks._postgres_facts import _TABLES

    assert "json_agg(json_build_array(name, dead, live) ORDER BY dead DESC, name)" in _TABLES
    assert "json_agg(name ORDER BY name)" in _TABLES
