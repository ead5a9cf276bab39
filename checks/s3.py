"""Blob storage (S3 and S3-compatible): configured, reachable, lifecycle (and its alignment with trace retention),
media kept, encryption, public access block, region and addressing, noncurrent versions, the opt-in round trip."""

from __future__ import annotations

import re
import uuid
from typing import Any

from readiness.checks._blob_settings import NO_BLOB_STORAGE, PRODUCTS, Product, Seen, from_deployments, from_files
from readiness.checks._common import listing
from readiness.checks._files_facts import files
from readiness.checks._kubernetes_facts import service_deployments
from readiness.checks._s3_facts import (
    clickhouse_blind_spot,
    clickhouse_ttls,
    clickhouse_view,
    encryption,
    lifecycle,
    location,
    product_prefixes,
    public_access_block,
    shown_rules,
    versioning,
)

from readiness.clients.s3 import S3Handle, S3Refused, bucket_in_endpoint
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

_PREFIXES = Param("str-list", [""], help="prefixes the product writes under (the target's prefixes win)")
_AWS_HOSTS = Param("str-list", [r"(^|\.)amazonaws\.com(\.cn)?$"],
                   help="regexes of endpoint hosts that are AWS S3 (no endpoint_url is AWS too)")


def _days(value: float) -> str:
    return f"{value:g} d"


@probe("s3.enabled", target=None, reads=("deployments",))
def enabled(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Blob storage is on in the product's own settings (env file, compose environment, Helm values, its
    Deployments' env); an s3 target in the targets file alone says nothing about the product."""
    if ctx.preset in NO_BLOB_STORAGE:
        return not_applicable(f"{ctx.preset} has no blob storage")
    products = [PRODUCTS[ctx.preset]] if ctx.preset in PRODUCTS else list(PRODUCTS.values())
    defaults = ctx.preset in PRODUCTS  # a chart's defaults count only when we know whose chart it is
    if not (ctx.has("files") or ctx.has("kubernetes")):
        return undecided("cannot see the product's blob-storage setting: add the files target (env file, compose "
                         "file or Helm values) or the kubernetes target" + (
                             "; an s3 target does not show that the product uses it" if ctx.has("s3") else ""))
    seen: list[Seen] = []
    unread: list[str] = []
    for kind in ("files", "kubernetes"):
        if not ctx.has(kind):
            continue
        try:
            for product in products:
                seen += _settings_in(ctx, kind, product, defaults)
        except Exception as exc:  # noqa: BLE001 - one unreadable source leaves the item undecided, not broken
            unread.append(f"the {kind} target could not be read: {str(exc)[:200] or type(exc).__name__}")
    target = str(ctx.config("s3").get("bucket") or "") if ctx.has("s3") else None
    buckets = sorted({s.bucket for s in seen if s.enabled and s.bucket and not any(c in s.bucket for c in "${}")})
    evidence: dict[str, Any] = {"observed": [s.where for s in seen][:20], "product_buckets": buckets,
                                "target_bucket": target}
    off = [s for s in seen if s.enabled is False]
    if off:
        return failed("blob storage is off in the product's settings (" + "; ".join(s.where for s in off[:5]) +
                      "): payloads stay in ClickHouse (LangSmith) or event uploads fail (Langfuse)", **evidence)
    unclear = [s.where for s in seen if s.enabled is None] + unread
    if unclear:
        return undecided("could not read the product's blob-storage setting: " + "; ".join(unclear[:5]), **evidence)
    if not seen:
        return undecided("none of the product's blob-storage settings (" + ", ".join(
            dict.fromkeys(n for pr in products for n in pr.flags + pr.buckets)) + ") is in the files or Kubernetes "
            "objects the audit was given", **evidence)
    if target and buckets and target not in buckets:
        return undecided(f"blob storage is on, but the product writes to {listing(map(repr, buckets))} while the s3 "
                         f"target audits {target!r}: the blob items judged another bucket", **evidence)
    return passed("blob storage is on in the product's settings (" + "; ".join(s.where for s in seen[:3]) +
                  (f"; and {len(seen) - 3} more" if len(seen) > 3 else "") + ")", **evidence)


def _settings_in(ctx: Any, kind: str, product: Product, defaults: bool) -> list[Seen]:
    if kind == "files":
        return from_files(product, files(ctx), defaults)
    deployments, _ = service_deployments(ctx, product.components)
    return from_deployments(product, deployments, defaults)


@probe("s3.reachable", target="s3")
def reachable(ctx: Any, p: dict[str, Any]) -> Verdict:
    """HEAD bucket succeeds with the configured credentials."""
    h: S3Handle = ctx.client
    error = h.head.get("error")
    if isinstance(error, S3Refused):
        if error.code == "NoSuchBucket":
            return failed(str(error))
        return undecided(str(error))
    region = h.head.get("x-amz-bucket-region")
    return passed(f"HEAD {h.where()} succeeded", bucket=h.bucket, bucket_region=region)


@probe("s3.lifecycle", target="s3")
def lifecycle_rules(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The bucket has at least one enabled lifecycle rule that expires objects."""
    rules = lifecycle(ctx)
    shown = shown_rules(rules)
    if not rules:
        return failed("the bucket has no lifecycle rules: objects are kept forever", rules=[])
    expiring = [r for r in rules if r.expires]
    if not expiring:
        return failed(f"none of the {len(rules)} lifecycle rule(s) is enabled and expires objects", rules=shown)
    return passed(f"{len(expiring)} enabled rule(s) expire objects "
                  f"({listing(repr(r.prefix or '(whole bucket)') for r in expiring)})", rules=shown)


@probe("s3.lifecycle-aligned", target="s3", params={
    "tiers": Param("dict", {"ttl_s/": 14, "ttl_l/": 400}, help="prefix -> days the product keeps traces under it"),
    "tables": Param("str-list", ["*.runs", "*.feedbacks", "*.traces", "*.observations", "*.scores"],
                    help="ClickHouse trace tables (glob) whose fixed TTL the blobs must match, when the clickhouse "
                         "target is configured"),
    "prefixes": _PREFIXES,
    "tolerance_days": Param("number", 1, help="allowed difference between a rule's days and the retention"),
})
def lifecycle_aligned(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Lifecycle expirations match trace retention: the ClickHouse trace tables' fixed TTLs when the clickhouse
    target is configured and has them, else the product's trace tiers (prefix -> days)."""
    rules = lifecycle(ctx)
    expected: dict[str, list[float]] = {}
    evidence: dict[str, Any] = {"rules": shown_rules(rules)}
    source = "the product's trace tiers"
    if ctx.has("clickhouse"):
        try:
            other = clickhouse_view(ctx)
            hidden = clickhouse_blind_spot(other)
            if hidden is not None:  # the trace tables may be there, with TTLs, out of the audit identity's sight
                return undecided(f"cannot compare with the ClickHouse TTLs: {hidden.message}",
                                 **{**hidden.evidence, **evidence})
            tables, bad = clickhouse_ttls(other, p["tables"])
        except Exception as exc:
            return undecided(f"could not read the ClickHouse TTLs to compare with: {exc}")
        if bad:
            return undecided("could not read the ClickHouse TTLs on " + "; ".join(f"{n}: {w}" for n, w in bad.items()))
        fixed = sorted({d for days in tables.values() for d in days})
        evidence["clickhouse_ttls"] = tables
        if fixed:
            source = "the ClickHouse trace tables' TTLs"
            expected = {prefix: fixed for prefix in product_prefixes(ctx, p["prefixes"])}
    if not expected:
        try:
            expected = {str(k): [float(v)] for k, v in (p["tiers"] or {}).items()}
        except (TypeError, ValueError):
            return undecided(f"tiers must map prefixes to days, got {p['tiers']!r}")
    if not expected:
        return undecided("nothing to compare the lifecycle with: no fixed ClickHouse TTL on the trace tables and no "
                         "trace tiers (give tiers: {prefix: days})", **evidence)
    evidence["expected_days"] = expected
    findings, fine = [], []
    for prefix, days in expected.items():
        covering = [r.expiration_days for r in rules if r.covers(prefix) and r.expiration_days is not None]
        dated = [r for r in rules if r.touches(prefix) and r.expiration_date]
        if dated:
            findings.append(f"{prefix or '(whole bucket)'} expires on a fixed date ({dated[0].expiration_date}), "
                            "not after an age")
            continue
        if not covering:
            findings.append(f"{prefix or '(whole bucket)'} never expires (keep {'/'.join(map(_days, days))})")
            continue
        actual = min(covering)  # the earliest expiration wins
        if not any(abs(actual - d) <= p["tolerance_days"] for d in days):
            what = "deleted while the traces still reference it" if actual < min(days) else "kept after the traces"
            findings.append(f"{prefix or '(whole bucket)'} expires after {_days(actual)}, want "
                            f"{'/'.join(map(_days, days))} ({what})")
        else:
            fine.append(f"{prefix or '(whole bucket)'} {_days(actual)}")
    if findings:
        return failed(f"lifecycle does not match {source}: " + "; ".join(findings), **evidence)
    return passed(f"lifecycle matches {source}: " + ", ".join(fine), **evidence)


@probe("s3.media-retained", target="s3", params={
    "media_prefix": Param("str", "media/", help="prefix of uploaded media (Langfuse LANGFUSE_S3_MEDIA_UPLOAD_PREFIX)"),
})
def media_retained(ctx: Any, p: dict[str, Any]) -> Verdict:
    """No enabled lifecycle rule expires objects under the media prefix (traces keep referring to them)."""
    media = p["media_prefix"]
    rules = lifecycle(ctx)
    hits = [r for r in rules if r.expires and r.touches(media)]
    evidence = {"media_prefix": media, "rules": shown_rules(rules)}
    if hits:
        r = hits[0]
        scope = f"prefix {r.prefix!r}" if r.prefix else "the whole bucket"
        narrowed = f" (objects tagged/sized {', '.join(r.tags)})" if r.tags else ""
        return failed(f"rule {r.id or '(unnamed)'} expires {scope}{narrowed}, which includes media under {media!r}: "
                      "referenced media disappear", **evidence)
    return passed(f"no enabled rule expires objects under {media!r} ({len(rules)} rule(s) read)", **evidence)


@probe("s3.encryption", target="s3", params={
    "require_kms": Param("bool", False, help="demand aws:kms (or aws:kms:dsse) rather than any default encryption"),
})
def default_encryption(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Default encryption is on for the bucket."""
    rules = encryption(ctx)
    algorithms = [str((r.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm") or "") for r in
                  rules or []]
    algorithms = [a for a in algorithms if a]
    if not algorithms:
        return failed("default encryption is off: objects are stored unencrypted unless each writer asks",
                      algorithms=[])
    if p["require_kms"] and not any(a.startswith("aws:kms") for a in algorithms):
        return failed(f"default encryption is {', '.join(algorithms)}, not aws:kms", algorithms=algorithms)
    return passed(f"default encryption is on ({', '.join(algorithms)})", algorithms=algorithms)


_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@probe("s3.public-access-blocked", target="s3")
def public_access_blocked(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The bucket's public access block has all four flags on."""
    try:
        config = public_access_block(ctx)
    except S3Refused as exc:
        if exc.code in ("NotImplemented", "501", "XNotImplemented"):
            return undecided(f"this store has no public access block API ({exc}): check its bucket policy and ACLs "
                             "by hand and attest it")
        raise
    if config is None:
        return failed("the bucket has no public access block: a bucket policy or ACL can make traces public (an "
                      "account-level block is not read: if one is on, waive this item with that evidence)")
    off = [f for f in _FLAGS if config.get(f) is not True]
    if off:
        return failed(f"public access block is incomplete: {', '.join(off)} off", **{f: config.get(f) for f in _FLAGS})
    return passed("public access block is on (all four flags)", **{f: True for f in _FLAGS})


@probe("s3.region-addressing", target="s3", params={"aws_hosts": _AWS_HOSTS})
def region_addressing(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The bucket's region (GetBucketLocation) equals the configured one; the endpoint does not name the bucket;
    path-style addressing only for non-AWS stores."""
    h: S3Handle = ctx.client
    host = re.sub(r"^[a-z]+://", "", h.endpoint_url or "s3.amazonaws.com").split("/")[0].split(":")[0]
    aws = any(re.search(pat, host, re.I) for pat in p["aws_hosts"])
    evidence: dict[str, Any] = {"aws": aws, "addressing_style": h.addressing_style,
                                "configured_region": h.region or "us-east-1"}
    if bucket_in_endpoint(h.endpoint_url, h.bucket):
        return failed(f"endpoint_url already names the bucket {h.bucket!r}: the SDK adds the bucket again and "
                      "objects land where reads never look; give the service endpoint only", **evidence)
    if aws and h.addressing_style == "path":
        return failed("path-style addressing forced on AWS S3: AWS is retiring it, use auto or virtual", **evidence)
    actual = location(ctx)
    evidence["bucket_region"] = actual
    if actual != (h.region or "us-east-1"):
        return failed(f"the bucket is in {actual}, the target says {h.region or 'us-east-1 (default)'}: requests "
                      f"are redirected or refused (set region: {actual})", **evidence)
    return passed(f"the bucket is in the configured region {actual}; {h.addressing_style} addressing "
                  f"{'on AWS' if aws else 'on an S3-compatible store'}", **evidence)


@probe("s3.noncurrent-expiry", target="s3", params={"prefixes": _PREFIXES})
def noncurrent_expiry(ctx: Any, p: dict[str, Any]) -> Verdict:
    """A versioned bucket has rules that expire noncurrent versions and expired delete markers under every prefix
    the product writes (an unversioned bucket passes: a delete is final)."""
    status = versioning(ctx)
    if status == "":
        return passed("versioning is off: deleted objects do not linger as noncurrent versions", versioning="off")
    if status not in ("Enabled", "Suspended"):
        return undecided(f"GetBucketVersioning answered a status S3 does not define: {status!r}")
    rules = lifecycle(ctx)
    evidence = {"versioning": status, "rules": shown_rules(rules)}
    findings = []
    for prefix in product_prefixes(ctx, p["prefixes"]):
        label = prefix or "(whole bucket)"
        if not any(r.covers(prefix) and r.noncurrent_days is not None for r in rules):
            findings.append(f"noncurrent versions under {label} never expire")
        if not any(r.covers(prefix) and r.expired_delete_marker for r in rules):
            findings.append(f"expired delete markers under {label} are never removed")
    if findings:
        return failed(f"versioning is {status} and " + "; ".join(findings) + ": deleted data is kept (and billed)",
                      **evidence)
    return passed(f"versioning is {status}; noncurrent versions and expired delete markers expire", **evidence)


@probe("s3.round-trip", target="s3", writes=True, params={
    "opt_in": Param("bool", False, help="run the write round trip (also needs allow_writes: true in the target); "
                                        "the targets file's opt_in: [item id] does the same without editing the "
                                        "checklist"),
    "prefixes": _PREFIXES,
})
def round_trip(ctx: Any, p: dict[str, Any]) -> Verdict:
    """(Opt-in) put, get, list and delete one uniquely named object under every prefix the product writes; the
    object is deleted even when a step fails or the run is interrupted."""
    if not (p["opt_in"] or ctx.opted_in):
        return not_applicable(f"the write round trip is opt-in: add opt_in: [{ctx.item_id}] to the targets file (or "
                              "opt_in: true on the item) and allow_writes: true to the s3 target")
    if ctx.config().get("allow_writes") is not True:
        return not_applicable("the item opts in but the s3 target does not allow writes (allow_writes: true)")
    h: S3Handle = ctx.client
    done: list[str] = []
    findings: list[str] = []
    leftovers: list[str] = []  # versions the identity may not remove (s3:DeleteObjectVersion); not a product fault
    for prefix in product_prefixes(ctx, p["prefixes"]):
        label = prefix or "(bucket root)"
        key = f"{prefix}readiness-round-trip-{uuid.uuid4().hex}"
        body = uuid.uuid4().bytes
        before = len(findings)
        versions: list[str] = []
        # registered before the put: if this thread is abandoned (item timeout, Ctrl-C), the runner removes it
        claim = ctx.register_cleanup(f"{h.where()} object {key}", h.undo_put(key, versions))
        with h.writes():
            step = "PutObject"
            try:
                versions.append(h.call("PutObject", Bucket=h.bucket, Key=key, Body=body).get("VersionId") or "")
                step = "GetObject"
                got = h.call("GetObject", Bucket=h.bucket, Key=key)["Body"].read()
                if got != body:
                    findings.append(f"{key}: read back {len(got)} bytes that differ from the {len(body)} written")
                step = "ListObjectsV2"
                # one page of one key: ours sorts first under its own name, however big the bucket
                listed = h.call("ListObjectsV2", Bucket=h.bucket, Prefix=key, MaxKeys=1).get("Contents") or []
                if not any(o.get("Key") == key for o in listed):
                    findings.append(f"{key} is not listed after the put")
            except S3Refused as exc:
                findings.append(f"{step} under {label}: {exc}")
            finally:  # whatever happened above: the object must not stay behind (unless the runner took it over)
                if claim():
                    refused, left = h.delete_all(key, versions)
                    if refused is not None:
                        findings.append(f"DeleteObject under {label}: {refused} (retention needs delete)")
                    # a versioned bucket keeps versions the identity may not remove: not a product fault
                    leftovers.extend(left)
        if len(findings) == before:
            done.append(label)
    evidence: dict[str, Any] = {"prefixes": done}
    if leftovers:
        evidence["versions_left"] = leftovers
    if findings:
        return failed("round trip failed: " + "; ".join(findings), **evidence)
    return passed(f"put, get, list and delete succeeded under {', '.join(done)}", **evidence)
