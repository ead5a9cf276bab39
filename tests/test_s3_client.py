"""The s3 client itself against moto's server (tests/fixtures_s3.py): operation names, the shared writes() guard."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fixtures_s3 import S3Stack

pytest_plugins = ["fixtures_s3"]  # the session's moto S3 server (s3_stack)


def _old_snake(name: str) -> str:
    """What readiness.clients.s3._snake did before botocore's xform_name replaced it."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_xform_name_gives_the_old_method_names_and_each_is_a_client_method() -> None:
    import boto3
    from botocore import xform_name

    from readiness.clients.s3 import PERMISSIONS, WRITE_OPERATIONS

    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    try:
        for name in (*PERMISSIONS, *WRITE_OPERATIONS):  # every operation the audit sends
            assert xform_name(name) == _old_snake(name)
            assert callable(getattr(client, xform_name(name)))
        for name in client.meta.service_model.operation_names:  # and every one botocore knows
            assert xform_name(name) == _old_snake(name), name
    finally:
        client.close()


def test_a_write_outside_writes_is_refused_before_any_request_leaves(s3_stack: S3Stack) -> None:
    from readiness.clients.s3 import WriteRefused, close, connect

    handle = connect(s3_stack.target("good-traces", "admin", allow_writes=True), 5.0)
    mark = len(s3_stack.requests())
    try:
        for operation in ("PutObject", "DeleteObject"):  # the round trip's own writes, outside the block
            with pytest.raises(WriteRefused, match="writes()"):
                handle.call(operation, Bucket="good-traces", Key="guarded")
        with handle.writes(), pytest.raises(WriteRefused, match="not a write"):
            handle.call("PutBucketVersioning", Bucket="good-traces", VersioningConfiguration={"Status": "Suspended"})
        assert s3_stack.requests()[mark:] == [] and handle.requests == 1  # only the HEAD at connect
        with handle.writes():  # inside: the put and the delete go out
            handle.call("PutObject", Bucket="good-traces", Key="guarded", Body=b"1")
            handle.call("DeleteObject", Bucket="good-traces", Key="guarded")
        assert [m for m, _ in s3_stack.requests()[mark:]] == ["PUT", "DELETE"]
    finally:
        close(handle)


def test_the_section_asks_for_one_page_whatever_the_bucket_holds(tmp_path, s3_stack: S3Stack) -> None:
    """The round trip's listing asks for one key (MaxKeys=1), and the requests of the whole section, round trip
    included, do not grow with the objects in the bucket (bench/bench_s3.py growth measures the time)."""
    from concurrent.futures import ThreadPoolExecutor

    from helpers import audit

    admin = s3_stack.client("admin")
    admin.create_bucket(Bucket="crowded-traces")

    def run() -> list[tuple[str, str]]:
        mark = len(s3_stack.requests())
        results, _ = audit(tmp_path, {"preset": "langsmith", "opt_in": ["blob.round-trip"],
                                      "s3": s3_stack.target("crowded-traces", "writer", allow_writes=True)},
                           ["blob.round-trip", "blob.lifecycle", "blob.encryption", "blob.reachable"])
        assert results["blob.round-trip"].status == "pass", results["blob.round-trip"].message
        return s3_stack.requests()[mark:]

    empty = run()
    with ThreadPoolExecutor(8) as pool:  # objects under the product's prefixes (moto is slow to fill: a few hundred)
        list(pool.map(lambda i: admin.put_object(Bucket="crowded-traces", Key=f"ttl_s/run-{i:05d}", Body=b"x"),
                      range(300)))
    crowded = run()
    lists = [path for method, path in crowded if method == "GET" and "list-type=2" in path]
    assert lists and all("max-keys=1" in path and "continuation-token" not in path for path in lists), lists
    assert len(crowded) == len(empty)
