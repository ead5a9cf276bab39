"""The redis section against real redis-server / redis-sentinel processes: every item seen passing and failing, and
`error` for the ways a target breaks (down, wrong password, black hole, TLS mismatch, CONFIG refused).

Over 400 lines: every redis item both ways against one set of real servers (standalone, Sentinel, cluster)."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest
from checklists import checklist_with, generic_item
from fixtures_redis import AUDITOR, PW, RedisStack, client
from helpers import audit
from servers import BlackHole, free_port

from readiness.clients.redis import READ_COMMANDS, command_name, parse_url
from readiness.context import TargetUnavailable

ALWAYS_PASS_WHEN_GOOD = ["redis.reachable", "redis.version", "redis.auth-required", "redis.eviction-policy",
                         "redis.maxmemory-set", "redis.memory-headroom", "redis.no-evictions",
                         "redis.no-rejected-connections", "redis.dedicated", "redis.queue-depth", "redis.tls",
                         "redis.cluster-mode", "redis.failed-jobs"]


def statuses(results: dict, ids: list[str] | None = None) -> dict[str, str]:
    return {i: r.status for i, r in results.items() if (ids is None and i.startswith("redis.")) or (ids and i in ids)}


# --- the well-run and the badly-run server -----------------------------------------------------------------------

def test_a_well_run_langfuse_redis_passes_every_applicable_item(redis_stack: RedisStack, tmp_path: Path) -> None:
    results, _ = audit(tmp_path, {"preset": "langfuse", **redis_stack.target(redis_stack.good)}, ["redis"])
    assert statuses(results, ALWAYS_PASS_WHEN_GOOD) == {i: "pass" for i in ALWAYS_PASS_WHEN_GOOD}
    assert results["redis.external"].status == "fail"  # 127.0.0.1 is a bundled Redis, whatever its config
    assert results["redis.ha"].status == "skipped" and "standalone" in results["redis.ha"].message
    assert results["redis.memory-vs-limit"].status == "error"
    assert "needs the kubernetes target" in results["redis.memory-vs-limit"].message
    assert results["redis.queue-depth"].evidence["depth"] == {"bull:ingestion-queue:wait": 5,
                                                               "bull:trace-upsert:wait": 2}
    assert results["redis.dedicated"].evidence["sampled"] == 5
    assert PW not in str([r.to_dict() for r in results.values()])


def test_a_badly_run_redis_fails_with_the_observed_values(redis_stack: RedisStack, tmp_path: Path) -> None:
    results, report = audit(tmp_path, {"preset": "langfuse", **redis_stack.target(redis_stack.bad)}, ["redis"])
    expected_fail = ["redis.auth-required", "redis.eviction-policy", "redis.maxmemory-set", "redis.memory-headroom",
                     "redis.no-evictions", "redis.no-rejected-connections", "redis.dedicated", "redis.queue-depth",
                     "redis.failed-jobs", "redis.external"]
    assert statuses(results, expected_fail) == {i: "fail" for i in expected_fail}
    assert results["redis.eviction-policy"].evidence["maxmemory_policy"] == "allkeys-lru"
    assert results["redis.no-evictions"].evidence["evicted_keys"] > 0
    assert results["redis.no-rejected-connections"].evidence["rejected_connections"] > 0
    assert "unbounded" in results["redis.memory-headroom"].message
    dedicated = results["redis.dedicated"]
    assert dedicated.evidence["other_databases"] == ["db3"]
    assert {"session:", "celery-task-meta-77", "langsight:"} <= set(dedicated.evidence["foreign_prefixes"])
    assert results["redis.queue-depth"].evidence["depth"]["bull:ingestion-queue:wait"] == 12000
    assert results["redis.failed-jobs"].evidence["sizes"] == {"bull:ingestion-queue:failed": 1500}
    assert report["summary"]["verdict"] == "not-ready"


def test_langsight_items_pass_on_a_langsight_redis_and_fail_on_a_leaky_one(redis_stack: RedisStack,
                                                                           tmp_path: Path) -> None:
    ids = ["redis.maxclients", "redis.key-ttls", "redis.dedicated", "redis.queue-depth", "redis.failed-jobs"]
    good, _ = audit(tmp_path, {"preset": "langsight", **redis_stack.target(redis_stack.langsight)}, ids)
    assert statuses(good, ids) == {"redis.maxclients": "pass", "redis.key-ttls": "pass", "redis.dedicated": "pass",
                                   "redis.queue-depth": "skipped", "redis.failed-jobs": "skipped"}
    assert good["redis.key-ttls"].evidence["checked"] == 2
    bad, _ = audit(tmp_path, {"preset": "langsight", **redis_stack.target(redis_stack.bad)}, ids)
    assert bad["redis.maxclients"].status == "fail" and bad["redis.maxclients"].evidence["maxclients"] == 30
    assert bad["redis.key-ttls"].status == "fail"
    assert bad["redis.key-ttls"].evidence["examples"] == ["langsight:cb:leaked"]  # the key with a TTL is fine


def test_langsight_maxclients_counts_the_workers_its_env_runs(redis_stack: RedisStack, tmp_path: Path) -> None:
    # LANGSIGHT_WORKERS from the files target replaces the item's assumed 4: 1 x 20 fits maxclients 30, 2 x 20 not
    targets = {"preset": "langsight", "files": {"env": ".env"}, **redis_stack.target(redis_stack.bad)}
    for workers, status in ((1, "pass"), (2, "fail")):
        (tmp_path / ".env").write_text(f"LANGSIGHT_WORKERS={workers}\n")
        results, _ = audit(tmp_path, targets, ["redis.maxclients"])
        r = results["redis.maxclients"]
        assert (r.status, r.evidence["needed"]) == (status, workers * 20), r.message
    for written in ("0", "\u00b2"):  # no workers would make any maxclients enough; a superscript is no count
        (tmp_path / ".env").write_text(f"LANGSIGHT_WORKERS={written}\n")
        r = audit(tmp_path, targets, ["redis.maxclients"])[0]["redis.maxclients"]
        assert r.status == "error" and "not a number of at least 1" in r.message, (written, r.message)


def test_version_fails_below_the_items_minimum(redis_stack: RedisStack, tmp_path: Path) -> None:
    checklist = checklist_with(tmp_path, {"redis.version": {"expect": {"min": "7.2"}}})
    results, _ = audit(tmp_path, redis_stack.target(redis_stack.good), ["redis.version"], checklist=checklist)
    assert results["redis.version"].status == "fail"
    assert results["redis.version"].message == "redis_version is 7.0.15, expected >= 7.2"


def test_memory_headroom_fails_when_used_memory_is_near_maxmemory(redis_stack: RedisStack, tmp_path: Path) -> None:
    results, _ = audit(tmp_path, redis_stack.target(redis_stack.replica), ["redis.memory-headroom"])
    assert results["redis.memory-headroom"].status == "fail"
    assert results["redis.memory-headroom"].evidence["ratio"] >= 0.8


def test_memory_vs_limit_judges_maxmemory_against_the_given_limit(redis_stack: RedisStack, tmp_path: Path) -> None:
    for limit, server, status in (("100Mi", redis_stack.good, "pass"), ("64Mi", redis_stack.good, "fail"),
                                  ("1Gi", redis_stack.bad, "fail")):
        checklist = checklist_with(tmp_path, {"redis.memory-vs-limit": {"memory_limit": limit}})
        results, _ = audit(tmp_path, redis_stack.target(server), ["redis.memory-vs-limit"], checklist=checklist)
        assert results["redis.memory-vs-limit"].status == status, (limit, results["redis.memory-vs-limit"].message)


def test_reachable_fails_when_the_server_refuses_sessions(redis_stack: RedisStack, tmp_path: Path) -> None:
    held = [socket.create_connection(("127.0.0.1", redis_stack.bad.port)) for _ in range(30)]
    try:
        time.sleep(0.1)
        results, _ = audit(tmp_path, redis_stack.target(redis_stack.bad), ["redis.reachable", "redis.eviction-policy"])
    finally:
        for s in held:
            s.close()
    assert results["redis.reachable"].status == "fail", results["redis.reachable"].message
    assert "max number of clients reached" in results["redis.reachable"].message
    assert results["redis.eviction-policy"].status == "error"  # the others cannot decide


# --- auth, URL forms and protocols -------------------------------------------------------------------------------

def test_auth_required_recognises_the_refusal_in_resp2_and_resp3(redis_stack: RedisStack, tmp_path: Path) -> None:
    for protocol in (2, 3):
        results, _ = audit(tmp_path, redis_stack.target(redis_stack.good, protocol=protocol),
                           ["redis.auth-required", "redis.eviction-policy"])
        assert results["redis.auth-required"].status == "pass", protocol
        assert results["redis.eviction-policy"].status == "pass", protocol
    said = results["redis.auth-required"].evidence["server_said"]
    assert "HELLO must be called with the client already authenticated" in said  # RESP3's wording


def test_acl_user_in_the_url_and_in_the_target_fields(redis_stack: RedisStack, tmp_path: Path) -> None:
    user, password = AUDITOR
    in_url = {"redis": {"url": redis_stack.url(redis_stack.good, password, user)}}
    as_fields = {"redis": {"url": redis_stack.url(redis_stack.good, None), "username": user, "password": password}}
    for targets in (in_url, as_fields):
        results, _ = audit(tmp_path, {"preset": "langfuse", **targets}, ALWAYS_PASS_WHEN_GOOD)
        assert statuses(results, ALWAYS_PASS_WHEN_GOOD) == {i: "pass" for i in ALWAYS_PASS_WHEN_GOOD}
        assert password not in str([r.to_dict() for r in results.values()])


def test_parse_url_understands_every_form() -> None:
    ep = parse_url("redis+sentinel://:pw@s1:26379,s2,[::1]:26380/mymaster/2")
    assert (ep.topology, ep.master, ep.db, ep.password) == ("sentinel", "mymaster", 2, "pw")
    assert ep.hosts == (("s1", 26379), ("s2", 26379), ("::1", 26380))
    ep = parse_url("rediss+cluster://user:pw@n1:7000,n2:7001,n3")
    assert (ep.topology, ep.tls, ep.username, ep.hosts[2]) == ("cluster", True, "user", ("n3", 6379))
    assert parse_url("rediss://cache.example.com:6380/1").tls and parse_url("redis://h/3").db == 3
    assert parse_url("redis://onlypassword@h").password == "onlypassword"  # the old password-only form
    assert parse_url("unix:///run/redis.sock?db=2").unix_path == "/run/redis.sock"
    for bad, why in (("http://h", "scheme"), ("redis+sentinel://h:26379", "master's name"), ("redis://h/x", "number")):
        with pytest.raises(TargetUnavailable, match=why):
            parse_url(bad)


# --- TLS ---------------------------------------------------------------------------------------------------------

def test_tls_passes_over_rediss_and_fails_for_plain_traffic_off_the_host(redis_stack: RedisStack,
                                                                         tmp_path: Path) -> None:
    tls = {"redis": {"url": redis_stack.url(redis_stack.tls, scheme="rediss"),
                     "ca_file": str(redis_stack.tls_files.ca)}}
    results, _ = audit(tmp_path, tls, ["redis.tls", "redis.reachable", "redis.auth-required"])
    assert statuses(results, ["redis.tls", "redis.reachable", "redis.auth-required"]) == {
        "redis.tls": "pass", "redis.reachable": "pass", "redis.auth-required": "pass"}
    remote = {"redis": {"url": f"redis://127.0.0.2:{redis_stack.bad.port}/0"}}
    results, _ = audit(tmp_path, remote, ["redis.tls"])
    assert results["redis.tls"].status == "fail" and "127.0.0.2" in results["redis.tls"].message


def test_tls_mismatch_is_an_error_that_says_so(redis_stack: RedisStack, tmp_path: Path) -> None:
    plain_to_tls = {"redis": {"url": redis_stack.url(redis_stack.tls)}}
    results, _ = audit(tmp_path, plain_to_tls, ["redis.reachable"], timeout=2)
    assert results["redis.reachable"].status == "error" and "rediss://" in results["redis.reachable"].message
    tls_to_plain = {"redis": {"url": redis_stack.url(redis_stack.good, scheme="rediss"),
                              "ca_file": str(redis_stack.tls_files.ca)}}
    results, _ = audit(tmp_path, tls_to_plain, ["redis.reachable"], timeout=2)
    assert results["redis.reachable"].status == "error" and "TLS" in results["redis.reachable"].message
    unverified = {"redis": {"url": redis_stack.url(redis_stack.tls, scheme="rediss")}}  # no CA: self-signed
    results, _ = audit(tmp_path, unverified, ["redis.reachable"], timeout=2)
    assert results["redis.reachable"].status == "error" and "certificate" in results["redis.reachable"].message


# --- Sentinel and Cluster ----------------------------------------------------------------------------------------

def test_sentinel_topology_passes_with_a_linked_replica_and_fails_without(redis_stack: RedisStack,
                                                                          tmp_path: Path) -> None:
    port = redis_stack.sentinel.port
    ids = ["redis.reachable", "redis.ha", "redis.eviction-policy"]
    results, _ = audit(tmp_path, {"redis": {"url": f"redis+sentinel://:{PW}@127.0.0.1:{port}/good/0"}}, ids)
    assert statuses(results, ids) == {i: "pass" for i in ids}
    assert results["redis.reachable"].evidence["nodes"] == [f"127.0.0.1:{redis_stack.good.port}"]
    assert results["redis.ha"].evidence["replicas_online"] == {f"127.0.0.1:{redis_stack.good.port}": 1}
    results, _ = audit(tmp_path, {"redis": {"url": f"redis+sentinel://127.0.0.1:{port}/lonely/0"}}, ids)
    assert results["redis.ha"].status == "fail" and "0 linked replica" in results["redis.ha"].message
    results, _ = audit(tmp_path, {"redis": {"url": f"redis+sentinel://127.0.0.1:{port}/nosuch/0"}}, ids)
    assert results["redis.reachable"].status == "error" and "nosuch" in results["redis.reachable"].message


def test_cluster_topology_and_cluster_mode(redis_stack: RedisStack, tmp_path: Path) -> None:
    nodes = ",".join(f"127.0.0.1:{n.port}" for n in redis_stack.cluster)
    ids = ["redis.reachable", "redis.cluster-mode", "redis.ha", "redis.eviction-policy", "redis.queue-depth"]
    results, _ = audit(tmp_path, {"preset": "langfuse", "redis": {"url": f"redis+cluster://:{PW}@{nodes}"}}, ids)
    assert statuses(results, ids) == {"redis.reachable": "pass", "redis.cluster-mode": "pass", "redis.ha": "fail",
                                      "redis.eviction-policy": "pass", "redis.queue-depth": "pass"}
    assert len(results["redis.reachable"].evidence["nodes"]) == 3  # every primary, one connection each
    assert results["redis.ha"].evidence["cluster_state"] == "ok"  # healthy, but no primary has a replica
    assert "every node" in results["redis.eviction-policy"].message
    one_node = {"preset": "langfuse", "redis": {"url": redis_stack.url(redis_stack.cluster[0])}}
    results, _ = audit(tmp_path, one_node, ["redis.cluster-mode"])
    assert results["redis.cluster-mode"].status == "fail" and "CROSSSLOT" in results["redis.cluster-mode"].message


# --- external ----------------------------------------------------------------------------------------------------

def test_external_decides_from_the_host_patterns(redis_stack: RedisStack, tmp_path: Path) -> None:
    target = redis_stack.target(redis_stack.good)
    managed = checklist_with(tmp_path, {"redis.external": {"managed": [r"^127\.0\.0\.1$"]}})
    results, _ = audit(tmp_path, target, ["redis.external"], checklist=managed)
    assert results["redis.external"].status == "pass"
    unknown = checklist_with(tmp_path, {"redis.external": {"managed": [], "bundled": []}})
    results, _ = audit(tmp_path, target, ["redis.external"], checklist=unknown)
    assert results["redis.external"].status == "error" and "cannot tell" in results["redis.external"].message


# --- generic probes and CONFIG -----------------------------------------------------------------------------------

def test_generic_info_and_config_items(redis_stack: RedisStack, tmp_path: Path) -> None:
    checklist = checklist_with(tmp_path, extra=[
        generic_item("redis.x-aof", "redis.info", field="aof_enabled", section="persistence", expect={"equals": 0}),
        generic_item("redis.x-protected", "redis.config", parameter="protected-mode", expect={"equals": "yes"}),
    ])
    ids = ["redis.x-aof", "redis.x-protected"]
    results, _ = audit(tmp_path, redis_stack.target(redis_stack.good), ids, checklist=checklist)
    assert statuses(results, ids) == {"redis.x-aof": "pass", "redis.x-protected": "pass"}
    results, _ = audit(tmp_path, redis_stack.target(redis_stack.bad), ids, checklist=checklist)
    assert results["redis.x-protected"].status == "fail"
    assert results["redis.x-protected"].message == "protected-mode is no, expected = yes"


def test_config_refused_is_an_error_for_config_items_only(redis_stack: RedisStack, tmp_path: Path) -> None:
    checklist = checklist_with(tmp_path, extra=[
        generic_item("redis.x-protected", "redis.config", parameter="protected-mode", expect={"equals": "yes"})])
    ids = ["redis.x-protected", *ALWAYS_PASS_WHEN_GOOD]
    results, _ = audit(tmp_path, {"preset": "langfuse", **redis_stack.target(redis_stack.noconfig)}, ids,
                       checklist=checklist)
    refused = results["redis.x-protected"]
    assert refused.status == "error" and "CONFIG GET protected-mode is refused" in refused.message
    assert "parameter group" in refused.message
    assert statuses(results, ALWAYS_PASS_WHEN_GOOD) == {i: "pass" for i in ALWAYS_PASS_WHEN_GOOD}


# --- broken targets ----------------------------------------------------------------------------------------------

def test_a_down_server_a_wrong_password_and_a_black_hole_are_errors(redis_stack: RedisStack, tmp_path: Path) -> None:
    ids = ["redis.reachable", "redis.eviction-policy", "redis.dedicated"]
    down = {"redis": {"url": f"redis://127.0.0.1:{free_port()}/0"}}
    results, _ = audit(tmp_path, down, ids)
    assert {r.status for i, r in results.items() if i in ids} == {"error"}
    assert "Connection refused" in results["redis.reachable"].message
    wrong = {"redis": {"url": redis_stack.url(redis_stack.good, "not-the-password")}}
    results, _ = audit(tmp_path, wrong, ids)
    assert {r.status for i, r in results.items() if i in ids} == {"error"}
    assert "refused the credentials" in results["redis.reachable"].message
    assert "not-the-password" not in str([r.to_dict() for r in results.values()])
    hole = BlackHole()
    try:
        started = time.monotonic()
        results, _ = audit(tmp_path, {"redis": {"url": f"redis://127.0.0.1:{hole.port}/0"}}, ids, timeout=1.0)
        elapsed = time.monotonic() - started
    finally:
        hole.close()
    assert {r.status for i, r in results.items() if i in ids} == {"error"}
    assert elapsed < 3.0  # one timeout for the target, not one per item


# --- read-only ---------------------------------------------------------------------------------------------------

class Monitor:
    """MONITOR on a real server, in a thread: every command other clients send, as (name, args)."""

    def __init__(self, port: int, password: str):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(f"AUTH {password}\r\nMONITOR\r\n".encode())
        self.lines: list[str] = []
        self.buffer = b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        end = time.monotonic() + 5
        while self.buffer.count(b"+OK") < 2 and time.monotonic() < end:
            time.sleep(0.01)

    def _read(self) -> None:
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            self.buffer += chunk

    def commands(self) -> list[list[str]]:
        """The commands of the clients that connected while MONITOR ran (their first command is AUTH or HELLO),
        leaving out the fixture's Sentinel and replica: Sentinel PINGs, sends INFO and PUBLISHes __sentinel__:hello
        on its own long-lived connections, and names itself sentinel-... whenever it reconnects."""
        time.sleep(0.2)
        self.sock.close()
        by_client: dict[str, list[list[str]]] = {}
        for line in self.buffer.decode(errors="replace").splitlines():
            match = re.match(r"^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$", line)
            if match:
                args = [a.replace('\\"', '"') for a in re.findall(r'"((?:[^"\\]|\\.)*)"', match[2])]
                by_client.setdefault(match[1], []).append(args)
        out = []
        for sent in by_client.values():
            sent = [c for c in sent if c]
            names = [command_name(c) for c in sent]
            others = any(n in ("REPLCONF", "PSYNC") or (n == "CLIENT SETNAME" and "sentinel" in " ".join(c))
                         or (n == "PUBLISH" and "__sentinel__" in " ".join(c))
                         for n, c in zip(names, sent, strict=True))
            if names and names[0] in ("AUTH", "HELLO") and not others:
                out.extend(sent)
        return out


def test_the_audit_sends_read_commands_only_and_info_once(redis_stack: RedisStack, tmp_path: Path) -> None:
    monitor = Monitor(redis_stack.good.port, PW)
    for preset in ("langfuse", "langsmith", "langsight"):
        audit(tmp_path, {"preset": preset, **redis_stack.target(redis_stack.good)}, ["redis"])
    seen = monitor.commands()
    names = [command_name(c) for c in seen]
    assert names, "MONITOR saw nothing: the test would prove nothing"
    handshake = {"AUTH", "HELLO"}  # redis-py's connection handshake (MONITOR shows AUTH with its arguments redacted)
    assert set(names) <= READ_COMMANDS | handshake, set(names) - READ_COMMANDS
    assert names.count("INFO") == 3  # once per audit, shared by every INFO item
    assert {"SCAN", "PING", "INFO"} <= set(names)


def test_an_acl_user_without_write_commands_gets_the_same_verdicts(redis_stack: RedisStack, tmp_path: Path) -> None:
    import redis

    user, password = AUDITOR
    limited = redis.Redis(host="127.0.0.1", port=redis_stack.good.port, username=user, password=password)
    with pytest.raises(redis.exceptions.NoPermissionError):
        limited.set("readiness-probe", "1")  # the control: this user cannot write
    limited.close()
    as_admin, _ = audit(tmp_path, {"preset": "langfuse", **redis_stack.target(redis_stack.good)}, ["redis"])
    as_reader, _ = audit(tmp_path, {"preset": "langfuse", "redis": {
        "url": redis_stack.url(redis_stack.good, password, user)}}, ["redis"])
    assert statuses(as_reader) == statuses(as_admin)
    assert not [r.message for r in as_reader.values() if "NOPERM" in r.message or "permission" in r.message]
    assert client(redis_stack.good.port).dbsize() == 5  # nothing was added


def test_probe_modules_import_no_client_library() -> None:
    import subprocess
    import sys

    code = ("import sys, readiness.checks.redis, readiness.checks.redis_capacity, readiness.checks.redis_keys, "
            "readiness.checks.postgres, readiness.checks.postgres_pool, "
            "readiness.checks.postgres_storage, readiness.clients.redis, readiness.clients.postgres; "
            "print(sorted(m for m in ('redis', 'psycopg', 'boto3', 'botocore') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unix_socket_url(redis_stack: RedisStack, tmp_path: Path) -> None:
    sock = redis_stack.good.workdir / "redis.sock"
    results, _ = audit(tmp_path, {"redis": {"url": f"unix://:{PW}@{sock}?db=0"}},
                       ["redis.reachable", "redis.tls", "redis.auth-required", "redis.eviction-policy"])
    assert {i: r.status for i, r in results.items() if i.startswith("redis.") and r.status != "skipped"} == {
        "redis.reachable": "pass", "redis.tls": "pass", "redis.auth-required": "pass", "redis.eviction-policy": "pass"}


def test_a_scan_cut_short_by_scan_limit_never_passes_a_whole_keyspace_item(redis_stack: RedisStack,
                                                                            tmp_path: Path) -> None:
    checklist = checklist_with(tmp_path, {"redis.key-ttls": {"scan_limit": 1}, "redis.failed-jobs": {"scan_limit": 1},
                                          "redis.dedicated": {"scan_limit": 1}})
    ids = ["redis.key-ttls", "redis.failed-jobs", "redis.dedicated"]
    results, _ = audit(tmp_path, {"preset": "langsight", **redis_stack.target(redis_stack.langsight)}, ids,
                       checklist=checklist)
    assert results["redis.dedicated"].status == "pass"  # a sample is a sample
    assert results["redis.key-ttls"].status == "error" and "scan_limit=1" in results["redis.key-ttls"].message
    results, _ = audit(tmp_path, {"preset": "langfuse", **redis_stack.target(redis_stack.good)}, ids,
                       checklist=checklist)
    # Langfuse's queue names are known: its failed sets are read by name, and the cut scan is only said.
    assert results["redis.failed-jobs"].status == "pass", results["redis.failed-jobs"].message
    assert "read by name" in results["redis.failed-jobs"].message
    assert "scan_limit=1 keys of 5" in results["redis.failed-jobs"].message
    unnamed = checklist_with(tmp_path, {"redis.failed-jobs": {"scan_limit": 1, "queue_names": []}})
    results, _ = audit(tmp_path, {"preset": "langfuse", **redis_stack.target(redis_stack.good)}, ids,
                       checklist=unnamed)
    assert results["redis.failed-jobs"].status == "error" and "raise it" in results["redis.failed-jobs"].message


def test_key_ttls_never_judges_queue_structures(redis_stack: RedisStack, tmp_path: Path) -> None:
    # The good server's BullMQ keys have no TTL, on purpose: widening `match` to every key must still pass.
    everything = checklist_with(tmp_path, {"redis.key-ttls": {"match": "*"}})
    results, _ = audit(tmp_path, {"preset": "langsight", **redis_stack.target(redis_stack.good)}, ["redis.key-ttls"],
                       checklist=everything)
    assert results["redis.key-ttls"].status == "pass" and results["redis.key-ttls"].evidence["checked"] == 0
    unguarded = checklist_with(tmp_path, {"redis.key-ttls": {"match": "*", "exclude": []}})
    results, _ = audit(tmp_path, {"preset": "langsight", **redis_stack.target(redis_stack.good)}, ["redis.key-ttls"],
                       checklist=unguarded)
    assert results["redis.key-ttls"].status == "fail"  # the control: those keys really have no TTL


def test_plugins_get_redis_py_read_methods_and_no_write_methods(redis_stack: RedisStack) -> None:
    from readiness.clients.redis import connect

    handle = connect({"url": redis_stack.url(redis_stack.good)}, 2.0)
    try:
        assert handle.llen("bull:ingestion-queue:wait") == 5  # as the README's plugin example does
        assert handle.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        for write in ("set", "delete", "config_set", "flushall", "client_setname"):
            with pytest.raises(AttributeError, match="read commands only"):
                getattr(handle, write)
    finally:
        handle.close()
