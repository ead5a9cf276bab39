"""Facts shared by the PostgreSQL probes, each fetched once per target: settings, sessions, extensions, and what the
audit identity is allowed to see of them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from readiness.matchers import MISSING
from readiness.probe import Verdict, undecided

# The predefined roles a fact needs, and the identity flag (readiness.clients.postgres) that says it is held.
_ROLE_FLAGS = {"pg_read_all_stats": "read_all_stats", "pg_read_all_settings": "read_all_settings"}


def settings(ctx: Any) -> dict[str, dict[str, Any]]:
    """Every row of pg_settings the identity may see, by lower-case name: {"setting": ..., "unit": ...}."""
    def fetch(h: Any) -> dict[str, dict[str, Any]]:
        rows = h.query("SELECT name, setting, unit, source FROM pg_settings")
        return {name.lower(): {"name": name, "setting": setting, "unit": unit, "source": source}
                for name, setting, unit, source in rows}

    return ctx.fact("settings", fetch)


def setting(ctx: Any, name: str, default: Any = MISSING) -> Any:
    row = settings(ctx).get(name.lower())
    return default if row is None else row["setting"]


def sessions(ctx: Any) -> dict[str, Any]:
    """Client backends in pg_stat_activity counted per user, and how many the identity may not see (their
    backend_type is NULL without pg_read_all_stats): one row per user, not per connection."""
    def fetch(h: Any) -> dict[str, Any]:
        rows = h.query(
            "SELECT usename, count(*) FILTER (WHERE backend_type IS NOT NULL), count(*) FILTER (WHERE backend_type "
            "IS NULL) FROM pg_stat_activity WHERE backend_type = 'client backend' OR backend_type IS NULL "
            "GROUP BY usename")
        return {"by_user": {user or "?": n for user, n, _ in rows if n},
                "clients": sum(n for _, n, _ in rows), "hidden": sum(hidden for _, _, hidden in rows)}

    return ctx.fact("sessions", fetch)


_JUDGED = ("FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")


def connection_ages(ctx: Any, judged: Callable[[str | None, str], bool], key: str) -> dict[str, Any]:
    """Count, median, youngest and oldest age (seconds) of the other client backends whose (user, application_name)
    ``judged`` keeps.  The pairs are read distinct and the ages aggregated by the server, so neither grows with the
    number of connections; ``key`` names the filter for the fact cache."""
    def fetch(h: Any) -> dict[str, Any]:
        pairs = h.query(f"SELECT DISTINCT usename, coalesce(application_name, '') {_JUDGED}")
        kept = [(user, app) for user, app in pairs if judged(user, app)]
        if not kept:
            return {"connections": 0}
        row = h.query(
            "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY age), min(age), max(age) FROM ("
            f"SELECT extract(epoch FROM now() - backend_start)::float8 AS age {_JUDGED} AND "
            "(coalesce(usename::text, ''), coalesce(application_name, '')) IN "  # no role is named ''
            "(SELECT * FROM unnest(%s::text[], %s::text[]))) AS judged", ([u or "" for u, _ in kept],
                                                                          [a for _, a in kept]))[0]
        return {"connections": row[0], "median_age_s": row[1], "youngest_s": row[2], "oldest_s": row[3]}

    return ctx.fact(f"connection-ages:{key}", fetch)


# Tables a verdict names are listed (the worst first, at most this many); the rest are counted by the server.
NAMED = 50
# Autovacuum off for a table or its TOAST table (``toast.autovacuum_enabled`` lands in the TOAST relation's own
# reloptions): parsed as PostgreSQL parses a boolean, so 0, no, f and off count as well as false (the text match
# before missed them and the table passed).  An option that is not a boolean fails the statement: an error, no pass.
_DISABLED = """EXISTS (SELECT 1 FROM pg_class r, pg_options_to_table(r.reloptions) o
                WHERE r.oid IN (c.oid, c.reltoastrelid) AND o.option_name = 'autovacuum_enabled'
                  AND NOT o.option_value::bool)"""
_TABLES = f"""WITH t AS (
  SELECT s.schemaname || '.' || s.relname AS name, s.n_live_tup AS live, s.n_dead_tup AS dead,
         s.n_dead_tup > %(min_dead)s AND s.n_dead_tup::float8 / greatest(s.n_live_tup, 1) > %(ratio)s AS bloated,
         {_DISABLED} AS disabled
  FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid)
SELECT count(*), count(*) FILTER (WHERE bloated), count(*) FILTER (WHERE disabled),
  (SELECT coalesce(json_agg(json_build_array(name, dead, live) ORDER BY dead DESC, name), '[]') FROM
    (SELECT name, dead, live FROM t WHERE bloated ORDER BY dead DESC, name LIMIT %(named)s) AS b),
  (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM
    (SELECT name FROM t WHERE disabled ORDER BY name LIMIT %(named)s) AS d)
FROM t"""  # json_agg keeps a subquery's order only in practice: its own ORDER BY says so


def table_health(ctx: Any, min_dead: int, ratio: float) -> dict[str, Any]:
    """User tables counted, and the bloated (dead tuples above ``min_dead`` and above ``ratio`` x live) and
    autovacuum-disabled ones named, worst first, up to NAMED of each: one row, however many tables there are."""
    def fetch(h: Any) -> dict[str, Any]:
        total, bloated, disabled, worst, off = h.query(_TABLES, {"min_dead": min_dead, "ratio": ratio,
                                                                 "named": NAMED})[0]
        return {"tables": total, "bloated_count": bloated, "disabled_count": disabled,
                "bloated": [tuple(row) for row in worst], "disabled": list(off)}

    return ctx.fact(f"table-health:{min_dead}:{ratio}", fetch)


def extensions(ctx: Any) -> dict[str, str]:
    return ctx.fact("extensions", lambda h: dict(h.query("SELECT extname, extversion FROM pg_extension")))


def role_name(name: str) -> str:
    """A role as SQL names it (quoted when it must be)."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'


def blind_to(ctx: Any, what: str, role: str = "pg_read_all_stats", hidden: int = 0) -> Verdict | None:
    """An ``error`` verdict when the audit identity cannot see ``what`` (it lacks ``role`` or the server hid rows);
    None when it can."""
    ident = ctx.client.identity
    if not hidden and (ident["superuser"] or ident[_ROLE_FLAGS[role]]):
        return None
    user = role_name(str(ident["user"]))
    seen = f" ({hidden} session(s) are hidden from it)" if hidden else ""
    return undecided(f"the audit identity {ident['user']} cannot see {what}{seen}: GRANT pg_monitor TO {user} (or "
                     f"{role})", user=ident["user"], needs=role, hidden_sessions=hidden)
