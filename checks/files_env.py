"""Settings the application is given (env file, compose ``environment:``): LangSight's rules, placeholder secrets,
Langfuse's ClickHouse cluster flag against the server.  Parsing and locations live in readiness.clients.files."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from readiness.checks._files_facts import (
    PLACEHOLDER_PASSWORDS,
    evidence,
    files,
    findings_text,
    locations,
    needs,
    shown,
)

from readiness.clients.files import Loc, Setting
from readiness.clients.secret_names import is_secret_key
from readiness.matchers import MISSING
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided
from readiness.redact import secret_spans

_OPT = None
_BY_KEY = {"SALT": ["mysalt", "salt"], "NEXTAUTH_SECRET": ["mysecret", "secret"], "ENCRYPTION_KEY": ["0" * 64],
           "langfuse.salt.value": ["mysalt", "salt"], "langfuse.nextauth.secret.value": ["mysecret", "secret"],
           "langfuse.encryptionKey.value": ["0" * 64],
           # LangSmith's compose .env.example (langchain-ai/helm charts/langsmith/docker-compose/.env.example, the
           # last version before its removal in Aug 2026); the compose file passes API_KEY_SALT on as
           # X_SERVICE_AUTH_JWT_SECRET and BLOB_STORAGE_* as S3_*.  The chart's key is config.basicAuth.jwtSecret.
           "API_KEY_SALT": ["super", "mysalt", "salt"], "X_SERVICE_AUTH_JWT_SECRET": ["super"],
           "BASIC_AUTH_JWT_SECRET": ["your-jwt-secret"], "jwtSecret": ["your-jwt-secret"],
           "LANGSMITH_LICENSE_KEY": ["your-license-key"], "INITIAL_ORG_ADMIN_PASSWORD": ["your-password"],
           "BLOB_STORAGE_ACCESS_KEY": ["your-access-key"], "S3_ACCESS_KEY": ["your-access-key"],
           "BLOB_STORAGE_ACCESS_KEY_SECRET": ["your-access-key-secret"],
           "S3_ACCESS_KEY_SECRET": ["your-access-key-secret"]}
_REQUIRED = ["SALT", "NEXTAUTH_SECRET", "ENCRYPTION_KEY", "API_KEY_SALT", "config.apiKeySalt"]
# LangSight's auth-off switch is a pydantic bool (LangSight/langsight src/langsight/config.py Settings.auth_disabled)
_NO_AUTH = {"AUTH_TYPE": ["none"], "LANGSIGHT_AUTH_DISABLED": ["true", "1", "yes", "on", "t", "y"]}
# LangSmith reads api_key_salt from config.existingSecretName when that is set (langchain-ai/helm charts/langsmith
# values.yaml 0.17.0-rc.12, config.apiKeySalt): an empty apiKeySalt is then no finding
_ELSEWHERE = {"config.apiKeySalt": "config.existingSecretName"}


@probe("files.setting", target="files", params={
    "key": Param("str", help="the variable, e.g. LANGSIGHT_METRICS_TOKEN"),
    "expect": Param("expect", help="matchers every value written for it must satisfy ({present: true}, ...)"),
})
def setting(ctx: Any, p: dict[str, Any]) -> Verdict:
    """A variable of the env file and of every compose service's environment, judged by `expect` wherever it is
    written; not written anywhere is judged as not present.  Secret values are never shown."""
    f = files(ctx)
    missing = needs(f, "env", "compose")
    if missing:
        return missing
    found = f.lookup(p["key"])
    if not found:
        v = p["expect"].judge(p["key"], MISSING)
        where = f.env_file or f.compose_file
        return type(v)(v.status, f"{v.message} in {where}" + (" or its services" if f.compose_file else ""),
                       {**v.evidence, "locations": []})
    bad: list[tuple[Loc, str]] = []
    undecided_: list[tuple[Loc, str]] = []
    for s in found:
        ok = p["expect"].test(s.value)
        if ok is False:
            bad.append((s.loc, f"{shown(s)} ({s.source}), expected {p['expect'].describe()}"))
        elif ok is None:
            undecided_.append((s.loc, f"{shown(s)} cannot be compared with {p['expect'].describe()}"))
        elif s.value.strip() and (not _judgeable(s.value) or s.value.strip().lower() in _LEFTOVERS - {"none"}
                                  or (is_secret_key(s.key) and s.value.strip().lower() == "none")):
            # a matcher may accept them, but they say nothing: an unresolved ${VAR}, binary junk, "NaN"/"null"
            undecided_.append((s.loc, f"{shown(s)} is a templating leftover or junk, not a value to judge"))
    if bad:
        return failed(findings_text(bad), **evidence(bad, key=p["key"]))
    if undecided_:
        return undecided(findings_text(undecided_), **evidence(undecided_, key=p["key"]))
    return passed(f"{p['key']} satisfies {p['expect'].describe()} at " + ", ".join(f"{s.loc.file}:{s.loc.line}"
                                                                                 for s in found[:5]),
                  key=p["key"], locations=locations(s.loc for s in found))


@probe("files.workers-redis", target="files", params={
    "workers": Param("str", "LANGSIGHT_WORKERS", help="the variable giving the number of API workers"),
    "redis": Param("str", "LANGSIGHT_REDIS_URL", help="the variable that must be set when workers > 1"),
})
def workers_redis(ctx: Any, p: dict[str, Any]) -> Verdict:
    """More than one API worker only with Redis configured (LangSight refuses to start otherwise: workers share
    rate limits, circuit breakers and alert de-duplication through it)."""
    f = files(ctx)
    missing = needs(f, "env", "compose")
    if missing:
        return missing
    workers, redis = f.lookup(p["workers"]), f.lookup(p["redis"])
    with_redis = any(r.value.strip() for r in redis)
    bad: list[tuple[Loc, str]] = []
    odd: list[tuple[Loc, str]] = []
    for w in workers:
        if not w.value.strip().isdigit():
            odd.append((w.loc, f"{p['workers']}={w.value[:40]!r} is not a number"))
        elif int(w.value) > 1 and not with_redis:
            bad.append((w.loc, f"{p['workers']}={int(w.value)} without {p['redis']}: the API refuses to start"))
    if bad:
        return failed(findings_text(bad), **evidence(bad, redis_set=False))
    if odd:
        return undecided(findings_text(odd), **evidence(odd))
    if not workers:
        return passed(f"{p['workers']} is not set (one worker), so Redis is optional", locations=[])
    top = max(int(w.value) for w in workers)
    why = f"and {p['redis']} is set" if with_redis else "(one worker needs no Redis)"
    return passed(f"{p['workers']}={top} {why}", workers=top, redis_set=with_redis,
                  locations=locations([w.loc for w in workers] + [r.loc for r in redis]))


def _is_placeholder(key: str, value: str, p: dict[str, Any]) -> str | None:
    last = key.rsplit(".", 1)[-1]
    for name, bad in p["by_key"].items():
        if (key == name or last == name) and value in bad:
            return f"{key} is the published placeholder"
    for name, bad in p["no_auth"].items():
        if (key == name or last == name) and value.strip().lower() in [b.lower() for b in bad]:
            return f"{key}={value.strip()} turns authentication off"
    if (key in p["required"] or last in p["required"] or key in p["required_set"]) and not value.strip():
        return f"{key} is empty"
    if is_secret_key(key) and value in p["passwords"]:
        return f"{key} is a default password"
    for start, end in secret_spans(value):
        if unquote(value[start:end]) in p["passwords"]:
            return f"{key} holds a URL with a default password"
    if re.fullmatch(r"0{32,}", value) and is_secret_key(key):
        return f"{key} is all zeros"
    if is_secret_key(key) and value.strip().lower() in _LEFTOVERS:
        return f"{key} is {value.strip()!r}, a templating leftover, not a secret"
    return None


_LEFTOVERS = {"nan", "none", "null", "nil", "<nil>", "undefined"}


def _named(value: Any) -> bool:
    return isinstance(value, str) and _judgeable(value)


def _judgeable(value: str) -> bool:
    """A value that says something: not empty, not an unresolved ${VAR}, no control characters or U+FFFD."""
    return (bool(value.strip()) and not re.fullmatch(r"\s*\$\{[^}]*\}\s*", value)
            and not re.search(r"[\x00-\x08\x0b-\x1f\ufffd]", value))


def _relevant(key: str, p: dict[str, Any]) -> bool:
    last = key.rsplit(".", 1)[-1]
    named = set(p["by_key"]) | set(p["no_auth"]) | set(p["required"]) | set(p["required_set"])
    return is_secret_key(key) or key in named or last in named


@probe("files.placeholder-secrets", target="files", params={
    "passwords": Param("str-list", PLACEHOLDER_PASSWORDS, help="default passwords of the products' compose files "
                                                                "and charts, refused for any secret-named key and "
                                                                "in URLs"),
    "by_key": Param("dict", _BY_KEY, help="placeholders refused for one key (env name or Helm values path)"),
    "required": Param("str-list", _REQUIRED, help="secrets that must not be empty where they are written"),
    "no_auth": Param("dict", _NO_AUTH, help="settings that turn authentication off"),
    "required_set": Param("str-list", [], help="secrets the product needs: not written anywhere (env file, compose "
                                               "services) is a finding too (LangSight: LANGSIGHT_API_KEYS ...)"),
    "elsewhere": Param("dict", _ELSEWHERE, help="required Helm keys that may be empty when another key (an "
                                                "existing Secret holding them) is set"),
})
def placeholder_secrets(ctx: Any, p: dict[str, Any]) -> Verdict:
    """No placeholder or default secret in the env file, the compose services' environment and command lines or the
    Helm values: Langfuse's SALT/NEXTAUTH_SECRET/ENCRYPTION_KEY examples, LangSmith's API_KEY_SALT super, the compose
    files' passwords (a ``${VAR:-default}`` that applies is such a value), AUTH_TYPE none, LANGSIGHT_AUTH_DISABLED;
    a secret of `required_set` that is written nowhere."""
    f = files(ctx)
    missing = needs(f, "env", "compose", "helm_values")
    if missing:
        return missing
    found: list[tuple[Loc, str]] = []
    checked = 0
    held = {k for k, other in p["elsewhere"].items() if _named(f.values_get(str(other))[0])}
    p = {**p, "required": [r for r in p["required"] if r not in held]}
    candidates: list[tuple[str, str, Loc, str]] = [(s.key, s.value, s.loc, s.source) for s in f.settings()]
    candidates += [(k, v, loc, "Helm values") for k, v, loc in f.values_leaves() if isinstance(v, str)]
    seen: set[tuple[Loc, str]] = set()
    for key, value, loc, source in candidates:
        why = _is_placeholder(key, value, p)
        checked += bool(not why and _relevant(key, p) and _judgeable(value))
        if why and (loc, why) not in seen:  # a service that merges another's environment (<<: *env) repeats it
            seen.add((loc, why))
            found.append((loc, f"{why} ({source})"))
    if f.env is not None or f.compose is not None:
        written = {key for key, *_ in candidates}
        where = f.env_file or f.compose_file or ""
        found += [(Loc(where, 1, 1), f"{key} is not set (in {where}"
                   + (" or the compose services' environment)" if f.compose_file else ")"))
                  for key in p["required_set"] if key not in written]
    if found:
        return failed(f"{len(found)} placeholder or default secret(s): " + findings_text(found),
                      **evidence(found, checked=checked))
    if checked == 0:
        return undecided("the files hold no secret with a value to judge (none set, or every one empty or an "
                         "unresolved ${VAR})", checked=0, locations=[])
    return passed(f"no placeholder or default secret among {checked} secret settings", checked=checked,
                  locations=[])


def _flag(settings: list[Setting]) -> tuple[bool | None, Setting | None]:
    for s in settings:
        text = s.value.strip().lower()
        if text in ("true", "1", "yes"):
            return True, s
        if text in ("false", "0", "no"):
            return False, s
        return None, s
    return None, None


@probe("files.clickhouse-cluster-flag", target="files", params={
    "flag": Param("str", "CLICKHOUSE_CLUSTER_ENABLED"),
    "name": Param("str", "CLICKHOUSE_CLUSTER_NAME"),
    "default_flag": Param("bool", True, help="the product's default when the flag is not written (Langfuse: true)"),
    "default_name": Param("str", "default", help="the product's default cluster name"),
})
def clickhouse_cluster_flag(ctx: Any, p: dict[str, Any]) -> Verdict:
    """CLICKHOUSE_CLUSTER_ENABLED agrees with the server: true only when the named cluster is in system.clusters
    (migrations fail on a single node otherwise); false when that cluster spans several hosts (tables would not
    be replicated).  Reads the clickhouse target's shared session."""
    f = files(ctx)
    missing = needs(f, "env", "compose")
    if missing:
        return missing
    written = f.lookup(p["flag"])
    enabled, where = _flag(written)
    if where is not None and enabled is None:
        return undecided(f"{where.loc.file}:{where.loc.line}: {p['flag']}={where.value[:40]!r} is neither true nor "
                         "false", locations=locations([where.loc]))
    if where is None:
        enabled = p["default_flag"]
    names = [s for s in f.lookup(p["name"]) if s.value.strip()]
    cluster = names[0].value.strip() if names else p["default_name"]
    if not ctx.has("clickhouse"):
        if f.partial:  # files alone (check-files): the server is judged by a full audit
            return not_applicable("needs the clickhouse target (a live server): not judged on the files alone")
        return undecided("needs the clickhouse target (to see which clusters the server defines)",
                         locations=locations([where.loc] if where else []))
    from readiness.checks.clickhouse import CLUSTERS

    rows = ctx.fact("first:clusters:[]", lambda c: c.first.query(CLUSTERS), kind="clickhouse")
    known = sorted({r["cluster"] for r in rows})
    hosts = {(r["host_name"], r["port"]) for r in rows if r["cluster"] == cluster}
    said = (f"{where.loc.file}:{where.loc.line}: {p['flag']}={where.value.strip()}" if where
            else f"{p['flag']} is not set (default {str(p['default_flag']).lower()})")
    ev = {"cluster_enabled": enabled, "cluster": cluster, "server_clusters": known[:20],
          "locations": locations([where.loc] if where else [])}
    if enabled and not hosts:
        return failed(f"{said}, but the server defines no cluster {cluster!r} (it has: {', '.join(known) or 'none'})"
                      ": migrations fail; set it to false for a single node, or name the cluster", **ev)
    if not enabled and len(hosts) > 1:
        return failed(f"{said}, but cluster {cluster!r} has {len(hosts)} hosts: tables would be created on one "
                      "node only, not replicated", **ev)
    state = f"cluster {cluster!r} exists" if hosts else f"no cluster {cluster!r} on the server"
    return passed(f"{said} and {state}", **ev)
