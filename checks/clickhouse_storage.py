"""ClickHouse storage: disks, parts and merges pressure, mutations, migrations, data volume, TTLs, system logs."""

from __future__ import annotations

import re
from typing import Any

from readiness.checks import _kubernetes_facts as kf
from readiness.checks._clickhouse_facts import (
    CLAUSES,
    ENGINES,
    SYSTEM_DATABASES,
    blind_spot,
    globs_regex,
    number,
    ttl_elements,
)
from readiness.checks.clickhouse import (
    cluster_rows,
    every_node,
    merge_tree,
    on_first,
    on_nodes,
    selected,
    split,
)

from readiness.clients.clickhouse import ClickHouse, Ident, Node, statement
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided, unobservable

GIB = 1024**3
_DISKS_INSTEAD = ("system.disks arrived in ClickHouse 19.15; check free space with df on each node's data path "
                  "(<path> in config.xml) or in the cloud console")
DISKS_REMOTE = statement("disks-remote", "SELECT name, path, free_space, total_space, is_remote FROM system.disks",
                         needs=["system.disks.is_remote"], instead=_DISKS_INSTEAD)
DISKS_TYPE = statement("disks-type", "SELECT name, path, free_space, total_space, type FROM system.disks",
                       needs=["system.disks.type"], instead=_DISKS_INSTEAD)
DISKS = statement("disks", "SELECT name, path, free_space, total_space FROM system.disks", needs=["system.disks"],
                  instead=_DISKS_INSTEAD)
PARTS_PER_PARTITION = statement(
    "parts-per-partition", "SELECT database, table, partition_id, count() AS parts FROM system.parts WHERE active "
                           "GROUP BY database, table, partition_id ORDER BY parts DESC LIMIT 50")
MERGE_TREE_SETTINGS = statement(
    "merge-tree-settings", "SELECT name, value FROM system.merge_tree_settings "
                           "WHERE name IN ('parts_to_delay_insert', 'parts_to_throw_insert')")
MUTATIONS = statement(
    "mutations", "SELECT database, table, mutation_id, command, toUInt32(now()) - toUInt32(create_time) AS age_s, "
                 "parts_to_do FROM system.mutations WHERE is_done = 0 ORDER BY create_time LIMIT 20")
MUTATIONS_REASON = statement(
    "mutations-reason", "SELECT database, table, mutation_id, command, "
                        "toUInt32(now()) - toUInt32(create_time) AS age_s, parts_to_do, latest_fail_reason "
                        "FROM system.mutations WHERE is_done = 0 ORDER BY create_time LIMIT 20",
    needs=["system.mutations.latest_fail_reason"])
TABLE_EXISTS = statement(
    "table-exists", "SELECT count() AS n FROM system.tables WHERE database = {db} AND name = {table}",
    example={"db": "default", "table": "schema_migrations"})
LATEST_MIGRATION = statement(
    "latest-migration", "SELECT version, dirty FROM {db}.{table} ORDER BY sequence DESC LIMIT 1",
    example={"db": Ident("default"), "table": Ident("schema_migrations")})
BYTES_PER_DATABASE = statement(
    "bytes-per-database", "SELECT database, sum(bytes_on_disk) AS bytes FROM system.parts WHERE active "
                          "GROUP BY database")
LOG_TABLES = statement(
    "log-tables", "SELECT database, name, engine_full FROM system.tables WHERE has({databases}, database) "
                  "AND engine LIKE '%MergeTree' AND match(name, '_log(_[0-9]+)?$')",
    example={"databases": ["system"]})



def _expires(engine_full: str) -> bool:
    """Rows expire: the TTL clause has an unconditional DELETE element (a move, recompression, roll-up or
    DELETE ... WHERE keeps rows)."""
    return any(action == "DELETE" for _, action in ttl_elements(engine_full))


def _gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB" if n >= GIB / 10 else f"{n / 1024**2:.1f} MiB"


@probe("clickhouse.disks", target="clickhouse", params={
    "max_used": Param("number", 0.70, help="highest acceptable used fraction of a local disk (0.70 = 70%)"),
})
def disks(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every local disk of every node is used below max_used."""
    def fetch(node: Node) -> list[dict[str, Any]]:
        stmt = next((s for s in (DISKS_REMOTE, DISKS_TYPE) if node.supports(s)), DISKS)
        return node.query(stmt)

    ok, bad = split(ctx.fact("disks", lambda c: c.each(fetch)))
    findings: dict[str, list[str]] = {}
    usage: dict[str, dict[str, str]] = {}
    for node, rows in ok.items():
        for r in rows:
            remote = r.get("is_remote") or str(r.get("type", "local")).lower() not in ("local", "encrypted")
            total = number(r["total_space"], f"disk {r['name']} total_space")
            if remote or not total:
                continue
            used = 1 - number(r["free_space"], f"disk {r['name']} free_space") / total
            usage.setdefault(node, {})[r["name"]] = f"{used:.0%} of {_gib(r['total_space'])} ({r['path']})"
            if used >= p["max_used"]:
                findings.setdefault(node, []).append(f"disk {r['name']} {used:.0%} used")
    first = next(iter(findings.items()), None)
    text = f"{first[0]}: {first[1][0]} (want < {p['max_used']:.0%})" if first else ""
    if not usage and not findings and not bad:
        return undecided("no local disk in system.disks", nodes=list(ok))
    return every_node(ctx, ok, findings, bad, text, f"every local disk below {p['max_used']:.0%} used", usage=usage)


@probe("clickhouse.ssd", target="clickhouse",
       reads=("statefulsets", "persistentvolumeclaims", "storageclasses", "deployments"),
       params={
           "match": Param("str", "clickhouse|(^|-)chi-", help="regex that picks ClickHouse's StatefulSets and PVCs"),
           "ssd_types": Param("str-list", list(kf.SSD_TYPES), help="volume types (StorageClass type / skuName) that "
                                                                  "count as SSD"),
           "within_release": kf.WITHIN_RELEASE,
       })
def ssd(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The data volumes are SSD-backed and not on a network filesystem (read from the volumes' StorageClasses:
    needs the kubernetes target)."""
    ctx.session("kubernetes")  # SQL cannot tell a disk's medium; raises "needs the kubernetes target ..." if absent
    volumes = kf.volume_classes(ctx, p["match"], p["within_release"])
    if isinstance(volumes, Verdict):
        return volumes
    if not volumes:
        return undecided(f"no ClickHouse StatefulSet or PVC matches {p['match']!r} in the kubernetes target's "
                         "namespaces: set 'match', or check that the PVCs use an SSD class and attest")
    evidence = {"volumes": volumes}
    networked = {w: v for w, v in volumes.items() if any(fs in str(v["provisioner"]) for fs in kf.NETWORK_FS)}
    if networked:
        what, v = next(iter(networked.items()))
        return failed(f"{what} is on a network filesystem (StorageClass {v['class']}, {v['provisioner']}): merges on "
                      "it fall behind", **evidence)
    slow = {w: v for w, v in volumes.items() if v["type"] is not None and v["type"] not in p["ssd_types"]}
    if slow:
        what, v = next(iter(slow.items()))
        return failed(f"{what} uses StorageClass {v['class']} ({v['type']}), not SSD (want one of "
                      f"{', '.join(p['ssd_types'])})", **evidence)
    unknown = {w: v for w, v in volumes.items() if v["type"] is None}
    if unknown:
        what, v = next(iter(unknown.items()))
        return unobservable(f"cannot tell the medium of {what} (StorageClass {v['class'] or 'not found'}, provisioner "
                            f"{v['provisioner'] or 'unknown'}): check it and attest", **evidence)
    types = sorted({str(v["type"]) for v in volumes.values()})
    return passed(f"{len(volumes)} ClickHouse volume(s) on SSD ({', '.join(types)})", **evidence)


@probe("clickhouse.parts", target="clickhouse", params={
    "max_ratio": Param("number", 0.5, help="highest acceptable active parts in one partition, as a fraction of "
                                           "the limit"),
    "limit": Param("str", "parts_to_delay_insert", choices=("parts_to_delay_insert", "parts_to_throw_insert"),
                   help="the merge_tree setting the part count is compared with (read from the server)"),
})
def parts(ctx: Any, p: dict[str, Any]) -> Verdict:
    """On every node, the busiest partition holds fewer active parts than max_ratio x the server's
    parts_to_delay_insert (from system.merge_tree_settings or the table's own SETTINGS)."""
    hidden = blind_spot(ctx)
    if hidden:
        return hidden
    top, bad = split(on_nodes(ctx, PARTS_PER_PARTITION))
    limits, bad_limits = split(on_nodes(ctx, MERGE_TREE_SETTINGS))
    tables, bad_tables = split(on_nodes(ctx, CLAUSES))
    for more in (bad_limits, bad_tables):  # a node is judged only when all three statements answered there
        bad.update({n: why for n, why in more.items() if n not in bad})
    findings: dict[str, list[str]] = {}
    worst: dict[str, str] = {}
    judged = []
    for node, rows in top.items():
        if node in bad:
            continue
        server = {r["name"]: int(number(r["value"], f"merge_tree setting {r['name']}")) for r in limits[node]}
        if p["limit"] not in server:
            bad[node] = f"{p['limit']} is not in system.merge_tree_settings"
            continue
        judged.append(node)
        own = {}
        for t in tables.get(node, []):
            m = re.search(rf"\b{p['limit']}\s*=\s*(\d+)", t["engine_full"])
            if m:
                own[(t["database"], t["name"])] = int(m.group(1))
        for r in rows:
            limit = own.get((r["database"], r["table"]), server[p["limit"]])
            where = f"{r['database']}.{r['table']} partition {r['partition_id']}"
            worst.setdefault(node, f"{where}: {r['parts']} parts (limit {limit})")
            if number(r["parts"], f"active parts of {where}") >= p["max_ratio"] * limit:
                findings.setdefault(node, []).append(f"{where} has {r['parts']} active parts, "
                                                     f"{r['parts'] / limit:.0%} of {p['limit']} = {limit}")
    first = next(iter(findings.items()), None)
    text = (f"{first[0]}: {first[1][0]} (want < {p['max_ratio']:.0%}): merges are not keeping up with inserts"
            if first else "")
    return every_node(ctx, judged, findings, bad, text,
                      f"busiest partitions below {p['max_ratio']:.0%} of {p['limit']}", busiest=worst)


@probe("clickhouse.mutations", target="clickhouse", params={
    "max_age_s": Param("int", 3600, help="oldest acceptable pending mutation, in seconds"),
})
def mutations(ctx: Any, p: dict[str, Any]) -> Verdict:
    """No mutation (ALTER UPDATE/DELETE) has been pending for more than max_age_s on any node."""
    def fetch(node: Node) -> list[dict[str, Any]]:
        return node.query(MUTATIONS_REASON if node.supports(MUTATIONS_REASON) else MUTATIONS)

    hidden = blind_spot(ctx)
    if hidden:
        return hidden
    ok, bad = split(ctx.fact("mutations", lambda c: c.each(fetch)))
    findings: dict[str, list[str]] = {}
    pending = 0
    for node, rows in ok.items():
        pending += len(rows)
        for r in rows:
            if number(r["age_s"], f"age of mutation {r['mutation_id']}") > p["max_age_s"]:
                reason = f"; last failure: {r['latest_fail_reason']}" if r.get("latest_fail_reason") else ""
                findings.setdefault(node, []).append(
                    f"{r['database']}.{r['table']} {r['mutation_id']} ({r['command'][:80]}) pending for "
                    f"{r['age_s']} s, {r['parts_to_do']} parts to do{reason}")
    first = next(iter(findings.items()), None)
    text = f"{first[0]}: {first[1][0]}" if first else ""
    return every_node(ctx, ok, findings, bad, text, f"no mutation pending for more than {p['max_age_s']} s "
                                                f"({pending} pending in all)", pending=pending)


@probe("clickhouse.migrations", target="clickhouse", params={
    "table": Param("str", "schema_migrations", help="golang-migrate's table: db.table, or a table in the target's "
                                                    "database"),
})
def migrations(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The latest row of golang-migrate's schema_migrations table (by sequence) is not dirty."""
    c: ClickHouse = ctx.client
    db, dot, table = p["table"].partition(".")
    if not dot:
        db, table = c.first.endpoint.database, db
    exists = on_first(ctx, TABLE_EXISTS, {"db": db, "table": table})
    if not exists or not exists[0]["n"]:
        return undecided(f"no table {db}.{table} on {c.first.name}: the migrations have not run, or they keep their "
                         "state elsewhere (set 'table')")
    rows = on_first(ctx, LATEST_MIGRATION, {"db": Ident(db), "table": Ident(table)})
    if not rows:
        return undecided(f"{db}.{table} is empty: no migration has run")
    version, dirty = rows[0]["version"], number(rows[0]["dirty"], f"dirty flag of {db}.{table}")
    number(version, f"latest version in {db}.{table}")
    if dirty:
        return failed(f"migration {version} is dirty in {db}.{table}: it failed half-way and the product will refuse "
                      "to migrate further", version=version, dirty=True)
    return passed(f"latest migration {version} is clean", version=version, dirty=False)


def _bytes(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """(bytes of the product's databases, bytes of the system database)."""
    product = sum(int(r["bytes"]) for r in rows if r["database"] not in SYSTEM_DATABASES)
    system = sum(int(r["bytes"]) for r in rows if r["database"] == "system")
    return product, system


@probe("clickhouse.data-volume", target="clickhouse", params={
    "max_gb": Param("number", 50, help="most data (GiB on disk) a single, unreplicated node should hold"),
})
def data_volume(ctx: Any, p: dict[str, Any]) -> Verdict:
    """A single-node (unreplicated) ClickHouse holds less than max_gb of data; beyond that it should be replicated
    or managed."""
    if ctx.config().get("cluster"):
        rows = cluster_rows(ctx)
        per_shard: dict[int, int] = {}
        for r in rows:
            per_shard[r["shard_num"]] = per_shard.get(r["shard_num"], 0) + 1
        if min(per_shard.values()) > 1:
            return not_applicable(f"cluster {ctx.config()['cluster']} is replicated: the single-node limit does not "
                                  "apply")
    hidden = blind_spot(ctx)
    if hidden:
        return hidden
    ok, bad = split(on_nodes(ctx, BYTES_PER_DATABASE))
    held = {node: _bytes(rows)[0] for node, rows in ok.items()}
    findings = {n: f"holds {_gib(b)} of data" for n, b in held.items() if b >= p["max_gb"] * GIB}
    first = next(iter(findings.items()), None)
    text = (f"{first[0]} {first[1]} on a single unreplicated node (want < {p['max_gb']} GiB): move to a replicated or "
            "managed ClickHouse" if first else "")
    sizes = {n: _gib(b) for n, b in held.items()}
    return every_node(ctx, held, findings, bad, text, f"{', '.join(sizes.values())} of data (< {p['max_gb']} GiB)",
                      data=sizes)


@probe("clickhouse.ttl", target="clickhouse", params={
    "tables": Param("str-list", help="db.table patterns (glob) of the product's trace tables"),
})
def ttl(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The product's trace tables have a table TTL (rows expire), on every node."""
    hidden = blind_spot(ctx)
    if hidden:
        return hidden
    ok, bad = split(on_nodes(ctx, ENGINES, {"names": globs_regex(p["tables"])}))
    clauses, bad_clauses = split(on_nodes(ctx, CLAUSES))
    bad.update({n: why for n, why in bad_clauses.items() if n not in bad})
    ok = {n: rows for n, rows in ok.items() if n not in bad}
    findings: dict[str, list[str]] = {}
    seen: dict[str, bool] = {}
    for node, rows in ok.items():
        full = {(c["database"], c["name"]): c["engine_full"] for c in clauses[node]}  # absent: no TTL clause
        for r in rows:
            if not (merge_tree(r["engine"]) and selected(r["database"], r["name"], p["tables"])):
                continue
            name = f"{r['database']}.{r['name']}"
            has = _expires(full.get((r["database"], r["name"]), ""))
            seen[name] = seen.get(name, True) and has
            if not has:
                findings.setdefault(node, []).append(name)
    if not seen and not bad:
        return undecided(f"no MergeTree table matches {', '.join(p['tables'])}: set 'tables' to the product's "
                         "trace tables")
    first = next(iter(findings.items()), None)
    text = (f"no DELETE TTL on {', '.join(first[1])} ({first[0]}): traces are kept forever and the disk fills up"
            if first else "")
    return every_node(ctx, ok, findings, bad, text, f"TTL set on {', '.join(sorted(seen))}", tables=sorted(seen))


@probe("clickhouse.system-logs", target="clickhouse", params={
    "max_system_gb": Param("number", 10, help="size of the system database that is acceptable whatever the "
                                              "product's data size"),
    "log_databases": Param("str-list", ["system"], help="databases holding ClickHouse's own *_log tables"),
})
def system_logs(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every *_log table (query_log, trace_log, their _N copies after upgrades) has a TTL, and the system database
    is smaller than the product's data or than max_system_gb, on every node."""
    hidden = blind_spot(ctx)
    if hidden:
        return hidden
    logs, bad = split(on_nodes(ctx, LOG_TABLES, {"databases": p["log_databases"]}))
    sizes, bad_sizes = split(on_nodes(ctx, BYTES_PER_DATABASE))
    bad.update({n: why for n, why in bad_sizes.items() if n not in bad})
    findings: dict[str, list[str]] = {}
    evidence: dict[str, Any] = {}
    for node, rows in logs.items():
        no_ttl = [f"{r['database']}.{r['name']}" for r in rows if not _expires(r["engine_full"])]
        if no_ttl:
            findings.setdefault(node, []).append(f"no DELETE TTL on {', '.join(no_ttl)}")
        evidence.setdefault("log_tables", {})[node] = [f"{r['database']}.{r['name']}" for r in rows]
    for node, rows in sizes.items():
        product, system = _bytes(rows)
        evidence.setdefault("sizes", {})[node] = {"system": _gib(system), "product": _gib(product)}
        if system >= product and system >= p["max_system_gb"] * GIB:
            findings.setdefault(node, []).append(f"system database {_gib(system)} is larger than the product's "
                                                 f"data ({_gib(product)})")
    first = next(iter(findings.items()), None)
    text = f"{first[0]}: {'; '.join(first[1])}: system logs grow without bound" if first else ""
    return every_node(ctx, [n for n in logs if n in sizes], findings, bad, text,
                      "every system log table has a TTL and the system database is within bounds", **evidence)
