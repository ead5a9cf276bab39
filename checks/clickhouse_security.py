"""ClickHouse access: users without a password or open to any host, the application user's grants, row policies."""

from __future__ import annotations

from typing import Any

from readiness.checks._clickhouse_facts import number, texts
from readiness.checks._clickhouse_facts import text as name_of
from readiness.checks.clickhouse import every_node, on_nodes, selected, split

from readiness.clients.clickhouse import ClickHouse, Node, statement
from readiness.probe import Param, Verdict, failed, probe, undecided

_USERS_INSTEAD = ("users live in users.xml on this release: check that every user has a <password> (or "
                  "<password_sha256_hex>) and no <ip>::/0</ip> in <networks>, and that the application's user has no "
                  "<access_management>")
USERS = statement(
    "users", "SELECT name, toString(auth_type) AS auth, host_ip, host_names, host_names_regexp, host_names_like "
             "FROM system.users",
    needs=["system.users.auth_type", "system.users.host_names_like"], instead=_USERS_INSTEAD)
GRANTS = statement(
    "grants", "SELECT toString(access_type) AS access, database, table, grant_option FROM system.grants "
              "WHERE user_name = {user} OR role_name IN (SELECT granted_role_name FROM system.role_grants "
              "WHERE user_name = {user})",
    needs=["system.grants", "system.role_grants"], instead=_USERS_INSTEAD, example={"user": "app"})
ROW_POLICIES = statement(
    "row-policies", "SELECT name, database, table, select_filter, apply_to_all, apply_to_list, apply_to_except "
                    "FROM system.row_policies",
    needs=["system.row_policies"],
    instead="row filters live in users.xml on this release (<databases><db><table><filter>): check that none "
            "applies to the product's tables")

ANY_HOST = {"::/0", "0.0.0.0/0", "::ffff:0.0.0.0/96"}
ADMIN = {"ALL", "ACCESS MANAGEMENT", "CREATE USER", "ROLE ADMIN"}


def _open_to_any(r: dict[str, Any]) -> bool:
    name = r["name"]
    regexps = texts(r["host_names_regexp"], f"host regexps of {name}")
    return bool(ANY_HOST & set(texts(r["host_ip"], f"host_ip of {name}"))
                or any(x in (".*", "^.*$", ".*$", "^.*") for x in regexps)
                or "%" in texts(r["host_names_like"], f"host patterns of {name}"))


def _user_findings(rows: list[dict[str, Any]], ignore: list[str]) -> list[str]:
    out = []
    for r in rows:
        if name_of(r["name"], "a user's name") in ignore:
            continue
        if "no_password" in name_of(r["auth"], f"auth_type of {r['name']}"):
            out.append(f"user {r['name']} has no password")
        if _open_to_any(r):
            out.append(f"user {r['name']} may connect from any host")
    return out


def _grant_findings(user: str, grants: list[dict[str, Any]], needs: list[str], allow_admin: bool) -> list[str]:
    out = []
    held = {name_of(g["access"], f"a grant of {user}") for g in grants}
    lacking = [] if "ALL" in held else [n for n in needs if n not in held]
    if lacking:
        out.append(f"application user {user} lacks {', '.join(lacking)}")
    if not allow_admin:
        admin = sorted(held & ADMIN) + (["GRANT OPTION"] if any(number(g["grant_option"], "grant_option")
                                                                for g in grants) else [])
        if admin:
            out.append(f"application user {user} holds {', '.join(admin)}: more than it needs")
    return out


@probe("clickhouse.users", target="clickhouse", params={
    "app_user": Param("str", None, help="the product's ClickHouse user (default: the user the audit connects as)"),
    "app_needs": Param("str-list", ["SELECT", "INSERT"], help="privileges the product's user must hold"),
    "allow_admin": Param("bool", False, help="accept an application user with access management rights"),
    "ignore_users": Param("str-list", [], help="users exempt from the password and any-host checks"),
    "try_users": Param("str-list", ["default"], help="on releases without system.users: users tried with an empty "
                                                     "password"),
})
def users(ctx: Any, p: dict[str, Any]) -> Verdict:
    """No user without a password or open to any host (::/0); the application's user holds what it needs and no
    access-management rights."""
    c: ClickHouse = ctx.client
    if not c.first.supports(USERS):
        return _users_old(ctx, p)
    ok, bad = split(on_nodes(ctx, USERS))
    app = p["app_user"] or c.first.endpoint.user
    grants, bad_grants = split(on_nodes(ctx, GRANTS, {"user": app}))
    bad.update(bad_grants)
    findings: dict[str, list[str]] = {}
    for node, rows in ok.items():
        found = _user_findings(rows, p["ignore_users"])
        if node in grants:
            found += _grant_findings(app, grants[node], p["app_needs"], p["allow_admin"])
        if found:
            findings[node] = found
    first = next(iter(findings.items()), None)
    text = f"{first[0]}: {'; '.join(first[1])}" if first else ""
    return every_node(ctx, ok, findings, bad, text, f"every user has a password and a host restriction; {app} holds "
                                                f"{', '.join(p['app_needs'])} and no admin rights",
                      app_user=app, users={n: [r["name"] for r in rows] for n, rows in ok.items()})


def _users_old(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Releases without system.users (before 20.4): try each of try_users with an empty password."""
    c: ClickHouse = ctx.client

    def fetch(client: ClickHouse) -> dict[str, Any]:
        def one(node: Node) -> dict[str, str | None]:
            return {user: client.try_login(node, user) for user in p["try_users"]}
        return client.each(one)

    ok, bad = split(ctx.fact(f"passwordless:{p['try_users']}", fetch))
    open_users = {node: [u for u, refused in tried.items() if refused is None] for node, tried in ok.items()}
    open_users = {n: us for n, us in open_users.items() if us}
    if open_users:
        node, names = next(iter(open_users.items()))
        return failed(f"{node}: user {', '.join(names)} logs in without a password", passwordless=open_users)
    release = c.first.release
    tried = ", ".join(p["try_users"])
    return undecided(f"not available on ClickHouse {release} (no system.users; a passwordless login as {tried} was "
                     f"refused): {_USERS_INSTEAD}", refused={n: t for n, t in ok.items()}, nodes_not_checked=bad)


@probe("clickhouse.row-policies", target="clickhouse", params={
    "tables": Param("str-list", ["*.*"], help="db.table patterns (glob) of the product's tables"),
    "app_user": Param("str", None, help="the product's ClickHouse user (default: the user the audit connects as)"),
})
def row_policies(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Row policies are listed, and none applies to the product's tables for the application's user (a policy
    there hides traces from the product)."""
    ok, bad = split(on_nodes(ctx, ROW_POLICIES))
    app = p["app_user"] or ctx.client.first.endpoint.user
    findings: dict[str, list[str]] = {}
    listed: dict[str, list[str]] = {}
    for node, rows in ok.items():
        for r in rows:
            listed.setdefault(node, []).append(f"{r['name']}: {r['select_filter']}")
            policy = name_of(r["name"], "a row policy's name")
            applies = ((number(r["apply_to_all"], f"apply_to_all of {policy}")
                        and app not in texts(r["apply_to_except"], f"apply_to_except of {policy}"))
                       or app in texts(r["apply_to_list"], f"apply_to_list of {policy}"))
            if applies and selected(name_of(r["database"], f"database of {policy}"),
                                    name_of(r["table"], f"table of {policy}"), p["tables"]):
                findings.setdefault(node, []).append(f"policy {r['name']} filters {r['database']}.{r['table']} for "
                                                     f"{app} ({r['select_filter']})")
    first = next(iter(findings.items()), None)
    text = f"{first[0]}: {first[1][0]}: the product will not see every row" if first else ""
    count = sum(len(v) for v in listed.values())
    return every_node(ctx, ok, findings, bad, text, f"{count} row polic{'y' if count == 1 else 'ies'}, none on the "
                                                f"product's tables for {app}", policies=listed, app_user=app)
