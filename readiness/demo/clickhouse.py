"""Real ClickHouse servers for the demo and the tests: Debian's clickhouse-server (config root ``<yandex>``) and
ZooKeeper, each with its own config, data directory and ports on 127.0.0.1, kept small for a 2-core machine.

- ``zookeeper(workdir, n)``: a standalone ZooKeeper (n = 1) or an ensemble of n.
- ``node(...)`` / ``cluster(...)``: one server, or the replicas of a 1-shard cluster sharing a ZooKeeper.
- ``start_demo(workdir)``: the demo's node, configured like a typical first deployment.

Schema and data are written through clickhouse-driver as the admin user, never through the audit's client.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from readiness.demo.backend import Backend
from readiness.demo.process import Server, free_port, wait_port

CLICKHOUSE = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
ZK_CLASSPATH = "/usr/share/java/zookeeper.jar"
ADMIN_PASSWORD = "ch-admin-pw"
APP_PASSWORD = "ch-app-pw"


@dataclass
class Users:
    """Who may log in: ``default`` (the admin), ``app`` (the product's user), ``auditor`` (the least-privileged audit
    user the README describes: a readonly=1 profile, loopback only, the product's databases and system) and
    ``outsider`` (read-only too, but allowed the system database alone: it cannot see the product's data).
    ``open_default``: the stock ``default`` user, passwordless and open to ::/0 (a finding)."""

    open_default: bool = False
    admin_password: str = ADMIN_PASSWORD
    app_password: str = APP_PASSWORD
    product_databases: tuple[str, ...] = ("default",)

    def xml(self) -> str:
        local = "<ip>127.0.0.1</ip><ip>::1</ip>"
        default = ("<default><password></password><networks><ip>::/0</ip></networks>"
                   "<profile>default</profile><quota>default</quota></default>") if self.open_default else (
            f"<default><password>{escape(self.admin_password)}</password><networks>{local}</networks>"
            "<profile>default</profile><quota>default</quota></default>")
        allowed = "".join(f"<database>{escape(d)}</database>" for d in self.product_databases)
        return f"""<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>1000000000</max_memory_usage>
      <max_threads>2</max_threads>
      <background_pool_size>2</background_pool_size>
      <background_schedule_pool_size>4</background_schedule_pool_size>
      <log_queries>1</log_queries>
    </default>
    <readonly><readonly>1</readonly><log_queries>1</log_queries></readonly>
  </profiles>
  <users>
    {default}
    <app><password>{escape(self.app_password)}</password><networks>{local}</networks>
      <profile>default</profile><quota>default</quota></app>
    <auditor><password>{escape(self.app_password)}</password><networks>{local}</networks>
      <profile>readonly</profile><quota>default</quota><allow_databases>{allowed}</allow_databases></auditor>
    <outsider><password>{escape(self.app_password)}</password><networks>{local}</networks>
      <profile>readonly</profile><quota>default</quota><allow_databases><database>system</database>
      </allow_databases></outsider>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows>
    <read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"""


@dataclass
class ZooKeeper:
    servers: list[Server]
    ports: list[int]

    def hosts(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", p) for p in self.ports]

    def stop(self) -> None:
        for s in self.servers:
            s.stop()


def zookeeper(workdir: Path, n: int = 1, heap_mb: int = 256) -> ZooKeeper:
    """Start ZooKeeper: standalone when n = 1, else an ensemble of n on loopback (``srvr`` allowed for probes)."""
    ports = [free_port() for _ in range(n)]
    peers = [(free_port(), free_port()) for _ in range(n)]
    servers = []
    for i in range(n):
        d = workdir / f"zk{i + 1}"
        (d / "data").mkdir(parents=True, exist_ok=True)
        lines = ["tickTime=500", "initLimit=10", "syncLimit=5", f"dataDir={d / 'data'}", f"clientPort={ports[i]}",
                 "clientPortAddress=127.0.0.1", "admin.enableServer=false", "4lw.commands.whitelist=srvr,ruok,mntr",
                 "maxSessionTimeout=60000"]
        if n > 1:
            (d / "data" / "myid").write_text(f"{i + 1}\n")
            lines += [f"server.{j + 1}=127.0.0.1:{peers[j][0]}:{peers[j][1]};127.0.0.1:{ports[j]}" for j in range(n)]
        (d / "zoo.cfg").write_text("\n".join(lines) + "\n")
        (d / "log4j.properties").write_text(
            "log4j.rootLogger=WARN, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.CONSOLE.layout.ConversionPattern=%d %p %c{1} %m%n\n")
        argv = ["java", f"-Xmx{heap_mb}m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
                "-Dzookeeper.jmx.log4j.disable=true", "-cp", f"{d}:{ZK_CLASSPATH}",
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(d / "zoo.cfg")]
        servers.append(Server(f"zookeeper{i + 1}", argv, d, port=ports[i]))
    for s in servers:  # an ensemble member listens only once its peers are up: start all, then wait
        s.port, port = None, s.port
        s.start()
        s.port = port
    zk = ZooKeeper(servers, ports)
    for s in servers:
        assert s.port is not None
        wait_port(s.port, timeout=60, proc=s.proc, log=s.log)
    _wait_serving(zk)
    return zk


def _wait_serving(zk: ZooKeeper, timeout: float = 60.0) -> None:
    import socket

    end = time.monotonic() + timeout
    for port in zk.ports:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                    sock.sendall(b"srvr")
                    if b"Mode:" in sock.recv(4096):
                        break
            except OSError:
                pass
            if time.monotonic() > end:
                raise TimeoutError(f"ZooKeeper on {port} is not serving after {timeout}s")
            time.sleep(0.1)


@dataclass
class Node:
    """A running clickhouse-server and how to reach it."""

    server: Server
    port: int
    interserver_port: int
    name: str
    users: Users
    timezone: str
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self, user: str = "default", password: str | None = None, database: str = "default") -> str:
        if password is None:
            password = "" if (user == "default" and self.users.open_default) else (
                self.users.admin_password if user == "default" else self.users.app_password)  # the others
        auth = f"{user}:{password}@" if password else f"{user}@"
        return f"clickhouse://{auth}127.0.0.1:{self.port}/{database}"

    def admin(self) -> Any:
        """A read-write clickhouse-driver client as the admin, for setting up schema and data."""
        from clickhouse_driver import Client  # type: ignore[import-untyped]

        password = "" if self.users.open_default else self.users.admin_password
        return Client(host="127.0.0.1", port=self.port, user="default", password=password, connect_timeout=5,
                      send_receive_timeout=30)

    def sql(self, *statements: str) -> list[Any]:
        client = self.admin()
        try:
            return [client.execute(s) for s in statements]
        finally:
            client.disconnect()

    def start(self) -> Node:
        self.server.start(timeout=60)
        wait_port(self.port, timeout=60, proc=self.server.proc, log=self.server.log)
        wait_sql(self)
        return self

    def stop(self) -> None:
        self.server.stop()


def wait_sql(node: Node, sql: str = "SELECT 1", timeout: float = 60.0) -> None:
    """Until ``sql`` runs on the node (it is up; or, with a system.zookeeper query, it reaches Keeper again)."""
    end = time.monotonic() + timeout
    while True:
        try:
            node.sql(sql)
            return
        except Exception:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def _remote_servers(clusters: Mapping[str, Sequence[Sequence[int]]]) -> str:
    out = []
    for name, shards in clusters.items():
        shard_xml = "".join(
            "<shard><internal_replication>true</internal_replication>"
            + "".join(f"<replica><host>127.0.0.1</host><port>{p}</port></replica>" for p in ports)
            + "</shard>" for ports in shards)
        out.append(f"<{name}>{shard_xml}</{name}>")
    return "<remote_servers>" + "".join(out) + "</remote_servers>"


def node(workdir: Path, name: str, *, users: Users | None = None, port: int | None = None,
         zookeeper_hosts: Iterable[tuple[str, int]] = (), clusters: Mapping[str, Sequence[Sequence[int]]] | None = None,
         macros: dict[str, str] | None = None, timezone: str = "UTC", query_log: bool = True,
         merge_tree: dict[str, int] | None = None, http_port: int | None = None) -> Node:
    """Write a node's config into ``workdir/name`` and return it, not started (``http_port``: also serve HTTP)."""
    users = users or Users()
    d = workdir / name
    for sub in ("data", "tmp", "user_files", "format_schemas"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    inter = free_port()
    zk = "".join(f"<node><host>{h}</host><port>{p}</port></node>" for h, p in zookeeper_hosts)
    parts = [
        f"<logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog>"
        "<console>0</console></logger>",
        f"<tcp_port>{port}</tcp_port>",
        f"<interserver_http_port>{inter}</interserver_http_port><interserver_http_host>127.0.0.1"
        "</interserver_http_host>",
        "<listen_host>127.0.0.1</listen_host>",
        f"<path>{d}/data/</path><tmp_path>{d}/tmp/</tmp_path><user_files_path>{d}/user_files/</user_files_path>",
        f"<format_schema_path>{d}/format_schemas/</format_schema_path>",
        "<users_config>users.xml</users_config><default_profile>default</default_profile>",
        "<default_database>default</default_database>",
        f"<timezone>{escape(timezone)}</timezone>",
        "<mark_cache_size>33554432</mark_cache_size><uncompressed_cache_size>33554432</uncompressed_cache_size>",
        "<max_concurrent_queries>50</max_concurrent_queries>",
        "<builtin_dictionaries_reload_interval>0</builtin_dictionaries_reload_interval>",
        _remote_servers(clusters or {}),
    ]
    if http_port:
        parts.append(f"<http_port>{http_port}</http_port>")
    if zk:
        parts.append(f"<zookeeper>{zk}<session_timeout_ms>3000</session_timeout_ms></zookeeper>")
    if macros:
        parts.append("<macros>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in macros.items()) + "</macros>")
    if query_log:
        parts.append("<query_log><database>system</database><table>query_log</table>"
                     "<partition_by>toYYYYMM(event_date)</partition_by>"
                     "<flush_interval_milliseconds>300</flush_interval_milliseconds></query_log>")
    if merge_tree:
        parts.append("<merge_tree>" + "".join(f"<{k}>{v}</{k}>" for k, v in merge_tree.items()) + "</merge_tree>")
    (d / "config.xml").write_text('<?xml version="1.0"?>\n<yandex>\n  ' + "\n  ".join(parts) + "\n</yandex>\n")
    (d / "users.xml").write_text(users.xml())
    server = Server(f"clickhouse-{name}", [CLICKHOUSE, f"--config-file={d / 'config.xml'}"], d, port=port)
    return Node(server, port, inter, name, users, timezone, {"http_port": http_port} if http_port else {})


def cluster(workdir: Path, zk: ZooKeeper, replicas: int = 3, name: str = "readiness",
            users: Users | None = None, timezone: str = "UTC") -> list[Node]:
    """The replicas of a 1-shard cluster ``name`` (and ``<name>_two_shards``, the same hosts as two shards), started."""
    ports = [free_port() for _ in range(replicas)]
    clusters = {name: [ports], f"{name}_two_shards": [ports[: (replicas + 1) // 2], ports[(replicas + 1) // 2:]]}
    nodes = [node(workdir, f"replica{i + 1}", users=users, port=ports[i], zookeeper_hosts=zk.hosts(),
                  clusters=clusters, macros={"shard": "01", "replica": f"replica{i + 1}", "cluster": name},
                  timezone=timezone, merge_tree={"zookeeper_session_expiration_check_period": 2})
             for i in range(replicas)]  # a replica notices a lost Keeper session within 2 s, not 60
    return start_all(nodes)


def start_all(nodes: Sequence[Node]) -> list[Node]:
    for n in nodes:  # start every process first: they start in parallel, then wait for each
        n.server.port, port = None, n.server.port
        n.server.start()
        n.server.port = port
    try:
        for n in nodes:
            assert n.server.port is not None
            wait_port(n.port, timeout=60, proc=n.server.proc, log=n.server.log)
            wait_sql(n)
    except Exception:
        for n in nodes:
            n.stop()
        raise
    return list(nodes)


# --- schema and data ---------------------------------------------------------------------------------------------

TRACE_TABLES = ("traces", "observations", "scores")


def trace_tables(n: Node, replicated: bool, tables: Iterable[str] = TRACE_TABLES) -> None:
    """Langfuse-shaped trace tables (replicated through ZooKeeper when asked)."""
    for table in tables:
        engine = (f"ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{table}', '{{replica}}')" if replicated
                  else "MergeTree")
        n.sql(f"CREATE TABLE IF NOT EXISTS default.{table} (id String, project_id String, timestamp DateTime, "
              f"value Float64) ENGINE = {engine} PARTITION BY toYYYYMM(timestamp) ORDER BY (project_id, id)")


def migrations(n: Node, dirty_last: bool) -> None:
    """golang-migrate's table, as migrate leaves it after a clean run or a failed last migration."""
    n.sql("CREATE TABLE IF NOT EXISTS default.schema_migrations (version Int64, dirty UInt8, sequence UInt64) "
          "ENGINE = TinyLog",
          "INSERT INTO default.schema_migrations SELECT number + 1, "
          f"if(number = 2, {1 if dirty_last else 0}, 0), number + 1 FROM system.numbers LIMIT 3")


def runs(n: Node, delay_s: int, rows: int = 50, replicated: bool = False, insert: bool = True) -> None:
    """LangSmith-shaped runs, each inserted ``delay_s`` after it was received."""
    engine = "ReplicatedMergeTree('/clickhouse/tables/{shard}/runs', '{replica}')" if replicated else "MergeTree"
    n.sql("CREATE TABLE IF NOT EXISTS default.runs (id String, received_at DateTime, inserted_at DateTime) "
          f"ENGINE = {engine} ORDER BY id")
    if insert:
        n.sql(f"INSERT INTO default.runs SELECT toString(number), now() - {delay_s} - number, now() - number "
              f"FROM system.numbers LIMIT {rows}")


def many_parts(n: Node, table: str, parts: int) -> None:
    """``parts`` active parts in one partition: merges stopped, one insert each."""
    n.sql(f"SYSTEM STOP MERGES default.{table}")
    client = n.admin()
    try:
        for i in range(parts):
            client.execute(f"INSERT INTO default.{table} SELECT 'p{i}', 'proj', toDateTime('2024-01-15 00:00:00'), "
                           f"{i}")
    finally:
        client.disconnect()


def slow_queries(n: Node, count: int, seconds: float) -> None:
    """``count`` queries of ``seconds`` each, run concurrently (they land in query_log)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(count) as pool:
        list(pool.map(lambda _: n.sql(f"SELECT sleep({seconds})"), range(count)))


def flush_logs(n: Node, timeout: float = 15.0) -> None:
    """Wait until query_log holds everything run so far (18.16 has no SYSTEM FLUSH LOGS): a marker query is
    logged after all of it."""
    marker = f"flush-{time.monotonic_ns()}"
    n.sql(f"SELECT '{marker}'")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = n.sql("SELECT count() FROM system.tables WHERE database = 'system' AND name = 'query_log'")[0][0][0]
        if found and n.sql(f"SELECT count() FROM system.query_log WHERE query = 'SELECT \\'{marker}\\''")[0][0][0]:
            return
        time.sleep(0.1)
    raise TimeoutError(f"query_log on {n.name} did not catch up within {timeout}s")


# --- the demo ----------------------------------------------------------------------------------------------------

def start_demo(workdir: Path) -> tuple[list[Server], dict[str, Any]]:
    """The demo's ClickHouse: one node as a first install often is (passwordless default user open to ::/0, a
    dirty migration, no replication), with Langfuse-shaped tables.  Returns the servers to stop and the targets
    file's ``clickhouse:`` entry."""
    port = free_port()
    n = node(workdir, "demo-clickhouse", users=Users(open_default=True), port=port, clusters={"default": [[port]]})
    n.start()
    try:
        trace_tables(n, replicated=False)
        migrations(n, dirty_last=True)
        n.sql("INSERT INTO default.traces SELECT toString(number), 'demo', now() - number, 1 "
              "FROM system.numbers LIMIT 1000")
    except Exception:
        n.stop()
        raise
    return [n.server], {"url": n.url("default", ""), "cluster": "default"}


def demo_backend(workdir: Path) -> Backend:
    """The demo's ClickHouse, in the shape readiness.demo.run expects."""
    servers, target = start_demo(workdir)
    return Backend("clickhouse", target, servers)
