"""What the audit identity can see: a user kept out of the product's database never passes the items that judge its
data; the least-privileged audit user the README describes reaches the same verdicts as the admin; and the login
failures a user meets first (a database the user may not open, the HTTP port dialled as native) say what to do."""

from __future__ import annotations

from helpers import audit

JUDGING_DATA = ["clickhouse.parts-pressure", "clickhouse.data-volume", "clickhouse.system-tables-accessible",
                "clickhouse.stuck-mutations", "clickhouse.ttl-configured", "clickhouse.system-log-growth",
                "clickhouse.replica-health", "clickhouse.replicated-engines"]


def test_a_user_kept_out_of_the_product_database_never_passes_the_items_judging_its_data(tmp_path, ch_single):
    node = ch_single.nodes[0]
    # 'outsider' is read-only and may open the system database alone (<allow_databases> in users.xml on 18.16):
    # system.parts, system.tables and system.databases leave the product's database out for it.
    target = ch_single.target(urls=[node.url(user="outsider", database="system")])
    results, _ = audit(tmp_path, target, ["clickhouse.reachable", *JUDGING_DATA], preset="langfuse")
    assert results["clickhouse.reachable"].status == "pass"
    for item in JUDGING_DATA:
        r = results[item]
        assert r.status == "error", (item, r.status, r.message)
        assert (f"the audit identity (outsider) sees no database but system on 127.0.0.1:{node.port}"
                in r.message), (item, r.message)

    named = ch_single.target(urls=[node.url(user="outsider", database="system")], databases=["default"])
    results, _ = audit(tmp_path, named, JUDGING_DATA[:3], preset="langfuse")
    for item in JUDGING_DATA[:3]:
        r = results[item]
        assert r.status == "error", (item, r.message)
        assert f"the audit identity (outsider) cannot see database default on 127.0.0.1:{node.port}" in r.message
        assert "add <database>default</database> to <allow_databases> of user outsider in users.xml" in r.message
        assert r.evidence["hidden"] == {f"127.0.0.1:{node.port}": ["default"]}


def test_a_product_database_without_a_visible_table_is_not_judged_healthy(tmp_path, ch_single):
    node = ch_single.nodes[0]
    node.sql("CREATE DATABASE IF NOT EXISTS bare")
    try:
        results, _ = audit(tmp_path, ch_single.target(databases=["default", "bare"]), JUDGING_DATA[:3])
    finally:
        node.sql("DROP DATABASE IF EXISTS bare")
    for item in JUDGING_DATA[:3]:
        r = results[item]
        assert r.status == "error", (item, r.message)
        assert f"sees no table in database bare on 127.0.0.1:{node.port}: the product's schema is not there" \
            in r.message, r.message


def test_the_same_user_passes_once_it_may_see_the_database(tmp_path, ch_single):
    # 'auditor' is the least-privileged user: readonly profile, <allow_databases> default (system is always open).
    target = ch_single.target(urls=[ch_single.nodes[0].url(user="auditor")])
    results, _ = audit(tmp_path, target, ["clickhouse.data-volume", "clickhouse.system-tables-accessible"])
    assert [results[i].status for i in ("clickhouse.data-volume", "clickhouse.system-tables-accessible")] == \
        ["pass", "pass"], [results[i].message for i in results]


def test_the_least_privileged_audit_user_reaches_the_admins_verdicts(tmp_path, ch_cluster, ch_single):
    for name, deployment in (("cluster", ch_cluster), ("single", ch_single)):
        (tmp_path / f"{name}-admin").mkdir()
        (tmp_path / f"{name}-least").mkdir()
        admin, _ = audit(tmp_path / f"{name}-admin", deployment.target(), ["clickhouse"], preset="langfuse")
        least, _ = audit(tmp_path / f"{name}-least",
                         deployment.target(urls=[n.url(user="auditor") for n in deployment.nodes]), ["clickhouse"],
                         preset="langfuse")
        ids = sorted(i for i in admin if i.startswith("clickhouse."))
        assert ids == sorted(i for i in least if i.startswith("clickhouse."))
        different = {i: (admin[i].status, least[i].status, least[i].message) for i in ids
                     if admin[i].status != least[i].status}
        assert different == {}, (name, different)
        for i in ids:  # errors are the ones 18.16 or SQL cannot show, never a permission the user lacks
            m = least[i].message
            assert not any(w in m for w in ("cannot see", "may not open", "code 291", "code 497", "Not enough"))
        assert sum(r.status in ("pass", "fail") for i, r in least.items() if i in ids) >= 12


def test_a_database_the_user_may_not_open_is_named_not_unexpected_eof(tmp_path, ch_single):
    node = ch_single.nodes[0]
    results, _ = audit(tmp_path, {"clickhouse": {"url": node.url(user="outsider", database="default")}},
                       ["clickhouse.reachable"])
    r = results["clickhouse.reachable"]
    assert r.status == "error"
    assert "user outsider may not open database default" in r.message, r.message
    assert "<allow_databases>" in r.message and "EOF" not in r.message


def test_the_http_port_dialled_as_native_is_named(tmp_path, ch_single):
    http = ch_single.nodes[0].extra["http_port"]
    results, _ = audit(tmp_path, {"clickhouse": {"url": f"clickhouse://default@127.0.0.1:{http}/default"}},
                       ["clickhouse.reachable"], timeout=1.0)
    r = results["clickhouse.reachable"]
    assert r.status == "error"
    assert "looks like ClickHouse's HTTP port" in r.message and "use the native port, 9000" in r.message, r.message
