"""Real ClickHouse servers (Debian's 18.16) with ZooKeeper, started once per test session.

- ``ch_cluster``: 3 replicas of one shard (cluster ``readiness``, plus ``readiness_two_shards`` over the same hosts)
  on a 3-node ZooKeeper ensemble; passworded users; replicated Langfuse-shaped tables; a clean migration; fast
  ingestion; UTC.
- ``ch_single``: one node set up the way first installs go wrong: the stock passwordless ``default`` user open to
  ::/0, a standalone ZooKeeper, plain MergeTree tables (and one replicated table with a single replica), a partition
  with many parts (parts_to_delay_insert lowered to 20), a pending mutation, a dirty migration, slow ingestion,
  slow queries, Europe/Berlin time; its HTTP interface is on too (``extra["http_port"]``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from servers import ARTIFACTS

from readiness.demo import clickhouse as ch

CLUSTER = "readiness"


@dataclass
class Deployment:
    nodes: list[ch.Node]
    zookeeper: ch.ZooKeeper
    cluster: str | None

    def target(self, **extra: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"urls": [n.url() for n in self.nodes]}
        if self.cluster:
            entry["cluster"] = self.cluster
        entry.update(extra)
        return {"clickhouse": entry}

    def wait_active(self, replicas: int, timeout: float = 30.0) -> None:
        """Until every replicated table on the first node sees ``replicas`` active replicas."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            rows = self.nodes[0].sql("SELECT min(active_replicas) FROM system.replicas")[0]
            if rows and rows[0][0] == replicas:
                return
            time.sleep(0.1)
        raise TimeoutError(f"replicas did not reach {replicas} active")


    def wait_keeper(self, timeout: float = 30.0) -> None:
        """Until every node can read ZooKeeper again."""
        end = time.monotonic() + timeout
        for n in self.nodes:
            ch.wait_sql(n, "SELECT count() FROM system.zookeeper WHERE path = '/'", max(0.0, end - time.monotonic()))


    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Until no replicated table on any node is read-only, session-expired or missing an active replica."""
        end = time.monotonic() + timeout
        for n in self.nodes:
            while True:
                try:
                    bad = n.sql("SELECT count() FROM system.replicas WHERE is_readonly OR is_session_expired "
                                "OR active_replicas < total_replicas")[0][0][0]
                except Exception:
                    bad = -1
                if bad == 0:
                    break
                if time.monotonic() > end:
                    raise TimeoutError(f"replicas on {n.name} did not recover")
                time.sleep(0.2)


def _keep_logs(servers: list[Any], label: str) -> None:
    for s in servers:
        s.keep_log(ARTIFACTS / "clickhouse", label)


@pytest.fixture(scope="session")
def ch_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    work: Path = tmp_path_factory.mktemp("ch-cluster")
    zk = ch.zookeeper(work, 3)
    try:
        nodes = ch.cluster(work, zk, replicas=3, name=CLUSTER)
    except Exception:
        zk.stop()
        raise
    try:
        for i, n in enumerate(nodes):
            ch.trace_tables(n, replicated=True)
            ch.runs(n, delay_s=2, replicated=True, insert=i == 0)
        first = nodes[0]
        first.sql("INSERT INTO default.traces SELECT toString(number), 'p', now() - number, 1 "
                  "FROM system.numbers LIMIT 100")
        ch.migrations(first, dirty_last=False)
        for n in nodes:
            ch.flush_logs(n)
        yield Deployment(nodes, zk, CLUSTER)
    finally:
        _keep_logs([n.server for n in nodes] + zk.servers, "cluster")
        for n in nodes:
            n.stop()
        zk.stop()


@pytest.fixture(scope="session")
def ch_single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    work: Path = tmp_path_factory.mktemp("ch-single")
    zk = ch.zookeeper(work, 1)
    port = ch.free_port()
    node = ch.node(work, "single", users=ch.Users(open_default=True), port=port, zookeeper_hosts=zk.hosts(),
                   http_port=ch.free_port(),
                   clusters={"solo": [[port]]}, macros={"shard": "01", "replica": "solo1"}, timezone="Europe/Berlin",
                   merge_tree={"parts_to_delay_insert": 20, "parts_to_throw_insert": 40})
    try:
        ch.start_all([node])
    except Exception:
        zk.stop()
        raise
    try:
        ch.trace_tables(node, replicated=False)
        ch.trace_tables(node, replicated=True, tables=["events"])
        ch.many_parts(node, "traces", 15)
        node.sql("ALTER TABLE default.traces DELETE WHERE value = 3")  # stays pending: merges are stopped
        ch.migrations(node, dirty_last=True)
        ch.runs(node, delay_s=120)
        ch.slow_queries(node, 20, 2.5)
        ch.flush_logs(node)
        yield Deployment([node], zk, "solo")
    finally:
        _keep_logs([node.server] + zk.servers, "single")
        node.stop()
        zk.stop()
