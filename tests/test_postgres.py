"""The postgres section against real PostgreSQL 15 clusters (and moto's RDS/CloudWatch over HTTP): every item seen
passing and failing, and `error` for the ways a target breaks.  Pooling items: test_postgres_pool.py."""

from __future__ import annotations

import time
from pathlib import Path

from checklists import checklist_with, generic_item
from fixtures_postgres import APP, PgStack
from helpers import audit
from servers import BlackHole, free_port

GOOD_PASSES = ["postgres.reachable", "postgres.version", "postgres.max-connections", "postgres.connection-headroom",
               "postgres.autovacuum", "postgres.wraparound", "postgres.slow-query-visibility", "postgres.backups",
               "postgres.ssl", "postgres.migrations"]
BAD_FAILS = ["postgres.max-connections", "postgres.autovacuum", "postgres.wraparound",
             "postgres.slow-query-visibility", "postgres.ssl", "postgres.migrations", "postgres.managed"]


def statuses(results: dict, ids: list[str]) -> dict[str, str]:
    return {i: results[i].status for i in ids}


def test_a_well_run_postgres_passes(pg_stack: PgStack, tmp_path: Path) -> None:
    results, _ = audit(tmp_path, pg_stack.target(pg_stack.good), ["postgres"])
    assert statuses(results, GOOD_PASSES) == {i: "pass" for i in GOOD_PASSES}
    assert results["postgres.managed"].status == "fail"  # 127.0.0.1: bundled, however well configured
    assert results["postgres.pooler-compatible"].status == "skipped"
    assert results["postgres.disk-usage"].status == "error"
    assert "cannot be seen from SQL: attest" in results["postgres.disk-usage"].message
    assert results["postgres.disk-usage"].attestable  # beyond SQL's sight by nature: an attestation may cover it
    assert not any(r.attestable for i, r in results.items() if i != "postgres.disk-usage")
    assert "needs the kubernetes target" in results["postgres.connection-budget"].message
    assert results["postgres.reachable"].evidence["read_only"].endswith("default_transaction_read_only=on")
    assert APP[1] not in str([r.to_dict() for r in results.values()])


def test_a_badly_run_postgres_fails_with_the_observed_values(pg_stack: PgStack, tmp_path: Path) -> None:
    results, _ = audit(tmp_path, pg_stack.target(pg_stack.bad), ["postgres"])
    assert statuses(results, BAD_FAILS) == {i: "fail" for i in BAD_FAILS}
    assert results["postgres.max-connections"].evidence["max_connections"] == 8
    autovacuum = results["postgres.autovacuum"]
    assert autovacuum.evidence["autovacuum"] == "off"
    assert autovacuum.evidence["bloated"] == {"public.events": "15000 dead / 5000 live"}
    assert results["postgres.wraparound"].evidence["ages"]["app"] > 200_000_000
    assert "shared_preload_libraries" in results["postgres.slow-query-visibility"].message
    assert "20240301_add_index" in results["postgres.migrations"].message
    assert results["postgres.ssl"].evidence["ssl_in_use"] is False
    backups = results["postgres.backups"]  # no archiving: other backups are invisible to SQL, not absent
    assert backups.status == "error" and backups.attestable and "cannot be seen from SQL" in backups.message


def test_preset_items_pass_and_fail(pg_stack: PgStack, tmp_path: Path) -> None:
    for preset, item in (("langsmith", "postgres.extensions"), ("langfuse", "postgres.timezone")):
        good, _ = audit(tmp_path, {"preset": preset, **pg_stack.target(pg_stack.good)}, [item])
        bad, _ = audit(tmp_path, {"preset": preset, **pg_stack.target(pg_stack.bad)}, [item])
        assert (good[item].status, bad[item].status) == ("pass", "fail"), (good[item].message, bad[item].message)
    assert bad["postgres.timezone"].evidence["TimeZone"] == "America/New_York"


def test_langsight_sizes_max_connections_from_its_workers(pg_stack: PgStack, tmp_path: Path) -> None:
    results, _ = audit(tmp_path, {"preset": "langsight", **pg_stack.target(pg_stack.good)},
                       ["postgres.max-connections"])
    assert results["postgres.max-connections"].status == "fail"  # 4 workers x 50 x 1.2 = 240 > 200
    assert results["postgres.max-connections"].evidence["needed"] == 240


def test_langsight_max_connections_reads_its_workers_and_pool_max(pg_stack: PgStack, tmp_path: Path) -> None:
    # LANGSIGHT_PG_POOL_MAX (config.py, default 50) and LANGSIGHT_WORKERS from the files: 4 x 40 x 1.2 = 192 <= 200
    (tmp_path / ".env").write_text("LANGSIGHT_WORKERS=4\nLANGSIGHT_PG_POOL_MAX=40\n")
    targets = {"preset": "langsight", "files": {"env": ".env"}, **pg_stack.target(pg_stack.good)}
    results, _ = audit(tmp_path, targets, ["postgres.max-connections"])
    r = results["postgres.max-connections"]
    assert (r.status, r.evidence["needed"], r.evidence["pool_size"]) == ("pass", 192, 40), r.message
    assert "LANGSIGHT_PG_POOL_MAX=40 (.env:2)" in r.message
    (tmp_path / ".env").write_text("LANGSIGHT_WORKERS=8\n")  # the pool left at config.py's default of 50
    results, _ = audit(tmp_path, targets, ["postgres.max-connections"])
    r = results["postgres.max-connections"]
    assert (r.status, r.evidence["needed"]) == ("fail", 480), r.message
    (tmp_path / ".env").write_text("LANGSIGHT_WORKERS=4\nLANGSIGHT_PG_POOL_MAX=${UNSET}\n")
    results, _ = audit(tmp_path, targets, ["postgres.max-connections"])
    r = results["postgres.max-connections"]
    assert r.status == "error" and "LANGSIGHT_PG_POOL_MAX" in r.message, r.message


def test_version_fails_below_the_items_minimum(pg_stack: PgStack, tmp_path: Path) -> None:
    checklist = checklist_with(tmp_path, {"postgres.version": {"expect": {"min": "16"}}})
    results, _ = audit(tmp_path, pg_stack.target(pg_stack.good), ["postgres.version"], checklist=checklist)
    assert results["postgres.version"].status == "fail"
    assert "expected >= 16" in results["postgres.version"].message


def test_connection_headroom_and_reachable_fail_as_the_server_fills(pg_stack: PgStack, tmp_path: Path) -> None:
    held = pg_stack.connect(pg_stack.bad, 6)
    try:
        results, _ = audit(tmp_path, pg_stack.target(pg_stack.bad), ["postgres.connection-headroom"])
        headroom = results["postgres.connection-headroom"]
        assert headroom.status == "fail" and headroom.evidence["in_use"] == 7, headroom.message
        held += pg_stack.connect(pg_stack.bad, 2)
        results, _ = audit(tmp_path, pg_stack.target(pg_stack.bad), ["postgres.reachable", "postgres.version"])
    finally:
        for conn in held:
            conn.close()
    assert results["postgres.reachable"].status == "fail"
    assert "too many clients" in results["postgres.reachable"].message
    assert results["postgres.version"].status == "error"


def test_connection_reuse_tells_pooled_from_per_request_connections(pg_stack: PgStack, tmp_path: Path) -> None:
    fresh = pg_stack.connect(pg_stack.bad, 3)
    try:
        results, _ = audit(tmp_path, pg_stack.target(pg_stack.bad), ["postgres.connection-reuse"])
    finally:
        for conn in fresh:
            conn.close()
    assert results["postgres.connection-reuse"].status == "fail"
    assert results["postgres.connection-reuse"].evidence["connections"] == 3
    time.sleep(max(0.0, 1.5 - (time.monotonic() - pg_stack.app_since)))  # the pool must be older than 1 s
    checklist = checklist_with(tmp_path, {"postgres.connection-reuse": {"min_median_age_s": 1}})
    results, _ = audit(tmp_path, pg_stack.target(pg_stack.good), ["postgres.connection-reuse"], checklist=checklist)
    assert results["postgres.connection-reuse"].status == "pass", results["postgres.connection-reuse"].message
    results, _ = audit(tmp_path, pg_stack.target(pg_stack.bad), ["postgres.connection-reuse"])
    assert results["postgres.connection-reuse"].status == "error"  # nobody connected: nothing to judge


def test_wraparound_and_autovacuum_thresholds_are_parameters(pg_stack: PgStack, tmp_path: Path) -> None:
    checklist = checklist_with(tmp_path, {"postgres.wraparound": {"max_age": 400_000_000},
                                          "postgres.autovacuum": {"max_dead_ratio": 0.2, "min_dead_tuples": 20000}})
    results, _ = audit(tmp_path, pg_stack.target(pg_stack.bad), ["postgres.wraparound", "postgres.autovacuum"],
                       checklist=checklist)
    assert results["postgres.wraparound"].status == "pass"
    assert results["postgres.autovacuum"].status == "fail"  # still off, though no table counts as bloated now
    assert results["postgres.autovacuum"].evidence["bloated"] == {}


def test_migrations_without_a_migration_table_cannot_be_judged(pg_stack: PgStack, tmp_path: Path) -> None:
    target = {"postgres": {"dsn": pg_stack.dsn(pg_stack.good, db="postgres", sslmode="require")}}
    results, _ = audit(tmp_path, target, ["postgres.migrations"])
    assert results["postgres.migrations"].status == "error"
    assert "neither _prisma_migrations nor alembic_version" in results["postgres.migrations"].message


# --- RDS through moto's server -----------------------------------------------------------------------------------

def test_rds_backups_and_disk_from_the_aws_apis(pg_stack: PgStack, moto, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = ["postgres.backups", "postgres.disk-usage", "postgres.managed"]
    for instance, expected in (("mydb", "pass"), ("fulldb", "fail")):
        target = pg_stack.target(pg_stack.good, rds_instance=instance, endpoint_url=moto.url, region=moto.region)
        results, _ = audit(tmp_path, target, ids)
        assert results["postgres.backups"].status == expected, results["postgres.backups"].message
        assert results["postgres.disk-usage"].status == expected, results["postgres.disk-usage"].message
        assert results["postgres.managed"].status == "pass"
    assert results["postgres.backups"].evidence["backup_retention_days"] == 0
    assert results["postgres.disk-usage"].evidence["used_ratio"] == 0.9  # the fullest point, not the latest


def test_an_rds_host_name_is_recognised_without_rds_instance(pg_stack: PgStack, moto, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # libpq dials hostaddr and names the host: the audit sees the RDS endpoint name of a local server.
    dsn = (f"host=mydb.c9akciq32.us-east-1.rds.amazonaws.com hostaddr=127.0.0.1 port={pg_stack.good.port} "
           f"dbname=app user={APP[0]} password={APP[1]} sslmode=require")
    results, report = audit(tmp_path, {"postgres": {"dsn": dsn, "endpoint_url": moto.url}},
                            ["postgres.backups", "postgres.disk-usage", "postgres.managed"])
    assert {r.status for i, r in results.items() if i in ("postgres.backups", "postgres.disk-usage",
                                                          "postgres.managed")} == {"pass"}
    assert results["postgres.backups"].evidence["rds_instance"] == "mydb"
    assert APP[1] not in str(report)
    proxy = dsn.replace("mydb.c9akciq32", "mydb.proxy-c9akciq32")
    results, _ = audit(tmp_path, {"postgres": {"dsn": proxy, "endpoint_url": moto.url}}, ["postgres.backups"])
    assert results["postgres.backups"].status == "error" and "rds_instance" in results["postgres.backups"].message


def test_an_unknown_rds_instance_is_an_error(pg_stack: PgStack, moto, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = pg_stack.target(pg_stack.good, rds_instance="nosuchdb", endpoint_url=moto.url, region=moto.region)
    results, _ = audit(tmp_path, target, ["postgres.backups"])
    assert results["postgres.backups"].status == "error" and "nosuchdb" in results["postgres.backups"].message
    assert not results["postgres.backups"].attestable


# --- generic probes ----------------------------------------------------------------------------------------------

def test_generic_setting_and_query_items(pg_stack: PgStack, tmp_path: Path) -> None:
    checklist = checklist_with(tmp_path, section="postgres", extra=[
        generic_item("postgres.x-wal", "postgres.setting", name="wal_level", expect={"one_of": ["replica", "logical"]}),
        generic_item("postgres.x-events", "postgres.query", sql="SELECT count(*) FROM events",
                     expect={"min": 1000}, label="events"),
        generic_item("postgres.x-two", "postgres.query", sql="SELECT 1; SELECT 2", expect={"equals": 1}),
        generic_item("postgres.x-write", "postgres.query", sql="CREATE TABLE readiness_probe (a int)",
                     expect={"absent": True}),
        generic_item("postgres.x-rows", "postgres.query", sql="SELECT id FROM events LIMIT 3", expect={"min": 0}),
    ])
    ids = ["postgres.x-wal", "postgres.x-events", "postgres.x-two", "postgres.x-write", "postgres.x-rows"]
    good, _ = audit(tmp_path, pg_stack.target(pg_stack.good), ids, checklist=checklist)
    assert statuses(good, ids) == {"postgres.x-wal": "pass", "postgres.x-events": "pass", "postgres.x-two": "error",
                                   "postgres.x-write": "error", "postgres.x-rows": "error"}
    assert good["postgres.x-events"].message == "events is 5000"
    assert "only reads are sent" in good["postgres.x-write"].message
    assert "several statements" in good["postgres.x-two"].message
    bad, _ = audit(tmp_path, pg_stack.target(pg_stack.bad), ["postgres.x-events"], checklist=checklist)
    assert bad["postgres.x-events"].status == "pass"  # 5000 live rows left there too
    checklist = checklist_with(tmp_path, section="postgres", extra=[
        generic_item("postgres.x-archive", "postgres.setting", name="archive_mode", expect={"equals": "on"})])
    bad, _ = audit(tmp_path, pg_stack.target(pg_stack.bad), ["postgres.x-archive"], checklist=checklist)
    assert bad["postgres.x-archive"].status == "fail" and bad["postgres.x-archive"].message == (
        "archive_mode is off, expected = on")


# --- broken targets ----------------------------------------------------------------------------------------------

def test_a_down_server_a_wrong_password_a_black_hole_and_tls_mismatch_are_errors(pg_stack: PgStack,
                                                                                 tmp_path: Path) -> None:
    ids = ["postgres.reachable", "postgres.version", "postgres.autovacuum"]
    cases = {
        "down": ({"dsn": f"postgresql://app:x@127.0.0.1:{free_port()}/app"}, "Connection refused"),
        "password": ({"dsn": pg_stack.dsn(pg_stack.good, password="wrong-pw")}, "refused the credentials"),
        "tls": ({"dsn": pg_stack.dsn(pg_stack.bad, sslmode="require")}, "does not support SSL"),
    }
    for name, (target, why) in cases.items():
        results, report = audit(tmp_path, {"postgres": target}, ids)
        assert {results[i].status for i in ids} == {"error"}, name
        assert not any(results[i].attestable for i in ids), name  # a fault is never attestable
        assert why in results["postgres.reachable"].message, (name, results["postgres.reachable"].message)
        assert "wrong-pw" not in str(report)
    hole = BlackHole()
    try:
        started = time.monotonic()
        results, _ = audit(tmp_path, {"postgres": {"dsn": f"postgresql://app:x@127.0.0.1:{hole.port}/app"}}, ids,
                           timeout=1.0)
        elapsed = time.monotonic() - started
    finally:
        hole.close()
    assert {results[i].status for i in ids} == {"error"}
    assert elapsed < 3.0  # one timeout for the target, not one per item
