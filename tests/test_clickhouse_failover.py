"""Losing part of the cluster mid-suite: a stopped replica and a stopped ZooKeeper member are findings; each is
started again afterwards so the other tests see the healthy cluster whatever the order."""

from __future__ import annotations

import re
import socket

from helpers import audit

from readiness.demo.clickhouse import _wait_serving


def _mode(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"srvr")
        return re.search(rb"Mode: (\w+)", sock.recv(4096)).group(1).decode()  # type: ignore[union-attr]


def test_a_stopped_replica_fails_replica_health_and_reachability(tmp_path, ch_cluster):
    stopped = ch_cluster.nodes[2]
    stopped.stop()
    try:
        ch_cluster.wait_active(2)
        results, _ = audit(tmp_path, ch_cluster.target(), ["clickhouse.replica-health", "clickhouse.reachable",
                                                           "clickhouse.keeper-quorum"], preset="langfuse")
    finally:
        stopped.start()
        ch_cluster.wait_healthy()
    health = results["clickhouse.replica-health"]
    assert health.status == "fail"
    assert "2 of 3 replicas active" in health.message
    assert set(health.evidence["findings"]) == {f"127.0.0.1:{n.port}" for n in ch_cluster.nodes[:2]}
    assert f"127.0.0.1:{stopped.port}" in health.evidence["nodes_not_checked"]
    reach = results["clickhouse.reachable"]
    assert reach.status == "fail" and f"1 of 3 nodes do not answer: 127.0.0.1:{stopped.port}" in reach.message
    # The ensemble is intact, but whether the stopped node holds a Keeper session cannot be seen: never a pass.
    quorum = results["clickhouse.keeper-quorum"]
    assert quorum.status == "error", quorum.message
    assert f"could not check 127.0.0.1:{stopped.port}:" in quorum.message


def test_replica_health_passes_again_once_the_replica_is_back(tmp_path, ch_cluster):
    results, _ = audit(tmp_path, ch_cluster.target(), ["clickhouse.replica-health"])
    assert results["clickhouse.replica-health"].status == "pass"


def test_a_stopped_zookeeper_member_fails_the_quorum_item(tmp_path, ch_cluster):
    # A follower: stopping the leader forces an election, which expires every session for ~10 s on 18.16.
    index = next(i for i, port in enumerate(ch_cluster.zookeeper.ports) if _mode(port) == "follower")
    member = ch_cluster.zookeeper.servers[index]
    member.stop()
    try:
        ch_cluster.wait_keeper()  # the nodes whose session was on that member move to another
        results, _ = audit(tmp_path, ch_cluster.target(), ["clickhouse.keeper-quorum"])
    finally:
        member.start()
        _wait_serving(ch_cluster.zookeeper)
        ch_cluster.wait_healthy()
    r = results["clickhouse.keeper-quorum"]
    assert r.status == "fail", r.message
    port = ch_cluster.zookeeper.ports[index]
    assert f"Keeper/ZooKeeper nodes not in the quorum: 127.0.0.1:{port} down" in r.message
    roles = r.evidence["roles"]
    assert roles.pop(f"127.0.0.1:{port}").startswith("down (")
    assert sorted(roles.values()) in (["follower", "leader"], ["follower", "follower"])
