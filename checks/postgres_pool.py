"""PostgreSQL connection pooling probes: is a pooler in the path, is its mode one the product supports, and does
the application's connection demand fit max_connections."""

from __future__ import annotations

import re
from typing import Any

from readiness.checks import _kubernetes_facts as kf
from readiness.checks._common import classify_host, listing
from readiness.checks._postgres_facts import setting

from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

_OPT = None


def _admin(ctx: Any, command: str) -> list[dict[str, Any]]:
    return ctx.fact(f"pgbouncer:{command}", lambda h: h.admin(command))


def _pgbouncer_version(ctx: Any) -> tuple[str | None, str | None]:
    """(version text, why not) from the admin console, when one is configured."""
    if not ctx.config().get("pgbouncer_admin_dsn"):
        return None, "no pgbouncer_admin_dsn configured"
    rows = _admin(ctx, "SHOW VERSION")
    text = str(next(iter(rows[0].values()))) if rows else ""
    return (text, None) if "pgbouncer" in text.lower() else (None, f"the admin console answered {text!r}")


def _backend_pids(h: Any) -> list[int]:
    """pg_backend_pid() of the first transaction and of two more: a transaction pooler may change it."""
    return [h.identity["backend_pid"]] + [h.query("SELECT pg_backend_pid()")[0][0] for _ in range(2)]


def _listed_by_pgbouncer(ctx: Any) -> bool:
    """PgBouncer's SHOW CLIENTS lists this very session (its address and port as PgBouncer sees them)."""
    local = ctx.client.local_addr
    return bool(local) and any(str(r.get("addr")) == local[0] and str(r.get("port")) == str(local[1])
                               for r in _admin(ctx, "SHOW CLIENTS"))


def _pooler(ctx: Any, hosts: list[str]) -> tuple[list[str], dict[str, Any]]:
    """The positive evidence that a pooler answers the DSN (empty: none seen), and what was looked at.

    A server port that differs from the dialled one is no evidence: any TCP forwarder (kubectl port-forward,
    docker -p) does that."""
    handle = ctx.client
    ident = handle.identity
    host, port = handle.dialled
    kind, pattern = classify_host(host, hosts, []) if hosts else (None, None)
    pids = ctx.fact("backend-pids", _backend_pids)
    evidence: dict[str, Any] = {"pg_backend_pid": ident["backend_pid"], "reported_pid": ident["client_pid"],
                                "backend_pids": pids, "dialled_port": port, "inet_server_port": ident["server_port"],
                                "host_pattern": pattern}
    seen = []
    if handle.handshake_differs:
        seen.append(f"the handshake's backend pid ({ident['client_pid']}) is not pg_backend_pid() "
                    f"({ident['backend_pid']}): a pooler answered the session")
    if len(set(pids)) > 1:
        seen.append(f"pg_backend_pid() changed between transactions ({', '.join(map(str, pids))})")
    if kind == "managed":
        seen.append(f"{host} is a known pooler endpoint (pattern {pattern})")
    if ctx.config().get("pgbouncer_admin_dsn") and _pgbouncer_version(ctx)[0]:
        listed = _listed_by_pgbouncer(ctx)
        evidence["listed_in_show_clients"] = listed
        if listed:
            seen.append("PgBouncer's SHOW CLIENTS lists this session")
    evidence["evidence"] = seen
    return seen, evidence


@probe("postgres.pooling", target="postgres", params={
    "pooler_hosts": Param("str-list", help="regexes of pooler endpoints (RDS Proxy, Supabase/Neon poolers ...)"),
})
def pooling(ctx: Any, p: dict[str, Any]) -> Verdict:
    """A pooler sits between the application DSN and PostgreSQL, on positive evidence only.

    Evidence: the handshake's backend pid differs from pg_backend_pid(), pg_backend_pid() changes between
    transactions, the host is a known pooler endpoint, or PgBouncer's admin console lists the audit's session."""
    seen, evidence = _pooler(ctx, p["pooler_hosts"])
    version, why_not = _pgbouncer_version(ctx)
    evidence["pgbouncer"] = version or why_not
    if seen:
        what = version or "a pooler"
        return passed(f"{what} is in the path: " + "; ".join(seen), **evidence)
    if version:
        return failed(f"{version} runs, but the DSN bypasses it: its SHOW CLIENTS does not list this session, and "
                      "the backend answered the handshake itself", **evidence)
    return failed("no pooler seen in the path: the backend answered the handshake itself and kept its pid across "
                  "transactions, and the host is no known pooler endpoint (give pgbouncer_admin_dsn or add "
                  "pooler_hosts if a pooler is there)", **evidence)


def _pool_mode(ctx: Any) -> tuple[str | None, dict[str, Any]]:
    """The pool_mode PgBouncer applies to our database, and its prepared-statement support."""
    handle = ctx.client
    dbname = (handle.dsn_params or {}).get("dbname") or handle.identity["database"]
    databases = {str(r.get("name")): r for r in _admin(ctx, "SHOW DATABASES")}
    config = {str(r.get("key")): r.get("value") for r in _admin(ctx, "SHOW CONFIG")}
    row = databases.get(dbname) or databases.get("*") or {}
    mode = row.get("pool_mode") or config.get("pool_mode")
    return (str(mode) if mode else None), {"database": dbname, "pool_mode": mode,
                                           "max_prepared_statements": config.get("max_prepared_statements")}


@probe("postgres.pooler-compatible", target="postgres", params={
    "modes": Param("str-list", ["session", "transaction"],
                   help="pool modes the product supports (LangSmith: session)"),
    "prepared_statements": Param("bool", True, help="the product uses prepared statements (Prisma): transaction "
                                                    "mode needs PgBouncer >= 1.21 max_prepared_statements or "
                                                    "pgbouncer=true"),
    "direct_for_migrations": Param("bool", True, help="in transaction mode, migrations must use a direct DSN "
                                                      "(direct_dsn in the postgres target, Langfuse DIRECT_URL)"),
})
def pooler_compatible(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The pooler's pool_mode is one the product supports, prepared statements are handled in transaction mode, and
    migrations bypass the pooler (direct_dsn is not pooled)."""
    seen, evidence = _pooler(ctx, [])
    if not seen and not ctx.config().get("pgbouncer_admin_dsn"):
        return not_applicable("no pooler in the path (see postgres.pooling)")
    version, why_not = _pgbouncer_version(ctx)
    if not version:
        return undecided(f"a pooler is in the path but its pool_mode cannot be read ({why_not}): give "
                         "pgbouncer_admin_dsn (user in admin_users or stats_users)", **evidence)
    mode, more = _pool_mode(ctx)
    evidence.update(more, pgbouncer=version)
    if mode not in p["modes"]:
        return failed(f"pool_mode is {mode}; the product supports {' or '.join(p['modes'])}", **evidence)
    problems = []
    if mode == "transaction" and p["prepared_statements"]:
        m = re.search(r"(\d+)\.(\d+)", version)
        native = bool(m and (int(m[1]), int(m[2])) >= (1, 21) and int(more["max_prepared_statements"] or 0) > 0)
        flagged = ctx.client.app_params.get("pgbouncer") == "true"
        evidence.update(native_prepared_statements=native, dsn_pgbouncer_flag=flagged)
        if not (native or flagged):
            problems.append("transaction mode without prepared-statement support: set max_prepared_statements "
                            "(PgBouncer >= 1.21) or add pgbouncer=true to the application's DATABASE_URL")
    if mode == "transaction" and p["direct_for_migrations"]:
        if not ctx.config().get("direct_dsn"):
            return undecided("transaction pooling: migrations must bypass the pooler; give direct_dsn (the "
                             "application's DIRECT_URL) so it can be checked", **evidence)
        direct = ctx.fact("direct", lambda h: h.direct_identity())
        evidence["direct_dsn_pooled"] = direct["pooled"]
        if direct["pooled"]:
            problems.append("direct_dsn goes through a pooler too: Prisma Migrate needs a direct connection")
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(f"pool_mode {mode} suits the product" + (", prepared statements handled and migrations direct"
                                                           if mode == "transaction" else ""), **evidence)


@probe("postgres.connection-budget", target="postgres", reads=kf.DEMAND, params={
    "replicas": Param("int", _OPT, help="the application's maximum pod count (HPA maxReplicas)"),
    "pool_size": Param("int", _OPT, help="connections each pod's pool opens"),
    "workloads": Param("list", _OPT, help="several Deployments: a list of {name, replicas, pool_size}"),
    "max_ratio": Param("number", 0.8, help="share of (max_connections - reserved) the application may take"),
    "deployments": Param("str-list", _OPT, help="the product's service Deployments read from the kubernetes target "
                                                "(default: the preset's)"),
})
def connection_budget(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Sum over the app's Deployments of maxReplicas x pool size fits max_ratio x (max_connections - reserved).

    The figures come from the parameters; without them, from the kubernetes target: each service Deployment's HPA
    or ScaledObject maximum and the pool size its env gives (error when a service's pool size is not there)."""
    workloads = list(p["workloads"] or [])
    if p["replicas"] is not None or p["pool_size"] is not None:
        if p["replicas"] is None or p["pool_size"] is None:
            return undecided("give both replicas and pool_size (or workloads)")
        workloads.append({"name": "application", "replicas": p["replicas"], "pool_size": p["pool_size"]})
    if not workloads:
        ctx.session("kubernetes")  # raises "needs the kubernetes target" when it is not configured
        workloads, unknown = kf.connection_demand(ctx, p["deployments"] or kf.services(ctx))
        if unknown:
            return undecided(f"the connection demand cannot be counted: the pool size of {listing(unknown, 5)} is "
                             "not readable from its env (POSTGRES_POOL_SIZE, connection_limit= in DATABASE_URL ...): "
                             "give replicas and pool_size (or workloads) in this item", unknown=unknown)
        if not workloads:
            return undecided("no service Deployment of the product with database settings found in the kubernetes "
                             "target: give replicas and pool_size (or workloads) in this item")
    bad = [w for w in workloads if not isinstance(w, dict) or not all(isinstance(w.get(k), int)
                                                                      for k in ("replicas", "pool_size"))]
    if bad:
        return undecided(f"workloads entries need integer replicas and pool_size: {bad[0]!r}")
    limit = int(setting(ctx, "max_connections"))
    reserved = int(setting(ctx, "superuser_reserved_connections", "0"))
    demand = sum(w["replicas"] * w["pool_size"] for w in workloads)
    budget = p["max_ratio"] * (limit - reserved)
    evidence = {"demand": demand, "budget": round(budget, 1), "max_connections": limit, "reserved": reserved,
                "workloads": {str(w.get("name", i)): w["replicas"] * w["pool_size"] for i, w in enumerate(workloads)}}
    seen, _ = _pooler(ctx, [])
    if seen:
        evidence["note"] = "through a pooler the server sees the pooler's pool sizes, not the pods' pools"
    verdict = passed if demand <= budget else failed
    return verdict(f"the application may open {demand} connections at peak; the budget is {budget:.0f} "
                   f"({p['max_ratio']:.0%} of {limit} - {reserved} reserved)", **evidence)
