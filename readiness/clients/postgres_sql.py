"""Which SQL the audit sends to a PostgreSQL server: one read, nothing that outlives its transaction.

Every statement already runs in its own ``BEGIN READ ONLY`` transaction that is rolled back (clients/postgres.py),
which undoes ``set_config``/``SET`` and refuses writes.  What a rollback does not undo is refused here, before it is
sent: statements other than reads, several statements, and functions whose effect is not transactional (session
advisory locks, signals to other backends, statistics resets, replication slots, dblink).  Pure Python, no psycopg.
"""

from __future__ import annotations

import re

READS = ("select", "with", "values", "table", "show", "explain")
_SESSION_STATEMENTS = ("set", "reset", "discard", "listen", "unlisten", "notify", "load", "prepare", "deallocate",
                       "declare", "begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release")
# Functions whose effect a rollback does not undo, or that act on other sessions or the server.
_NOT_TRANSACTIONAL = frozenset("""
    pg_advisory_lock pg_advisory_lock_shared pg_try_advisory_lock pg_try_advisory_lock_shared pg_advisory_unlock
    pg_advisory_unlock_shared pg_advisory_unlock_all pg_cancel_backend pg_terminate_backend pg_reload_conf
    pg_rotate_logfile pg_switch_wal pg_create_restore_point pg_promote pg_backup_start pg_backup_stop pg_stat_reset
    pg_stat_reset_shared pg_stat_reset_single_table_counters pg_stat_reset_single_function_counters pg_stat_reset_slru
    pg_stat_reset_replication_slot pg_stat_reset_subscription_stats pg_stat_statements_reset pg_notify dblink
    dblink_exec dblink_connect dblink_connect_u dblink_send_query dblink_open pg_file_write pg_file_unlink
    pg_file_rename pg_file_sync lo_import lo_export pg_create_physical_replication_slot
    pg_create_logical_replication_slot pg_drop_replication_slot pg_copy_physical_replication_slot
    pg_copy_logical_replication_slot pg_replication_slot_advance pg_logical_slot_get_changes
    pg_logical_slot_get_binary_changes pg_replication_origin_create pg_replication_origin_drop
    pg_replication_origin_session_setup pg_logical_emit_message nextval setval pg_wal_replay_pause
    pg_wal_replay_resume pg_log_backend_memory_contexts pg_import_system_collations
""".split())
# Functions that run SQL given as text, which this check cannot see into.
_RUN_TEXT = frozenset("""query_to_xml query_to_xmlschema query_to_xml_and_xmlschema cursor_to_xml cursor_to_xmlschema
    pg_background_launch""".split())
_NOT_TRANSACTIONAL_PREFIXES = ("dblink", "pg_stat_reset", "pg_advisory_lock", "pg_advisory_unlock",
                               "pg_try_advisory_lock", "pg_replication_origin", "pg_create_", "pg_drop_", "lo_")
_WORD = re.compile(r"[A-Za-z_\x80-\uffff][A-Za-z0-9_$\x80-\uffff]*")
_DOLLAR = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")


class Refused(ValueError):
    """The statement is one the audit will not send."""


def _quoted(sql: str, start: int, quote: str, backslash: bool = False) -> tuple[str, int]:
    """The text of a quoted string or name whose opening quote is just before ``start`` (a doubled quote is one
    quote; with ``backslash``, E'...', a backslash escapes the next character), and where the token ends."""
    j, text, n = start, [], len(sql)
    while j < n:
        if backslash and sql[j] == "\\":
            text.append(sql[j + 1:j + 2])
            j += 2
        elif sql.startswith(quote * 2, j):
            text.append(quote)
            j += 2
        elif sql[j] == quote:
            break
        else:
            text.append(sql[j])
            j += 1
    return "".join(text), j + 1


def tokens(sql: str) -> list[tuple[str, str]]:
    """(kind, text) tokens: word (quoted identifiers unquoted, lower case), str, num, punct; comments dropped."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "&" and out and out[-1] == ("word", "u") and sql[i + 1:i + 2] in ("'", '"'):
            raise Refused("Unicode-escaped names and strings (U&'...') are refused: the check could not read them")
        elif c == "'":
            escapes = bool(out) and out[-1] == ("word", "e") and i > 0 and sql[i - 1] in "eE"
            if escapes:
                out.pop()
            text, i = _quoted(sql, i + 1, "'", escapes)
            out.append(("str", text))
        elif c == '"':
            text, i = _quoted(sql, i + 1, '"')
            out.append(("word", text.lower()))
        elif c == "$" and (m := _DOLLAR.match(sql, i)):
            end = sql.find(m.group(0), m.end())
            end = n if end < 0 else end
            out.append(("str", sql[m.end():end]))
            i = end + len(m.group(0))
        elif m := _WORD.match(sql, i):
            out.append(("word", m.group(0).lower()))
            i = m.end()
        elif c.isdigit():
            j = i
            while j < n and (sql[j].isalnum() or sql[j] == "."):
                j += 1
            out.append(("num", sql[i:j]))
            i = j
        else:
            out.append(("punct", c))
            i += 1
    return out


def _arguments(toks: list[tuple[str, str]], start: int) -> list[list[tuple[str, str]]]:
    """The comma-separated arguments of the call whose '(' is at ``start``."""
    args: list[list[tuple[str, str]]] = [[]]
    depth = 0
    for tok in toks[start:]:
        if tok == ("punct", "("):
            depth += 1
            if depth == 1:
                continue
        elif tok == ("punct", ")"):
            depth -= 1
            if depth == 0:
                break
        elif tok == ("punct", ",") and depth == 1:
            args.append([])
            continue
        args[-1].append(tok)
    return args


def check(sql: str) -> None:
    """Raise Refused (a sentence saying why) unless ``sql`` is one read that leaves the session as it found it."""
    toks = tokens(sql)
    while toks and toks[-1] == ("punct", ";"):
        toks.pop()
    if not toks:
        raise Refused("the statement is empty")
    if ("punct", ";") in toks:
        raise Refused("several statements in one query are refused: give one statement")
    kind, first = toks[0]
    if first in _SESSION_STATEMENTS and kind == "word":
        raise Refused(f"{first.upper()} is refused: it changes the session or its transaction, and the audit "
                      "leaves both as it found them")
    if not (kind == "word" and first in READS) and toks[0] != ("punct", "("):
        raise Refused(f"only reads are sent ({', '.join(r.upper() for r in READS)}); this statement starts with "
                      f"{first[:30]!r}")
    for i, (kind, word) in enumerate(toks[:-1]):
        if kind != "word" or toks[i + 1] != ("punct", "("):
            continue
        if word in _RUN_TEXT:
            raise Refused(f"{word}() is refused: it runs SQL given as text, which cannot be checked")
        if word in _NOT_TRANSACTIONAL or (word.startswith(_NOT_TRANSACTIONAL_PREFIXES)
                                          and not word.startswith(("lo_get", "lo_tell", "pg_create_restore"))):
            raise Refused(f"{word}() is refused: its effect outlives the audit's rolled-back transaction or reaches "
                          "other sessions")
        if word == "set_config":
            args = _arguments(toks, i + 1)
            if len(args) != 3 or args[2] != [("word", "true")]:
                raise Refused("set_config() is refused unless its third argument is the literal true (is_local): "
                              "it would change the session's settings")
