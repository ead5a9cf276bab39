"""A redis-server frozen (SIGSTOP) or killed after the audit connected costs one timeout, ends every item that needs
an answer as `error` naming the cause, and leaves no thread behind; a port that is not Redis says so."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures_postgres import PgStack
from fixtures_redis import PW, RedisStack, client, redis_checklist, scratch_redis
from helpers import audit

import readiness.clients.redis as redis_client

# Items whose verdict needs the server to answer after the connection is made (the others judge the URL).
NEEDS_ANSWERS = ["redis.version", "redis.auth-required", "redis.eviction-policy", "redis.maxmemory-set",
                 "redis.memory-headroom", "redis.no-evictions", "redis.no-rejected-connections", "redis.dedicated",
                 "redis.queue-depth", "redis.failed-jobs", "redis.cluster-mode"]


@pytest.fixture()
def doomed(server_root: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    with scratch_redis(server_root, f"doomed-{request.node.name[:40]}", password=PW) as server:
        r = client(server.port)
        r.rpush("bull:ingestion-queue:wait", "job")
        r.close()
        try:
            yield server
        finally:
            if server.proc is not None and server.proc.poll() is None:
                os.killpg(server.proc.pid, signal.SIGCONT)


def _after_connect(monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
    real = redis_client.connect

    def connect_then(config: dict[str, Any], timeout: float) -> Any:
        handle = real(config, timeout)
        action()
        return handle

    monkeypatch.setattr(redis_client, "connect", connect_then)


def _threads_settle(start: int, within: float = 10.0) -> int:
    """The thread count once stray workers ended on their own socket timeouts (bounded wait, no timing assertion)."""
    end = time.monotonic() + within
    while threading.active_count() > start + 1 and time.monotonic() < end:
        time.sleep(0.05)
    return threading.active_count()


@pytest.mark.parametrize("fault", ["frozen", "killed"])
def test_a_server_frozen_or_killed_after_connect_costs_one_timeout(doomed: Any, fault: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sig = signal.SIGSTOP if fault == "frozen" else signal.SIGKILL
    _after_connect(monkeypatch, lambda: os.killpg(doomed.proc.pid, sig))
    checklist = redis_checklist(tmp_path)
    threads_before = threading.active_count()
    started = time.monotonic()
    results, _ = audit(tmp_path, {"preset": "langfuse", "redis": {"url": f"redis://:{PW}@127.0.0.1:{doomed.port}/0"}},
                       ["redis"], checklist=checklist, timeout=1.0)
    elapsed = time.monotonic() - started
    threads_after = _threads_settle(threads_before)
    bad = {i: (results[i].status, results[i].message) for i in NEEDS_ANSWERS if results[i].status != "error"}
    assert not bad, bad
    words = ("timed out", "did not answer") if fault == "frozen" else ("connect", "closed", "refused", "reset")
    vague = {i: results[i].message for i in NEEDS_ANSWERS if not any(w in results[i].message for w in words)}
    assert not vague, vague
    assert all(r.status != "pass" or i in ("redis.reachable", "redis.tls") for i, r in results.items())
    assert elapsed < 1.0 + 3.0, elapsed  # one --timeout and a margin, not one per item
    assert threads_after <= threads_before + 1, (threads_before, threads_after)


def test_client_side_timeouts_follow_the_timeout_given_to_connect(doomed: Any) -> None:
    handle = redis_client.connect({"url": f"redis://:{PW}@127.0.0.1:{doomed.port}/0"}, 0.5)
    try:
        os.killpg(doomed.proc.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(Exception, match="(?i)timeout"):
            handle.call(handle.primary, "INFO")
        elapsed = time.monotonic() - started
        pool = handle.nodes[handle.primary].connection_pool
        assert pool.connection_kwargs["socket_timeout"] == 0.5 and pool.timeout == 0.5
    finally:
        os.killpg(doomed.proc.pid, signal.SIGCONT)
        handle.close()
    assert elapsed < 5.0  # bounded by the socket timeout, not by the server


# --- messages ----------------------------------------------------------------------------------------------------

def test_a_postgresql_port_does_not_look_like_redis(pg_stack: PgStack, tmp_path: Path) -> None:
    results, _ = audit(tmp_path, {"redis": {"url": f"redis://127.0.0.1:{pg_stack.good.port}/0"}}, ["redis.reachable"],
                       checklist=redis_checklist(tmp_path), timeout=3.0)
    reachable = results["redis.reachable"]
    assert reachable.status == "error"
    assert "does not look like Redis" in reachable.message and "PostgreSQL" in reachable.message, reachable.message
    assert "rediss://" not in reachable.message


def test_a_port_that_hangs_up_is_not_told_to_use_tls(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def hang_up() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        results, _ = audit(tmp_path, {"redis": {"url": f"redis://127.0.0.1:{port}/0"}}, ["redis.reachable"],
                           checklist=redis_checklist(tmp_path), timeout=3.0)
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    message = results["redis.reachable"].message
    assert results["redis.reachable"].status == "error" and "does not look like Redis" in message, message
    assert "rediss://" not in message


def test_a_tls_port_dialled_as_plain_redis_suggests_rediss(redis_stack: RedisStack, tmp_path: Path) -> None:
    results, _ = audit(tmp_path, {"redis": {"url": redis_stack.url(redis_stack.tls)}}, ["redis.reachable"],
                       checklist=redis_checklist(tmp_path), timeout=3.0)
    message = results["redis.reachable"].message
    assert results["redis.reachable"].status == "error" and "speaks TLS, use rediss://" in message, message


# --- LOADING -----------------------------------------------------------------------------------------------------

@pytest.fixture()
def loading_pair(server_root: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """A master with a few hundred keys, and a server that will load them slowly as its replica (key-load-delay)."""
    tag = request.node.name[:30]
    with scratch_redis(server_root, f"loading-master-{tag}", password=PW) as master, \
            scratch_redis(server_root, f"loading-replica-{tag}", password=PW) as replica:
        r = client(master.port)
        pipe = r.pipeline(transaction=False)
        for i in range(300):  # incompressible values, so that the RDB is as long as its keys
            pipe.rpush(f"bull:q{i}:wait", os.urandom(1500).hex())
        pipe.execute()
        r.close()
        yield master, replica


def _start_loading(master: Any, replica: Any) -> None:
    """Make the replica load the master's dataset at 20 ms a key, answering clients (LOADING) between keys, and wait
    (bounded) until it says it is loading."""
    admin = client(replica.port)
    admin.config_set("key-load-delay", 20000)
    admin.config_set("loading-process-events-interval-bytes", 1024)
    admin.execute_command("REPLICAOF", "127.0.0.1", master.port)
    end = time.monotonic() + 20
    while int(admin.info("persistence").get("loading", 0)) != 1:
        assert time.monotonic() < end, "the replica never started loading"
        time.sleep(0.02)
    admin.close()


def test_a_loading_reply_inside_a_batch_is_an_error_not_data(loading_pair: tuple[Any, Any]) -> None:
    master, replica = loading_pair
    handle = redis_client.connect({"url": f"redis://:{PW}@127.0.0.1:{replica.port}/0"}, 5.0)
    try:
        _start_loading(master, replica)
        with pytest.raises(redis_client.ErrorReply, match=r"^LLEN bull:q1:wait on .* answered an error: LOADING"):
            handle.batch(handle.primary, [("LLEN", "bull:q1:wait")])
        with pytest.raises(redis_client.ErrorReply, match=r"^one of 2 commands \(INFO, LLEN\) .* error: LOADING"):
            handle.batch(handle.primary, [("INFO", "persistence"), ("LLEN", "bull:q1:wait")])
        with pytest.raises(redis_client.ErrorReply, match="^SCAN .*LOADING"):
            handle.scan(100)
    finally:
        handle.close()


def test_items_of_a_loading_server_say_loading(loading_pair: tuple[Any, Any], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    master, replica = loading_pair
    _after_connect(monkeypatch, lambda: _start_loading(master, replica))
    results, _ = audit(tmp_path, {"preset": "langfuse", "redis": {"url": f"redis://:{PW}@127.0.0.1:{replica.port}/0"}},
                       ["redis.queue-depth", "redis.failed-jobs", "redis.dedicated"],
                       checklist=redis_checklist(tmp_path), timeout=5.0)
    for item in ("redis.queue-depth", "redis.failed-jobs", "redis.dedicated"):
        assert results[item].status == "error" and "LOADING" in results[item].message, results[item].message
