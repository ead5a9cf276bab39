"""Facts shared by the ClickHouse probes: what the audit identity can see (every probe that judges the product's data
checks it first), and row values fit to judge (finite numbers, real names) or an error naming the value."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from readiness.clients.clickhouse import ClickHouse, Node, statement
from readiness.probe import Verdict, undecided

SYSTEM_DATABASES = ("system", "INFORMATION_SCHEMA", "information_schema")
DATABASES = statement("databases", "SELECT name FROM system.databases")
TABLES_PER_DATABASE = statement("tables-per-database",
                                "SELECT database, count() AS tables FROM system.tables GROUP BY database")
# The product's MergeTree tables whose db.table matches a regular expression (globs_regex): the server filters, so
# what is fetched grows with the tables a probe judges, not with every table of the node.
_PRODUCT = ("FROM system.tables WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema') "
            "AND engine LIKE '%MergeTree' AND match(concat(database, '.', name), {names})")
ENGINES = statement("merge-tree-engines", f"SELECT database, name, engine {_PRODUCT}", example={"names": "(?s)^.*$"})
# engine_full costs the server a CREATE statement for every table of a database, whatever the WHERE clause says
# (ClickHouse 18.16, measured): it is read once per node, for the MergeTree tables that set a TTL or a part limit
# of their own (what clickhouse.ttl and clickhouse.parts judge), and shared.
CLAUSES = statement(
    "merge-tree-clauses", "SELECT database, name, engine_full FROM system.tables WHERE database NOT IN ('system', "
                          "'INFORMATION_SCHEMA', 'information_schema') AND engine LIKE '%MergeTree' AND "
                          "(positionCaseInsensitive(engine_full, 'TTL') > 0 OR position(engine_full, 'parts_to_') > 0)")
REPLICATED_TABLES = statement("replicated-tables", "SELECT count() AS tables FROM system.replicas")
_UNHEALTHY = ("is_readonly OR is_session_expired OR active_replicas < total_replicas OR absolute_delay >= {max_delay}")
REPLICA_COUNTS = statement("replica-counts", "SELECT count() AS tables, countIf(" + _UNHEALTHY + ") AS unhealthy "
                                             "FROM system.replicas", example={"max_delay": 300})
# The worst replicated tables: as many as a verdict names.
UNHEALTHY_REPLICAS = statement(
    "unhealthy-replicas", "SELECT database, table, is_readonly, is_session_expired, absolute_delay, queue_size, "
                          "total_replicas, active_replicas FROM system.replicas WHERE " + _UNHEALTHY
                          + " ORDER BY absolute_delay DESC, database, table LIMIT 50", example={"max_delay": 300})


_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")


def globs_regex(patterns: list[str]) -> str:
    """One RE2 expression matching at least what any of the fnmatch ``patterns`` match (``*``, ``?``); a pattern
    with a character class or a non-ASCII character gives one matching everything, and the caller's own fnmatch
    filter decides.  Only RE2's metacharacters are escaped, with a backslash: hex escapes (``\\x2e``) met a bug in
    ClickHouse's regex pre-filter (#106382, in the 24.8/25.3 the charts ship) that matched nothing, and the SQL
    literal quoting already makes quotes safe.  ``?`` is ``.+``: on 18.16 ``.`` is one byte, a multi-byte
    character is more (a superset; fnmatch decides exactly)."""
    if any("[" in p or not p.isascii() or not p.isprintable() for p in patterns):  # a control char: not sent
        return "(?s)^.*$"
    parts = ["".join(".*" if ch == "*" else ".+" if ch == "?" else "\\" + ch if ch in _RE2_SPECIAL else ch
                     for ch in p) for p in patterns]
    return "(?s)^(?:" + "|".join(parts) + ")$" if parts else "(?s)^$"


def number(value: Any, what: str) -> float:
    """``value`` as a finite number (ClickHouse gives settings as text); ValueError naming ``what`` for NULL, NaN,
    an infinity, or anything else, so that no comparison with it can quietly come out healthy."""
    out: float | None = None
    if isinstance(value, bool):
        out = float(value)
    elif isinstance(value, (int, float, Decimal)):
        out = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            out = float(value)
        except ValueError:
            out = None
    if out is None or not math.isfinite(out):
        raise ValueError(f"{what} is {str(value)[:40]!r}, not a finite number: cannot judge it")
    return out


def text(value: Any, what: str) -> str:
    """``value`` as non-empty text; ValueError naming ``what`` otherwise (NULL, a number, bytes, an empty string)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} is {str(value)[:40]!r}, not a name: cannot judge it")
    return value


def texts(value: Any, what: str) -> list[str]:
    """``value`` as a list of texts (an Array(String) column); ValueError naming ``what`` otherwise."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} is {str(value)[:40]!r}, not a list of names: cannot judge it")
    return list(value)


def product_databases(ctx: Any) -> list[str]:
    """The databases the product keeps its data in: 'databases:' of the target, else the URL's database (unless that
    is a system database)."""
    named = [str(d) for d in ctx.config().get("databases") or []]
    if named:
        return named
    c: ClickHouse = ctx.client
    db = c.first.endpoint.database
    return [] if db in SYSTEM_DATABASES else [db]


def _how(node: Node | None, user: str, database: str) -> str:
    if node is not None and not node.missing(["system.grants"]):
        return f"GRANT SHOW DATABASES, SHOW TABLES, SELECT ON {database}.* TO {user}"
    return f"add <database>{database}</database> to <allow_databases> of user {user} in users.xml"


def blind_spot(ctx: Any) -> Verdict | None:
    """An error verdict when, on a node that answers, the audit identity cannot see a database the probes judge
    (system.databases lists only what the user may see; system.parts and system.tables leave the rest out, so the
    rows read would look healthy), or when that cannot be read on a node that answers; None when it sees them all.
    Nodes that do not answer at all are the probe's to report."""
    c: ClickHouse = ctx.client

    def visible(n: Node) -> tuple[set[str], dict[str, int]]:
        return ({str(r["name"]) for r in n.query(DATABASES)},
                {str(r["database"]): int(r["tables"]) for r in n.query(TABLES_PER_DATABASE)})

    seen = ctx.fact("visible-databases", lambda client: client.each(visible))
    wanted = product_databases(ctx)
    user = c.first.endpoint.user
    nodes = {n.name: n for n in c.nodes}
    hidden: dict[str, list[str]] = {}
    empty: dict[str, list[str]] = {}
    for name, found in seen.items():
        if isinstance(found, BaseException):
            if name in c.down:
                continue  # does not answer at all: the probe reports it with the rest of its nodes
            return undecided(f"cannot tell which databases the audit identity ({user}) sees on {name}: "
                             f"{str(found).removeprefix(name + ': ')}", user=user)
        names, tables = found
        missing = [d for d in wanted if d not in names]
        if missing or not (names - set(SYSTEM_DATABASES)):
            hidden[name] = missing
        elif [d for d in wanted if not tables.get(d)]:
            empty[name] = [d for d in wanted if not tables.get(d)]
    if not hidden and not empty:
        return None
    if not hidden:
        node, dbs = next(iter(empty.items()))
        return undecided(f"the audit identity ({user}) sees no table in database {', '.join(dbs)} on {node}: the "
                         "product's schema is not there, or the user may not see its tables ("
                         + "; ".join(_how(nodes.get(node), user, d) for d in dbs) + ")", empty=empty, user=user)
    node, missing = next(iter(hidden.items()))
    if missing:
        how = "; ".join(_how(nodes.get(node), user, d) for d in missing)
        return undecided(f"the audit identity ({user}) cannot see database {', '.join(missing)} on {node}: the "
                         f"system tables leave its data out ({how})", hidden=hidden, user=user)
    return undecided(f"the audit identity ({user}) sees no database but system on {node}, so the product's data is "
                     f"invisible to it: name the product's databases in 'databases:' of the clickhouse target and "
                     f"allow the user to see them ({_how(nodes.get(node), user, '<db>')})", hidden=hidden, user=user)


# --- table TTLs (engine_full of system.tables) ------------------------------------------------------------------

_UNITS = {"second": 1 / 86400, "minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7, "month": 30, "quarter": 91,
          "year": 365}
_INTERVAL = re.compile(r"toInterval(Second|Minute|Hour|Day|Week|Month|Quarter|Year)\(\s*(\d+)\s*\)"
                       r"|INTERVAL\s+(\d+)\s+(SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR)S?\b", re.I)
_PER_ROW = re.compile(r"toInterval\w+\(\s*[^\d\s)]", re.I)  # an interval of a column, not a constant
_TTL_CLAUSE = re.compile(r"\bTTL\b(.*?)(?:\bSETTINGS\b|$)", re.I | re.S)
# What a TTL element does after its expression; none written means DELETE (ClickHouse prints DELETE as nothing).
_ACTION = re.compile(r"\b(TO\s+VOLUME|TO\s+DISK|RECOMPRESS|GROUP\s+BY|DELETE|WHERE)\b", re.I)


def _masked(text: str) -> str:
    """``text`` with quoted strings and parenthesised parts blanked, so keywords and commas are found at top level."""
    out, depth, quote = [], 0, ""
    for ch in text:
        if quote:
            out.append(" ")
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
            out.append(" ")
        elif ch == "(":
            depth += 1
            out.append(" ")
        elif ch == ")":
            depth = max(0, depth - 1)
            out.append(" ")
        else:
            out.append(ch if depth == 0 else " ")
    return "".join(out)


def ttl_elements(engine_full: str) -> list[tuple[str, str]]:
    """(expression, action) of each element of a table's TTL clause; action is DELETE, DELETE WHERE, TO VOLUME,
    TO DISK, RECOMPRESS or GROUP BY.  A GROUP BY swallows the commas after it (its keys), so it ends the list."""
    m = _TTL_CLAUSE.search(engine_full or "")
    if not m:
        return []
    clause = m.group(1)
    masked = _masked(clause)
    out: list[tuple[str, str]] = []
    start = 0
    for end in [i for i, ch in enumerate(masked) if ch == ","] + [len(clause)]:
        element, shape = clause[start:end], masked[start:end]
        start = end + 1
        actions = [(a.start(), " ".join(a.group(1).upper().split())) for a in _ACTION.finditer(shape)]
        expression = element[:actions[0][0]] if actions else element
        names = [name for _, name in actions]
        if "GROUP BY" in names:
            out.append((expression.strip(), "GROUP BY"))
            break
        move = next((n for n in names if n in ("TO VOLUME", "TO DISK", "RECOMPRESS")), None)
        out.append((expression.strip(), move or ("DELETE WHERE" if "WHERE" in names else "DELETE")))
    return out


def delete_ttl_days(engine_full: str) -> list[float]:
    """Days after which a table's TTL deletes every row: the constant intervals of its unconditional DELETE elements.
    Moves (TO VOLUME/DISK), recompression, GROUP BY roll-ups and DELETE ... WHERE keep (some) rows: not retention.
    A per-row TTL (an interval of a column) gives none."""
    days = []
    for expression, action in ttl_elements(engine_full):
        if action != "DELETE" or _PER_ROW.search(expression):
            continue
        found = _INTERVAL.findall(expression)
        if found:
            days.append(round(sum(int(n_a or n_b) * _UNITS[(unit_a or unit_b).lower()]
                                  for unit_a, n_a, n_b, unit_b in found), 3))
    return days
