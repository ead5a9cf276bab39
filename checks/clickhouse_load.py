"""ClickHouse load and sizing: running queries, query latency, ingestion delay, diagnostics tables, async inserts,
node resources and the memory limit."""

from __future__ import annotations

import math
from typing import Any

from readiness.checks._clickhouse_facts import blind_spot, number
from readiness.checks.clickhouse import every_node, on_first, on_nodes, split

from readiness.clients.clickhouse import ClickHouse, ClickHouseError, Ident, Node, statement
from readiness.probe import Param, Verdict, failed, passed, probe, undecided

GIB = 1024**3
RUNNING_QUERIES = statement("running-queries", "SELECT value FROM system.metrics WHERE metric = 'Query'")
QUERY_LATENCY = statement(
    "query-latency", "SELECT count() AS queries, quantile({q})(query_duration_ms) AS ms FROM system.query_log "
                     "WHERE toUInt8(type) = 2 AND event_time > now() - {window} AND client_name NOT LIKE '%readiness%'",
    needs=["system.query_log.client_name"],
    instead="query_log is off on this node: enable <query_log> in the server config (and log_queries = 1), or read "
            "the p95 query duration from your monitoring",
    example={"q": 0.95, "window": 3600})
COLUMNS_OF = statement(
    "columns-of", "SELECT name, type FROM system.columns WHERE database = {db} AND table = {table}",
    example={"db": "default", "table": "runs"})
INGESTION_DELAY = statement(
    "ingestion-delay", "SELECT count() AS rows, quantile({q})(toUInt32({inserted}) - toUInt32({received})) AS s "
                       "FROM {db}.{table} WHERE {inserted} > now() - {window}",
    example={"q": 0.95, "window": 3600, "db": Ident("default"), "table": Ident("runs"),
             "inserted": Ident("inserted_at"), "received": Ident("received_at")})
READ_ONE = statement("read-one", "SELECT count() AS n FROM (SELECT 1 FROM system.{table} LIMIT 1)",
                     example={"table": Ident("parts")})
SETTINGS = statement("settings", "SELECT name, value FROM system.settings WHERE has({names}, name)",
                     example={"names": ["async_insert", "wait_for_async_insert"]})
RESOURCES = statement(
    "resources", "SELECT metric, value FROM system.asynchronous_metrics WHERE metric IN ('OSMemoryTotal', "
                 "'CGroupMemoryTotal', 'CGroupMaxCPU') OR metric LIKE 'OSUserTimeCPU%'",
    needs=["system.asynchronous_metrics"],
    instead="check each node's CPU and memory limits (kubectl describe pod, or the VM size) and attest")
SERVER_MEMORY = statement(
    "server-memory", "SELECT name, value FROM system.server_settings WHERE name IN ('max_server_memory_usage', "
                     "'max_server_memory_usage_to_ram_ratio')",
    needs=["system.server_settings"], instead="max_server_memory_usage is in the server's config.xml")


@probe("clickhouse.running-queries", target="clickhouse", params={
    "max": Param("int", 100, help="running queries at or above this count are a finding"),
})
def running_queries(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Fewer than ``max`` queries run at once on every node (the probe's own query is not counted)."""
    ok, bad = split(on_nodes(ctx, RUNNING_QUERIES))
    for node, rows in ok.items():
        if len(rows) != 1 or rows[0].get("value") is None:
            bad[node] = f"system.metrics gave {len(rows)} rows for metric Query, not one: nothing to count"
    running = {node: max(0, int(number(rows[0]["value"], f"{node} running queries")) - 1) for node, rows in ok.items()
               if node not in bad}
    findings = {n: f"{v} running queries" for n, v in running.items() if v >= p["max"]}
    text = "; ".join(f"{n}: {t}" for n, t in findings.items()) + f" (want < {p['max']}): queries queue and time out"
    return every_node(ctx, running, findings, bad, text, f"{max(running.values(), default=0)} running queries at most "
                                                f"(< {p['max']})", running=running)


@probe("clickhouse.query-latency", target="clickhouse", params={
    "max_ms": Param("number", 2000, help="highest acceptable query duration at the quantile, in milliseconds"),
    "quantile": Param("number", 0.95, help="which quantile of query_duration_ms is judged"),
    "window_s": Param("int", 3600, help="how far back query_log is read, in seconds"),
})
def query_latency(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The p95 duration of finished queries over the last hour (system.query_log, the audit's own queries
    excluded) is below max_ms on every node."""
    ok, bad = split(on_nodes(ctx, QUERY_LATENCY, {"q": float(p["quantile"]), "window": int(p["window_s"])}))
    label = f"p{round(p['quantile'] * 100)}"
    seen, findings = {}, {}
    for node, rows in ok.items():
        if not rows or not number(rows[0]["queries"], f"{node} query_log count"):
            bad[node] = f"no finished queries in query_log over the last {p['window_s']} s"
            continue
        ms = number(rows[0]["ms"], f"{node} {label} query duration")
        seen[node] = {"queries": rows[0]["queries"], f"{label}_ms": round(ms, 1)}
        if ms >= p["max_ms"]:
            findings[node] = f"{label} query duration {ms / 1000:.2f} s over {rows[0]['queries']} queries"
    text = "; ".join(f"{n}: {t}" for n, t in findings.items()) + f" (want < {p['max_ms'] / 1000:g} s)"
    return every_node(ctx, seen, findings, bad, text, f"{label} query duration below {p['max_ms'] / 1000:g} s",
                      latency=seen)


@probe("clickhouse.ingestion-delay", target="clickhouse", params={
    "table": Param("str", "default.runs", help="db.table whose rows carry both timestamps"),
    "received": Param("str", "received_at", help="column: when the API received the item"),
    "inserted": Param("str", "inserted_at", help="column: when the row was written to ClickHouse"),
    "max_s": Param("number", 60, help="highest acceptable delay at the quantile, in seconds"),
    "quantile": Param("number", 0.95),
    "window_s": Param("int", 3600, help="rows inserted within this many seconds are judged"),
})
def ingestion_delay(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The p95 delay between receiving an item and writing it to ClickHouse, over the last hour, is below max_s."""
    c: ClickHouse = ctx.client
    db, dot, table = p["table"].partition(".")
    if not dot:
        db, table = c.first.endpoint.database, db
    columns = {r["name"]: r["type"] for r in on_first(ctx, COLUMNS_OF, {"db": db, "table": table})}
    if not columns:
        return undecided(f"no table {db}.{table} on {c.first.name}: set 'table' to where the product records "
                         "ingestion times")
    lacking = [col for col in (p["received"], p["inserted"]) if col not in columns]
    if lacking:
        return undecided(f"{db}.{table} has no column {', '.join(lacking)}: this product version does not record "
                         "ingestion times there (set 'received'/'inserted')", columns=sorted(columns))
    rows = on_first(ctx, INGESTION_DELAY, {"q": float(p["quantile"]), "window": int(p["window_s"]), "db": Ident(db),
                                           "table": Ident(table), "inserted": Ident(p["inserted"]),
                                           "received": Ident(p["received"])})
    label = f"p{round(p['quantile'] * 100)}"
    if not rows or not number(rows[0]["rows"], f"rows of {db}.{table}"):
        return undecided(f"no rows inserted into {db}.{table} over the last {p['window_s']} s: nothing to measure")
    delay = number(rows[0]["s"], f"{label} ingestion delay")
    evidence = {"rows": rows[0]["rows"], f"{label}_s": round(delay, 1), "table": f"{db}.{table}"}
    if delay >= p["max_s"]:
        return failed(f"{label} ingestion delay is {delay:.0f} s (want < {p['max_s']:g} s): traces show up late",
                      **evidence)
    return passed(f"{label} ingestion delay is {delay:.0f} s (< {p['max_s']:g} s)", **evidence)


@probe("clickhouse.system-tables", target="clickhouse", params={
    "tables": Param("str-list", ["query_log", "parts", "merges"], help="system tables that must exist and be "
                                                                       "readable"),
})
def system_tables(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The diagnostics tables (query_log, parts, merges) exist and are readable on every node."""
    def fetch(node: Node) -> dict[str, str]:
        have = node.columns()
        out = {}
        for table in p["tables"]:
            if table not in have:
                out[table] = "does not exist" + (" (query logging is off)" if table.endswith("_log") else "")
                continue
            try:
                node.query(READ_ONE, {"table": Ident(table)})
                out[table] = "readable"
            except ClickHouseError as exc:
                out[table] = f"not readable: {str(exc).removeprefix(node.name + ': ')}"
        return out

    hidden = blind_spot(ctx)  # readable tables that leave the product's databases out do not help in an incident
    if hidden:
        return hidden
    ok, bad = split(ctx.fact(f"system-tables:{p['tables']}", lambda c: c.each(fetch)))
    findings = {node: [f"system.{t} {s}" for t, s in states.items() if s != "readable"] for node, states in ok.items()}
    findings = {n: f for n, f in findings.items() if f}
    first = next(iter(findings.items()), None)
    text = f"{first[0]}: {'; '.join(first[1])}: diagnosing an incident will need them" if first else ""
    return every_node(ctx, ok, findings, bad, text, f"system.{', system.'.join(p['tables'])} readable on every node",
                      tables=ok)


@probe("clickhouse.settings", target="clickhouse", params={
    "settings": Param("dict", help="setting name -> required value, compared as text (booleans as 1/0)"),
    "user": Param("str", None, help="the application's user; the audit must connect as it to see its profile"),
})
def settings(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The session's settings (the connecting user's profile) have the given values on every node."""
    want = {k: ("1" if v is True else "0" if v is False else str(v)) for k, v in p["settings"].items()}
    user = ctx.client.first.endpoint.user
    if p["user"] and p["user"] != user:
        return undecided(f"the audit connects as {user}, not as the application's user {p['user']}: connect as "
                         f"{p['user']} to see its settings profile", audit_user=user)
    ok, bad = split(on_nodes(ctx, SETTINGS, {"names": sorted(want)}))
    findings: dict[str, list[str]] = {}
    seen: dict[str, dict[str, str]] = {}
    for node, rows in ok.items():
        values = {r["name"]: str(r["value"]) for r in rows}
        seen[node] = values
        missing = [k for k in want if k not in values]
        if missing:
            release = next((n.release for n in ctx.client.nodes if n.name == node), "?")
            bad[node] = (f"not available on ClickHouse {release} (no setting {', '.join(missing)}): upgrade, or "
                         "batch inserts in the application")
            continue
        wrong = [f"{k} = {values[k]}" for k in want if values[k] != want[k]]
        if wrong:
            findings[node] = wrong
    text = "; ".join(f"{n}: {', '.join(w)}" for n, w in findings.items()) + " (want " + ", ".join(
        f"{k} = {v}" for k, v in want.items()) + f" for {user})"
    wanted = ", ".join(f"{k} = {v}" for k, v in want.items())
    return every_node(ctx, [n for n in seen if n not in bad], findings, bad, text, f"{wanted} for {user}",
                      settings=seen, user=user)


def _resources(rows: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """(vCPUs, memory bytes) from asynchronous_metrics: the cgroup limits when set, else the host's."""
    m = {str(r["metric"]): number(r["value"], f"asynchronous metric {r['metric']}") for r in rows}
    cpus = m.get("CGroupMaxCPU") or (len([k for k in m if k.startswith("OSUserTimeCPU")]) or None)
    memory = m.get("CGroupMemoryTotal") or m.get("OSMemoryTotal")
    return cpus, memory


def _pod_limits(ctx: Any) -> tuple[dict[str, Any] | None, str]:
    """The ClickHouse container's resources from the kubernetes target (None, and why, when they cannot be read)."""
    from readiness.checks import _kubernetes_facts as kf

    ctx.session("kubernetes")  # raises "needs the kubernetes target ..." when it is not configured
    found = kf.container_resources(ctx, "clickhouse")
    if found is None:
        return None, ("no ClickHouse StatefulSet or Deployment in the kubernetes target's namespaces (a managed "
                      "ClickHouse has none)")
    return found, f"the ClickHouse container of {found['workload']}"


def _quantity(raw: Any) -> float | None:
    from readiness.checks import _kubernetes_facts as kf

    value = kf.quantity(raw)
    return value if value is not None and math.isfinite(value) and value > 0 else None


@probe("clickhouse.node-resources", target="clickhouse", reads=("statefulsets", "deployments"), params={
    "min_cpus": Param("number", 8, help="fewest vCPUs per node"),
    "min_memory_gb": Param("number", 32, help="least memory per node, GiB"),
})
def node_resources(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every node has at least min_cpus vCPUs and min_memory_gb of memory (cgroup limits when set, from
    system.asynchronous_metrics; where the server cannot tell, the pods' limits from the kubernetes target)."""
    ok, bad = split(on_nodes(ctx, RESOURCES))
    findings: dict[str, str] = {}
    seen = {}
    pods: tuple[float, float, str] | None = None
    if ctx.has("kubernetes") and any(None in _resources(rows) for rows in ok.values()):
        found, where = _pod_limits(ctx)
        if found is not None:
            cpu, mem = _quantity(found["limits"].get("cpu")), _quantity(found["limits"].get("memory"))
            if cpu is None or mem is None:
                return failed(f"{where} has no CPU and memory limits that are quantities (limits: "
                              f"{dict(found['limits'])}): set resources.limits so each node has >= "
                              f"{p['min_cpus']:g} vCPU and >= {p['min_memory_gb']:g} GiB", workload=found["workload"])
            pods = (cpu, mem, where)
    for node, rows in ok.items():
        cpus, memory = _resources(rows)
        if (cpus is None or memory is None) and pods is not None:
            cpus, memory = pods[0], pods[1]
        if cpus is None or memory is None:
            release = next((n.release for n in ctx.client.nodes if n.name == node), "?")
            bad[node] = (f"not available on ClickHouse {release} (no OSMemoryTotal / CGroupMaxCPU in "
                         "system.asynchronous_metrics): check each node's CPU and memory limits (kubectl describe "
                         "pod, or the VM size) and attest, or add the kubernetes target")
            continue
        seen[node] = {"vcpus": round(cpus, 1), "memory": f"{memory / GIB:.1f} GiB"}
        short = []
        if cpus < p["min_cpus"]:
            short.append(f"{cpus:g} vCPU")
        if memory < p["min_memory_gb"] * GIB:
            short.append(f"{memory / GIB:.1f} GiB")
        if short:
            findings[node] = " and ".join(short)
    note = f" ({pods[2]}'s limits, where the server cannot tell)" if pods else ""
    text = "; ".join(f"{n}: {t}" for n, t in findings.items()) + (
        f" (want >= {p['min_cpus']:g} vCPU and >= {p['min_memory_gb']:g} GiB){note}")
    return every_node(ctx, seen, findings, bad, text, f"every node has >= {p['min_cpus']:g} vCPU and "
                                                f">= {p['min_memory_gb']:g} GiB{note}", resources=seen)


@probe("clickhouse.memory-vs-limit", target="clickhouse", reads=("statefulsets", "deployments"), params={
    "max_ratio": Param("number", 0.9, help="highest max_server_memory_usage as a fraction of the container limit"),
    "min_limit_gb": Param("number", 8, help="smallest acceptable container memory limit, GiB"),
})
def memory_vs_limit(ctx: Any, p: dict[str, Any]) -> Verdict:
    """max_server_memory_usage stays below max_ratio x the ClickHouse container's memory limit, and the limit is at
    least min_limit_gb (the limit from the ClickHouse StatefulSet/Deployment of the kubernetes target)."""
    found, where = _pod_limits(ctx)
    if found is None:
        return undecided(f"{where}: compare max_server_memory_usage with the container's memory limit by hand")
    raw = found["limits"].get("memory")
    if raw is None:
        return failed(f"{where} has no memory limit: ClickHouse sizes its caches from the node's memory and can take "
                      "it all; set resources.limits.memory", workload=found["workload"])
    limit = _quantity(raw)
    if limit is None:
        return undecided(f"{where} has a memory limit that is not a quantity ({str(raw)[:40]})",
                         workload=found["workload"])
    evidence: dict[str, Any] = {"workload": found["workload"], "memory_limit": f"{limit / GIB:.1f} GiB"}
    if limit < p["min_limit_gb"] * GIB:
        return failed(f"{where} is limited to {limit / GIB:.1f} GiB (want >= {p['min_limit_gb']:g} GiB)", **evidence)
    ok, bad = split(on_nodes(ctx, SERVER_MEMORY))
    findings: dict[str, str] = {}
    usage: dict[str, str] = {}
    for node, rows in ok.items():
        values = {str(r["name"]): r["value"] for r in rows}
        if "max_server_memory_usage" not in values:
            bad[node] = "system.server_settings has no max_server_memory_usage"
            continue
        server = number(values["max_server_memory_usage"], f"{node} max_server_memory_usage")
        if server == 0:  # derived from the memory ClickHouse sees (the cgroup limit in a container) and the ratio
            ratio = number(values.get("max_server_memory_usage_to_ram_ratio"), f"{node} memory ratio")
            server = ratio * limit
        usage[node] = f"{server / GIB:.1f} GiB"
        if server > p["max_ratio"] * limit:
            findings[node] = (f"max_server_memory_usage {server / GIB:.1f} GiB is {server / limit:.0%} of the "
                              f"{limit / GIB:.1f} GiB limit")
    text = "; ".join(f"{n}: {t}" for n, t in findings.items()) + (
        f" (want <= {p['max_ratio']:.0%}): the kernel kills ClickHouse before it refuses a query")
    return every_node(ctx, usage, findings, bad, text, f"max_server_memory_usage within {p['max_ratio']:.0%} of the "
                                                  f"{limit / GIB:.1f} GiB limit of {where}",
                      max_server_memory_usage=usage, **evidence)
