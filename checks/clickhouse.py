"""ClickHouse: reachability, version, topology (system.clusters), replica health (system.replicas), replicated
engines, and the generic ``clickhouse.query``.

Every node of the target is asked; a node that does not answer makes an item ``error`` unless the nodes that did
answer already show a failure.  The shared helpers here (per-node facts, the cluster's rows, coverage) are used by
the other ClickHouse probe modules too.
"""

from __future__ import annotations

import fnmatch
import socket
from collections.abc import Iterable, Mapping
from typing import Any

from readiness.checks._clickhouse_facts import (
    ENGINES,
    REPLICA_COUNTS,
    REPLICATED_TABLES,
    UNHEALTHY_REPLICAS,
    blind_spot,
    globs_regex,
    number,
)

from readiness.clients.clickhouse import (
    ClickHouse,
    ClickHouseError,
    Node,
    Statement,
    endpoints,
    statement,
)
from readiness.matchers import compare
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

# --- statements --------------------------------------------------------------------------------------------------

CLUSTERS = statement(
    "clusters", "SELECT cluster, shard_num, replica_num, host_name, host_address, port FROM system.clusters")
CLUSTERS_ERRORS = statement(
    "clusters-errors", "SELECT cluster, shard_num, replica_num, host_name, host_address, port, errors_count "
                       "FROM system.clusters", needs=["system.clusters.errors_count"])


# --- shared helpers ----------------------------------------------------------------------------------------------

def on_nodes(ctx: Any, stmt: Statement, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``stmt`` on every node, once per run: rows per node, or the node's ``ClickHouseError``."""
    key = f"each:{stmt.name}:{sorted((values or {}).items())}"
    return ctx.fact(key, lambda c: c.each(lambda n: n.query(stmt, values)))  # type: ignore[no-any-return]


def on_first(ctx: Any, stmt: Statement, values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    key = f"first:{stmt.name}:{sorted((values or {}).items())}"
    return ctx.fact(key, lambda c: c.first.query(stmt, values))  # type: ignore[no-any-return]


def split(results: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Per-node results into (values of the nodes that answered, reasons of those that did not)."""
    ok = {n: v for n, v in results.items() if not isinstance(v, BaseException)}
    bad = {n: str(v).removeprefix(f"{n}: ") for n, v in results.items() if isinstance(v, BaseException)}
    return ok, bad


def unanswered(bad: Mapping[str, str]) -> Verdict:
    """The verdict when some nodes could not be read and the others showed nothing wrong."""
    unsupported = [why for why in bad.values() if why.startswith("not available on ")]
    if unsupported and len(unsupported) == len(bad):
        return undecided(unsupported[0], nodes_not_checked=dict(bad))
    return undecided("could not check " + "; ".join(f"{n}: {why}" for n, why in bad.items()),
                     nodes_not_checked=dict(bad))


def cluster_rows(ctx: Any) -> list[dict[str, Any]]:
    """The configured cluster's rows in system.clusters (as the first node sees them); an error when the cluster
    is not defined there."""
    name = ctx.config().get("cluster")

    def fetch(c: ClickHouse) -> list[dict[str, Any]]:
        node = c.first
        rows = node.query(CLUSTERS_ERRORS if node.supports(CLUSTERS_ERRORS) else CLUSTERS)
        mine = [r for r in rows if r["cluster"] == name]
        if not mine:
            known = sorted({r["cluster"] for r in rows})
            raise ClickHouseError(f"cluster {name!r} is not defined on {node.name} (system.clusters has: "
                                  f"{', '.join(known) or 'none'}); fix 'cluster:' in the clickhouse target")
        return mine

    return ctx.fact("cluster-rows", fetch)  # type: ignore[no-any-return]


def _resolve(host: str) -> str:
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host


def uncovered(ctx: Any) -> list[str]:
    """Hosts of the configured cluster that no configured node URL points at (so per-node items cannot see them)."""
    if not ctx.config().get("cluster"):
        return []
    rows = cluster_rows(ctx)

    def fetch(c: ClickHouse) -> list[str]:
        eps = endpoints(c.config)
        names = {n.name: n.host for n in c.nodes}
        seen = [(ep.port, {ep.host, _resolve(ep.host), names.get(ep.name, "")}) for ep in eps]
        out = []
        for r in rows:
            short = str(r["host_name"]).split(".")[0]
            hit = any(port == r["port"] and ({r["host_name"], r["host_address"]} & hosts
                                             or short in {h.split(".")[0] for h in hosts if h})
                      for port, hosts in seen)
            if not hit:
                out.append(f"{r['host_name']}:{r['port']}")
        return out

    return ctx.fact("cluster-uncovered", fetch)  # type: ignore[no-any-return]


def every_node(ctx: Any, checked: Iterable[str], findings: Mapping[str, Any], bad: Mapping[str, str],
               fail_text: str, pass_text: str, **evidence: Any) -> Verdict:
    """The common judgement of a per-node item: fail on any finding; error when a configured node (or a host of the
    cluster) was not judged; pass only when every node was judged (``checked``) and none had a finding."""
    if findings:
        return failed(fail_text, findings=dict(findings), nodes_not_checked=dict(bad), **evidence)
    if bad:
        return unanswered(bad)
    judged = set(checked)
    names = list(ctx.client.all_names)
    if not names:
        return undecided("the clickhouse target has no node to judge", **evidence)
    unseen = [n for n in names if n not in judged]
    if unseen or not judged:
        return undecided(f"nothing to judge from {', '.join(unseen) or 'any node'}", **evidence)
    missing = uncovered(ctx)
    if missing:
        return undecided(f"checked {', '.join(ctx.client.all_names)} only: the cluster's nodes {', '.join(missing)} "
                         "are not in the target (list every node in 'urls')", not_checked=missing, **evidence)
    return passed(pass_text, **evidence)


def selected(database: str, table: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(f"{database}.{table}", p) for p in patterns)


def merge_tree(engine: str) -> bool:
    return engine.endswith("MergeTree")


def replicated(engine: str) -> bool:
    return engine.startswith(("Replicated", "Shared"))


def has_replication(ctx: Any) -> bool | None:
    """True when any node holds replicated tables; None when that cannot be ruled out (a node could not be read)."""
    ok, bad = split(on_nodes(ctx, REPLICATED_TABLES))
    if any(number(rows[0]["tables"], f"{node} replicated tables") for node, rows in ok.items()):
        return True
    return None if bad or not ok else False


# --- probes ------------------------------------------------------------------------------------------------------

@probe("clickhouse.reachable", target="clickhouse")
def reachable(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every configured node answers a read-only session."""
    c: ClickHouse = ctx.client
    nodes = {n.name: f"ClickHouse {n.version} ({n.host})" for n in c.nodes}
    if c.down:
        return failed(f"{len(c.down)} of {len(c.all_names)} nodes do not answer: "
                      + "; ".join(f"{n}: {why}" for n, why in c.down.items()), answering=nodes, down=dict(c.down))
    return passed(f"{len(nodes)} node{'s' if len(nodes) > 1 else ''} answer{'' if len(nodes) > 1 else 's'} "
                  "read-only sessions", nodes=nodes)


@probe("clickhouse.version", target="clickhouse",
       params={"min": Param("str", help="lowest acceptable server version, e.g. \"24.3\"")})
def version(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every node runs at least the product's minimum ClickHouse version."""
    c: ClickHouse = ctx.client
    versions = {n.name: n.version for n in c.nodes}
    if not versions:
        return undecided("no ClickHouse node reported a version")
    unclear = {n: v for n, v in versions.items() if compare(v, p["min"]) is None}
    if unclear:
        return undecided(f"cannot compare version {', '.join(sorted(set(unclear.values())))} with {p['min']}",
                         versions=versions)
    old = {n: v for n, v in versions.items() if (compare(v, p["min"]) or 0) < 0}
    if old:
        return failed(f"ClickHouse {', '.join(sorted(set(old.values())))} on {', '.join(old)}; the product needs "
                      f">= {p['min']}", versions=versions, min=p["min"])
    if c.down:
        return unanswered(c.down)
    return passed(f"ClickHouse {', '.join(sorted(set(versions.values())))} (>= {p['min']})", versions=versions,
                  min=p["min"])


@probe("clickhouse.replicas", target="clickhouse", params={
    "min": Param("int", 3, help="fewest replicas per shard"),
    "max": Param("int", 5, help="most replicas per shard (more only adds Keeper and replication load)"),
    "max_errors": Param("int", 0, help="highest errors_count of a replica in system.clusters (newer releases)"),
})
def replicas(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every shard of the configured cluster has between min and max replicas."""
    name = ctx.config().get("cluster")
    if not name:
        c: ClickHouse = ctx.client  # the node must answer before its lack of replicas is a finding
        return failed(f"no cluster configured ('cluster:' in the clickhouse target): {c.first.name} alone has no "
                      "replicas", min=p["min"])
    rows = cluster_rows(ctx)
    shards: dict[int, list[str]] = {}
    for r in rows:
        shards.setdefault(int(r["shard_num"]), []).append(f"{r['host_name']}:{r['port']}")
    counts = {f"shard {s}": len(hosts) for s, hosts in sorted(shards.items())}
    wrong = {s: n for s, n in counts.items() if not p["min"] <= n <= p["max"]}
    evidence = {"cluster": name, "replicas_per_shard": counts, "hosts": {f"shard {s}": h for s, h in shards.items()}}
    if wrong:
        return failed(f"cluster {name}: " + ", ".join(f"{s} has {n} replica{'s' if n != 1 else ''}"
                                                      for s, n in wrong.items())
                      + f" (want {p['min']}..{p['max']})", **evidence)
    if "errors_count" in rows[0]:
        errors = {f"{r['host_name']}:{r['port']}": r["errors_count"] for r in rows
                  if number(r["errors_count"], "system.clusters errors_count") > p["max_errors"]}
        if errors:
            return failed(f"cluster {name}: replicas with connection errors: "
                          + ", ".join(f"{h} ({n})" for h, n in errors.items()), errors_count=errors, **evidence)
        note = ""
    else:
        note = f" (errors_count not available on ClickHouse {ctx.client.first.release})"
    return passed(f"cluster {name}: {len(counts)} shard(s), each with {p['min']}..{p['max']} replicas" + note,
                  **evidence)


@probe("clickhouse.shards", target="clickhouse", params={
    "max": Param("int", 1, help="most shards the product supports"),
})
def shards(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The configured cluster has at most ``max`` shards (Langfuse supports exactly one)."""
    name = ctx.config().get("cluster")
    if not name:
        c: ClickHouse = ctx.client
        if len(c.all_names) > 1:
            return undecided("several nodes but no cluster configured: set 'cluster:' in the clickhouse target")
        return passed("a single node, no cluster: one shard")
    count = len({int(r["shard_num"]) for r in cluster_rows(ctx)})
    if count == 0:
        return undecided(f"system.clusters lists no shard for cluster {name}", cluster=name)
    if count > p["max"]:
        return failed(f"cluster {name} has {count} shards; the product supports at most {p['max']}", shards=count,
                      cluster=name)
    return passed(f"cluster {name} has {count} shard{'s' if count > 1 else ''}", shards=count, cluster=name)


@probe("clickhouse.replica-health", target="clickhouse", params={
    "max_delay_s": Param("int", 300, help="largest acceptable absolute_delay of a replica, in seconds"),
})
def replica_health(ctx: Any, p: dict[str, Any]) -> Verdict:
    """On every node, no replicated table is read-only or session-expired, every replica is active, and the
    replication delay is below max_delay_s."""
    hidden = blind_spot(ctx)
    if hidden:
        return hidden
    counts, bad = split(on_nodes(ctx, REPLICA_COUNTS, {"max_delay": p["max_delay_s"]}))
    worst, bad_worst = split(on_nodes(ctx, UNHEALTHY_REPLICAS, {"max_delay": p["max_delay_s"]}))
    bad.update({n: why for n, why in bad_worst.items() if n not in bad})
    ok = {n: rows for n, rows in counts.items() if n not in bad}
    findings: dict[str, list[str]] = {}
    tables = unhealthy = 0
    for node, (count,) in ok.items():
        tables += int(number(count["tables"], f"{node} replicated tables"))
        unhealthy += int(number(count["unhealthy"], f"{node} unhealthy replicated tables"))
        for r in worst[node]:
            t = f"{r['database']}.{r['table']}"
            problems = []
            if number(r["is_readonly"], f"{t} is_readonly"):
                problems.append("read-only")
            if number(r["is_session_expired"], f"{t} is_session_expired"):
                problems.append("ZooKeeper session expired")
            if number(r["active_replicas"], f"{t} active_replicas") < number(r["total_replicas"], t):
                problems.append(f"{r['active_replicas']} of {r['total_replicas']} replicas active")
            if number(r["absolute_delay"], f"{t} absolute_delay") >= p["max_delay_s"]:
                problems.append(f"{r['absolute_delay']} s behind")
            if problems:
                findings.setdefault(node, []).append(f"{t}: {', '.join(problems)}")
        if number(count["unhealthy"], node) and node not in findings:  # healed between the two reads: still told
            findings[node] = [f"{count['unhealthy']} replicated table(s) unhealthy when counted"]
    if not tables and not bad:
        return not_applicable("no replicated tables on any node")
    first = next(iter(findings.items()), None)
    text = (f"{max(unhealthy, sum(map(len, findings.values())))} unhealthy replicated table(s), e.g. {first[0]}: "
            f"{first[1][0]}" if first else "")
    return every_node(ctx, ok, findings, bad, text,
                      f"{tables} replicated table(s) healthy on {len(ok)} node(s) (delay < {p['max_delay_s']} s)",
                      replicated_tables=tables)


@probe("clickhouse.replicated-engines", target="clickhouse", params={
    "tables": Param("str-list", ["*.*"], help="db.table patterns of the product's tables (glob)"),
})
def replicated_engines(ctx: Any, p: dict[str, Any]) -> Verdict:
    """With a cluster configured, the product's MergeTree tables use Replicated* engines on every node."""
    name = ctx.config().get("cluster")
    ctx.client  # noqa: B018 - an unreachable target is an error, not "not applicable"
    if not name:
        return not_applicable("no cluster configured: a single node has nothing to replicate to")
    hidden = blind_spot(ctx)
    if hidden:
        return hidden
    ok, bad = split(on_nodes(ctx, ENGINES, {"names": globs_regex(p["tables"])}))
    findings: dict[str, list[str]] = {}
    where: dict[str, set[str]] = {}
    for node, rows in ok.items():
        for r in rows:
            if not (merge_tree(r["engine"]) and selected(r["database"], r["name"], p["tables"])):
                continue
            t = f"{r['database']}.{r['name']}"
            where.setdefault(t, set()).add(node)
            if not replicated(r["engine"]):
                findings.setdefault(node, []).append(f"{t} ({r['engine']})")
    if not where and not bad:
        return undecided(f"no MergeTree tables match {', '.join(p['tables'])} on any node (wrong 'tables', or "
                         "the product's schema is not there yet)")
    lonely = {t: sorted(nodes) for t, nodes in where.items() if len(nodes) < len(ok)}
    if lonely:
        for t, nodes in lonely.items():
            findings.setdefault("missing on some nodes", []).append(f"{t} exists only on {', '.join(nodes)}")
    first = next(iter(findings.values()), [""])[0]
    return every_node(ctx, ok, findings, bad, f"tables not replicated across cluster {name}: {first}"
                      + (f" and {sum(map(len, findings.values())) - 1} more" if sum(map(len, findings.values())) > 1
                         else ""),
                      f"{len(where)} product table(s) use Replicated* engines on every node", tables=sorted(where))


@probe("clickhouse.query", target="clickhouse", params={
    "sql": Param("str", help="one read-only statement returning one row with one column, e.g. SELECT timezone()"),
    "expect": Param("expect", help="matchers the value must satisfy"),
    "every_node": Param("bool", False, help="run it on every node and require the value to hold on each"),
    "name": Param("str", "value", help="what the value is called in messages and evidence"),
})
def query(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Judge one value returned by your own read-only SQL (on the first node, or on every node).

    The session is read-only (readonly=1) and bounded by --timeout; the statement must return exactly one row
    with one column.  Example item:

        probe: clickhouse.query
        with: {sql: "SELECT value FROM system.settings WHERE name = 'max_threads'", expect: {min: 8}}
    """
    sql = p["sql"].strip().rstrip(";")

    def one(node: Node) -> Any:
        rows = node.execute(sql)
        if len(rows) != 1 or len(rows[0]) != 1:
            shape = f"{len(rows)} rows" if len(rows) != 1 else f"{len(rows[0])} columns"
            raise ClickHouseError(f"{node.name}: the query returned {shape}; a check query returns one value")
        return next(iter(rows[0].values()))

    if not p["every_node"]:
        value = ctx.fact(f"query:first:{sql}", lambda c: one(c.first))
        return p["expect"].judge(p["name"], value, node=ctx.client.first.name)  # type: ignore[no-any-return]
    ok, bad = split(ctx.fact(f"query:each:{sql}", lambda c: c.each(one)))
    verdicts = {node: p["expect"].judge(p["name"], v) for node, v in ok.items()}
    values = {node: v for node, v in ok.items()}
    wrong = {n: v for n, v in verdicts.items() if v.status != "pass"}
    if any(v.status == "fail" for v in wrong.values()):
        node, v = next((n, v) for n, v in wrong.items() if v.status == "fail")
        return failed(f"{node}: {v.message}", values=values, expected=p["expect"].describe())
    if wrong:
        node, v = next(iter(wrong.items()))
        return undecided(f"{node}: {v.message}", values=values)
    shown = sorted({str(v) for v in values.values()})
    return every_node(ctx, values, {}, bad, "", f"{p['name']} is {', '.join(shown)} on every node", values=values,
                      expected=p["expect"].describe())
