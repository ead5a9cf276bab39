"""Whether the product itself has blob storage on: its own setting, read from the files target (env file, compose
environment, Helm values) and the Kubernetes target (its Deployments' env), never inferred from the audit's s3 target.

Product facts, from the vendors' public files:
- LangSmith: langchain-ai/helm charts/langsmith/values.yaml (chart 0.17.0-rc.12, Aug 2026) `config.blobStorage.enabled`
  (default false) and `.bucketName`; templates/_helpers.tpl (langsmith.commonEnv) renders FF_BLOB_STORAGE_ENABLED /
  FF_S3_STORAGE_ENABLED and S3_BUCKET_NAME into every service's env, and only when blob storage is enabled.
- Langfuse: langfuse/langfuse worker/src/env.ts (v4.16.0) requires LANGFUSE_S3_EVENT_UPLOAD_BUCKET (the worker does
  not start without it); langfuse/langfuse-k8s charts/langfuse/values.yaml (chart 2.0.0) `s3.bucket` (default
  "langfuse", on the bundled SeaweedFS while `s3.deploy` is true), overridden by `s3.eventUpload.bucket`.
- LangSight (LangSight/langsight): no blob storage at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from readiness.clients.files import Files


@dataclass(frozen=True)
class Product:
    flags: tuple[str, ...]  # env variables that turn blob storage on (true/false); empty: the bucket variable does
    buckets: tuple[str, ...]  # env variables that name the bucket
    values_flag: str | None  # Helm values key of the switch
    values_buckets: tuple[str, ...]  # Helm values keys naming the bucket, the one that wins first
    values_default: bool | str  # what the chart does when the values say nothing (False, or its default bucket)
    chart: str
    components: tuple[str, ...]  # the Deployments that write blobs (and so carry the variables)


PRODUCTS = {
    "langsmith": Product(("FF_BLOB_STORAGE_ENABLED", "FF_S3_STORAGE_ENABLED"), ("S3_BUCKET_NAME",),
                         "config.blobStorage.enabled", ("config.blobStorage.bucketName",), False,
                         "langchain-ai/helm charts/langsmith 0.17.0-rc.12",
                         ("backend", "platform-backend", "queue", "ingest-queue")),
    "langfuse": Product((), ("LANGFUSE_S3_EVENT_UPLOAD_BUCKET",), None, ("s3.eventUpload.bucket", "s3.bucket"),
                        "langfuse", "langfuse/langfuse-k8s charts/langfuse 2.0.0", ("web", "worker")),
}
NO_BLOB_STORAGE = ("langsight",)


@dataclass(frozen=True)
class Seen:
    """One observation of the product's setting: on (True), off (False) or set but unreadable (None)."""

    enabled: bool | None
    where: str
    bucket: str | None = None


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text or "")


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")  # S3's naming rules (MinIO, SeaweedFS and GCS share them)


def _name(value: Any) -> str | None:
    """A bucket name as written, or None for anything that is not one (a number, a mapping, junk, a ${VAR})."""
    return value.strip() if isinstance(value, str) and _BUCKET.fullmatch(value.strip()) else None


def from_env(product: Product, env: Mapping[str, Any], where: str, complete: bool) -> list[Seen]:
    """What one set of variables says.  ``env`` maps names to literal values, or to None for a value taken from
    elsewhere (valueFrom).  ``complete``: nothing else feeds this environment, so a missing variable is unset."""
    found = [v for v in product.flags + product.buckets if v in env]
    if not found:
        if not complete:
            return []
        what = " / ".join(product.flags or product.buckets)
        return [Seen(False, f"{where}: {what} not set")]
    buckets = [b for b in product.buckets if b in env]
    bucket = _name(env[buckets[0]]) if buckets else None
    for flag in product.flags:
        if flag in env:
            on = _boolean(env[flag]) if env[flag] is not None else None
            shown = "from a Secret/ConfigMap" if env[flag] is None else repr(str(env[flag])[:40])
            return [Seen(on, f"{where}: {flag}={shown}" + ("" if on is not None else " (not true/false)"), bucket)]
    if product.flags:  # a bucket without the switch: blob storage stays off
        return [Seen(False, f"{where}: {buckets[0]} set but {product.flags[0]} not set")] if complete else []
    value = env[buckets[0]]
    if value is None:
        return [Seen(None, f"{where}: {buckets[0]} from a Secret/ConfigMap (its value is not visible)")]
    shown = f"{where}: {buckets[0]}={str(value)[:60]!r}"
    if isinstance(value, str) and not value.strip():
        return [Seen(False, shown)]
    return [Seen(True, shown, bucket) if bucket else Seen(None, shown + " (not a bucket name)")]


def from_files(product: Product, f: Files, defaults: bool) -> list[Seen]:
    """The env file's and each compose service's variables (one observation per place that sets them), and the
    Helm values."""
    out: list[Seen] = []
    env: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}
    for s in f.settings():
        if s.key in product.flags + product.buckets:
            env.setdefault(s.source, {}).setdefault(s.key, s.value)
            where.setdefault(s.source, f"{s.loc.file}:{s.loc.line} ({s.source})")
    for source, values in env.items():
        out += from_env(product, values, where[source], complete=False)
    if f.values is not None:
        out += from_values(product, f, defaults)
    return out


def from_values(product: Product, f: Files, defaults: bool) -> list[Seen]:
    """The Helm values: the switch (LangSmith), or the first bucket key that is set (Langfuse: an empty
    s3.eventUpload.bucket falls back to s3.bucket); what the chart does where they say nothing."""
    named = [(key, *f.values_get(key)) for key in product.values_buckets]
    written = [(key, value, loc) for key, value, loc, present in named if present and value not in (None, "")]
    bucket = _name(written[0][1]) if written else None
    if product.values_flag:
        value, loc, present = f.values_get(product.values_flag)
        if present:
            on = _boolean(value)
            shown = str(value).lower() if isinstance(value, bool) else str(value)[:40]
            return [Seen(on, f"{loc}: {product.values_flag}={shown}" + ("" if on is not None else
                         " (not true/false)"), bucket)]
        if defaults and product.values_default is False:
            return [Seen(False, f"{f.values_file}: {product.values_flag} not set (default false in "
                                f"{product.chart})")]
        return []
    if written:
        key, value, loc = written[0]
        shown = f"{loc}: {key}={str(value)[:60]!r}"
        return [Seen(True, shown, bucket) if bucket else Seen(None, shown + " (not a bucket name)")]
    empty = [(key, loc) for key, _, loc, present in named if present]
    if empty:
        return [Seen(False, f"{empty[-1][1]}: {' / '.join(product.values_buckets)} empty: no bucket")]
    if defaults and isinstance(product.values_default, str):  # a default on the bundled store is no production one
        return [Seen(None, f"{f.values_file}: no bucket set ({' / '.join(product.values_buckets)}): the chart's "
                           f"default {product.values_default!r} on its bundled store ({product.chart}) is not "
                           "judged; set the production bucket there")]
    return []


def from_deployments(product: Product, deployments: Iterable[Mapping[str, Any]], defaults: bool) -> list[Seen]:
    """Each Deployment's main container (the one that carries the product's variables, else the first): its env;
    one with envFrom may get the variables from elsewhere, which is unreadable here."""
    from readiness.checks._kubernetes_facts import containers, dicts, ref

    names = product.flags + product.buckets
    out: list[Seen] = []
    for dep in deployments:
        conts = containers(dep)
        main = next((c for c in conts if any(e.get("name") in names for e in dicts(c, "env"))),
                    conts[0] if conts else None)
        if main is None:
            continue
        env = {str(e.get("name")): (None if "valueFrom" in e else e.get("value")) for e in dicts(main, "env")}
        sourced = bool(dicts(main, "envFrom"))
        where = f"Deployment {ref(dep)} container {main.get('name', '?')}"
        seen = from_env(product, env, where, complete=defaults and not sourced)
        if not seen and sourced and defaults:
            seen = [Seen(None, f"{where}: its env comes partly from envFrom (not read)")]
        out += seen
    return out
