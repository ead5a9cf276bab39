"""Production size: a real redis-server holding 2,000,000 keys (a busy Langfuse's BullMQ job keys) and queues of
known depth.  Every redis item decides there (pass or fail, never an error the size caused): the queues are read by
name, the scans are bounded samples that say so.  Plus the ways a queue read must not pass: a key of the wrong
type, no known queue present behind a cut scan, an identity without TYPE, and a Redis Cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from checklists import checklist_with
from fixtures_redis import PW, RESTRICTED, RESTRICTED_ACL, RedisStack, client, scratch_redis
from helpers import audit

from readiness.demo.process import Server

BIG = 2_000_000
# The section with every item able to decide without a kubernetes target (the container's limit given).
DECIDABLE = {"redis.memory-vs-limit": {"memory_limit": "4Gi"}}


@pytest.fixture(scope="module")
def big(server_root: Path) -> Iterator[Server]:
    """2,000,000 keys filled by DEBUG POPULATE (allowed from loopback only): job-like bull:ingestion-queue:<n>
    keys, and healthy queues: ingestion-queue (5 waiting, 3 failed), trace-upsert idle (its meta hash only)."""
    with scratch_redis(server_root, "big", maxmemory="1gb", users=[RESTRICTED_ACL],
                       extra={"enable-debug-command": "local"}) as server:
        r = client(server.port)
        r.hset("bull:ingestion-queue:meta", mapping={"opts.maxLenEvents": "10000"})
        r.rpush("bull:ingestion-queue:wait", *[f"job-{i}" for i in range(5)])
        r.zadd("bull:ingestion-queue:failed", {"j1": 1, "j2": 2, "j3": 3})
        r.hset("bull:trace-upsert:meta", mapping={"opts.maxLenEvents": "10000"})
        r.execute_command("DEBUG", "POPULATE", BIG - r.dbsize(), "bull:ingestion-queue")
        assert r.dbsize() == BIG
        r.close()
        yield server


def target(server: Server, user: str = "", password: str = PW) -> dict[str, object]:
    return {"preset": "langfuse", "redis": {"url": f"redis://{user}:{password}@127.0.0.1:{server.port}/0"}}


def test_every_redis_item_decides_on_two_million_keys(big: Server, tmp_path: Path) -> None:
    results, _ = audit(tmp_path, target(big), ["redis"], checklist=checklist_with(tmp_path, DECIDABLE))
    redis = {i: r for i, r in results.items() if i.startswith("redis.") and r.status != "skipped"}
    assert {i: r.status for i, r in redis.items() if r.status not in ("pass", "fail")} == {}
    depth, failed = redis["redis.queue-depth"], redis["redis.failed-jobs"]
    assert depth.status == "pass" and depth.evidence["depth"] == {"bull:ingestion-queue:wait": 5}
    assert failed.status == "pass" and failed.evidence["sizes"] == {"bull:ingestion-queue:failed": 3}
    for item in (depth, failed):  # decided on the names, and the cut discovery is said
        assert item.evidence["scan_complete"] is False and item.evidence["known_present"] == 2
        assert "read by name" in item.message and "of 2,000,000" in item.message
    assert redis["redis.dedicated"].status == "pass" and "a sample" in redis["redis.dedicated"].message
    assert redis["redis.dedicated"].evidence["sampled"] == 10000


def test_a_backed_up_queue_and_a_big_failed_set_fail_on_two_million_keys(big: Server, tmp_path: Path) -> None:
    r = client(big.port)
    try:
        pipe = r.pipeline(transaction=False)
        pipe.hset("bull:otel-ingestion-queue:meta", mapping={"opts.maxLenEvents": "10000"})
        for start in range(0, 12000, 2000):
            pipe.rpush("bull:otel-ingestion-queue:wait", *[f"job-{i}" for i in range(start, start + 2000)])
        pipe.zadd("bull:otel-ingestion-queue:failed", {f"failed-{i}": i for i in range(1500)})
        pipe.execute()
        results, _ = audit(tmp_path, target(big), ["redis.queue-depth", "redis.failed-jobs"])
    finally:
        r.delete("bull:otel-ingestion-queue:meta", "bull:otel-ingestion-queue:wait",
                 "bull:otel-ingestion-queue:failed")
        r.close()
    assert results["redis.queue-depth"].status == "fail"
    assert "bull:otel-ingestion-queue:wait=12000" in results["redis.queue-depth"].message
    assert results["redis.failed-jobs"].status == "fail"
    assert "bull:otel-ingestion-queue:failed=1500" in results["redis.failed-jobs"].message


def test_no_known_queue_present_behind_a_cut_scan_is_undecided(big: Server, tmp_path: Path) -> None:
    elsewhere = {"queue_names": ["a-queue-this-redis-does-not-hold"]}
    checklist = checklist_with(tmp_path, {"redis.queue-depth": elsewhere, "redis.failed-jobs": elsewhere})
    results, _ = audit(tmp_path, target(big), ["redis.queue-depth", "redis.failed-jobs"], checklist=checklist)
    for item in ("redis.queue-depth", "redis.failed-jobs"):
        assert results[item].status == "error", results[item].message
        assert "none of the 1 known queues exists here" in results[item].message


def test_an_identity_without_type_never_passes_a_queue_item(big: Server, tmp_path: Path) -> None:
    results, _ = audit(tmp_path, target(big, *RESTRICTED), ["redis.queue-depth", "redis.failed-jobs"])
    for item in ("redis.queue-depth", "redis.failed-jobs"):
        assert results[item].status == "error" and "NOPERM" in results[item].message, results[item].message


def test_a_queue_key_of_the_wrong_type_never_passes(server_root: Path, tmp_path: Path) -> None:
    with scratch_redis(server_root, "wrongtype") as server:
        r = client(server.port)
        r.hset("bull:ingestion-queue:meta", mapping={"opts.maxLenEvents": "10000"})
        r.set("bull:ingestion-queue:wait", "not a list")  # a string has no backlog: 0 is not an observation
        r.set("bull:ingestion-queue:failed", "not a set")
        r.close()
        results, _ = audit(tmp_path, target(server), ["redis.queue-depth", "redis.failed-jobs"])
    for item in ("redis.queue-depth", "redis.failed-jobs"):
        assert results[item].status == "error", results[item].message
        assert "is a string, not a queue" in results[item].message


def test_key_ttls_decides_on_a_stated_sample(server_root: Path, tmp_path: Path) -> None:
    with scratch_redis(server_root, "ttl-sample") as server:
        r = client(server.port)
        pipe = r.pipeline(transaction=False)
        for i in range(3000):
            pipe.set(f"langsight:alerts:dedup:{i}", "1", ex=3600)
        pipe.execute()
        sampled = checklist_with(tmp_path, {"redis.key-ttls": {"scan_limit": 1000, "min_sample": 500}})
        results, _ = audit(tmp_path, {"preset": "langsight", "redis": {
            "url": f"redis://:{PW}@127.0.0.1:{server.port}/0"}}, ["redis.key-ttls"], checklist=sampled)
        passed = results["redis.key-ttls"]
        r.set("langsight:cb:leaked", "open")
        for i in range(0, 3000, 2):
            r.persist(f"langsight:alerts:dedup:{i}")  # half of them leak now
        results, _ = audit(tmp_path, {"preset": "langsight", "redis": {
            "url": f"redis://:{PW}@127.0.0.1:{server.port}/0"}}, ["redis.key-ttls"], checklist=sampled)
        r.close()
    assert passed.status == "pass" and passed.evidence["sample"] is True, passed.message
    assert "a sample" in passed.message and "of 3,000" in passed.message
    assert results["redis.key-ttls"].status == "fail"


def test_cluster_queues_are_read_on_the_nodes_that_own_them(redis_stack: RedisStack, tmp_path: Path) -> None:
    """Langfuse on Redis Cluster prefixes each queue with its hash tag ({<q>}:<q>:wait); with the scan cut to one
    key per node the verdicts come from the keys read by name on their owners."""
    from redis.cluster import ClusterNode, RedisCluster

    nodes = [ClusterNode("127.0.0.1", n.port) for n in redis_stack.cluster]
    admin = RedisCluster(startup_nodes=nodes, password=PW, decode_responses=True)
    keys = []
    try:
        for queue, depth in (("ingestion-queue", 4), ("otel-ingestion-queue", 12000), ("trace-upsert", 0)):
            keys.append(f"{{{queue}}}:{queue}:meta")
            admin.hset(keys[-1], mapping={"opts.maxLenEvents": "10000"})
            if depth:
                keys.append(f"{{{queue}}}:{queue}:wait")
                admin.rpush(keys[-1], *range(depth))
        owners = {admin.get_node_from_key(k).port for k in keys}
        assert len(owners) > 1  # the queues really live on different nodes
        form = {"queues": ["{*}:*:wait"], "markers": ["{*}:*:meta"], "scan_limit": 1}
        checklist = checklist_with(tmp_path, {"redis.queue-depth": form})
        url = "redis+cluster://:" + PW + "@" + ",".join(f"127.0.0.1:{n.port}" for n in redis_stack.cluster)
        results, _ = audit(tmp_path, {"preset": "langfuse", "redis": {"url": url}}, ["redis.queue-depth"],
                           checklist=checklist)
    finally:
        for key in keys:
            admin.delete(key)
        admin.close()
    item = results["redis.queue-depth"]
    assert item.status == "fail", item.message
    assert item.evidence["depth"] == {"{ingestion-queue}:ingestion-queue:wait": 4,
                                      "{otel-ingestion-queue}:otel-ingestion-queue:wait": 12000}
