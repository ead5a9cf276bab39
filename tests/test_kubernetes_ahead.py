"""Reading ahead (readiness/clients/kubernetes_ahead.py): a probe's declared listings are requested while it waits
for its first, each still once per audit, and a listing read ahead fails a probe exactly as its own read would."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from fake_k8s import FakeCluster, audit_k8s, live_targets, load

from readiness.clients.kubernetes_ahead import Ahead

HPA = "/apis/autoscaling/v2/namespaces/langsmith/horizontalpodautoscalers"
DEPLOYMENTS = "/apis/apps/v1/namespaces/langsmith/deployments"


def _timed(cluster: FakeCluster) -> list[tuple[str, str, float]]:
    """(in|out, path, monotonic time) of every request the fake server answers."""
    seen: list[tuple[str, str, float]] = []
    answer = cluster.answer

    def timed(raw_path: str, auth: str) -> Any:
        seen.append(("in", raw_path.split("?")[0], time.monotonic()))
        try:
            return answer(raw_path, auth)
        finally:
            seen.append(("out", raw_path.split("?")[0], time.monotonic()))

    cluster.answer = timed  # type: ignore[method-assign]
    return seen


def test_a_probes_next_listing_is_requested_while_its_first_is_slow(tmp_path: Path) -> None:
    """hpa-coverage reads the Deployments first: its HPAs are asked for while the Deployments are still on their way,
    not one round trip after them."""
    with FakeCluster(load("good.yaml"), slow={"deployments"}, slow_seconds=1.0) as cluster:
        seen = _timed(cluster)
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-coverage"])
        lists = [r.split("?")[0] for r in cluster.requests if "limit=" in r]
    assert results["k8s.hpa-coverage"].status == "fail", results["k8s.hpa-coverage"].message  # judged: some missing
    hpa_asked = min(t for way, path, t in seen if way == "in" and path == HPA)
    deployments_answered = min(t for way, path, t in seen if way == "out" and path == DEPLOYMENTS)
    assert hpa_asked < deployments_answered, seen
    assert len(lists) == len(set(lists)), lists  # still every listing once


def test_a_forbidden_listing_read_ahead_is_the_probes_error(tmp_path: Path) -> None:
    """The HPAs are read ahead (while the Deployments are slow) and denied: the item that reads them is an error
    naming the denial, never a pass, and the denied listing is not asked for twice."""
    with FakeCluster(load("good.yaml"), slow={"deployments"}, slow_seconds=0.5,
                     forbidden={"horizontalpodautoscalers"}) as cluster:
        seen = _timed(cluster)
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-coverage", "k8s.hpa-healthy"])
    for item in ("k8s.hpa-coverage", "k8s.hpa-healthy"):
        assert results[item].status == "error", (item, results[item].status, results[item].message)
        assert "horizontalpodautoscalers" in results[item].message, results[item].message
    assert [p for way, p, _ in seen if way == "in" and p == HPA] == [HPA]


def test_a_garbage_listing_read_ahead_is_the_probes_error(tmp_path: Path) -> None:
    with FakeCluster(load("good.yaml"), slow={"deployments"}, slow_seconds=0.5,
                     garbage={"horizontalpodautoscalers"}) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-coverage"])
    assert results["k8s.hpa-coverage"].status == "error", results["k8s.hpa-coverage"].message
    assert "not a list" in results["k8s.hpa-coverage"].message


def test_the_reader_reads_each_key_once_and_goes_on_after_a_failure() -> None:
    ahead = Ahead()
    done: list[str] = []
    finished = threading.Event()

    def fetch(key: str) -> Any:
        def run() -> None:
            done.append(key)
            if key == "bad":
                raise RuntimeError("a failure is the probe's to meet")
            if len(done) == 3:
                finished.set()
        return run

    ahead.reading("mine")
    for key in ("bad", "a", "a", "mine", "b"):
        ahead.read(key, fetch(key))
    assert finished.wait(5.0)
    time.sleep(0.05)
    assert sorted(done) == ["a", "b", "bad"]
