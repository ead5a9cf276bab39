"""The clickhouse section reads no more rows for 200 more tables and 40 more replicated ones: the server filters
the tables a probe judges (by engine and name) and counts the healthy replicas, so only what a verdict names is
fetched.  The verdicts stay the same.  A node of its own: the shared fixtures' tables are other tests' premises."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path

import pytest
from readiness.checks._clickhouse_facts import globs_regex
from sections import fetched

from readiness.clients.clickhouse import literal
from readiness.demo import clickhouse as ch

ITEMS = ["clickhouse.replica-health", "clickhouse.parts-pressure", "clickhouse.ttl-configured"]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ch.Node]:
    work = tmp_path_factory.mktemp("ch-growth")
    zk = ch.zookeeper(work, 1)
    port = ch.free_port()
    n = ch.node(work, "growth", port=port, zookeeper_hosts=zk.hosts(), clusters={"solo": [[port]]},
                macros={"shard": "01", "replica": "solo1"})
    try:
        ch.start_all([n])
        yield n
    finally:
        n.stop()
        zk.stop()


def _tables(n: ch.Node, first: int, last: int, replicated: int) -> None:
    n.sql(*[f"CREATE TABLE default.t{i} (id UInt64) ENGINE = MergeTree ORDER BY id" for i in range(first, last)],
          *[f"CREATE TABLE default.r{i} (id UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/01/r{i}', "
            f"'solo1') ORDER BY id" for i in range(first, first + replicated)])


def test_rows_fetched_do_not_grow_with_tables(node: ch.Node, tmp_path: Path) -> None:
    node.sql("CREATE TABLE default.traces (id String, project_id String, timestamp DateTime, value Float64) "
             "ENGINE = MergeTree PARTITION BY toYYYYMM(timestamp) ORDER BY (project_id, id) "
             "SETTINGS parts_to_delay_insert = 10, index_granularity = 8192")
    ch.many_parts(node, "traces", 6)
    _tables(node, 0, 5, 5)
    target = {"clickhouse": {"url": node.url(), "cluster": "solo"}}
    # Each session reads system.columns once; its size is the server's own: query_log and query_thread_log appear at
    # their first flush, a few seconds after start.  Flushed before, and counted apart: no table of the product's.
    ch.flush_logs(node)
    columns = "SELECT count() FROM system.columns WHERE database = 'system'"
    system_small = node.sql(columns)[0][0][0]
    small, statements_small, rows_small = fetched(tmp_path, target, ITEMS)
    _tables(node, 5, 205, 40)
    since = node.sql("SELECT now()")[0][0][0]
    system_large = node.sql(columns)[0][0][0]
    large, statements_large, rows_large = fetched(tmp_path, target, ITEMS)
    ch.flush_logs(node)
    # engine_full makes the server write every table's CREATE statement: read once per node, shared by the items
    assert node.sql("SELECT count() FROM system.query_log WHERE type = 1 AND position(query, 'engine_full') > 0 "
                    f"AND position(query, 'system.query_log') = 0 AND event_time >= toDateTime('{since}')"
                    )[0][0][0] == 1
    assert small["clickhouse.parts-pressure"].status == "fail"
    assert "default.traces partition 202401 has 6 active parts, 60% of parts_to_delay_insert = 10" in \
        small["clickhouse.parts-pressure"].message
    assert small["clickhouse.ttl-configured"].message.startswith("no DELETE TTL on default.traces")
    assert (small["clickhouse.replica-health"].status, small["clickhouse.replica-health"].evidence) == \
        ("pass", {"replicated_tables": 5})
    assert (large["clickhouse.replica-health"].status, large["clickhouse.replica-health"].evidence) == \
        ("pass", {"replicated_tables": 45})
    for item in ("clickhouse.parts-pressure", "clickhouse.ttl-configured"):
        assert (large[item].status, large[item].message) == (small[item].status, small[item].message)
    assert (rows_large - system_large, statements_large) == (rows_small - system_small, statements_small), \
        "rows fetched grew with the tables"


HOSTILE = ["it's.a\\b", 'q"uo.te', "a.b+c", "a.(b|c)", "a.{1}", "a.^b$", "a.b\\x2e", "a.b%_c", "a.b\\"]


@pytest.mark.parametrize("patterns", [["*.traces", "langsight.*"], ["d?fault.a-b c"], ["*.[tr]uns"], ["*"], [],
                                      ["*.tr?ce"], ["*.??ce"], HOSTILE, ["*'*"], ["*\\*"], ["a.b\nc"]])
def test_the_name_filter_sent_matches_what_fnmatch_matches(node: ch.Node, patterns: list[str]) -> None:
    """The server-side filter keeps at least every table fnmatch keeps (the probe's own filter then decides): a
    multi-byte character for ``?`` (one byte for ``.`` on 18.16), quotes, backslashes and regex metacharacters taken
    literally.  No hex escape is sent (ClickHouse's pre-filter bug #106382 matched nothing with them)."""
    names = ["default.traces", "x.traces", "default.traces2", "langsight.spans", "langsightx.spans", "default.a-b c",
             "dxfault.a-b c", "default.runs", "default.ruins", "a.b\nc", "db.tr\u00e9ce", "db.\u00e9\u00e9ce",
             "db.trace", *HOSTILE, "it's.ab", "a.bbc", "a.b", "a.bx2e", "a.bxc", "a.b\\\\"]
    regex = globs_regex(patterns)
    kept = node.sql(f"SELECT arrayFilter(x -> match(x, {literal(regex)}), {literal(names)})")[0][0][0]
    wanted = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    assert set(wanted) <= set(kept)
    if not any(c in p for p in patterns for c in "[?\n"):
        assert kept == wanted
    assert "\\x" not in regex.replace("\\\\", ""), regex
