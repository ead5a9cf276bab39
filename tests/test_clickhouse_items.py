"""Every clickhouse.* item of the default checklist against real servers (Debian's ClickHouse 18.16): the
3-replica cluster and the badly set-up single node, each seen pass, fail, or - where 18.16 cannot show the state -
the version error naming what to check instead (the modern path is proven in test_clickhouse_modern.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import audit

from readiness.checklist import default_path

NOT_ON_18 = "not available on ClickHouse 18.16"
NEEDS_K8S = "needs the kubernetes target"


def variant(tmp_path: Path, overrides: dict[str, dict[str, Any]]) -> str:
    """The default checklist with some items' parameters changed (and their per-preset values dropped)."""
    data = yaml.safe_load(Path(default_path()).read_text())
    for section in data["sections"]:
        for item in section["items"]:
            if item["id"] in overrides:
                item["with"] = {**(item.get("with") or {}), **overrides[item["id"]]}
                item.pop("preset_with", None)
    path = tmp_path / "checklist.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


@pytest.fixture(scope="module")
def runs(ch_cluster, ch_single, tmp_path_factory):
    """The whole clickhouse section, once per deployment and preset."""
    out = {}
    for name, deployment in (("cluster", ch_cluster), ("single", ch_single)):
        for preset in ("langfuse", "langsmith"):
            results, _ = audit(tmp_path_factory.mktemp(f"{name}-{preset}"), deployment.target(), ["clickhouse"],
                               preset=preset)
            out[name, preset] = results
    return out


EXPECTED = [
    # (deployment, preset, item, status, message fragment)
    ("cluster", "langfuse", "clickhouse.reachable", "pass", "3 nodes answer read-only sessions"),
    ("cluster", "langfuse", "clickhouse.version", "fail", "ClickHouse 18.16.1 on"),
    ("cluster", "langsmith", "clickhouse.version", "fail", ">= 23.9"),
    ("cluster", "langfuse", "clickhouse.replicas", "pass", "cluster readiness: 1 shard(s), each with 3..5 replicas"),
    ("single", "langfuse", "clickhouse.replicas", "fail", "cluster solo: shard 1 has 1 replica (want 3..5)"),
    ("cluster", "langfuse", "clickhouse.single-shard", "pass", "cluster readiness has 1 shard"),
    ("cluster", "langsmith", "clickhouse.single-shard", "skipped", "applies to langfuse only"),
    ("cluster", "langfuse", "clickhouse.replica-health", "pass", "12 replicated table(s) healthy on 3 node(s)"),
    ("single", "langfuse", "clickhouse.replica-health", "pass", "1 replicated table(s) healthy on 1 node(s)"),
    ("cluster", "langfuse", "clickhouse.replicated-engines", "pass", "use Replicated* engines on every node"),
    ("single", "langfuse", "clickhouse.replicated-engines", "fail", "default.observations (MergeTree)"),
    ("cluster", "langfuse", "clickhouse.node-resources", "error", NOT_ON_18 + " (no OSMemoryTotal"),
    ("cluster", "langfuse", "clickhouse.disk-usage", "error", NOT_ON_18),
    ("cluster", "langfuse", "clickhouse.ssd-storage", "error", NEEDS_K8S),
    ("cluster", "langfuse", "clickhouse.permissions", "error", NOT_ON_18 + " (no system.users; a passwordless login "
                                                                          "as default was refused)"),
    ("single", "langfuse", "clickhouse.permissions", "fail", "user default logs in without a password"),
    ("cluster", "langfuse", "clickhouse.row-policies", "error", NOT_ON_18),
    ("cluster", "langfuse", "clickhouse.migrations-clean", "pass", "latest migration 3 is clean"),
    ("single", "langfuse", "clickhouse.migrations-clean", "fail", "migration 3 is dirty in default.schema_migrations"),
    ("cluster", "langfuse", "clickhouse.parts-pressure", "pass", "below 50% of parts_to_delay_insert"),
    ("single", "langfuse", "clickhouse.parts-pressure", "fail", "default.traces partition 202401 has 15 active parts, "
                                                                "75% of parts_to_delay_insert = 20"),
    ("cluster", "langfuse", "clickhouse.stuck-mutations", "pass", "(0 pending in all)"),
    ("single", "langfuse", "clickhouse.stuck-mutations", "pass", "(1 pending in all)"),
    ("cluster", "langfuse", "clickhouse.query-concurrency", "pass", "0 running queries at most (< 100)"),
    ("cluster", "langfuse", "clickhouse.query-latency", "pass", "p95 query duration below 2 s"),
    ("single", "langfuse", "clickhouse.query-latency", "fail", "p95 query duration 2.5"),
    ("cluster", "langsmith", "clickhouse.ingestion-delay", "pass", "p95 ingestion delay is 2 s (< 60 s)"),
    ("single", "langsmith", "clickhouse.ingestion-delay", "fail", "p95 ingestion delay is 120 s (want < 60 s)"),
    ("cluster", "langfuse", "clickhouse.ingestion-delay", "skipped", "applies to langsmith only"),
    ("cluster", "langfuse", "clickhouse.system-tables-accessible", "pass", "system.query_log, system.parts, "
                                                                           "system.merges readable on every node"),
    ("cluster", "langfuse", "clickhouse.data-volume", "skipped", "cluster readiness is replicated"),
    ("single", "langfuse", "clickhouse.data-volume", "pass", "of data (< 50 GiB)"),
    ("cluster", "langfuse", "clickhouse.ttl-configured", "fail",
     "no DELETE TTL on default.observations, default.scores, default.traces"),
    ("cluster", "langsmith", "clickhouse.ttl-configured", "fail", "no DELETE TTL on default.runs"),
    ("cluster", "langfuse", "clickhouse.async-insert", "error", NOT_ON_18 + " (no setting async_insert"),
    ("cluster", "langfuse", "clickhouse.system-log-growth", "fail", "no DELETE TTL on system.query_log"),
    ("cluster", "langfuse", "clickhouse.memory-vs-limit", "error", NEEDS_K8S),
    ("cluster", "langfuse", "clickhouse.keeper-quorum", "pass", "3 voting Keeper/ZooKeeper nodes, all in the quorum; "
                                                                "3 ClickHouse node(s) connected"),
    ("single", "langfuse", "clickhouse.keeper-quorum", "fail", "ZooKeeper runs standalone"),
    ("cluster", "langfuse", "clickhouse.timezone", "pass", "timezone is Etc/UTC on every node"),
    ("single", "langfuse", "clickhouse.timezone", "fail", "timezone is Europe/Berlin, expected one of"),
    ("cluster", "langsmith", "clickhouse.timezone", "skipped", "applies to langfuse only"),
]


@pytest.mark.parametrize(("deployment", "preset", "item", "status", "fragment"), EXPECTED,
                         ids=[f"{d}-{p}-{i.split('.', 1)[1]}-{s}" for d, p, i, s, _ in EXPECTED])
def test_item_verdict_on_real_servers(runs, deployment, preset, item, status, fragment):
    result = runs[deployment, preset][item]
    assert (result.status, fragment in result.message) == (status, True), result.message


def test_every_clickhouse_item_of_the_checklist_has_an_expected_verdict_here(runs):
    expected = {item for _, _, item, _, _ in EXPECTED}
    ids = {r for results in runs.values() for r in results if r.startswith("clickhouse.")}
    assert ids == expected, ids ^ expected


def test_version_passes_when_the_server_meets_the_minimum(tmp_path, ch_cluster):
    cl = variant(tmp_path, {"clickhouse.version": {"min": "18.16"}})
    results, _ = audit(tmp_path, ch_cluster.target(), ["clickhouse.version"], checklist=cl, preset="langfuse")
    r = results["clickhouse.version"]
    assert (r.status, r.message) == ("pass", "ClickHouse 18.16.1 (>= 18.16)")
    assert len(r.evidence["versions"]) == 3


def test_more_than_one_shard_fails_for_langfuse(tmp_path, ch_cluster):
    target = ch_cluster.target(cluster="readiness_two_shards")
    results, _ = audit(tmp_path, target, ["clickhouse.single-shard", "clickhouse.replicas"], preset="langfuse")
    assert results["clickhouse.single-shard"].status == "fail"
    assert "cluster readiness_two_shards has 2 shards; the product supports at most 1" in \
        results["clickhouse.single-shard"].message
    assert results["clickhouse.replicas"].status == "fail"
    assert results["clickhouse.replicas"].evidence["replicas_per_shard"] == {"shard 1": 2, "shard 2": 1}


def test_a_pending_mutation_older_than_the_limit_fails(tmp_path, ch_single):
    cl = variant(tmp_path, {"clickhouse.stuck-mutations": {"max_age_s": 1}})
    results, _ = audit(tmp_path, ch_single.target(), ["clickhouse.stuck-mutations"], checklist=cl)
    r = results["clickhouse.stuck-mutations"]
    assert r.status == "fail"
    assert "default.traces mutation_" in r.message and "(DELETE WHERE value = 3)" in r.message
    assert "15 parts to do" in r.message


def test_data_volume_fails_above_the_limit_on_a_single_node(tmp_path, ch_single):
    cl = variant(tmp_path, {"clickhouse.data-volume": {"max_gb": 1e-7}})
    results, _ = audit(tmp_path, ch_single.target(), ["clickhouse.data-volume"], checklist=cl)
    r = results["clickhouse.data-volume"]
    assert r.status == "fail" and "on a single unreplicated node" in r.message


def test_running_queries_at_the_limit_fail(tmp_path, ch_single):
    node = ch_single.nodes[0]
    started = threading.Event()

    def slow() -> None:
        client = node.admin()
        started.set()
        client.execute("SELECT sleep(2.5)")
        client.disconnect()

    t = threading.Thread(target=slow)
    t.start()
    try:
        started.wait(5)
        cl = variant(tmp_path, {"clickhouse.query-concurrency": {"max": 1}})
        for _ in range(20):  # until the sleeping query is running
            results, _ = audit(tmp_path, ch_single.target(), ["clickhouse.query-concurrency"], checklist=cl)
            if results["clickhouse.query-concurrency"].status == "fail":
                break
    finally:
        t.join()
    r = results["clickhouse.query-concurrency"]
    assert (r.status, r.evidence["running"]) == ("fail", {f"127.0.0.1:{node.port}": 1})
    assert "1 running queries (want < 1)" in r.message


def test_a_missing_diagnostics_table_fails(tmp_path, ch_cluster):
    cl = variant(tmp_path, {"clickhouse.system-tables-accessible": {"tables": ["query_log", "parts", "part_log"]}})
    results, _ = audit(tmp_path, ch_cluster.target(), ["clickhouse.system-tables-accessible"], checklist=cl)
    r = results["clickhouse.system-tables-accessible"]
    assert r.status == "fail"
    assert "system.part_log does not exist (query logging is off)" in r.message


def test_a_wrong_table_list_is_an_error_not_a_pass(tmp_path, ch_cluster):
    cl = variant(tmp_path, {"clickhouse.replicated-engines": {"tables": ["nowhere.*"]},
                            "clickhouse.ttl-configured": {"tables": ["nowhere.*"]},
                            "clickhouse.migrations-clean": {"table": "nowhere.schema_migrations"},
                            "clickhouse.ingestion-delay": {"table": "default.traces"}})
    ids = ["clickhouse.replicated-engines", "clickhouse.ttl-configured", "clickhouse.migrations-clean",
           "clickhouse.ingestion-delay"]
    results, _ = audit(tmp_path, ch_cluster.target(), ids, checklist=cl, preset="langsmith")
    assert {i: results[i].status for i in ids} == dict.fromkeys(ids, "error")
    assert "no MergeTree tables match nowhere.*" in results["clickhouse.replicated-engines"].message
    assert "no table nowhere.schema_migrations" in results["clickhouse.migrations-clean"].message
    assert "default.traces has no column received_at, inserted_at" in results["clickhouse.ingestion-delay"].message


def test_the_generic_query_probe_judges_one_value_on_every_node(tmp_path, ch_cluster):
    cl = tmp_path / "q.yaml"
    cl.write_text(yaml.safe_dump({"version": 1, "name": "q", "sections": [{"id": "q", "title": "q", "items": [
        {"id": "q.threads", "title": "t", "level": "required", "probe": "clickhouse.query", "rationale": "r",
         "with": {"sql": "SELECT value FROM system.settings WHERE name = 'max_threads'", "expect": {"equals": 2},
                  "every_node": True, "name": "max_threads"}},
        {"id": "q.first", "title": "t", "level": "required", "probe": "clickhouse.query", "rationale": "r",
         "with": {"sql": "SELECT count() FROM system.clusters WHERE cluster = 'readiness'", "expect": {"min": 4}}},
        {"id": "q.rows", "title": "t", "level": "required", "probe": "clickhouse.query", "rationale": "r",
         "with": {"sql": "SELECT cluster FROM system.clusters", "expect": {"present": True}}},
        {"id": "q.write", "title": "t", "level": "required", "probe": "clickhouse.query", "rationale": "r",
         "with": {"sql": "CREATE TABLE default.x (a UInt8) ENGINE = Memory", "expect": {"present": True}}},
    ]}]}))
    results, _ = audit(tmp_path, ch_cluster.target(), [], checklist=str(cl))
    assert (results["q.threads"].status, results["q.threads"].message) == ("pass", "max_threads is 2 on every node")
    assert (results["q.first"].status, results["q.first"].message) == ("fail", "value is 3, expected >= 4")
    assert results["q.rows"].status == "error" and "a check query returns one value" in results["q.rows"].message
    assert results["q.write"].status == "error" and "the audit only reads" in results["q.write"].message


def test_kubernetes_backed_items_say_what_to_check_when_that_target_is_configured(tmp_path, ch_cluster):
    target = {**ch_cluster.target(), "kubernetes": {"namespace": "observability"}}
    ids = ["clickhouse.ssd-storage", "clickhouse.memory-vs-limit"]
    results, _ = audit(tmp_path, target, ids)
    assert results["clickhouse.ssd-storage"].status == "error"  # no kubeconfig: an error, never a pass
    assert "cannot use the Kubernetes configuration" in results["clickhouse.ssd-storage"].message
    r = results["clickhouse.memory-vs-limit"]
    assert r.status == "error" and "cannot use the Kubernetes configuration" in r.message, r.message


@pytest.mark.parametrize(("manifests", "status", "fragment"), [
    ("good.yaml", "pass", "ClickHouse volume(s) on SSD (gp3)"),
    ("bad.yaml", "fail", "is on a network filesystem (StorageClass efs-sc, efs.csi.aws.com)"),
])
def test_ssd_storage_from_rendered_manifests(tmp_path, ch_single, manifests, status, fragment):
    from fake_k8s import offline_targets

    targets = {**offline_targets(tmp_path, manifests), **ch_single.target()}
    results, _ = audit(tmp_path, targets, ["clickhouse.ssd-storage"])
    r = results["clickhouse.ssd-storage"]
    assert r.status == status and fragment in r.message, r.message


def test_pod_limits_from_manifests_stand_in_where_18_16_cannot_tell(tmp_path, ch_single):
    from fake_k8s import offline_targets

    targets = {**offline_targets(tmp_path, "good.yaml"), **ch_single.target()}  # 8 CPU, 32Gi limits
    ids = ["clickhouse.node-resources", "clickhouse.memory-vs-limit"]
    results, _ = audit(tmp_path, targets, ids)
    resources = results["clickhouse.node-resources"]
    assert resources.status == "pass", resources.message
    assert "limits, where the server cannot tell" in resources.message
    memory = results["clickhouse.memory-vs-limit"]  # the limit is known; 18.16 cannot show its own cap
    assert memory.status == "error" and NOT_ON_18 in memory.message and "config.xml" in memory.message, memory.message
