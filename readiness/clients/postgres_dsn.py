"""PostgreSQL target settings without psycopg: the DSN libpq is given (application-only parameters set aside), its
host and port, the credentials it carries (for masking) and the DSNs that can never work (for `readiness
validate`).  The scrubber and the validator import it without loading a driver (dsn_params borrows psycopg's
conninfo parser when it is called)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from readiness.redact import secret_values

DSN_FIELDS = ("dsn", "pgbouncer_admin_dsn", "direct_dsn")
# Query parameters of application DSNs (Prisma, SQLAlchemy) that libpq does not know: kept aside, not sent.
APP_PARAMS = ("pgbouncer", "connection_limit", "pool_timeout", "schema", "sslaccept", "sslidentity", "socket_timeout",
              "statement_cache_size")


def split_dsn(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN libpq understands, and the application-only parameters it carried (e.g. Prisma's pgbouncer=true)."""
    dsn = dsn.strip()
    if "://" not in dsn:
        return dsn, {}
    parts = urlsplit(dsn)
    scheme = parts.scheme.split("+", 1)[0]  # postgresql+psycopg:// (SQLAlchemy) -> postgresql://
    if scheme == "postgres":
        scheme = "postgresql"
    query = parse_qsl(parts.query, keep_blank_values=True)
    app = {k: v for k, v in query if k in APP_PARAMS}
    kept = urlencode([(k, v) for k, v in query if k not in APP_PARAMS])
    return urlunsplit((scheme, parts.netloc, parts.path, kept, parts.fragment)), app


def dsn_params(dsn: str) -> dict[str, str]:
    """The libpq parameters of a DSN, password removed."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(split_dsn(dsn)[0])
    except Exception:
        return {}
    params.pop("password", None)
    params.pop("sslpassword", None)
    return {k: str(v) for k, v in params.items()}


def dsn_host_port(dsn: str) -> tuple[str, int | None]:
    params = dsn_params(dsn)
    host = str(params.get("host") or params.get("hostaddr") or "").split(",")[0]
    port = str(params.get("port") or "").split(",")[0]
    return host, int(port) if port.isdigit() else None


def rds_region(host: str) -> str | None:
    m = re.search(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com$", host or "")
    return m.group(1) if m else None


_KV = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")


def _kv_pairs(dsn: str) -> list[tuple[str, str]] | None:
    """libpq key=value pairs (values bare or single-quoted with backslash escapes), or None when it is not that."""
    pairs, i, n = [], 0, len(dsn)
    while i < n:
        if dsn[i:].strip() == "":
            break
        m = _KV.match(dsn, i)
        if not m:
            return None
        key, i = m.group(1), m.end()
        value: list[str] = []
        if i < n and dsn[i] == "'":
            i += 1
            while i < n and dsn[i] != "'":
                if dsn[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(dsn[i])
                i += 1
            if i >= n:
                return None  # an unterminated quote
            i += 1
        else:
            while i < n and not dsn[i].isspace():
                if dsn[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(dsn[i])
                i += 1
        pairs.append((key.lower(), "".join(value)))
    return pairs


def _url_secrets(url: str) -> set[str]:
    """Every reading of a URL's password (redact's one finder), and the pieces a URL parser (or libpq's error
    message) makes of a password whose '/', '#', '?' or '@' is not encoded; short pieces are left out, or every
    "a" in a report would be masked."""
    found = secret_values(url)
    found |= {piece for value in list(found) for piece in re.split(r"[/#?@]", value) if len(piece) >= 4}
    return found


def secrets(config: Mapping[str, Any]) -> set[str]:
    """Every credential the target's settings carry, in every form they may be printed; never raises."""
    found: set[str] = set()
    try:
        for field in DSN_FIELDS:
            value = config.get(field)
            if not isinstance(value, str) or not value.strip():
                continue
            value = value.strip()
            if "://" in value:
                found |= _url_secrets(value)
            for key, val in _kv_pairs(value) or []:
                if key in ("password", "sslpassword"):
                    found.add(val)
            for m in re.finditer(r"(?i)\b(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'?|\S+)", value):
                raw = m.group(1)  # the raw text as it stands in the DSN, quotes and escapes included
                found |= {raw, raw.strip("'")}
    except Exception:
        pass
    return {s for s in found if s}


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, sentence) for DSNs that can never work; the sentences never quote the DSN."""
    problems: list[tuple[str, str]] = []
    for field in DSN_FIELDS:
        value = config.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append((field, f"{field} must be text (a postgresql:// URL or key=value pairs)"))
            continue
        text = value.strip()
        if not text:
            problems.append((field, f"{field} is empty"))
        elif "://" in text:
            scheme = text.split("://", 1)[0].lower()
            if scheme.split("+", 1)[0] not in ("postgres", "postgresql"):
                shown = f"the {scheme}://" if re.fullmatch(r"[a-z][a-z0-9+.\-]{0,20}", scheme) else "another"
                problems.append((field, f"{field} uses {shown} scheme; a PostgreSQL DSN starts with postgresql:// or "
                                        "postgres:// (or is libpq key=value pairs)"))
        elif _kv_pairs(text) is None:
            # LangSmith's POSTGRES_DATABASE_URI is written so (user:pass@host:port/db, no scheme)
            hint = ("; a user:pass@host:port/db without a scheme (LangSmith's POSTGRES_DATABASE_URI) needs "
                    "postgresql:// in front" if re.fullmatch(r"[^\s=@]+@[^\s=@/]+(/\S*)?", text) else "")
            problems.append((field, f"{field} is neither a postgresql:// URL nor libpq key=value pairs "
                                    f"(host=... dbname=... user=...){hint}"))
    return problems
