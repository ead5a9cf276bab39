"""The demo's blob storage: moto's S3 server (``pip install 'moto[server]'``; the test extras have it) holding the
Langfuse event bucket as it is often left: public access blocked and encrypted (right), versioned with no rule for
noncurrent versions and no lifecycle at all (wrong)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from readiness.demo.backend import Backend
from readiness.demo.process import Server, free_port

BUCKET = "langfuse-events"
KEY_ID, SECRET = "demo-access-key", "demo-secret-key-not-for-production"


def available() -> str | None:
    """The moto_server executable, or None when moto's server is not installed."""
    beside = Path(sys.executable).parent / "moto_server"
    return str(beside) if beside.exists() else shutil.which("moto_server")


def demo_backend(workdir: Path) -> Backend:
    import boto3

    binary = available()
    if binary is None:
        raise RuntimeError("moto's S3 server is not installed (pip install 'moto[server]')")
    port = free_port()
    server = Server("moto", [binary, "-H", "127.0.0.1", "-p", str(port)], workdir, port=port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", endpoint_url=url, region_name="eu-west-1", aws_access_key_id=KEY_ID,
                          aws_secret_access_key=SECRET)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    except BaseException:
        server.stop()
        raise
    target = {"bucket": BUCKET, "region": "eu-west-1", "endpoint_url": url, "addressing_style": "path",
              "access_key_id": KEY_ID, "secret_access_key": "${DEMO_S3_SECRET}"}
    return Backend("s3", target, [server], {"DEMO_S3_SECRET": SECRET})



