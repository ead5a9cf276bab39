"""Facts shared by the PostgreSQL probes, each fetched once per target: settings, sessions, extensions, and what the
audit identity is allowed to see of them."""

from __future__ import annotations

import re
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


def activity(ctx: Any) -> dict[str, Any]:
    """Client backends in pg_stat_activity (age in seconds), and how many sessions the identity may not see (their
    backend_type is NULL without pg_read_all_stats), one query per target."""
    def fetch(h: Any) -> dict[str, Any]:
        rows = h.columns(
            "SELECT pid, usename, application_name, state, client_addr::text AS client_addr, backend_type, "
            "extract(epoch FROM now() - backend_start)::float8 AS age_s, pid = pg_backend_pid() AS own "
            "FROM pg_stat_activity WHERE backend_type = 'client backend' OR backend_type IS NULL")
        return {"clients": [r for r in rows if r["backend_type"] is not None],
                "hidden": sum(r["backend_type"] is None for r in rows)}

    return ctx.fact("activity", fetch)


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
