"""The redis section attacked: a restricted identity, error replies, concurrent plugins, attempts to write through
the guard, binary and huge key names - each against a real redis-server, checked by the server's own counters."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from checklists import generic_item
from fixtures_redis import PW, RESTRICTED, RedisStack, client, redis_checklist, scratch_redis
from helpers import audit as _audit
from servers import Server

from readiness import registry
from readiness.clients.redis import HANDSHAKE_COMMANDS, READ_COMMANDS, ErrorReply, ReadOnlyViolation, connect
from readiness.probe import Verdict, failed, passed, probe


def audit(tmp_path: Path, targets: dict[str, Any], only: list[str], **kwargs: Any) -> Any:
    """The redis section of the packaged checklist only (other sections may be mid-edit elsewhere)."""
    if kwargs.get("checklist") is None:
        kwargs["checklist"] = redis_checklist(tmp_path)
    return _audit(tmp_path, targets, only, **kwargs)


# --- error replies are never data --------------------------------------------------------------------------------

def test_a_restricted_identity_never_passes_deep_queues_or_big_failed_sets(redis_stack: RedisStack,
                                                                            tmp_path: Path) -> None:
    bad = redis_stack.bad
    user, password = RESTRICTED
    for preset, ids in (("langfuse", ["redis.queue-depth", "redis.failed-jobs"]), ("langsight", ["redis.key-ttls"])):
        as_admin, _ = audit(tmp_path, {"preset": preset, "redis": {"url": f"redis://127.0.0.1:{bad.port}/0"}}, ids)
        assert {i: as_admin[i].status for i in ids} == {i: "fail" for i in ids}  # the control: the findings exist
        restricted = {"preset": preset, "redis": {"url": f"redis://{user}:{password}@127.0.0.1:{bad.port}/0"}}
        results, _ = audit(tmp_path, restricted, ids)
        for i in ids:
            assert results[i].status == "error", (i, results[i].message)
            assert "NOPERM" in results[i].message, results[i].message
            assert ("TYPE" if i != "redis.key-ttls" else "TTL") in results[i].message
    assert results["redis.key-ttls"].message.startswith("ErrorReply: TTL ")


def test_an_error_reply_in_a_batch_raises_naming_the_command(redis_stack: RedisStack) -> None:
    handle = connect({"url": redis_stack.url(redis_stack.good)}, 2.0)
    try:
        node = handle.primary
        with pytest.raises(ErrorReply, match=r"^LLEN bull:ingestion-queue:failed on .* answered an error: WRONGTYPE"):
            handle.batch(node, [("ZCARD", "bull:ingestion-queue:failed"), ("LLEN", "bull:ingestion-queue:failed")])
        assert handle.batch(node, [("ZCARD", "bull:ingestion-queue:failed")]) == [3]  # the connection is still good
        returned = handle.batch(node, [("LLEN", "bull:ingestion-queue:failed"), ("PING",)], errors="return")
        assert isinstance(returned[0], Exception) and returned[1] is True
        with pytest.raises(ErrorReply, match="WRONGTYPE"):
            handle.per_key({node: ["bull:ingestion-queue:meta"]}, "LLEN")
    finally:
        handle.close()


# --- concurrency -------------------------------------------------------------------------------------------------

def test_concurrent_plugin_calls_each_get_their_own_reply_over_one_connection(redis_stack: RedisStack) -> None:
    admin = client(redis_stack.good.port)
    before = int(admin.info("stats")["total_connections_received"])
    handle = connect({"url": redis_stack.url(redis_stack.good)}, 5.0)
    node = handle.primary
    calls: list[tuple[str, Any, Any]] = [
        ("llen wait", lambda: handle.llen("bull:ingestion-queue:wait"), 5),
        ("llen trace", lambda: handle.llen("bull:trace-upsert:wait"), 2),
        ("zcard", lambda: handle.zcard("bull:ingestion-queue:failed"), 3),
        ("hlen", lambda: handle.hlen("bull:ingestion-queue:meta"), 1),
        ("type", lambda: handle.type("bull:ingestion-queue:id"), "string"),
        ("ttl", lambda: handle.ttl("bull:ingestion-queue:wait"), -1),
        ("config", lambda: handle.config_get("maxmemory-policy"), {"maxmemory-policy": "noeviction"}),
        ("info", lambda: handle.info("memory")["maxmemory_policy"], "noeviction"),
        ("call", lambda: handle.call(node, "LLEN", "bull:trace-upsert:wait"), 2),
        ("batch", lambda: handle.batch(node, [("LLEN", "bull:ingestion-queue:wait"), ("TYPE", "bull:ingestion-queue:"
                                                                                      "failed"), ("PING",)]),
         [5, "zset", True]),
        ("per_key", lambda: handle.per_key({node: ["bull:trace-upsert:wait"]}, "TYPE", "LLEN"),
         {"bull:trace-upsert:wait": ["list", 2]}),
        ("scan", lambda: sorted(handle.scan(100, count=2)[0][node]), sorted(admin.keys("*"))),
        ("scan_iter", lambda: sorted(handle.scan_iter(count=1)), sorted(admin.keys("*"))),
    ]
    wrong: list[tuple[str, Any]] = []
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for i in range(60):
                name, call, expected = calls[(offset + i) % len(calls)]
                got = call()
                if got != expected:
                    wrong.append((name, got))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        during = int(admin.info("stats")["total_connections_received"])
    finally:
        handle.close()
        admin.close()
    assert not errors, errors[:3]
    assert not wrong, f"{len(wrong)} of {12 * 60} calls got another call's reply, e.g. {wrong[:3]}"
    assert during - before == 1  # one connection opened to the node, however many threads and calls


# --- read-only, whatever the checklist or a plugin tries ---------------------------------------------------------

@pytest.fixture(scope="module")
def victim(server_root: Path) -> Iterator[Server]:
    with scratch_redis(server_root, "victim", password=PW) as server:
        r = client(server.port)
        r.rpush("bull:ingestion-queue:wait", "job-1", "job-2")
        r.set("bull:ingestion-queue:id", "7")
        r.close()
        yield server


def _attempts(handle: Any) -> dict[str, Any]:
    node = handle.primary
    raw = handle.nodes[node]
    return {
        "handle.set": lambda: handle.set("pwned", "1"),
        "handle.execute_command": lambda: handle.execute_command("SET", "pwned", "1"),
        "handle.pipeline": lambda: handle.pipeline(),
        "handle.flushall": lambda: handle.flushall(),
        "handle.client_kill": lambda: handle.client_kill("127.0.0.1:1"),
        "bound method's client": lambda: handle.llen.__self__.set("pwned", "1"),
        "config_get's client": lambda: handle.config_get.__self__.config_set("maxmemory-policy", "allkeys-lru"),
        "node client set": lambda: raw.set("pwned", "1"),
        "node client delete": lambda: raw.delete("bull:ingestion-queue:wait"),
        "node execute_command": lambda: raw.execute_command("FLUSHALL"),
        "node pipeline": lambda: raw.pipeline(transaction=False).set("pwned", "1").execute(),
        "node transaction": lambda: raw.pipeline(transaction=True).llen("bull:ingestion-queue:wait").execute(),
        "batch with a write at the end": lambda: handle.batch(node, [("PING",), ("SET", "pwned", "1")]),
        "call MULTI": lambda: handle.call(node, "MULTI"),
        "call EVAL": lambda: handle.call(node, "EVAL", "return redis.call('set','pwned','1')", 0),
        "call EVAL_RO": lambda: handle.call(node, "EVAL_RO", "return 1", 0),
        "call FCALL": lambda: handle.call(node, "FCALL", "f", 0),
        "call SCRIPT LOAD": lambda: handle.call(node, "SCRIPT", "LOAD", "return 1"),
        "call CONFIG SET": lambda: handle.call(node, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru"),
        "call CONFIG REWRITE": lambda: handle.call(node, "config", "rewrite"),
        "call CLIENT KILL": lambda: handle.call(node, "CLIENT", "KILL", "TYPE", "normal"),
        "call DEBUG SLEEP": lambda: handle.call(node, "DEBUG", "SLEEP", "0"),
        "call MODULE LOAD": lambda: handle.call(node, "MODULE", "LOAD", "/tmp/x.so"),
        "call SHUTDOWN": lambda: handle.call(node, "SHUTDOWN", "NOSAVE"),
        "call ACL SETUSER": lambda: handle.call(node, "ACL", "SETUSER", "x", "on"),
        "call bytes name": lambda: handle.call(node, b"FLUSHDB"),
        "call lowercase": lambda: handle.call(node, "del", "bull:ingestion-queue:wait"),
        "pool connection send_command": lambda: _on_connection(raw, lambda c: c.send_command("SET", "pwned", "1")),
        "packed bytes": lambda: _on_connection(raw, lambda c: c.send_packed_command(b"*1\r\n$8\r\nFLUSHALL\r\n")),
        "inline command": lambda: _on_connection(raw, lambda c: c.send_packed_command(b"FLUSHALL\r\n")),
        "write hidden after a read": lambda: _on_connection(raw, lambda c: c.send_packed_command(
            [b"*1\r\n$4\r\nPING\r\n", b"*2\r\n$3\r\nDEL\r\n$2\r\nk1\r\n"])),
    }


def _on_connection(raw: Any, use: Any) -> None:
    conn = raw.connection_pool.get_connection()
    try:
        use(conn)
    finally:
        raw.connection_pool.release(conn)


@probe("redis.x-hostile-plugin", target="redis")
def hostile_plugin(ctx: Any, p: dict[str, Any]) -> Verdict:
    """A plugin probe that tries every way it can think of to write through ctx.client."""
    handle = ctx.client
    got_through, refused = [], []
    for name, attempt in _attempts(handle).items():
        try:
            attempt()
        except (AttributeError, ReadOnlyViolation):
            refused.append(name)
        else:
            got_through.append(name)
    depth = handle.llen("bull:ingestion-queue:wait")  # reads still work afterwards
    if got_through:
        return failed(f"{len(got_through)} attempts were not refused: {', '.join(got_through)}")
    return passed(f"all {len(refused)} attempts were refused", refused=refused, depth=depth)


def test_no_write_or_admin_command_reaches_the_server_whatever_is_tried(victim: Server, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.probes().probes, hostile_plugin.kind, hostile_plugin)
    admin = client(victim.port)
    admin.config_resetstat()
    # A plugin probe, and generic items whose parameters try to smuggle a write, next to the whole section.
    checklist = redis_checklist(tmp_path, extra=[
        generic_item("redis.x-plugin", "redis.x-hostile-plugin"),
        generic_item("redis.x-config", "redis.config", parameter="maxmemory-policy allkeys-lru",
                     expect={"present": True}),
        generic_item("redis.x-inject", "redis.config", parameter="*\r\nCONFIG SET maxmemory-policy allkeys-lru",
                     expect={"present": True}),
        generic_item("redis.x-info", "redis.info", field="x", section="all\r\nFLUSHALL", expect={"present": True}),
    ])
    results, _ = audit(tmp_path, {"preset": "langfuse", "redis": {"url": f"redis://:{PW}@127.0.0.1:{victim.port}/0"}},
                       ["redis"], checklist=checklist)
    stats = admin.info("commandstats")
    sent = {name.removeprefix("cmdstat_").upper().replace("|", " ") for name in stats}
    policy = admin.config_get("maxmemory-policy")["maxmemory-policy"]
    keys = sorted(admin.keys("*"))
    admin.close()
    plugin = results["redis.x-plugin"]
    assert plugin.status == "pass", plugin.message
    assert len(plugin.evidence["refused"]) == 31 and plugin.evidence["depth"] == 2
    allowed = READ_COMMANDS | HANDSHAKE_COMMANDS | {"CONFIG RESETSTAT", "KEYS"}  # the last two are this test's own
    assert "INFO" in sent and "SCAN" in sent  # the audit did run
    assert sent <= allowed, sent - allowed
    assert policy == "noeviction" and keys == ["bull:ingestion-queue:id", "bull:ingestion-queue:wait"]


def _unallowed_commands(admin: Any) -> list[tuple[str, ...]]:
    """Every command and subcommand the server itself lists (COMMAND) that the allow-list does not hold."""
    names = []
    for name, spec in admin.command().items():
        subs = [tuple(str(sub[0]).upper().split("|")) for sub in spec.get("subcommands") or []]
        names += subs or [(str(name).upper(),)]
    allowed = READ_COMMANDS | HANDSHAKE_COMMANDS
    return sorted({n for n in names if " ".join(n) not in allowed})


def _every_path(handle: Any, args: tuple[str, ...]) -> dict[str, Any]:
    node = handle.primary
    raw = handle.nodes[node]
    return {
        "call": lambda: handle.call(node, *args),
        "batch": lambda: handle.batch(node, [("PING",), args]),
        "node execute_command": lambda: raw.execute_command(*args),
        "node pipeline": lambda: raw.pipeline(transaction=False).execute_command(*args).execute(),
        "node transaction": lambda: raw.pipeline(transaction=True).execute_command(*args).execute(),
        "connection send_command": lambda: _on_connection(raw, lambda c: c.send_command(*args)),
        "connection packed": lambda: _on_connection(raw, lambda c: c.send_packed_command(c.pack_command(*args))),
    }


def test_every_command_outside_the_allow_list_is_refused_on_every_path_before_the_wire(victim: Server) -> None:
    """The server's own command table, not a list of ours: each command it knows that the audit may not send goes
    through each way a plugin could send it, and none of them reaches the server's counters."""
    admin = client(victim.port)
    commands = _unallowed_commands(admin)
    assert len(commands) > 200 and ("FLUSHALL",) in commands and ("CONFIG", "SET") in commands
    handle = connect({"url": f"redis://:{PW}@127.0.0.1:{victim.port}/0"}, 2.0)
    admin.config_resetstat()
    got_through: list[str] = []
    try:
        for command in commands:
            args = (*command, "readiness-test-key", "1")  # arguments, so a leak could not run a bare FLUSHALL
            method = "_".join(command).lower().replace("-", "_")
            if hasattr(handle, method):
                got_through.append(f"handle.{method}")
            for path, attempt in _every_path(handle, args).items():
                try:
                    attempt()
                except ReadOnlyViolation:
                    continue
                got_through.append(f"{' '.join(command)} via {path}")
        assert handle.call(handle.primary, "PING") is True  # the connection is still in step after the refusals
    finally:
        handle.close()
    sent = {name.removeprefix("cmdstat_").upper().replace("|", " ") for name in admin.info("commandstats")}
    keys = sorted(admin.keys("*"))
    admin.close()
    assert not got_through, got_through[:10]
    assert sent <= READ_COMMANDS | HANDSHAKE_COMMANDS | {"CONFIG RESETSTAT", "INFO"}, sent
    assert keys == ["bull:ingestion-queue:id", "bull:ingestion-queue:wait"]


# --- binary and huge key names -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def odd_keys(server_root: Path) -> Iterator[Server]:
    with scratch_redis(server_root, "odd-keys", password=PW) as server:
        import redis

        r = redis.Redis(host="127.0.0.1", port=server.port, password=PW)  # bytes in, bytes out
        r.rpush(b"bull:\xff\xfeq:wait", b"a", b"b", b"c")
        r.rpush(b"bull:" + b"q" * 40000 + b":wait", b"a")
        r.zadd(b"bull:\xffq:failed", {b"j1": 1})
        r.set(b"langsight:\xff:cb", b"open")  # no TTL: a leak, with a name that is not UTF-8
        r.set(b"langsight:" + b"x" * 40000, b"1")  # no TTL either
        r.set(b"langsight:ok\nFAKE pass line", b"1", ex=600)
        r.close()
        yield server


def test_binary_and_huge_key_names_are_judged_and_shown_escaped(odd_keys: Server, tmp_path: Path) -> None:
    target = {"redis": {"url": f"redis://:{PW}@127.0.0.1:{odd_keys.port}/0"}}
    results, report = audit(tmp_path, {"preset": "langfuse", **target},
                            ["redis.queue-depth", "redis.failed-jobs", "redis.dedicated"], timeout=5.0)
    depth = results["redis.queue-depth"]
    assert depth.status == "pass", depth.message
    assert depth.evidence["depth"]["bull:\\xff\\xfeq:wait"] == 3
    long_name = next(k for k in depth.evidence["depth"] if k.startswith("bull:qqq"))
    assert long_name.endswith("(40010 characters)") and len(long_name) < 200
    assert results["redis.failed-jobs"].evidence["sizes"] == {"bull:\\xffq:failed": 1}
    assert results["redis.dedicated"].status == "fail"  # langsight: keys are foreign to Langfuse
    langsight, report2 = audit(tmp_path, {"preset": "langsight", **target}, ["redis.key-ttls"], timeout=5.0)
    ttls = langsight["redis.key-ttls"]
    assert ttls.status == "fail" and ttls.evidence["without_ttl"] == 2, ttls.message
    assert "langsight:\\xff:cb" in ttls.evidence["examples"]
    assert "\n" not in ttls.message and len(ttls.message) < 1000
    for r in (report, report2):
        text = json.dumps(r, ensure_ascii=False)
        text.encode("utf-8")  # no lone surrogate reached the report
        assert "x" * 1000 not in text and "q" * 1000 not in text
