"""Publish a JSON report to object storage (``--upload s3://bucket/prefix/``): one key per cluster and run, so a
fleet view can pick each cluster's latest and nothing is ever overwritten.

Credentials come from the standard AWS chain (environment, profile, web identity/IRSA, instance role); a
non-AWS store is named with ``AWS_ENDPOINT_URL_S3`` (or ``AWS_ENDPOINT_URL``), which boto3 reads itself.  This is
the one write the audit makes, and only when asked: one PutObject, nothing else."""

from __future__ import annotations

import json
import re
from typing import Any

from readiness.errors import ConfigError

_URL = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?$")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def parse(url: str) -> tuple[str, str]:
    """(bucket, prefix ending in '/' or empty) of s3://bucket/prefix/; a ConfigError for anything else."""
    m = _URL.match(url.strip())
    if m is None:
        raise ConfigError(f"--upload {url}: expected s3://bucket/prefix/ (a bucket name of lower-case letters, "
                          "digits, dots and hyphens)")
    prefix = m["prefix"] or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return m["bucket"], prefix


def key_for(report: dict[str, Any], prefix: str) -> str:
    """<prefix><cluster>/<finished_at>.json: keys of one cluster sort by time, and ``readiness fleet`` picks each
    cluster's newest report from the names alone (fleet.stamp_time reads this form back)."""
    cluster = _SAFE.sub("-", str(report.get("cluster") or "default")).strip("-") or "default"
    stamp = re.sub(r"[-:]", "", str(report["finished_at"])).replace(".", "-")
    return f"{prefix}{cluster}/{stamp}.json"


def client(timeout: float = 20.0, pool: int = 10) -> Any:
    """One client, shared by threads (boto3 clients are thread-safe; ``pool`` connections for that many)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(connect_timeout=timeout, read_timeout=timeout, max_pool_connections=pool,
                                            retries={"max_attempts": 2, "mode": "standard"}))


def upload(report: dict[str, Any], url: str, s3: Any = None) -> str:
    """Put the report under its key; returns s3://bucket/key.  Errors are one sentence (ConfigError)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = parse(url)
    key = key_for(report, prefix)
    body = json.dumps(report, indent=2, ensure_ascii=False).encode() + b"\n"
    try:
        (s3 or client()).put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise ConfigError(f"--upload {url}: {err.get('Code', 'error')}: {err.get('Message', '')} (the audit "
                          "identity needs s3:PutObject on that prefix)".replace(":  (", ": (")) from None
    except BotoCoreError as exc:
        raise ConfigError(f"--upload {url}: {exc}") from None
    return f"s3://{bucket}/{key}"
