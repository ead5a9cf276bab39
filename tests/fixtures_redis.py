"""Real Redis servers for the probe tests, started once per session on 127.0.0.1 high ports.

good       password, noeviction, maxmemory 64mb, Langfuse (bull:) keys only, an ACL user limited to read commands
bad        no password, allkeys-lru, no maxmemory, maxclients 30, foreign keys, keys in db 3, evictions and rejected
           connections in its stats, a deep queue and a big failed set, a langsight: key without TTL
langsight  a good LangSight Redis (langsight: keys with TTLs)
replica    replica of good, maxmemory 1mb (already over 80% of it)
sentinel   monitors good (with its replica) and lonely (= bad, no replica)
tls        good, on a TLS port;  noconfig: good, with CONFIG renamed away (like managed Redis)
cluster    three primaries in Cluster mode, no replicas
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fixtures_tls import stop_all
from servers import Server

from readiness.demo.redis import RedisSpec, create_cluster, start_redis, start_sentinel
from readiness.demo.tls import TlsFiles

PW = "s3cret-redis"
AUDITOR = ("auditor", "audit-pw")
# Exactly what the audit needs (the README's least-privilege ACL), and nothing else: read-only key access, no channels.
AUDITOR_ACL = (f"user {AUDITOR[0]} on >{AUDITOR[1]} resetchannels %R~* -@all +ping +info +scan +type +ttl +llen "
               "+zcard +xlen +scard +hlen +config|get +cluster|info +cluster|slots +select +hello")
# May run INFO and SCAN but not TYPE/LLEN/ZCARD/TTL: the identity that must never pass a key-judging item.
RESTRICTED = ("restricted", "restricted-pw")
RESTRICTED_ACL = (f"user {RESTRICTED[0]} on >{RESTRICTED[1]} resetchannels ~* -@all +ping +info +scan +config|get "
                  "+select +hello")


@dataclass
class RedisStack:
    good: Server
    bad: Server
    langsight: Server
    replica: Server
    sentinel: Server
    tls: Server
    noconfig: Server
    cluster: list[Server]
    tls_files: TlsFiles
    servers: list[Server] = field(default_factory=list)

    def url(self, server: Server, password: str | None = PW, user: str = "", scheme: str = "redis") -> str:
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        return f"{scheme}://{auth}127.0.0.1:{server.port}/0"

    def target(self, server: Server, **extra: object) -> dict[str, object]:
        password = None if server is self.bad else PW
        return {"redis": {"url": self.url(server, password), **extra}}


def client(port: int, password: str | None = PW, db: int = 0):  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis(host="127.0.0.1", port=port, password=password, db=db, decode_responses=True)


def _seed_good(port: int) -> None:
    r = client(port)
    r.rpush("bull:ingestion-queue:wait", *[f"job-{i}" for i in range(5)])
    r.rpush("bull:trace-upsert:wait", "a", "b")
    r.zadd("bull:ingestion-queue:failed", {"j1": 1, "j2": 2, "j3": 3})
    r.hset("bull:ingestion-queue:meta", mapping={"opts.maxLenEvents": "10000"})
    r.set("bull:ingestion-queue:id", 42)
    r.close()


def _seed_bad(port: int) -> None:
    r = client(port, None)
    # Evictions on the record: a short spell with a tiny maxmemory under allkeys-lru, then back to unbounded.
    r.config_set("maxmemory", "2mb")
    for i in range(300):
        r.set(f"cache:blob:{i}", "x" * 20000)
    assert int(r.info("stats")["evicted_keys"]) > 0
    r.config_set("maxmemory", "0")
    r.flushdb()
    pipe = r.pipeline(transaction=False)
    for start in range(0, 12000, 2000):
        pipe.rpush("bull:ingestion-queue:wait", *[f"job-{i}" for i in range(start, start + 2000)])
    pipe.zadd("bull:ingestion-queue:failed", {f"failed-{i}": i for i in range(1500)})
    pipe.set("session:4f2a", "someone else's web session")
    pipe.set("celery-task-meta-77", "{}")
    pipe.set("langsight:cb:leaked", "open")
    pipe.set("langsight:alerts:dedup:ok", "1", ex=86400)
    pipe.execute()
    client(port, None, db=3).set("other-app:key", "v")
    r.close()
    # Rejected connections on the record: more sockets than maxclients.
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
    time.sleep(0.2)
    for s in socks:
        s.close()
    assert int(client(port, None).info("stats")["rejected_connections"]) > 0


def _seed_langsight(port: int) -> None:
    r = client(port)
    r.set("langsight:cb:payments-api", "closed", ex=86400)
    r.set("langsight:alerts:dedup:abc", "1", ex=3600)
    r.close()


def _wait(predicate, what: str, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def redis_stack(request: pytest.FixtureRequest, server_root: Path, tls_files: TlsFiles) -> Iterator[RedisStack]:
    root = server_root / "redis"
    started: list[Server] = []

    def start(name: str, spec: RedisSpec) -> Server:
        server = start_redis(root / name, spec, name=name)
        started.append(server)
        return server

    try:
        good = start("good", RedisSpec(users=[AUDITOR_ACL], extra={"unixsocket": str(root / "good" / "redis.sock"),
                                                                   "unixsocketperm": "700"}))
        _seed_good(good.port)
        bad = start("bad", RedisSpec(password=None, policy="allkeys-lru", maxmemory="0", maxclients=30,
                                     bind="127.0.0.1 127.0.0.2", users=[RESTRICTED_ACL]))
        _seed_bad(bad.port)
        langsight = start("langsight", RedisSpec())
        _seed_langsight(langsight.port)
        replica = start("replica", RedisSpec(replica_of=("127.0.0.1", good.port), maxmemory="1mb"))
        _wait(lambda: client(replica.port).info("replication")["master_link_status"] == "up", "the replica")
        sentinel = start_sentinel(root / "sentinel", [("good", good.port, PW), ("lonely", bad.port, None)])
        started.append(sentinel)
        _wait(lambda: len(client(sentinel.port, None).sentinel_slaves("good")) == 1, "Sentinel to see the replica")
        tls = start("tls", RedisSpec(tls=tls_files))
        noconfig = start("noconfig", RedisSpec(refuse_config=True))
        nodes = [start(f"node{i}", RedisSpec(cluster=True)) for i in range(3)]
        create_cluster([n.port for n in nodes], PW)
    except BaseException:
        for server in started:
            server.stop()
        raise
    yield RedisStack(good, bad, langsight, replica, sentinel, tls, noconfig, nodes, tls_files, started)
    stop_all(request, started, "redis")


@contextmanager
def scratch_redis(root: Path, name: str, **spec: Any) -> Iterator[Server]:
    """A redis-server of its own for one test module (binary keys, a server to freeze), always stopped."""
    server = start_redis(root / "redis-scratch" / name, RedisSpec(**spec), name=name)
    try:
        yield server
    finally:
        server.stop()


def redis_checklist(tmp_path: Path, overrides: dict[str, dict[str, Any]] | None = None,
                    extra: list[dict[str, Any]] | None = None) -> str:
    """The packaged checklist's redis section alone, with some items' ``with`` changed and ``extra`` items added."""
    import yaml

    from readiness.checklist import default_path

    data = yaml.safe_load(Path(default_path()).read_text())
    data["sections"] = [s for s in data["sections"] if s["id"] == "redis"]
    for item in data["sections"][0]["items"]:
        if item["id"] in (overrides or {}):
            item["with"] = {**(item.get("with") or {}), **(overrides or {})[item["id"]]}
            item.pop("preset_with", None)
    data["sections"][0]["items"].extend(extra or [])
    path = tmp_path / "redis-checklist.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)
