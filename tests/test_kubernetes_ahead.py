"""Reading ahead (readiness/clients/kubernetes_ahead.py): a probe's declared listings are requested while it waits
for its first, each still once per audit, and a listing read ahead fails a probe exactly as its own read would."""

from __future__ import annotations

import copy
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from checklists import generic_item
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

    def fetch(key: str) -> Any:
        def run() -> None:
            done.append(key)
            if key == "bad":
                raise RuntimeError("a failure is the probe's to meet")
        return run

    ahead.reading("mine")
    for key in ("bad", "a", "a", "mine", "b"):
        ahead.read(key, fetch(key))
    assert ahead.join(5.0)  # nothing queued, no reader left
    assert sorted(done) == ["a", "b", "bad"]


def test_a_closed_reader_reads_nothing_queued() -> None:
    """Close while a fetch is in flight: it ends, what was queued behind it is never fetched, nor what comes after."""
    ahead = Ahead()
    ahead.READERS = 1
    started, release = threading.Event(), threading.Event()
    done: list[str] = []

    def first() -> None:
        started.set()
        release.wait(5.0)
        done.append("first")

    ahead.read("first", first)
    ahead.read("queued", lambda: done.append("queued"))
    assert started.wait(5.0)
    ahead.close()
    ahead.read("late", lambda: done.append("late"))
    release.set()
    assert ahead.join(5.0)
    assert done == ["first"]


def test_a_thread_that_cannot_start_leaves_the_read_to_the_probe(monkeypatch: Any) -> None:
    """Thread.start raises RuntimeError (the process's thread limit): read() does not raise, the reader count does
    not leak (a later read still gets a reader), and the key is left to the probe's own read."""
    ahead = Ahead()
    start = threading.Thread.start
    refuse = [True]

    def limited(self: threading.Thread) -> None:
        if self.name == "readiness-k8s-ahead" and refuse[0]:
            raise RuntimeError("can't start new thread")
        start(self)

    monkeypatch.setattr(threading.Thread, "start", limited)
    done: list[str] = []
    for key in ("a", "b", "c"):
        ahead.read(key, lambda k=key: done.append(k))
    assert ahead.join(1.0) and done == []
    refuse[0] = False
    ahead.read("d", lambda: done.append("d"))
    assert ahead.join(5.0)
    assert done == ["d"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the death is the point
def test_a_reader_that_dies_of_a_base_exception_is_no_longer_counted() -> None:
    ahead = Ahead()
    ahead.READERS = 1
    done: list[str] = []

    def dies() -> None:
        raise SystemExit  # a BaseException the reader does not swallow: its thread ends

    ahead.read("dies", dies)
    assert ahead.join(5.0)
    for t in threading.enumerate():  # its exception is reported when it ends: within this test
        if t.name == "readiness-k8s-ahead":
            t.join(5.0)
    ahead.read("next", lambda: done.append("next"))
    assert ahead.join(5.0)
    assert done == ["next"]


def _asked(cluster: FakeCluster, plural: str) -> list[str]:
    return [r for r in cluster.requests if r.split("?")[0].endswith("/" + plural)]


def _unlimited() -> list[dict[str, Any]]:
    """good.yaml with the backend's containers left without a memory limit (memory-limits fails before any pod)."""
    objects = copy.deepcopy(load("good.yaml"))
    for o in objects:
        if o.get("kind") == "Deployment" and o["metadata"]["name"] == "langsmith-backend":
            for c in o["spec"]["template"]["spec"]["containers"]:
                c.get("resources", {}).get("limits", {}).pop("memory", None)
    return objects


def test_pods_memory_limits_may_never_need_are_not_read_ahead(tmp_path: Path) -> None:
    """memory-limits reads pods only once every container has a limit: failing before that, it asks for no pods,
    read ahead or not, and their 403 (a kind it never read) leaves its verdict as it is."""
    with FakeCluster(_unlimited(), slow={"deployments"}, slow_seconds=0.5, forbidden={"pods"}) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.memory-limits"])
        asked = _asked(cluster, "pods")
    r = results["k8s.memory-limits"]
    assert r.status == "fail" and "langsmith-backend" in r.message and "no memory limit" in r.message, r.message
    assert asked == []


def test_rollouts_are_read_ahead_only_for_workloads(tmp_path: Path) -> None:
    """kubernetes.object on Deployments reads the Deployments alone: the Rollouts a Deployments read implies for the
    product's workloads are not asked for (served, and forbidden: nothing of it reaches the item)."""
    item = generic_item("k8s.custom", "kubernetes.object", kind="Deployment", field="metadata.name",
                        expect={"matches": "^langsmith-"})
    with FakeCluster(load("good.yaml"), slow={"deployments"}, slow_seconds=0.5, forbidden={"rollouts"},
                     extra=[("argoproj.io/v1alpha1", "Rollout")]) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.custom"], extra=[item])
        asked = _asked(cluster, "rollouts")
    assert results["k8s.custom"].status == "pass", results["k8s.custom"].message
    assert asked == []


def test_rollouts_are_read_ahead_beside_the_deployments_of_workloads(tmp_path: Path) -> None:
    """hpa-coverage reads its Deployments through workloads(), Rollouts next: those are asked for while the
    Deployments are slow, and a 403 on them is the item's error."""
    with FakeCluster(load("good.yaml"), slow={"deployments"}, slow_seconds=1.0, forbidden={"rollouts"},
                     extra=[("argoproj.io/v1alpha1", "Rollout")]) as cluster:
        seen = _timed(cluster)
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-coverage"])
    rollouts = min(t for way, path, t in seen if way == "in" and path.endswith("/rollouts"))
    deployments = min(t for way, path, t in seen if way == "out" and path == DEPLOYMENTS)
    assert rollouts < deployments, seen
    assert results["k8s.hpa-coverage"].status == "error", results["k8s.hpa-coverage"].message
    assert "rollouts" in results["k8s.hpa-coverage"].message


def test_keda_not_served_read_ahead_is_still_not_installed(tmp_path: Path) -> None:
    """The ScaledObjects are read ahead while the Deployments are slow; keda.sh is not served, so that read ends in
    NotServed, and hpa-coverage reads it as KEDA not installed (its judgement), not as an error."""
    with FakeCluster(load("good.yaml"), slow={"deployments"}, slow_seconds=0.5, missing_groups={"keda.sh"}) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.hpa-coverage"])
        asked = _asked(cluster, "scaledobjects")
    r = results["k8s.hpa-coverage"]
    assert r.status == "fail", r.message  # judged: a Deployment without an HPA
    assert r.evidence["keda_installed"] is False, r.evidence
    assert asked == []  # discovery said so: never listed


def test_nothing_is_read_after_the_audit(tmp_path: Path) -> None:
    """no-network-filesystem (every StatefulSet: its first listing) fails at once on a 403 while its other listings
    are still queued behind two slow ones: once the audit returns, no request reaches the API server and no reader
    is left."""
    item = generic_item("k8s.nfs", "kubernetes.no-network-filesystem", within_release=False)
    slow = {"deployments", "persistentvolumeclaims", "persistentvolumes", "storageclasses"}
    with FakeCluster(load("good.yaml"), forbidden={"statefulsets"}, slow=slow, slow_seconds=0.5) as cluster:
        seen = _timed(cluster)
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), ["k8s.nfs"], extra=[item])
        returned = time.monotonic()
        time.sleep(1.5)  # long enough for anything still queued to be asked
        readers = [t for t in threading.enumerate() if t.name == "readiness-k8s-ahead"]
        for t in readers:
            t.join(1.0)
        late = [path for way, path, t in seen if way == "in" and t > returned]
    assert results["k8s.nfs"].status == "error", results["k8s.nfs"].message
    assert late == [], late
    assert not [t for t in readers if t.is_alive()]


def test_the_listings_to_read_ahead_are_worked_out_once_per_set_of_reads(tmp_path: Path, monkeypatch: Any) -> None:
    """Four items declare the same reads (kf.CLAIMS) and list several times each: the keys to read ahead are worked
    out once for them all; every later listing only marks its own."""
    from readiness.checks import _k8s_access

    plans: list[list[str]] = []
    work = _k8s_access._ahead_of

    def counted(ctx: Any, reads: list[str]) -> Any:
        plans.append(reads)
        return work(ctx, reads)

    monkeypatch.setattr(_k8s_access, "_ahead_of", counted)
    items = ["k8s.volume-expansion", "k8s.ssd-storageclass", "k8s.storage-performance", "k8s.no-pending-pvcs"]
    with FakeCluster(load("good.yaml")) as cluster:
        results, _ = audit_k8s(tmp_path, live_targets(cluster, tmp_path), items)
    assert all(results[i].status in ("pass", "fail") for i in items), {i: results[i].message for i in items}
    assert plans.count(sorted(_k8s_access.CLAIMS)) == 1, plans
    assert all(p in (sorted(_k8s_access.CLAIMS), ["argoproj.io/rollouts"]) for p in plans), plans
