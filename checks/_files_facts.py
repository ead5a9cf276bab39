"""Facts shared by the probes of the files target: the parsed files (read once per audit by the session) and how a
finding names the place that causes it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from readiness.clients.files import Files, Loc, Setting
from readiness.clients.secret_names import is_secret_key
from readiness.probe import Verdict, not_applicable, undecided
from readiness.redact import redact_text

MAX_LISTED = 20
# Default passwords of the products' compose files and charts (Langfuse docker-compose.yml, LangSight's
# ``${REDIS_PASSWORD:-changeme}``, the Bitnami subcharts): refused for any secret-named key and in URLs.
PLACEHOLDER_PASSWORDS = ["postgres", "password", "changeme", "myredissecret", "miniosecret", "clickhouse", "minio",
                         "secret", "admin",
                         "minioadmin"]  # MinIO's own root credentials when MINIO_ROOT_PASSWORD is not given


def files(ctx: Any) -> Files:
    """The parsed files of the files target (for its own items and for other backends' that read them); anything
    else handed back as the client is no observation to judge."""
    client = ctx.session("files").get_client(ctx.deadline)
    if not isinstance(client, Files):
        raise TypeError(f"the files target's client is {type(client).__name__}, not the parsed files")
    return client


def locations(locs: Iterable[Loc | None]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for loc in locs:
        if loc is not None and loc.as_dict() not in seen:
            seen.append(loc.as_dict())
    return seen[:MAX_LISTED]


def findings_text(findings: list[tuple[Loc, str]], limit: int = 5) -> str:
    shown = "; ".join(f"{loc.file}:{loc.line}: {what}" for loc, what in findings[:limit])
    more = len(findings) - limit
    return shown + (f"; and {more} more" if more > 0 else "")


def evidence(findings: list[tuple[Loc, str]], **extra: Any) -> dict[str, Any]:
    return {"findings": [f"{loc}: {what}" for loc, what in findings[:MAX_LISTED]],
            "locations": locations(loc for loc, _ in findings), **extra}


def needs(f: Files, *what: str) -> Verdict | None:
    """An error naming the files target's field when none of the files this item reads is configured."""
    have = {"compose": f.compose is not None, "env": f.env is not None, "helm_values": f.values is not None,
            "nginx": f.nginx is not None}
    if any(have[w] for w in what):
        return None
    fields = " or ".join(what)
    if f.partial:
        return not_applicable(f"no {fields} file among the files checked")
    return undecided(f"the files target has no {fields} file configured (add it, or --skip this item)")


def written_number(f: Files, key: str) -> tuple[int | None, list[Setting], str | None]:
    """(the largest whole number written for ``key`` in the env file and compose services, where, why not): None
    with no settings when it is written nowhere; a value that is not a count of at least 1 (0, "²", "1e3") is the
    error (never a guess: 0 workers would make any capacity enough)."""
    found = f.lookup(key)
    odd = [s for s in found if not re.fullmatch(r"[0-9]+", s.value.strip()) or int(s.value) < 1]
    if odd:
        return None, found, (f"{odd[0].loc.file}:{odd[0].loc.line}: {key}={odd[0].value[:40]!r} is not a number "
                             "of at least 1")
    return (max(int(s.value) for s in found) if found else None), found, None


def shown(setting: Setting) -> str:
    """A setting as it may be printed: secret values never are."""
    if is_secret_key(setting.key):
        return f"{setting.key} (set, {len(setting.value)} characters)" if setting.value else f"{setting.key} (empty)"
    value = redact_text(setting.value)  # a URL's password, with or without a scheme, before any cut
    value = value if len(value) <= 80 else value[:77] + "..."
    return f"{setting.key}={value}"
