"""moto's server as a real S3 endpoint over HTTP, with IAM authentication enforced once the buckets are set up.

good-traces      us-east-1: lifecycle ttl_s/ 14 d, ttl_l/ 400 d, whole-bucket noncurrent 30 d + expired delete
                 markers; AES256 default encryption; all four public-access-block flags; versioning Enabled
bad-traces       no lifecycle, no encryption, no public access block, versioning Enabled
misaligned       whole-bucket expiration after 7 d (so media/ too), half the public access block, aws:kms,
                 versioning Suspended with noncurrent expiry but no delete-marker rule
eu-traces        eu-west-1, ttl_s/ 14 d only, unversioned
denied-traces    like good-traces, but the auditor's policy denies s3:GetLifecycleConfiguration on it

moto ignores bucket policies (checked: a Deny bucket policy on GetLifecycleConfiguration changes nothing, with or
without authentication), so the denial is an explicit Deny in the auditor's IAM policy, which moto does enforce once
``/moto-api/reset-auth`` switches authentication on.  Users: ``auditor`` (read-only, what the README asks for),
``writer`` (the auditor's rights plus PutObject/DeleteObject, for the round trip), ``nodelete`` (no DeleteObject),
``admin`` (s3:* for the tests' own setup and checks).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fixtures_tls import stop_all
from servers import Server, free_port

# exactly what the README asks of the audit identity (moto names HEAD bucket s3:HeadBucket; AWS checks s3:ListBucket)
READ = ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetLifecycleConfiguration", "s3:GetEncryptionConfiguration",
        "s3:GetBucketPublicAccessBlock", "s3:GetBucketVersioning", "s3:HeadBucket"]
BUCKETS = ("good-traces", "bad-traces", "misaligned", "eu-traces", "denied-traces")
_GOOD_RULES = [
    {"ID": "short", "Status": "Enabled", "Filter": {"Prefix": "ttl_s/"}, "Expiration": {"Days": 14}},
    {"ID": "long", "Status": "Enabled", "Filter": {"Prefix": "ttl_l/"}, "Expiration": {"Days": 400}},
    {"ID": "versions", "Status": "Enabled", "Filter": {"Prefix": ""},
     "NoncurrentVersionExpiration": {"NoncurrentDays": 30}, "Expiration": {"ExpiredObjectDeleteMarker": True}},
]


@dataclass
class S3Stack:
    url: str
    server: Server
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # user -> (access key id, secret)

    def target(self, bucket: str, user: str = "auditor", **extra: Any) -> dict[str, Any]:
        key, secret = self.keys[user]
        return {"bucket": bucket, "endpoint_url": self.url, "region": "us-east-1", "access_key_id": key,
                "secret_access_key": secret, **extra}

    def client(self, user: str = "admin", region: str = "us-east-1") -> Any:
        import boto3

        key, secret = self.keys[user]
        return boto3.client("s3", endpoint_url=self.url, region_name=region, aws_access_key_id=key,
                            aws_secret_access_key=secret)

    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request moto logged so far."""
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.server.log.read_text(errors="replace"))
        return re.findall(r'"(GET|PUT|POST|DELETE|HEAD) (\S+) HTTP/1\.[01]"', text)

    def keys_in(self, bucket: str) -> list[str]:
        versions = self.client().list_object_versions(Bucket=bucket)
        return [v["Key"] for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])]


def _setup(url: str) -> dict[str, tuple[str, str]]:
    import boto3

    root = {"endpoint_url": url, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    iam = boto3.client("iam", region_name="us-east-1", **root)
    policies = {
        "auditor": [{"Effect": "Allow", "Action": READ, "Resource": "*"}],
        "writer": [{"Effect": "Allow", "Action": READ + ["s3:PutObject", "s3:GetObject", "s3:DeleteObject",
                                                         "s3:DeleteObjectVersion"],
                    "Resource": "*"}],
        "nodelete": [{"Effect": "Allow", "Action": READ + ["s3:PutObject", "s3:GetObject"], "Resource": "*"}],
        "admin": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}],
    }
    policies["auditor"].append({"Effect": "Deny", "Action": "s3:GetLifecycleConfiguration",
                                "Resource": "arn:aws:s3:::denied-traces"})
    keys = {}
    for user, statements in policies.items():
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
        k = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = (k["AccessKeyId"], k["SecretAccessKey"])

    s3 = boto3.client("s3", region_name="us-east-1", **root)
    eu = boto3.client("s3", region_name="eu-west-1", **root)
    for bucket in BUCKETS:
        if bucket == "eu-traces":
            eu.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        else:
            s3.create_bucket(Bucket=bucket)
    all_on = {f: True for f in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
    for bucket in ("good-traces", "denied-traces"):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": _GOOD_RULES})
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=all_on)
    s3.put_bucket_versioning(Bucket="bad-traces", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket="misaligned", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket="misaligned", VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_lifecycle_configuration(Bucket="misaligned", LifecycleConfiguration={"Rules": [
        {"ID": "everything-7d", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 7},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 7}}]})
    s3.put_bucket_encryption(Bucket="misaligned", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/traces"}}]})
    s3.put_public_access_block(Bucket="misaligned", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False})
    eu.put_bucket_lifecycle_configuration(Bucket="eu-traces", LifecycleConfiguration={"Rules": [_GOOD_RULES[0]]})
    # a bucket policy moto would have to honour for the denial; it does not (see the module docstring)
    s3.put_bucket_policy(Bucket="denied-traces", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetLifecycleConfiguration",
         "Resource": "arn:aws:s3:::denied-traces"}]}))
    return keys


def _enforce_auth(url: str) -> None:
    import urllib.request

    req = urllib.request.Request(f"{url}/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as answer:
        assert json.loads(answer.read())["status"] == "ok"


@pytest.fixture(scope="session")
def s3_stack(request: pytest.FixtureRequest, server_root: Path) -> Iterator[S3Stack]:
    port = free_port()
    binary = str(Path(sys.executable).parent / "moto_server")
    server = Server("moto-s3", [binary, "-H", "127.0.0.1", "-p", str(port)], server_root / "moto-s3",
                    port=port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        keys = _setup(url)
        _enforce_auth(url)
    except BaseException:
        server.stop()
        raise
    yield S3Stack(url, server, keys)
    stop_all(request, [server], "moto-s3")


class StallingProxy:
    """A forwarder in front of moto that holds every GetObject (GET /bucket/key): it sends the reply's headers, then
    the body one byte a second until released, so no socket timeout ever fires and the reader hangs (a store that
    stalls mid-download).  Everything else passes through unchanged (the SigV4 Host header included)."""

    def __init__(self, upstream: str):
        import http.client
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        self.release = threading.Event()
        self.stalled: list[str] = []
        proxy, up = self, urlsplit(upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
                conn.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(name, value)
                head = self.command == "HEAD"
                self.send_header("Content-Length", answer.getheader("Content-Length", "0") if head else str(len(data)))
                self.end_headers()
                if head:
                    return
                if self.command == "GET" and len(urlsplit(self.path).path.strip("/").split("/")) >= 2:
                    proxy.stalled.append(self.path)
                    for i in range(len(data)):
                        if proxy.release.is_set():
                            self.wfile.write(data[i:])
                            break
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                        proxy.release.wait(1.0)
                else:
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
