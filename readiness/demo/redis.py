"""Start real redis-server / redis-sentinel processes from a config written into a work dir (demo and tests)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from readiness.demo.backend import Backend
from readiness.demo.process import Server, free_port
from readiness.demo.tls import TlsFiles


@dataclass
class RedisSpec:
    """How to configure one redis-server; the defaults are a well-run production Redis."""

    password: str | None = "s3cret-redis"
    policy: str = "noeviction"
    maxmemory: str = "64mb"
    maxclients: int | None = None
    tls: TlsFiles | None = None
    replica_of: tuple[str, int] | None = None  # master host, port (masterauth = password)
    refuse_config: bool = False  # rename-command CONFIG "" (what managed Redis does)
    cluster: bool = False
    users: Sequence[str] = ()  # ACL rules, e.g. "user auditor on >pw ~* +@read"
    bind: str = "127.0.0.1"  # "127.0.0.1 127.0.0.2": also reachable at the tests' "other machine" address
    extra: Mapping[str, str] = field(default_factory=dict)


def redis_conf(spec: RedisSpec, port: int, workdir: Path) -> str:
    lines = [f"bind {spec.bind}", f"dir {workdir}", 'save ""', "appendonly no", "daemonize no", "loglevel notice",
             f"maxmemory {spec.maxmemory}", f"maxmemory-policy {spec.policy}",
             "repl-diskless-sync-delay 0"]  # a replica syncs at once instead of after 5 s
    if spec.tls:
        lines += ["port 0", f"tls-port {port}", f"tls-cert-file {spec.tls.cert}", f"tls-key-file {spec.tls.key}",
                  f"tls-ca-cert-file {spec.tls.ca}", "tls-auth-clients no"]
        if spec.replica_of:
            lines.append("tls-replication yes")
    else:
        lines.append(f"port {port}")
    if spec.password:
        lines.append(f"requirepass {_quoted(spec.password)}")
        lines.append(f"masterauth {_quoted(spec.password)}")
    else:
        lines.append("protected-mode no")
    if spec.maxclients:
        lines.append(f"maxclients {spec.maxclients}")
    if spec.replica_of:
        lines.append(f"replicaof {spec.replica_of[0]} {spec.replica_of[1]}")
    if spec.refuse_config:
        lines.append('rename-command CONFIG ""')
    if spec.cluster:
        # The bus port defaults to port + 10000, which overflows for high ports: pick one.
        lines += ["cluster-enabled yes", f"cluster-config-file {workdir}/nodes.conf", "cluster-node-timeout 5000",
                  f"cluster-port {free_port()}"]
    lines += list(spec.users)
    lines += [f"{k} {v}" for k, v in spec.extra.items()]
    return "\n".join(lines) + "\n"


def start_redis(workdir: Path, spec: RedisSpec | None = None, name: str = "redis", port: int | None = None) -> Server:
    """Write ``<workdir>/<name>.conf`` and start redis-server on a free 127.0.0.1 port; returns the running Server."""
    spec = spec or RedisSpec()
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / f"{name}.conf"
    conf.write_text(redis_conf(spec, port, workdir))
    return Server(name, [_binary("redis-server"), str(conf)], workdir, port=port).start()


def start_sentinel(workdir: Path, masters: Sequence[tuple[str, int, str | None]], name: str = "sentinel",
                   port: int | None = None, password: str | None = None) -> Server:
    """A Sentinel monitoring ``masters`` ((name, port, password) on 127.0.0.1), quorum 1; ``password``: the
    Sentinel's own (requirepass)."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [f"port {port}", "bind 127.0.0.1", f"dir {workdir}", "daemonize no", "protected-mode no"]
    if password:
        lines.append(f"requirepass {_quoted(password)}")
    for master, master_port, password in masters:
        lines += [f"sentinel monitor {master} 127.0.0.1 {master_port} 1",
                  f"sentinel down-after-milliseconds {master} 60000",
                  f"sentinel failover-timeout {master} 180000"]
        if password:
            lines.append(f"sentinel auth-pass {master} {_quoted(password)}")
    conf = workdir / f"{name}.conf"
    conf.write_text("\n".join(lines) + "\n")  # Sentinel rewrites its config: it must be a writable file
    return Server(name, [_binary("redis-sentinel"), str(conf)], workdir, port=port).start()


def create_cluster(ports: Sequence[int], password: str | None = None, timeout: float = 20.0) -> None:
    """Join redis-servers started with ``cluster=True`` into one cluster of primaries (no replicas)."""
    argv = [_binary("redis-cli"), "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-replicas",
            "0", "--cluster-yes"]
    if password:
        argv += ["-a", password, "--no-auth-warning"]
    subprocess.run(argv, check=True, capture_output=True, timeout=timeout)
    end = time.monotonic() + timeout
    while time.monotonic() < end:  # every node must agree before clients use it
        states = []
        for port in ports:
            cmd = [_binary("redis-cli"), "-p", str(port), "cluster", "info"]
            if password:
                cmd[1:1] = ["-a", password, "--no-auth-warning"]
            states.append("cluster_state:ok" in subprocess.run(cmd, capture_output=True, text=True).stdout)
        if all(states):
            return
        time.sleep(0.1)
    raise TimeoutError("the cluster did not reach cluster_state:ok")


def _quoted(value: str) -> str:
    """A redis.conf argument that may hold '#', spaces or quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not found:
        raise FileNotFoundError(f"{name} is not installed (apt-get install redis-server redis-sentinel)")
    return found


def demo_backend(workdir: Path) -> Backend:
    """Redis as Langfuse's docker-compose starts it: a password and noeviction (right), but no maxmemory (wrong)."""
    import redis

    password = "demo-redis-s3cret"
    server = start_redis(workdir, RedisSpec(password=password, maxmemory="0"), name="redis")
    try:
        assert server.port is not None  # started on a port of its own
        r = redis.Redis(host="127.0.0.1", port=server.port, password=password)
        r.rpush("bull:ingestion-queue:wait", *[f"job-{i}" for i in range(40)])
        r.zadd("bull:ingestion-queue:failed", {f"job-{i}": i for i in range(3)})
        r.hset("bull:ingestion-queue:meta", mapping={"opts.maxLenEvents": "10000"})
        r.close()
    except BaseException:
        server.stop()
        raise
    return Backend("redis", {"url": f"redis://:${{DEMO_REDIS_PASSWORD}}@127.0.0.1:{server.port}/0"}, [server],
                   {"DEMO_REDIS_PASSWORD": password})
