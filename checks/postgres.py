"""PostgreSQL probes: one read-only session per target (readiness.clients.postgres), settings and activity fetched
once and shared.  Pooling lives in postgres_pool.py, backups and disk in postgres_storage.py."""

from __future__ import annotations

import math
from typing import Any

from readiness.checks import _products as products
from readiness.checks._common import classify_host, globs_match, listing, plain
from readiness.checks._files_facts import files, locations, written_number
from readiness.checks._postgres_facts import (
    blind_to,
    connection_ages,
    extensions,
    role_name,
    sessions,
    setting,
    settings,
    table_health,
)

from readiness.matchers import MISSING
from readiness.probe import Param, Verdict, failed, passed, probe, undecided

_OPT = None
_LONGEST_VALUE = 4096  # characters of a postgres.query value judged and shown


# --- generic probes ----------------------------------------------------------------------------------------------

@probe("postgres.setting", target="postgres", params={
    "name": Param("str", help="a server setting (pg_settings / SHOW), e.g. max_connections, TimeZone, ssl"),
    "expect": Param("expect", help="matchers the value must satisfy, e.g. {equals: UTC} or {min: '14'}"),
})
def setting_probe(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Any server setting judged by `expect` (all of pg_settings is read once per target)."""
    row = settings(ctx).get(p["name"].lower())
    if row is None:
        # pg_settings leaves out superuser-only settings for an identity without pg_read_all_settings
        return (blind_to(ctx, f"every setting ({p['name']} may be one it is not shown)", "pg_read_all_settings")
                or p["expect"].judge(p["name"], MISSING))
    extra = {"unit": row["unit"]} if row["unit"] else {}
    return p["expect"].judge(row["name"], row["setting"], source=row["source"], **extra)


@probe("postgres.query", target="postgres", params={
    "sql": Param("str", help="one read-only statement returning one row; its first column is judged"),
    "expect": Param("expect", help="matchers the value must satisfy"),
    "label": Param("str", "result", help="what the value is called in the message and evidence"),
})
def query(ctx: Any, p: dict[str, Any]) -> Verdict:
    """One read-only SQL statement returning one value, judged by `expect`.

    Runs in its own read-only transaction, rolled back, within the item's timeout; at most two rows are fetched."""
    limit = max(0.1, ctx.remaining() * 0.9)  # an item's own `timeout:` raises the statement's
    rows = ctx.fact(f"query:{p['sql']}", lambda h: h.first_rows(p["sql"], 2, timeout=limit))
    if len(rows) > 1:
        return undecided("the query returned more than one row; it must return one (add LIMIT 1 or an aggregate)",
                         rows=[[str(v)[:200] for v in r[:5]] for r in rows])
    value = plain(rows[0][0]) if rows and rows[0] else MISSING
    if isinstance(value, (str, bytes)) and len(value) > _LONGEST_VALUE:
        return undecided(f"{p['label']} is {len(value):,} characters long, too long to judge or report (limit "
                         f"{_LONGEST_VALUE:,}): select length(), a hash or a shorter part of it")
    return p["expect"].judge(p["label"], value)


# --- purpose-built probes ----------------------------------------------------------------------------------------

@probe("postgres.session", target="postgres")
def session(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Open the read-only session with the configured DSN.

    Fails when the server answers but refuses sessions (too many clients, starting up, shutting down)."""
    from readiness.clients.postgres import ServerRefused

    try:
        handle = ctx.client
    except ServerRefused as exc:
        return failed(str(exc))
    ident = handle.identity
    how = "each statement in a read-only transaction, rolled back"
    if handle.options_applied:
        how += "; default_transaction_read_only=on"
    else:
        how += "; the pooler does not pass startup options"
    return passed(f"session open as {ident['user']} on {ident['database']} ({how})", user=ident["user"],
                  database=ident["database"], server_version=ident["server_version"], read_only=how,
                  sees_all_sessions=bool(ident["superuser"] or ident["read_all_stats"]))


@probe("postgres.managed", target="postgres", params={
    "managed": Param("str-list", help="regexes of managed hosts (*.rds.amazonaws.com, *.postgres.database.azure.com)"),
    "bundled": Param("str-list", _OPT, help="regexes of bundled hosts; default: the charts' and compose files' "
                                            "PostgreSQL names, loopback, sockets, *.svc and <release>-postgres "
                                            "(checks/_products.py)"),
    "managed_settings": Param("str-list", ["rds.", "azure.", "cloudsql.", "alloydb.", "neon.", "supautils."],
                              help="setting-name prefixes only managed services have"),
})
def managed(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Managed/external PostgreSQL (provider settings, an RDS instance, or the host name) rather than a bundled one."""
    handle = ctx.client
    host = handle.dialled[0] or "localhost"
    provider = sorted({n for n in settings(ctx) if n.startswith(tuple(p["managed_settings"]))})
    evidence: dict[str, Any] = {"host": host, "provider_settings": provider[:5]}
    if provider:
        return passed(f"the server is a managed service (it has {provider[0]}-style settings)", **evidence)
    if ctx.config().get("rds_instance"):
        return passed(f"RDS instance {ctx.config()['rds_instance']}", **evidence)
    rel = ctx.config("kubernetes").get("release") if ctx.has("kubernetes") else None
    bundled = products.bundled_hosts("postgres", rel) if p["bundled"] is None else list(p["bundled"])
    kind, pattern = classify_host(host, p["managed"], bundled)
    evidence["pattern"] = pattern
    if kind == "managed":
        return passed(f"{host} is a managed PostgreSQL endpoint", **evidence)
    if kind == "bundled":
        return failed(f"{host} is a bundled PostgreSQL (in-cluster or on this host): production wants a managed one "
                      "with backups, failover and upgrades handled", **evidence)
    return undecided(f"cannot tell from {host} whether PostgreSQL is managed: add a pattern to 'managed' or "
                     "'bundled', give rds_instance, or attest", **evidence)


@probe("postgres.max-connections", target="postgres", params={
    "min": Param("int", 100, help="expected peak concurrency"),
    "workers": Param("int", _OPT, help="when set, the need is workers x pool_size x factor (LangSight)"),
    "pool_size": Param("int", 50, help="connections per worker's pool (LangSight's default pg_pool_max)"),
    "factor": Param("number", 1.2, help="safety factor on workers x pool_size"),
    "workers_env": Param("str", _OPT, help="the variable of the files target giving the workers "
                                           "(LANGSIGHT_WORKERS); written there, it replaces `workers`"),
    "pool_env": Param("str", _OPT, help="the variable of the files target giving each worker's pool size "
                                        "(LANGSIGHT_PG_POOL_MAX); written there, it replaces `pool_size`"),
})
def max_connections(ctx: Any, p: dict[str, Any]) -> Verdict:
    """max_connections covers the expected concurrency (`min`, or workers x pool_size x factor, each read from the
    files target's env where the product's variable is written there)."""
    workers, pool, written = p["workers"], p["pool_size"], []
    if (p["workers_env"] or p["pool_env"]) and ctx.has("files"):
        f = files(ctx)
        for var, name in ((p["workers_env"], "workers"), (p["pool_env"], "pool")):
            if not var:
                continue
            value, where, why = written_number(f, var)
            if why:
                return undecided(f"{why}: the connection need cannot be counted", locations=locations(
                    s.loc for s in where))
            if value is not None:
                written += [f"{var}={value} ({where[0].loc.file}:{where[0].loc.line})"]
                workers, pool = (value, pool) if name == "workers" else (workers, value)
    have = int(setting(ctx, "max_connections"))
    if workers:
        need = math.ceil(workers * pool * p["factor"])
        why = f"{workers} workers x {pool} x {p['factor']}"
    else:
        need, why = p["min"], "the expected concurrency"
    verdict = passed if have >= need else failed
    return verdict(f"max_connections is {have}; {why} need {need}" + (f" (from {', '.join(written)})"
                                                                      if written else ""),
                   max_connections=have, needed=need, workers=workers, pool_size=pool)


@probe("postgres.connection-headroom", target="postgres", params={
    "max_ratio": Param("number", 0.8, help="highest acceptable share of max_connections in use"),
})
def connection_headroom(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Client connections in use stay below `max_ratio` of max_connections."""
    seen = sessions(ctx)
    blind = blind_to(ctx, "other roles' sessions in pg_stat_activity", hidden=seen["hidden"])
    if blind:
        return blind
    limit = int(setting(ctx, "max_connections"))
    in_use = int(seen["clients"])
    ratio = in_use / limit
    by_user = dict(seen["by_user"])
    verdict = passed if ratio < p["max_ratio"] else failed
    return verdict(f"{in_use} of {limit} connections in use ({ratio:.0%}; limit {p['max_ratio']:.0%})",
                   in_use=in_use, max_connections=limit, reserved=setting(ctx, "superuser_reserved_connections"),
                   by_user=by_user)


@probe("postgres.connection-reuse", target="postgres", params={
    "min_median_age_s": Param("number", 60, help="lowest acceptable median connection age, seconds"),
    "users": Param("str-list", _OPT, help="only these users' connections (default: every client but the audit)"),
    "exclude_applications": Param("str-list", ["readiness", "psql", "pg_dump*", "pgAdmin*"],
                                  help="application_name globs not judged (tools, the audit itself)"),
})
def connection_reuse(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Application connections are long-lived (median age above the threshold), not opened per request."""
    blind = blind_to(ctx, "other roles' sessions in pg_stat_activity", hidden=sessions(ctx)["hidden"])
    if blind:
        return blind

    def judged(user: str | None, app: str) -> bool:
        return not globs_match(app, p["exclude_applications"]) and (p["users"] is None or user in p["users"])

    ages = connection_ages(ctx, judged, f"{p['users']}:{p['exclude_applications']}")
    count = int(ages["connections"])
    if not count:
        return undecided("no application connection to judge (is the application running and pointed at this "
                         "database?)", users=p["users"])
    mid = float(ages["median_age_s"])
    evidence = {"connections": count, "median_age_s": round(mid, 1), "youngest_s": round(ages["youngest_s"], 1),
                "oldest_s": round(ages["oldest_s"], 1)}
    if mid > p["min_median_age_s"]:
        return passed(f"median connection age {mid:.0f}s over {count} connections (pooled)", **evidence)
    return failed(f"median connection age {mid:.1f}s over {count} connections: the application opens "
                  f"connections per request (threshold {p['min_median_age_s']:g}s)", **evidence)


@probe("postgres.autovacuum", target="postgres", params={
    "max_dead_ratio": Param("number", 0.2, help="highest acceptable n_dead_tup / n_live_tup"),
    "min_dead_tuples": Param("int", 10000, help="dead tuples below this never fail a table"),
})
def autovacuum(ctx: Any, p: dict[str, Any]) -> Verdict:
    """autovacuum is on (globally and per table) and no table carries too many dead tuples."""
    tables = table_health(ctx, p["min_dead_tuples"], p["max_dead_ratio"])
    on = setting(ctx, "autovacuum")
    bloated = {name: f"{dead} dead / {live} live" for name, dead, live in tables["bloated"]}
    disabled = list(tables["disabled"])
    evidence = {"autovacuum": on, "tables": tables["tables"], "bloated": bloated, "autovacuum_disabled_on": disabled}
    problems = []
    if on != "on":
        problems.append(f"autovacuum is {on}")
    if disabled:
        problems.append(f"autovacuum is disabled on {listing(disabled, 5, total=tables['disabled_count'])}")
    if bloated:
        problems.append(f"{tables['bloated_count']} table(s) above {p['max_dead_ratio']:.0%} dead tuples: "
                        + listing((f"{k} ({v})" for k, v in bloated.items()), total=tables["bloated_count"]))
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(f"autovacuum on; none of {tables['tables']} tables has more than {p['max_dead_ratio']:.0%} dead "
                  "tuples", **evidence)


@probe("postgres.wraparound", target="postgres", params={
    "max_age": Param("int", 200_000_000, help="highest acceptable age(datfrozenxid) of any database"),
})
def wraparound(ctx: Any, p: dict[str, Any]) -> Verdict:
    """No database is close to transaction-id wraparound: max age(datfrozenxid) below `max_age`."""
    rows = ctx.fact("xid-age", lambda h: h.query(
        "SELECT datname, age(datfrozenxid), mxid_age(datminmxid) FROM pg_database ORDER BY 2 DESC"))
    name, age, mxid = rows[0]
    evidence = {"ages": {r[0]: r[1] for r in rows}, "oldest": name, "multixact_age": mxid, "max_age": p["max_age"]}
    if isinstance(age, bool) or not isinstance(age, int) or age < 0:  # age() is a non-negative integer, or unread
        return undecided(f"age(datfrozenxid) of {name!r} is {age!r}, not a transaction count", **evidence)
    if age < p["max_age"]:
        return passed(f"oldest unfrozen transaction id is {age:,} transactions old ({name}); limit {p['max_age']:,}",
                      **evidence)
    return failed(f"database {name} has age(datfrozenxid) {age:,} (limit {p['max_age']:,}): at 2^31 PostgreSQL "
                  "stops accepting writes; vacuum (freeze) it now", **evidence)


def _pg_stat_statements(h: Any) -> tuple[bool, str | None]:
    """Whether pg_stat_statements answers (it refuses to when it is not in shared_preload_libraries)."""
    rows = h.query("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                   "WHERE e.extname = 'pg_stat_statements'")
    if not rows:
        return False, "not installed"
    schema = str(rows[0][0]).replace('"', '""')
    try:
        h.query(f'SELECT 1 FROM "{schema}".pg_stat_statements LIMIT 1')
    except Exception as exc:  # the refusal is the observation
        return False, " ".join(str(exc).split())
    return True, None


@probe("postgres.slow-query-visibility", target="postgres")
def slow_query_visibility(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Slow queries can be found: pg_stat_statements answers (installed and preloaded), or
    log_min_duration_statement is set."""
    collecting, why = ctx.fact("pg_stat_statements", _pg_stat_statements)
    log_ms = int(setting(ctx, "log_min_duration_statement", "-1"))
    evidence = {"pg_stat_statements": "collecting" if collecting else why, "log_min_duration_statement": log_ms}
    if collecting is True:
        return passed("pg_stat_statements is installed and collecting", **evidence)
    if log_ms >= 0:
        return passed(f"statements slower than {log_ms} ms are logged", **evidence)
    return failed(f"pg_stat_statements: {why}; and log_min_duration_statement is -1: slow queries leave no trace",
                  **evidence)


@probe("postgres.ssl", target="postgres")
def ssl(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The audit's own connection is encrypted (libpq reports SSL in use), as the application's should be."""
    handle = ctx.client
    ident = handle.identity
    sslmode = handle.dsn_params.get("sslmode", "prefer (the default)")
    evidence = {"ssl_in_use": ident["ssl_in_use"], "sslmode": sslmode, "server_ssl": setting(ctx, "ssl")}
    if ident["ssl_in_use"]:
        return passed(f"the connection is encrypted (sslmode={sslmode})", **evidence)
    return failed(f"the connection is not encrypted (sslmode={sslmode}, server ssl={evidence['server_ssl']}): "
                  "credentials and data cross the network in clear", **evidence)


@probe("postgres.migrations", target="postgres", params={
    "prisma_table": Param("str", "_prisma_migrations", help="Prisma's migration table (Langfuse)"),
    "alembic_table": Param("str", "alembic_version", help="Alembic's version table (LangSmith, LangSight)"),
})
def migrations(ctx: Any, p: dict[str, Any]) -> Verdict:
    """No unfinished migration: Prisma rows with neither finished_at nor rolled_back_at; Alembic has a version."""
    found = ctx.fact(f"migration-tables:{p['prisma_table']}:{p['alembic_table']}", lambda h: h.query(
        "SELECT n.nspname, c.relname, has_table_privilege(c.oid, 'SELECT') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND c.relname IN (%s, %s) ORDER BY 1, 2", (p["prisma_table"],
                                                                                p["alembic_table"])))
    if not found:
        return undecided(f"neither {p['prisma_table']} nor {p['alembic_table']} exists in this database: is the DSN "
                         "the product's database, and has the product started once?")
    unreadable = [f'"{schema}"."{table}"' for schema, table, readable in found if readable is not True]
    if unreadable:
        user = role_name(str(ctx.client.identity["user"]))
        return undecided(f"the audit identity cannot read {', '.join(unreadable)}: GRANT SELECT ON "
                         f"{', '.join(unreadable)} TO {user}", unreadable=unreadable)
    evidence: dict[str, Any] = {}
    problems = []
    for schema, table, _ in found:
        name = f'"{schema}"."{table}"'
        if table == p["prisma_table"]:
            rows = ctx.fact(f"prisma:{name}", lambda h, name=name: h.columns(
                f"SELECT migration_name, started_at, finished_at, rolled_back_at, logs IS NOT NULL AS has_logs "
                f"FROM {name} ORDER BY started_at"))
            stuck = [r["migration_name"] for r in rows if r["finished_at"] is None and r["rolled_back_at"] is None]
            evidence[f"{schema}.{table}"] = {"applied": sum(r["finished_at"] is not None for r in rows),
                                             "unfinished": stuck}
            if stuck:
                problems.append(f"Prisma migration(s) {listing(stuck, 3)} started and never finished (the app will "
                                "refuse to migrate: resolve with prisma migrate resolve)")
        else:
            versions = ctx.fact(f"alembic:{name}", lambda h, name=name: [r[0] for r in h.query(
                f"SELECT version_num FROM {name}")])
            evidence[f"{schema}.{table}"] = {"versions": versions}
            if not versions:
                problems.append(f"{schema}.{table} is empty: the Alembic migrations never completed")
            elif not all(isinstance(v, str) and v for v in versions):
                return undecided(f"{schema}.{table} holds no readable revision: {versions!r}", **evidence)
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed("migrations complete (" + ", ".join(f"{k}" for k in evidence) + ")", **evidence)


@probe("postgres.extensions", target="postgres", params={
    "required": Param("str-list", help="extensions the product needs"),
})
def required_extensions(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every extension the product needs is installed in its database."""
    have = extensions(ctx)
    missing = [e for e in p["required"] if e not in have]
    evidence = {"installed": {e: have[e] for e in p["required"] if e in have}, "missing": missing}
    if missing:
        return failed(f"missing extension(s): {', '.join(missing)} (CREATE EXTENSION, as a superuser or with "
                      "rds_superuser)", **evidence)
    return passed(f"all {len(p['required'])} required extensions are installed", **evidence)
