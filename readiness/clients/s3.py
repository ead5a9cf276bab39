"""S3 and S3-compatible blob storage (boto3): one client per target, read-only unless the round trip is opted in.

Credentials come from the standard AWS chain (environment, shared profile, web identity, instance role) unless the
target gives ``access_key_id``/``secret_access_key`` (or ``profile``).  ``endpoint_url`` points at an S3-compatible
store (MinIO, SeaweedFS, GCS interop).  Every call carries the run's timeout and a single attempt, so a down
endpoint costs one timeout: ``connect`` sends HEAD bucket and a transport failure there marks the target unusable.

Read-only is enforced here, not in the probes: a botocore ``before-call`` hook hands every operation that is not
Head*/Get*/List* to the shared guard (readiness.clients.guard), which refuses it outside ``writes()``.
boto3 is imported inside functions only.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit

from readiness.clients.guard import WriteGuard, WriteRefused
from readiness.errors import TargetUnavailable
from readiness.redact import secret_values

READ_PREFIXES = ("Head", "Get", "List")
WRITE_OPERATIONS = ("PutObject", "DeleteObject")  # the only writes the round trip needs
# IAM action behind each operation the audit sends, for "grant s3:..." in denials.
PERMISSIONS = {
    "HeadBucket": "s3:ListBucket", "ListObjectsV2": "s3:ListBucket", "GetBucketLocation": "s3:GetBucketLocation",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock", "GetBucketVersioning": "s3:GetBucketVersioning",
    "PutObject": "s3:PutObject", "GetObject": "s3:GetObject", "DeleteObject": "s3:DeleteObject",
}
# "No such configuration" replies: the bucket has none of it, a fact rather than a fault.
ABSENT = ("NoSuchLifecycleConfiguration", "ServerSideEncryptionConfigurationNotFoundError",
          "NoSuchPublicAccessBlockConfiguration")


class S3Refused(TargetUnavailable):
    """The store answered and refused (denied, wrong region, no such bucket, bad credentials); the message says why."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


class S3Handle:
    def __init__(self, config: Mapping[str, Any], timeout: float):
        self.config = dict(config)
        self.timeout = timeout
        self.bucket = str(config.get("bucket") or "")
        self.region = str(config.get("region") or "") or None
        self.endpoint_url = str(config.get("endpoint_url") or "") or None
        self.addressing_style = str(config.get("addressing_style") or "auto")
        self.guard = WriteGuard("s3", config.get("allow_writes") is True)
        self.requests = 0  # operations sent, for the benchmark
        self.operations: list[str] = []
        self.head: dict[str, Any] = {}  # HEAD bucket's answer (headers), or {"error": S3Refused}
        self._lock = threading.Lock()
        self.client: Any = None
        self._boto_session: Any = None

    # -- the guard ---------------------------------------------------------------------------------------------

    def _guard(self, model: Any, **_: Any) -> None:
        name = model.name
        if not name.startswith(READ_PREFIXES):
            self.guard.check(name, allowed=name in WRITE_OPERATIONS)
        with self._lock:
            self.requests += 1
            self.operations.append(name)

    @property
    def allow_writes(self) -> bool:
        return self.guard.allow_writes

    def writes(self) -> AbstractContextManager[None]:
        """Let this thread send PutObject/DeleteObject: only with ``allow_writes: true`` in the target."""
        return self.guard.writes()

    # -- calls ------------------------------------------------------------------------------------------------

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One S3 operation (boto3 snake_case name given in CamelCase), errors explained."""
        return self._call_on(self.client, operation, **params)

    def _call_on(self, client: Any, operation: str, **params: Any) -> dict[str, Any]:
        from botocore import xform_name

        method = getattr(client, xform_name(operation))
        try:
            return method(**params)  # type: ignore[no-any-return]
        except WriteRefused:
            raise
        except Exception as exc:
            raise explain(exc, operation, self) from None

    def absent_or(self, operation: str, **params: Any) -> dict[str, Any] | None:
        """The operation's answer, or None when the bucket has no such configuration."""
        try:
            return self.call(operation, **params)
        except S3Refused as exc:
            if exc.code in ABSENT:
                return None
            raise

    # -- the round trip's writes, and undoing them ---------------------------------------------------------------

    def delete_all(self, key: str, versions: list[str], client: Any = None) -> tuple[S3Refused | None, list[str]]:
        """DeleteObject on ``key``, then each known version of it (the put's, and the delete marker a versioned
        bucket adds), so that nothing is left: (the DeleteObject refusal, [versions left behind, with why])."""
        client = client or self.client
        refused = None
        try:
            versions.append(self._call_on(client, "DeleteObject", Bucket=self.bucket, Key=key).get("VersionId") or "")
        except S3Refused as exc:
            refused = exc
        left = []
        for version in dict.fromkeys(filter(None, versions)):
            try:
                self._call_on(client, "DeleteObject", Bucket=self.bucket, Key=key, VersionId=version)
            except S3Refused as exc:
                left.append(f"{key} version {version}: {exc}")
        return refused, left

    def undo_put(self, key: str, versions: list[str]) -> Any:
        """The cleanup of an object the round trip put (``versions`` fills in as the put answers), for the session
        to run when the item times out or the run is interrupted: its own client, bounded by the cleanup's wait."""
        def undo(wait: float) -> str:
            client = _client(self, self._boto_session, max(0.5, wait / 2))
            try:
                with self.writes():
                    refused, left = self.delete_all(key, versions, client)
            finally:
                client.close()
            if refused is not None or left:
                raise S3Refused("; ".join(([str(refused)] if refused is not None else []) + left))
            return "versions removed too" if any(versions) else ""

        return undo

    def where(self) -> str:
        return f"bucket {self.bucket!r}" + (f" at {_safe_endpoint(self.endpoint_url)}" if self.endpoint_url else "")


def connect(config: dict[str, Any], timeout: float) -> S3Handle:
    import boto3

    handle = S3Handle(config, timeout)
    if not handle.bucket:
        raise TargetUnavailable("the s3 target names no bucket")
    keys = {}
    if config.get("access_key_id") or config.get("secret_access_key"):
        keys = {"aws_access_key_id": config.get("access_key_id"),
                "aws_secret_access_key": config.get("secret_access_key"),
                "aws_session_token": config.get("session_token")}
    try:
        session = boto3.session.Session(profile_name=config.get("profile") or None, **keys)
    except Exception as exc:
        raise TargetUnavailable(f"cannot set up AWS credentials: {_text(exc)}") from None
    handle.region = handle.region or session.region_name or None
    handle._boto_session = session
    handle.client = _client(handle, session, timeout)
    try:
        answer = handle.client.head_bucket(Bucket=handle.bucket)
        handle.head = dict(answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}))
    except Exception as exc:
        refused = explain(exc, "HeadBucket", handle)
        if not isinstance(refused, S3Refused):  # the endpoint itself failed: no item can do better
            raise refused from None
        handle.head = {"error": refused}
    return handle


def _client(handle: S3Handle, session: Any, timeout: float) -> Any:
    """An S3 client of the handle's settings: one attempt, ``timeout`` per connect and read, the read-only guard."""
    from botocore.config import Config

    client = session.client(
        "s3", region_name=handle.region or "us-east-1", endpoint_url=handle.endpoint_url,
        config=Config(connect_timeout=timeout, read_timeout=timeout,
                      retries={"total_max_attempts": 1, "mode": "standard"},
                      s3={"addressing_style": handle.addressing_style}, user_agent_extra="readiness"))
    client.meta.events.register("before-call.s3", handle._guard)
    return client


def close(handle: S3Handle) -> None:
    if handle.client is not None:
        try:
            handle.client.close()
        except Exception:
            pass


def explain(exc: BaseException, operation: str, handle: S3Handle) -> TargetUnavailable:
    """A boto3 failure as one sentence that says what to do (never the credentials)."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    where = handle.where()
    if isinstance(exc, TargetUnavailable):
        return exc
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return TargetUnavailable("no usable AWS credentials (environment, profile, web identity, instance role, or "
                                 "access_key_id/secret_access_key in the s3 target)")
    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
        return TargetUnavailable(f"the S3 endpoint for {where} did not answer within {handle.timeout:g} s")
    if isinstance(exc, EndpointConnectionError):
        return TargetUnavailable(f"cannot reach the S3 endpoint for {where}: {_text(exc)}")
    if not isinstance(exc, ClientError):
        return TargetUnavailable(f"{operation} on {where} failed: {_text(exc)}")
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    code = str(error.get("Code") or meta.get("HTTPStatusCode") or "")
    status = meta.get("HTTPStatusCode")
    headers = meta.get("HTTPHeaders", {})
    actual = headers.get("x-amz-bucket-region") or error.get("Region")
    message = _text(error.get("Message") or code)
    if code in ("AccessDenied", "403", "AllAccessDisabled") or (status == 403 and code not in _CREDENTIAL_CODES):
        grant = PERMISSIONS.get(operation, f"s3:{operation}")
        blind = ("; a HEAD reply carries no reason, so also check the keys and the region"
                 if operation == "HeadBucket" else "")
        return S3Refused(f"access denied to {operation} on {where} (grant {grant} to the audit identity{blind})",
                         "AccessDenied")
    if code in _CREDENTIAL_CODES:
        return S3Refused(f"the store refused the credentials for {where} ({code}: {message}): check the access key "
                         "and secret", code)
    if code in ("PermanentRedirect", "301", "IllegalLocationConstraintException") or status == 301:
        return S3Refused(f"{where} is in region {actual or 'another region'}, not "
                         f"{handle.region or 'us-east-1'} (PermanentRedirect): set region: {actual or '<its region>'} "
                         "in the s3 target", "PermanentRedirect")
    if code == "AuthorizationHeaderMalformed":
        return S3Refused(f"requests were signed for region {handle.region or 'us-east-1'} but {where} expects "
                         f"{actual or 'another region'} (AuthorizationHeaderMalformed): set region in the s3 target",
                         code)
    if code == "NoSuchBucket" or (code == "404" and operation == "HeadBucket"):
        return S3Refused(f"{where} does not exist (NoSuchBucket): check the bucket name, endpoint and region",
                         "NoSuchBucket")
    return S3Refused(f"{operation} on {where} failed: {code}: {message}", code)


_CREDENTIAL_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
                     "InvalidClientTokenId", "TokenRefreshRequired")


def _text(exc: Any) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def _safe_endpoint(url: str | None) -> str:
    """The endpoint without any userinfo or query (never echo keys put into a URL)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured endpoint"
    return f"{parts.scheme}://{host}{port}{parts.path if parts.path not in ('', '/') else ''}"


def bucket_in_endpoint(endpoint_url: str | None, bucket: str) -> bool:
    """Whether the endpoint already names the bucket (virtual host or first path segment)."""
    if not endpoint_url or not bucket:
        return False
    try:
        parts = urlsplit(endpoint_url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    first = parts.path.strip("/").split("/")[0]
    return host.startswith(bucket.lower() + ".") or first == bucket


# -- light functions for the loader and the scrubber (no heavy imports, never raise) --------------------------------

def secrets(config: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    try:
        for key in ("secret_access_key", "session_token"):
            value = config.get(key)
            if isinstance(value, str) and value:
                found.add(value)
        url = config.get("endpoint_url")
        if isinstance(url, str):
            found |= secret_values(url, users=True)
    except Exception:
        pass
    return {s for s in found if s}


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    try:
        url = config.get("endpoint_url")
        if isinstance(url, str) and url:
            scheme = url.split("://", 1)[0].lower() if "://" in url else ""
            if scheme not in ("http", "https"):
                problems.append(("endpoint_url", "endpoint_url must start with http:// or https://"))
            elif "@" in url.split("://", 1)[1].split("/", 1)[0]:
                problems.append(("endpoint_url", "endpoint_url must not carry credentials: use access_key_id and "
                                                 "secret_access_key (or the AWS credential chain)"))
            elif "?" in url:
                problems.append(("endpoint_url", "endpoint_url must not carry a query string"))
        if bool(config.get("access_key_id")) != bool(config.get("secret_access_key")):
            problems.append(("access_key_id", "give both access_key_id and secret_access_key, or neither (the AWS "
                                              "credential chain)"))
        bucket = config.get("bucket")
        if isinstance(bucket, str) and bucket and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.\-_]{1,254}", bucket):
            problems.append(("bucket", "bucket must be a bucket name (lower case letters, digits, dots, hyphens), "
                                       "not a URL or path"))
    except Exception:
        pass
    return problems
