"""``readiness init``: a targets file for the stack the application is configured to use, from its own env file (and
its Helm values or compose file).

Secrets are never copied: a setting that holds one becomes a ``${VAR}`` reference to the variable the application
reads (``redis://:${REDIS_AUTH}@redis:6379/0``, or the whole URL as ``${DATABASE_URL}``), so the file can be committed
and the audit runs with the application's own environment exported.  Every target that could not be inferred gets a
comment saying what to fill in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from readiness.clients.files import PLACEHOLDERS, Setting, is_secret_key, parse_env
from readiness.errors import ConfigError
from readiness.redact import secret_spans, secret_values
from readiness.yamlsrc import read_text

PRESETS = ("langsmith", "langfuse", "langsight")


@dataclass
class _Draft:
    preset: str
    env: dict[str, Setting]
    values: Any = None
    targets: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    exports: set[str] = field(default_factory=set)

    def get(self, *names: str) -> tuple[str, str] | None:
        """(variable, value) of the first of ``names`` set to something non-empty, the env file's own variables
        first: a reference must name one the user exports from it, not one compose derives from it (LangSight's
        .env holds CLICKHOUSE_PASSWORD, its compose passes it on as LANGSIGHT_CLICKHOUSE_PASSWORD)."""
        for own in (True, False):
            for name in names:
                s = self.env.get(name)
                if s is not None and s.value.strip() and (s.source == "env file") == own:
                    return name, s.value.strip()
        return None

    def ref(self, name: str) -> str:
        self.exports.add(name)
        return "${" + name + "}"

    def url(self, name: str, value: str) -> str:
        """A URL setting: as written when it holds no password, else a reference to the whole variable; a URL that
        compose builds from the env file's password (``postgresql://u:${POSTGRES_PASSWORD}@...``) keeps that
        reference in place of the password."""
        if secret_spans(value) or "${" in value or is_secret_key(name):
            given = self.env.get(name)
            if given is not None and given.source != "env file" and not is_secret_key(name):
                rebuilt = self._by_reference(value)
                if rebuilt is not None:
                    return rebuilt
            return self.ref(name)
        return value

    def _by_reference(self, value: str) -> str | None:
        """``value`` with each password replaced by a reference to the env-file variable holding exactly it."""
        out, last = [], 0
        for start, end in secret_spans(value):
            owner = next((s.key for s in self.env.values() if s.source == "env file" and s.value == value[start:end]
                          and is_secret_key(s.key)), None)
            if owner is None:
                return None
            out += [value[last:start], self.ref(owner)]
            last = end
        return "".join(out) + value[last:] if out and "${" not in value[last:] else None

    def value(self, path: str) -> Any:
        node = self.values
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node


def _host_port(url: str) -> tuple[str | None, int | None, str]:
    try:
        parts = urlsplit(url if "://" in url else f"x://{url}")
        return parts.hostname, parts.port, parts.scheme
    except ValueError:
        return None, None, ""


def _truthy(text: str | None) -> bool:
    return (text or "").strip().lower() in ("true", "1", "yes")


def _postgres(d: _Draft) -> None:
    # LangSight/langsight src/langsight/config.py: postgres_url (LANGSIGHT_ prefix) is its only database setting
    names = {"langfuse": (("DATABASE_URL",), ("DIRECT_URL",)), "langsmith": (("POSTGRES_DATABASE_URI",), ()),
             "langsight": (("LANGSIGHT_POSTGRES_URL",), ())}[d.preset]
    found = d.get(*names[0])
    if found:
        dsn = d.url(*found)
        if d.preset == "langsmith" and "://" not in found[1]:
            # user:pass@host:port/db, without a scheme (langchain-ai/helm charts/langsmith values.yaml 0.17,
            # postgres.external.connectionUrl: "Do not include the driver name"; the compose .env.example)
            dsn = "postgresql://" + dsn
        cfg = {"dsn": dsn}
        direct = d.get(*names[1]) if names[1] else None
        if direct and direct[1] != found[1]:
            cfg["direct_dsn"] = d.url(*direct)
        d.targets["postgres"] = cfg
        return
    host = d.value("postgres.external.host") or d.value("postgresql.host")
    if host:
        d.missing["postgres"] = (f"the Helm values name the database host {host}; add dsn: "
                                 "\"postgresql://USER:${POSTGRES_PASSWORD}@" + f"{host}:5432/DB\" and export it")
    elif d.preset == "langsmith":
        d.missing["postgres"] = ("no POSTGRES_DATABASE_URI in the env file: add dsn: "
                                 "\"postgresql://${POSTGRES_DATABASE_URI}\" (LangSmith writes it without a scheme)")
    else:
        d.missing["postgres"] = f"no {' or '.join(names[0])} in the env file: add dsn: \"${{{names[0][0]}}}\""


def _redis(d: _Draft) -> None:
    names = {"langfuse": ("REDIS_CONNECTION_STRING",), "langsmith": ("REDIS_DATABASE_URI",),
             "langsight": ("LANGSIGHT_REDIS_URL",)}[d.preset]
    found = d.get(*names)
    if found:
        d.targets["redis"] = {"url": d.url(*found)}
        return
    host = d.get("REDIS_HOST")
    if d.preset == "langfuse" and host:
        port = (d.get("REDIS_PORT") or ("", "6379"))[1]
        scheme = "rediss" if _truthy((d.get("REDIS_TLS_ENABLED") or ("", ""))[1]) else "redis"
        auth = d.get("REDIS_AUTH")
        cred = f":{d.ref(auth[0])}@" if auth else ""
        d.targets["redis"] = {"url": f"{scheme}://{cred}{host[1]}:{port}/0"}
        if not auth:
            d.notes.setdefault("redis", []).append("REDIS_AUTH is not set: the audit connects without a password")
        return
    d.missing["redis"] = f"no {' or '.join(names)} in the env file: add url: \"redis://:PASSWORD@host:6379/0\""
    if d.preset == "langsight":
        d.missing["redis"] += " (LangSight needs Redis only with LANGSIGHT_WORKERS > 1)"


def _langsight_clickhouse(d: _Draft) -> None:
    """LangSight/langsight src/langsight/config.py Settings (prefix LANGSIGHT_): CLICKHOUSE_URL (HTTP), _DATABASE
    (default langsight), _USERNAME, _PASSWORD; its compose maps the .env's unprefixed CLICKHOUSE_USER and
    CLICKHOUSE_PASSWORD onto them."""
    http = d.get("LANGSIGHT_CLICKHOUSE_URL")
    host, _, scheme = _host_port(http[1]) if http else (None, None, "")
    if not host:
        d.missing["clickhouse"] = ("no LANGSIGHT_CLICKHOUSE_URL in the env file (or its compose services): add url: "
                                   "\"clickhouse://host:9000/langsight\" (native port)")
        return
    db = (d.get("LANGSIGHT_CLICKHOUSE_DATABASE") or ("", "langsight"))[1]
    tls = scheme == "https"
    cfg = {"url": f"{'clickhouses' if tls else 'clickhouse'}://{host}:{9440 if tls else 9000}/{db}"}
    user = d.get("LANGSIGHT_CLICKHOUSE_USERNAME", "CLICKHOUSE_USER")
    if user:
        cfg["user"] = user[1]
    password = d.get("LANGSIGHT_CLICKHOUSE_PASSWORD", "CLICKHOUSE_PASSWORD")
    if password:
        cfg["password"] = d.ref(password[0])
    d.targets["clickhouse"] = cfg


def _clickhouse(d: _Draft) -> None:
    if d.preset == "langsight":
        _langsight_clickhouse(d)
        return
    cfg: dict[str, str] = {}
    if d.preset == "langsmith":
        ch_host = d.get("CLICKHOUSE_HOST")
        if ch_host:
            native_port = (d.get("CLICKHOUSE_NATIVE_PORT") or ("", "9000"))[1]
            tls = _truthy((d.get("CLICKHOUSE_TLS") or ("", ""))[1])
            db = (d.get("CLICKHOUSE_DB") or ("", "default"))[1]
            cfg["url"] = f"{'clickhouses' if tls else 'clickhouse'}://{ch_host[1]}:{native_port}/{db}"
            cluster = d.get("CLICKHOUSE_CLUSTER")
            if cluster:
                cfg["cluster"] = cluster[1]
    else:
        native = d.get("CLICKHOUSE_MIGRATION_URL")
        http = d.get("CLICKHOUSE_URL")
        given = native or http
        if given:
            host, port, scheme = _host_port(given[1])
            if native is None or scheme not in ("clickhouse", "clickhouses", "tcp"):
                port = 9000  # the audit speaks the native protocol; CLICKHOUSE_URL is the HTTP port
            tls = scheme in ("https", "clickhouses")
            db = (d.get("CLICKHOUSE_DB") or ("", "default"))[1]
            if host:
                cfg["url"] = f"{'clickhouses' if tls else 'clickhouse'}://{host}:{port}/{db}"
        if d.preset == "langfuse" and _truthy((d.get("CLICKHOUSE_CLUSTER_ENABLED") or ("", "true"))[1]) and cfg:
            cfg["cluster"] = (d.get("CLICKHOUSE_CLUSTER_NAME") or ("", "default"))[1]
    if not cfg:
        d.missing["clickhouse"] = (f"no CLICKHOUSE_{'HOST' if d.preset == 'langsmith' else 'URL'} in the env "
                                   "file: add url: \"clickhouse://host:9000/default\" (native port)")
        return
    user = d.get("CLICKHOUSE_USER")
    if user:
        cfg["user"] = user[1]
    password = d.get("CLICKHOUSE_PASSWORD")
    if password:
        cfg["password"] = d.ref(password[0])
    d.targets["clickhouse"] = cfg


def _s3(d: _Draft) -> None:
    cfg: dict[str, str] = {}
    if d.preset == "langfuse":
        p = "LANGFUSE_S3_EVENT_UPLOAD_"
        fields = {"bucket": "BUCKET", "endpoint_url": "ENDPOINT", "region": "REGION"}
        for key, suffix in fields.items():
            found = d.get(p + suffix)
            if found and not (key == "region" and found[1] == "auto"):
                cfg[key] = d.url(*found) if key == "endpoint_url" else found[1]
        for key, suffix in (("access_key_id", "ACCESS_KEY_ID"), ("secret_access_key", "SECRET_ACCESS_KEY")):
            if d.get(p + suffix):
                cfg[key] = d.ref(p + suffix)
        if _truthy((d.get(p + "FORCE_PATH_STYLE") or ("", ""))[1]) and cfg:
            cfg["addressing_style"] = "path"
    elif d.preset == "langsmith":
        # the services read S3_*; LangSmith's compose .env.example names them BLOB_STORAGE_* and maps them
        bucket = (d.get("S3_BUCKET_NAME", "BLOB_STORAGE_BUCKET_NAME")
                  or ("", d.value("config.blobStorage.bucketName") or ""))
        if bucket[1]:
            cfg["bucket"] = str(bucket[1])
            api = d.get("S3_API_URL", "BLOB_STORAGE_API_URL") or ("", d.value("config.blobStorage.apiURL") or "")
            if api[1] and "amazonaws.com" not in str(api[1]):
                if api[0]:
                    cfg["endpoint_url"] = d.url(api[0], str(api[1]))
                elif secret_spans(str(api[1])):  # a values key, not a variable: nothing to reference
                    d.notes.setdefault("s3", []).append("config.blobStorage.apiURL carries a credential: add "
                                                        "endpoint_url: \"${S3_API_URL}\" and export it")
                else:
                    cfg["endpoint_url"] = str(api[1])
            for key, names in (("access_key_id", ("S3_ACCESS_KEY", "BLOB_STORAGE_ACCESS_KEY")),
                               ("secret_access_key", ("S3_ACCESS_KEY_SECRET", "BLOB_STORAGE_ACCESS_KEY_SECRET"))):
                var = d.get(*names)
                if var:
                    cfg[key] = d.ref(var[0])
    if d.preset == "langsight":
        return  # it keeps no blobs: written below as no s3 target
    if "bucket" not in cfg:
        what = {"langfuse": "LANGFUSE_S3_EVENT_UPLOAD_BUCKET", "langsmith": "S3_BUCKET_NAME, BLOB_STORAGE_BUCKET_NAME "
                "or config.blobStorage.bucketName"}[d.preset]
        d.missing["s3"] = f"no {what}: add bucket: (and endpoint_url for MinIO or another S3-compatible store)"
        return
    d.targets["s3"] = cfg


def _http(d: _Draft) -> None:
    # LangSight's public URL is the dashboard's (config.py dashboard_url; NEXTAUTH_URL is the dashboard's own)
    found = d.get(*{"langfuse": ("NEXTAUTH_URL",), "langsmith": ("LANGSMITH_URL",),
                    "langsight": ("LANGSIGHT_DASHBOARD_URL", "NEXTAUTH_URL")}[d.preset])
    hostname = d.value("config.hostname")
    if found and found[1].startswith(("http://", "https://")):
        d.targets["http"] = {"base_url": d.url(*found)}
    elif hostname:
        d.targets["http"] = {"base_url": f"https://{hostname}"}
    else:
        d.missing["http"] = "the public URL is not in the env file: add base_url: \"https://observability.example.com\""
    token = d.get("LANGSIGHT_METRICS_TOKEN")
    if token and "http" in d.targets:
        d.targets["http"]["metrics_token"] = d.ref(token[0])


def _scalar(value: str) -> str:
    return json.dumps(value)


def _relative(path: str, out_dir: str) -> str:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(out_dir))
    return rel.replace(os.sep, "/")


def render(preset: str, env_file: str, values_file: str | None = None, compose_file: str | None = None,
           out_dir: str = ".") -> tuple[str, list[str]]:
    """The targets file's text, and the variables to export before ``readiness audit`` (never their values)."""
    if preset not in PRESETS:
        raise ConfigError(f"--preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    env = parse_env(read_text(env_file, "env file", "an"), env_file, env_file)
    values = None
    if values_file:
        from readiness.clients.files import load

        values = load({"helm_values": values_file}).values
    if compose_file:
        from readiness.clients.files import load

        compose = load({"compose": compose_file})
        for s in compose.settings():  # the env file wins; the compose file's services fill in the rest
            env.setdefault(s.key, s)
    d = _Draft(preset, env, values)
    for step in (_redis, _postgres, _clickhouse, _s3, _http):
        step(d)
    from readiness.deployment import infer

    kind_of = infer(None, {"files": {"compose": compose_file, "helm_values": values_file}}, preset)
    lines = [f"# Written by `readiness init --preset {preset}` from {_relative(env_file, out_dir)}.",
             "# Secrets are references to the application's own variables: export them before `readiness audit`.",
             "# Hosts are as the application sees them; from another machine, point them at addresses it can reach.",
             f"preset: {preset}", "profile: production"]
    if kind_of.kind:
        # a comment: inferred again at each audit, so a kubernetes target added later is not set aside unseen
        lines.append(f"# deployment: {kind_of.kind}  ({kind_of.why}: inferred, the other kind's items are skipped)")
    lines.append("")
    for kind in ("redis", "postgres", "clickhouse", "s3", "http"):
        if kind == "s3" and preset == "langsight":
            lines += ["# s3: none - LangSight keeps no blobs (ClickHouse and PostgreSQL hold its data; its blob items "
                      "are skipped)", ""]
            continue
        if kind in d.targets:
            for note in d.notes.get(kind, []):
                lines.append(f"# {note}")
            lines.append(f"{kind}:")
            lines += [f"  {k}: {_scalar(v)}" for k, v in d.targets[kind].items()]
        else:
            lines += [f"# {kind}: not inferred - {d.missing[kind]}", f"# {kind}: {{}}"]
        lines.append("")
    if kind_of.kind != "compose":
        lines += _kubernetes_hint(values_file, out_dir)
    lines += ["# network: not inferred - add {public_host: observability.example.com}", ""]
    files = {"env": env_file, "compose": compose_file, "helm_values": values_file}
    lines.append("files:")
    lines += [f"  {k}: {_scalar(_relative(v, out_dir))}" for k, v in files.items() if v]
    text = "\n".join(lines) + "\n"
    _never_a_secret(text, env)
    return text, sorted(d.exports)


def _kubernetes_hint(values_file: str | None, out_dir: str) -> list[str]:
    """What to add for Kubernetes: a live cluster, rendered manifests, or a chart rendered offline, which is the
    chart beside the values file when there is one (a Chart.yaml in its folder)."""
    chart, values = "./path/to/chart", "values.yaml"
    if values_file:
        values = _relative(values_file, out_dir)
        folder = os.path.dirname(os.path.abspath(values_file))
        if os.path.isfile(os.path.join(folder, "Chart.yaml")):
            chart = _relative(folder, out_dir)
    return ["# kubernetes: not inferred - add {context: ..., namespace: ..., release: ...} (a live cluster), "
            "{manifests: ./dir/}",
            f"#   or, offline, the chart rendered by the audit: "
            f"{{chart: {_scalar(chart)}, values: [{_scalar(values)}]}}"]


def _never_a_secret(text: str, env: Mapping[str, Setting]) -> None:
    """The guarantee, checked on the output: no secret value of the env file is in it."""
    for s in env.values():
        secrets = {s.value} if is_secret_key(s.key) else set()
        secrets |= secret_values(s.value)
        for secret in secrets:
            if len(secret) >= 4 and secret not in PLACEHOLDERS and secret in text:
                raise AssertionError(f"init would have written the value of {s.key}")  # a bug, never shipped


def write(preset: str, env_file: str, output: str, values_file: str | None = None,
          compose_file: str | None = None) -> list[str]:
    out_dir = "." if output == "-" else os.path.dirname(os.path.abspath(output))
    text, exports = render(preset, env_file, values_file, compose_file, out_dir)
    if output == "-":
        import sys

        sys.stdout.write(text)
    else:
        if os.path.exists(output):
            raise ConfigError(f"{output} exists: remove it or give another -o")
        with open(output, "x", encoding="utf-8") as fh:
            fh.write(text)
    return exports
