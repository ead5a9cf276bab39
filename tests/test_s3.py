"""The blob section against moto's S3 server over real HTTP, with IAM authentication enforced (tests/fixtures_s3.py).

Over 400 lines: one test per item of the blob section and per way S3 answers (IAM, moto), one server setup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from helpers import audit as _audit
from helpers import write_yaml
from servers import BlackHole, free_port

from readiness.checklist import default_path

if TYPE_CHECKING:
    from fixtures_s3 import S3Stack

pytest_plugins = ["fixtures_s3"]  # the session's moto S3 server (s3_stack)

BLOB = ["blob"]
WRITES = {"PUT", "POST", "DELETE"}


def statuses(results: dict[str, Any]) -> dict[str, str]:
    return {k: r.status for k, r in results.items() if k.startswith("blob.")}


def writes_since(stack: S3Stack, mark: int) -> list[tuple[str, str]]:
    return [r for r in stack.requests()[mark:] if r[0] in WRITES]


def checklist_with(tmp_path: Path, item: str | None = None, sections: tuple[str, ...] = ("blob",),
                   **params: Any) -> str:
    """The default checklist's blob section (other sections are other engineers' and may be mid-edit), with
    ``params`` set on one item (a checklist that opts in, or misuses a probe)."""
    data = yaml.safe_load(Path(default_path()).read_text())
    data["sections"] = [s for s in data["sections"] if s["id"] in sections]
    for section in data["sections"]:
        for entry in section["items"]:
            if entry["id"] == item:
                entry.setdefault("with", {}).update(params)
                if "prefixes" in params:  # the item's own prefixes, whatever the preset
                    entry.pop("preset_with", None)
    name = f"checklist-{item or 'blob'}-{len(list(tmp_path.glob('checklist-*')))}.yaml"
    return str(write_yaml(tmp_path / name, data))


def audit(tmp_path: Path, targets: dict[str, Any], only: list[str], *, checklist: str | None = None,
          **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return _audit(tmp_path, targets, only, checklist=checklist or checklist_with(tmp_path), **kw)


# --- verdicts on good and bad buckets --------------------------------------------------------------------------------

def langsmith_values(tmp_path: Path, blob: dict[str, Any] | None) -> dict[str, Any]:
    """A files target whose Helm values hold ``config.blobStorage`` (None: the values do not mention it)."""
    config = {"blobStorage": blob} if blob is not None else {"logLevel": "info"}
    write_yaml(tmp_path / "values.yaml", {"config": config})
    return {"helm_values": "values.yaml"}


def test_a_good_bucket_passes_every_item_and_the_audit_sends_no_write(tmp_path, s3_stack):
    mark = len(s3_stack.requests())
    files = langsmith_values(tmp_path, {"enabled": True, "bucketName": "good-traces"})
    results, _ = audit(tmp_path, {"preset": "langsmith", "s3": s3_stack.target("good-traces"), "files": files}, BLOB)
    got = statuses(results)
    assert got == {"blob.enabled": "pass", "blob.reachable": "pass", "blob.lifecycle": "pass",
                   "blob.lifecycle-aligned": "pass", "blob.media-retained": "skipped", "blob.encryption": "pass",
                   "blob.public-access-blocked": "pass", "blob.round-trip": "skipped",
                   "blob.region-addressing": "pass", "blob.noncurrent-expiry": "pass"}, {
        k: r.message for k, r in results.items()}
    assert "ttl_s/ 14 d, ttl_l/ 400 d" in results["blob.lifecycle-aligned"].message
    assert results["blob.encryption"].evidence["algorithms"] == ["AES256"]
    sent = s3_stack.requests()[mark:]
    assert sent and not writes_since(s3_stack, mark), sent
    # facts fetched once: HEAD, lifecycle, encryption, public access block, versioning, location
    assert len(sent) == 6, sent


def test_a_bad_bucket_fails_for_the_right_reasons(tmp_path, s3_stack):
    results, _ = audit(tmp_path, {"preset": "langsmith", "s3": s3_stack.target("bad-traces")}, BLOB)
    got = statuses(results)
    for item in ("blob.lifecycle", "blob.lifecycle-aligned", "blob.encryption", "blob.public-access-blocked",
                 "blob.noncurrent-expiry"):
        assert got[item] == "fail", (item, results[item].message)
    assert "no lifecycle rules" in results["blob.lifecycle"].message
    assert "ttl_s/ never expires" in results["blob.lifecycle-aligned"].message
    assert "no public access block" in results["blob.public-access-blocked"].message
    assert "noncurrent versions under ttl_s/ never expire" in results["blob.noncurrent-expiry"].message
    assert got["blob.reachable"] == "pass"


def test_a_whole_bucket_rule_expires_media_and_misses_the_tiers(tmp_path, s3_stack):
    results, _ = audit(tmp_path, {"preset": "langfuse", "s3": s3_stack.target("misaligned")}, BLOB)
    assert results["blob.media-retained"].status == "fail"
    assert "everything-7d expires the whole bucket" in results["blob.media-retained"].message
    pab = results["blob.public-access-blocked"]
    assert pab.status == "fail" and "BlockPublicPolicy, RestrictPublicBuckets off" in pab.message
    nc = results["blob.noncurrent-expiry"]
    assert nc.status == "fail" and "expired delete markers under events/ are never removed" in nc.message
    assert "never expire" not in nc.message  # the noncurrent rule itself is there
    assert results["blob.encryption"].status == "pass"  # aws:kms
    # Langfuse has no trace tiers: nothing to compare with is undecided, never a pass
    assert results["blob.lifecycle-aligned"].status == "error"
    langsmith, _ = audit(tmp_path, {"preset": "langsmith", "s3": s3_stack.target("misaligned")}, BLOB)
    aligned = langsmith["blob.lifecycle-aligned"]
    assert aligned.status == "fail" and "ttl_s/ expires after 7 d, want 14 d (deleted while the traces still" \
        in aligned.message


def test_media_retained_passes_when_no_rule_touches_the_media_prefix(tmp_path, s3_stack):
    results, _ = audit(tmp_path, {"preset": "langfuse", "s3": s3_stack.target("good-traces")},
                       ["blob.media-retained"])
    assert results["blob.media-retained"].status == "pass", results["blob.media-retained"].message


def test_require_kms_fails_sse_s3(tmp_path, s3_stack):
    cl = checklist_with(tmp_path, "blob.encryption", require_kms=True)
    results, _ = audit(tmp_path, {"s3": s3_stack.target("good-traces")}, ["blob.encryption"], checklist=cl)
    assert results["blob.encryption"].status == "fail" and "not aws:kms" in results["blob.encryption"].message


def test_no_s3_target_errors_the_bucket_items(tmp_path, s3_stack):
    results, _ = audit(tmp_path, {"preset": "langsmith", "http": {"base_url": "http://127.0.0.1:1"}}, BLOB)
    for item in ("blob.reachable", "blob.lifecycle", "blob.public-access-blocked"):
        assert results[item].status == "error", item
    # neither the presence nor the absence of an s3 target says whether the product stores blobs
    assert results["blob.enabled"].status == "error"
    assert "cannot see the product's blob-storage setting" in results["blob.enabled"].message


# --- blob.enabled: the product's own setting -----------------------------------------------------------------------

def test_blob_enabled_does_not_pass_on_an_s3_target_alone(tmp_path, s3_stack):
    results, _ = audit(tmp_path, {"preset": "langsmith", "s3": s3_stack.target("good-traces")}, ["blob.enabled"])
    r = results["blob.enabled"]
    assert r.status == "error", r.message
    assert "an s3 target does not show that the product uses it" in r.message


@pytest.mark.parametrize(("blob", "status", "text"), [
    ({"enabled": True, "bucketName": "good-traces"}, "pass", "values.yaml:3:14: config.blobStorage.enabled=true"),
    ({"enabled": False, "bucketName": "good-traces"}, "fail", "config.blobStorage.enabled=false"),
    (None, "fail", "config.blobStorage.enabled not set (default false in langchain-ai/helm charts/langsmith"),
    ({"enabled": "maybe"}, "error", "(not true/false)"),
    ({"enabled": True, "bucketName": "other-bucket"}, "error", "writes to 'other-bucket' while the s3 target audits"),
])
def test_blob_enabled_reads_langsmith_helm_values(tmp_path, s3_stack, blob, status, text):
    targets = {"preset": "langsmith", "s3": s3_stack.target("good-traces"), "files": langsmith_values(tmp_path, blob)}
    r = audit(tmp_path, targets, ["blob.enabled"])[0]["blob.enabled"]
    assert r.status == status and text in r.message, r.message


@pytest.mark.parametrize(("preset", "env", "status", "text"), [
    ("langsmith", "FF_BLOB_STORAGE_ENABLED=false\nS3_BUCKET_NAME=good-traces\n", "fail",
     ".env:1 (env file): FF_BLOB_STORAGE_ENABLED='false'"),
    ("langsmith", "FF_BLOB_STORAGE_ENABLED=true\nS3_BUCKET_NAME=good-traces\n", "pass",
     "FF_BLOB_STORAGE_ENABLED='true'"),
    ("langfuse", "LANGFUSE_S3_EVENT_UPLOAD_BUCKET=good-traces\n", "pass",
     "LANGFUSE_S3_EVENT_UPLOAD_BUCKET='good-traces'"),
    ("langfuse", "LANGFUSE_S3_EVENT_UPLOAD_BUCKET=\n", "fail", "LANGFUSE_S3_EVENT_UPLOAD_BUCKET=''"),
    ("langfuse", "NEXTAUTH_URL=http://x\n", "error", "none of the product's blob-storage settings"),
    (None, "LANGFUSE_S3_EVENT_UPLOAD_BUCKET=good-traces\n", "pass", "LANGFUSE_S3_EVENT_UPLOAD_BUCKET"),
])
def test_blob_enabled_reads_the_env_file(tmp_path, s3_stack, preset, env, status, text):
    (tmp_path / ".env").write_text(env)
    targets = {"s3": s3_stack.target("good-traces"), "files": {"env": ".env"}, **({"preset": preset} if preset else {})}
    r = audit(tmp_path, targets, ["blob.enabled"])[0]["blob.enabled"]
    assert r.status == status and text in r.message, r.message


def _deployment(name: str, component: str, container: dict[str, Any]) -> dict[str, Any]:
    labels = {"app.kubernetes.io/instance": "prod", "app.kubernetes.io/component": component}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "obs", "labels": dict(labels)},
            "spec": {"selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [container]}}}}


@pytest.mark.parametrize(("preset", "container", "status", "text"), [
    ("langsmith", {"name": "backend", "image": "b:1", "env": [{"name": "LOG_LEVEL", "value": "info"}]}, "fail",
     "container backend: FF_BLOB_STORAGE_ENABLED / FF_S3_STORAGE_ENABLED not set"),
    ("langsmith", {"name": "backend", "image": "b:1", "env": [{"name": "FF_BLOB_STORAGE_ENABLED", "value": "true"},
                                                               {"name": "S3_BUCKET_NAME", "value": "good-traces"}]},
     "pass", "FF_BLOB_STORAGE_ENABLED='true'"),
    ("langsmith", {"name": "backend", "image": "b:1", "envFrom": [{"configMapRef": {"name": "cfg"}}]}, "error",
     "envFrom (not read)"),
    ("langfuse", {"name": "web", "image": "w:1", "env": [
        {"name": "LANGFUSE_S3_EVENT_UPLOAD_BUCKET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "b"}}}]},
     "error", "from a Secret/ConfigMap (its value is not visible)"),
])
def test_blob_enabled_reads_the_products_deployments(tmp_path, s3_stack, preset, container, status, text):
    component = "backend" if preset == "langsmith" else "web"
    (tmp_path / "m").mkdir()
    write_yaml(tmp_path / "m" / "deploy.yaml", _deployment(f"prod-{preset}-{component}", component, container))
    targets = {"preset": preset, "s3": s3_stack.target("good-traces"),
               "kubernetes": {"manifests": str(tmp_path / "m"), "namespace": "obs", "release": "prod"}}
    r = audit(tmp_path, targets, ["blob.enabled"])[0]["blob.enabled"]
    assert r.status == status and text in r.message, r.message


# --- denied, wrong region, missing bucket, endpoint down ----------------------------------------------------------

def test_a_denied_lifecycle_read_is_an_error_naming_the_permission(tmp_path, s3_stack):
    results, _ = audit(tmp_path, {"preset": "langfuse", "s3": s3_stack.target("denied-traces")}, BLOB)
    for item in ("blob.lifecycle", "blob.lifecycle-aligned", "blob.media-retained", "blob.noncurrent-expiry"):
        r = results[item]
        assert r.status == "error", (item, r.status, r.message)
        assert r.message.startswith("access denied to GetBucketLifecycleConfiguration on bucket 'denied-traces'")
        assert "(grant s3:GetLifecycleConfiguration to the audit identity)" in r.message
    assert results["blob.reachable"].status == "pass" and results["blob.encryption"].status == "pass"


def test_the_admin_can_read_the_denied_lifecycle(s3_stack):
    # the denial above comes from the auditor's policy, not from a broken bucket; and moto does not evaluate bucket
    # policies: the bucket's Deny for Principal "*" on GetLifecycleConfiguration does not stop the admin
    policy = s3_stack.client("admin").get_bucket_policy(Bucket="denied-traces")["Policy"]
    assert '"Effect": "Deny"' in policy and "s3:GetLifecycleConfiguration" in policy
    rules = s3_stack.client("admin").get_bucket_lifecycle_configuration(Bucket="denied-traces")["Rules"]
    assert {r["ID"] for r in rules} == {"short", "long", "versions"}


def test_a_bucket_in_another_region_fails_region_addressing(tmp_path, s3_stack):
    results, _ = audit(tmp_path, {"s3": s3_stack.target("eu-traces")}, ["blob.region-addressing",
                                                                         "blob.noncurrent-expiry"])
    r = results["blob.region-addressing"]
    assert r.status == "fail" and "the bucket is in eu-west-1" in r.message and "set region: eu-west-1" in r.message
    assert results["blob.noncurrent-expiry"].status == "pass"  # unversioned: a delete is final
    fixed, _ = audit(tmp_path, {"s3": s3_stack.target("eu-traces", region="eu-west-1")}, ["blob.region-addressing"])
    assert fixed["blob.region-addressing"].status == "pass", fixed["blob.region-addressing"].message


def test_bucket_in_the_endpoint_and_path_style_on_aws_fail(tmp_path, s3_stack):
    target = s3_stack.target("good-traces", endpoint_url=f"{s3_stack.url}/good-traces")
    results, _ = audit(tmp_path, {"s3": target}, ["blob.region-addressing", "blob.reachable"])
    assert results["blob.region-addressing"].status == "fail"
    assert "already names the bucket" in results["blob.region-addressing"].message
    assert results["blob.reachable"].status != "pass"  # HEAD /good-traces/good-traces is an object, not the bucket
    # moto stands in for AWS here: a checklist that counts 127.0.0.1 as an AWS host
    cl = checklist_with(tmp_path, "blob.region-addressing", aws_hosts=[r"^127\.0\.0\.1$"])
    results, _ = audit(tmp_path, {"s3": s3_stack.target("good-traces", addressing_style="path")},
                       ["blob.region-addressing"], checklist=cl)
    assert results["blob.region-addressing"].status == "fail"
    assert "path-style addressing forced on AWS" in results["blob.region-addressing"].message


def test_a_missing_bucket_fails_reachable_and_explains_the_rest(tmp_path, s3_stack):
    results, _ = audit(tmp_path, {"s3": s3_stack.target("missing-bucket")}, BLOB)
    assert results["blob.reachable"].status == "fail"
    assert "'missing-bucket' at http://127.0.0.1" in results["blob.reachable"].message
    assert "does not exist (NoSuchBucket)" in results["blob.reachable"].message
    for item in ("blob.lifecycle", "blob.encryption", "blob.region-addressing", "blob.noncurrent-expiry"):
        assert results[item].status == "error" and "NoSuchBucket" in results[item].message, item


def test_wrong_credentials_are_an_error_that_names_no_secret(tmp_path, s3_stack):
    key, _ = s3_stack.keys["auditor"]
    target = s3_stack.target("good-traces", secret_access_key="PLANTED-wrong-secret-7f3a")
    results, report = audit(tmp_path, {"s3": target}, BLOB)
    assert results["blob.reachable"].status == "error" and "check the keys" in results["blob.reachable"].message
    assert results["blob.lifecycle"].status == "error"
    assert "refused the credentials" in results["blob.lifecycle"].message
    assert "PLANTED-wrong-secret-7f3a" not in repr(report)
    assert key in repr(report)  # the access key id is not a secret and is shown


def test_an_endpoint_that_is_down_is_an_error_with_the_reason(tmp_path, s3_stack):
    port = free_port()
    results, _ = audit(tmp_path, {"s3": s3_stack.target("good-traces", endpoint_url=f"http://127.0.0.1:{port}")},
                       BLOB, timeout=3)
    for item, r in results.items():
        if not item.startswith("blob.") or item in ("blob.enabled", "blob.round-trip", "blob.media-retained"):
            continue
        assert r.status == "error", (item, r.status)
        assert "cannot reach the S3 endpoint for bucket 'good-traces'" in r.message, r.message


def test_a_frozen_endpoint_costs_one_connection_attempt(tmp_path, s3_stack):
    hole = BlackHole()
    try:
        results, _ = audit(tmp_path, {"s3": s3_stack.target("good-traces",
                                                            endpoint_url=f"http://127.0.0.1:{hole.port}")},
                           BLOB, timeout=4.0)  # room for client creation on a loaded machine
        errors = [r for k, r in results.items() if k.startswith("blob.") and k not in (
            "blob.enabled", "blob.round-trip", "blob.media-retained")]
        assert errors and all(r.status == "error" for r in errors)
        # the client's read timeout, or the runner's item timeout when client creation ate into it (a loaded box)
        assert all("did not answer" in r.message or "timed out" in r.message for r in errors), [
            r.message for r in errors]
        assert len(hole.accepted) == 1  # one HEAD, no retry, and no item tried again
    finally:
        hole.close()


# --- the round trip and the read-only guard ----------------------------------------------------------------------

def test_without_both_opt_ins_the_round_trip_sends_no_write(tmp_path, s3_stack):
    mark = len(s3_stack.requests())
    opted = checklist_with(tmp_path, "blob.round-trip", opt_in=True)
    only_item, _ = audit(tmp_path, {"preset": "langsmith", "s3": s3_stack.target("good-traces", "writer")},
                         ["blob.round-trip"], checklist=opted)
    assert only_item["blob.round-trip"].status == "skipped"
    assert "does not allow writes" in only_item["blob.round-trip"].message
    only_target, _ = audit(tmp_path, {"preset": "langsmith",
                                      "s3": s3_stack.target("good-traces", "writer", allow_writes=True)},
                           ["blob.round-trip"])
    assert only_target["blob.round-trip"].status == "skipped"
    assert "opt-in" in only_target["blob.round-trip"].message
    assert not writes_since(s3_stack, mark)


def test_the_opted_in_round_trip_writes_under_every_prefix_and_leaves_nothing(tmp_path, s3_stack):
    before = s3_stack.keys_in("good-traces")
    mark = len(s3_stack.requests())
    cl = checklist_with(tmp_path, "blob.round-trip", opt_in=True, prefixes=["ttl_s/", "ttl_l/"])
    results, _ = audit(tmp_path, {"s3": s3_stack.target("good-traces", "writer", allow_writes=True)},
                       ["blob.round-trip"], checklist=cl)
    r = results["blob.round-trip"]
    assert r.status == "pass", r.message
    assert r.evidence["prefixes"] == ["ttl_s/", "ttl_l/"] and "versions_left" not in r.evidence
    written = [path for method, path in writes_since(s3_stack, mark) if method == "PUT"]
    assert [p.split("/")[2] for p in written] == ["ttl_s", "ttl_l"], written
    assert s3_stack.keys_in("good-traces") == before  # versioned bucket: no version, no delete marker left


def test_the_targets_files_opt_in_runs_the_round_trip_without_editing_the_checklist(tmp_path, s3_stack):
    """opt_in: [blob.round-trip] in the targets file is the item's yes (the packaged checklist keeps opt_in: false);
    allow_writes on the s3 target is still the other."""
    mark = len(s3_stack.requests())
    target = s3_stack.target("good-traces", "writer", allow_writes=True)
    results, _ = audit(tmp_path, {"preset": "langsmith", "opt_in": ["blob.round-trip"], "s3": target},
                       ["blob.round-trip"])
    r = results["blob.round-trip"]
    assert r.status == "pass", r.message
    assert [m for m, _ in writes_since(s3_stack, mark)].count("PUT") == 2  # ttl_s/ and ttl_l/
    mark = len(s3_stack.requests())
    results, _ = audit(tmp_path, {"preset": "langsmith", "opt_in": ["blob.round-trip"],
                                  "s3": s3_stack.target("good-traces", "writer")}, ["blob.round-trip"])
    assert results["blob.round-trip"].status == "skipped" and "allow_writes" in results["blob.round-trip"].message
    results, _ = audit(tmp_path, {"preset": "langsmith", "s3": target}, ["blob.round-trip"])
    assert "add opt_in: [blob.round-trip] to the targets file" in results["blob.round-trip"].message
    assert not writes_since(s3_stack, mark)


def test_a_round_trip_without_delete_permission_fails(tmp_path, s3_stack):
    cl = checklist_with(tmp_path, "blob.round-trip", opt_in=True, prefixes=["ttl_s/"])
    results, _ = audit(tmp_path, {"s3": s3_stack.target("bad-traces", "nodelete", allow_writes=True)},
                       ["blob.round-trip"], checklist=cl)
    r = results["blob.round-trip"]
    assert r.status == "fail" and "retention needs delete" in r.message
    assert "grant s3:DeleteObject" in r.message
    admin = s3_stack.client("admin")
    for v in admin.list_object_versions(Bucket="bad-traces").get("Versions", []):
        admin.delete_object(Bucket="bad-traces", Key=v["Key"], VersionId=v["VersionId"])


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_the_round_trip_deletes_its_object_when_interrupted_between_put_and_delete(tmp_path, s3_stack, monkeypatch,
                                                                                    interruption):
    import readiness.clients.s3 as s3client

    real = s3client.connect

    def connect(config: dict[str, Any], timeout: float) -> Any:
        handle = real(config, timeout)

        def interrupt(**_: Any) -> None:
            raise interruption("injected between put and delete")

        handle.client.meta.events.register("before-call.s3.GetObject", interrupt)
        return handle

    monkeypatch.setattr(s3client, "connect", connect)
    before = s3_stack.keys_in("good-traces")
    mark = len(s3_stack.requests())
    cl = checklist_with(tmp_path, "blob.round-trip", opt_in=True, prefixes=["ttl_s/"])
    results, _ = audit(tmp_path, {"s3": s3_stack.target("good-traces", "writer", allow_writes=True)},
                       ["blob.round-trip"], checklist=cl)
    assert results["blob.round-trip"].status == "error"
    methods = [m for m, _ in writes_since(s3_stack, mark)]
    # the delete (a marker, in this versioned bucket), then the object's version and the marker
    assert methods == ["PUT", "DELETE", "DELETE", "DELETE"]
    assert s3_stack.keys_in("good-traces") == before


@pytest.mark.parametrize("user", ["writer", "nodelete"])
def test_a_round_trip_abandoned_on_a_stalled_get_is_cleaned_up_and_says_so(tmp_path, s3_stack, user):
    # the store stalls GetObject mid-body (no socket timeout fires): the item times out with its thread stuck
    # between put and delete, and the runner's cleanup removes the object with a client of its own
    from fixtures_s3 import StallingProxy

    proxy = StallingProxy(s3_stack.url)
    admin = s3_stack.client("admin")
    before = s3_stack.keys_in("good-traces")
    try:
        cl = checklist_with(tmp_path, "blob.round-trip", opt_in=True, prefixes=["ttl_s/"])
        target = s3_stack.target("good-traces", user, allow_writes=True, endpoint_url=proxy.url)
        results, _ = audit(tmp_path, {"s3": target}, ["blob.round-trip"], checklist=cl, timeout=3)
        r = results["blob.round-trip"]
        assert proxy.stalled, "the GetObject was not held"
        left = [k for k in s3_stack.keys_in("good-traces") if k not in before]
        assert r.status == "error" and "timed out after 3s" in r.message, r.message
        if user == "writer":
            assert "cleanup removed bucket 'good-traces'" in r.message and "versions removed too" in r.message
            assert len(r.evidence["cleanup"]) == 1 and not left
        else:  # the identity may not delete: the object stays, and the report says so
            assert "cleanup FAILED to remove" in r.message and "grant s3:DeleteObject" in r.message, r.message
            assert left and left[0].startswith("ttl_s/readiness-round-trip-")
    finally:
        proxy.close()
        for v in admin.list_object_versions(Bucket="good-traces", Prefix="ttl_s/readiness-round-trip-").get(
                "Versions", []):
            admin.delete_object(Bucket="good-traces", Key=v["Key"], VersionId=v["VersionId"])
        for m in admin.list_object_versions(Bucket="good-traces", Prefix="ttl_s/readiness-round-trip-").get(
                "DeleteMarkers", []):
            admin.delete_object(Bucket="good-traces", Key=m["Key"], VersionId=m["VersionId"])


def test_ctrl_c_during_a_stalled_round_trip_removes_its_object_and_says_so(tmp_path, s3_stack):
    import signal
    import time

    from fixtures_s3 import StallingProxy

    proxy = StallingProxy(s3_stack.url)
    before = s3_stack.keys_in("good-traces")
    try:
        cl = checklist_with(tmp_path, "blob.round-trip", opt_in=True, prefixes=["ttl_s/"])
        targets = write_yaml(tmp_path / "targets.yaml", {"s3": s3_stack.target(
            "good-traces", "writer", allow_writes=True, endpoint_url=proxy.url)})
        proc = subprocess.Popen([sys.executable, "-m", "readiness", "audit", "-c", cl, "-t", str(targets), "--only",
                                 "blob.round-trip", "--timeout", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=tmp_path)
        end = time.monotonic() + 60
        while not proxy.stalled and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
        assert proxy.stalled, proc.communicate(timeout=10)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (out, err)
        assert "interrupted: cleanup removed bucket 'good-traces'" in err and "readiness-round-trip-" in err, err
        assert s3_stack.keys_in("good-traces") == before
    finally:
        proxy.close()


def test_the_client_refuses_writes_without_the_opt_in(s3_stack):
    from readiness.clients.s3 import WriteRefused, close, connect

    mark = len(s3_stack.requests())
    handle = connect(s3_stack.target("good-traces", "admin"), 5.0)  # even an identity that may write
    try:
        for call in (lambda: handle.client.put_object(Bucket="good-traces", Key="x", Body=b"1"),
                     lambda: handle.client.delete_object(Bucket="good-traces", Key="x"),
                     lambda: handle.client.create_bucket(Bucket="new-bucket"),
                     lambda: handle.client.put_bucket_lifecycle_configuration(
                         Bucket="good-traces", LifecycleConfiguration={"Rules": []}),
                     lambda: handle.client.delete_objects(Bucket="good-traces", Delete={"Objects": [{"Key": "x"}]})):
            with pytest.raises(WriteRefused):
                call()
        with pytest.raises(WriteRefused, match="allow_writes"):
            with handle.writes():
                pass
    finally:
        close(handle)
    writer = connect(s3_stack.target("good-traces", "admin", allow_writes=True), 5.0)
    try:
        with writer.writes():  # even opted in, only PutObject/DeleteObject
            with pytest.raises(WriteRefused):
                writer.client.put_bucket_versioning(Bucket="good-traces",
                                                    VersioningConfiguration={"Status": "Suspended"})
        with pytest.raises(WriteRefused):  # and only inside writes()
            writer.client.put_object(Bucket="good-traces", Key="x", Body=b"1")
    finally:
        close(writer)
    assert [m for m, _ in s3_stack.requests()[mark:]] == ["HEAD", "HEAD"]


# --- ClickHouse TTLs through the clickhouse target's session -----------------------------------------------------

def test_ttl_days_reads_fixed_intervals_and_ignores_per_row_ttls():
    from readiness.checks._s3_facts import ttl_days

    assert ttl_days("MergeTree ORDER BY id TTL toDateTime(ts) + toIntervalDay(14) SETTINGS index_granularity = 8192"
                    ) == [14]
    assert ttl_days("ReplicatedMergeTree('/p', '{replica}') ORDER BY id TTL ts + INTERVAL 400 DAY") == [400]
    assert ttl_days("MergeTree ORDER BY id TTL ts + INTERVAL 2 WEEK, ts + toIntervalHour(12) TO VOLUME 'cold'") == [
        14]
    assert ttl_days("MergeTree ORDER BY id TTL inserted_at + toIntervalSecond(ttl_seconds)") == []
    assert ttl_days("MergeTree ORDER BY id SETTINGS index_granularity = 8192") == []


def test_only_delete_ttls_count_as_retention():
    from readiness.checks._s3_facts import ttl_days

    # a bare TTL and an explicit DELETE delete rows; moves, recompression and roll-ups keep them
    assert ttl_days("MergeTree ORDER BY id TTL ts + toIntervalDay(7) DELETE") == [7]
    assert ttl_days("MergeTree ORDER BY id TTL ts + toIntervalDay(3) TO DISK 's3', ts + toIntervalDay(5) TO VOLUME "
                    "'cold', ts + toIntervalDay(9) RECOMPRESS CODEC(ZSTD(17)) SETTINGS storage_policy = 'tiered'") == []
    assert ttl_days("MergeTree ORDER BY (k, ts) TTL ts + toIntervalMonth(1) GROUP BY k SET v = max(v), "
                    "w = sum(w)") == []
    # a conditional delete keeps the other rows; a quoted comma or keyword is no element of its own
    assert ttl_days("MergeTree ORDER BY id TTL ts + toIntervalDay(2) WHERE kind = 'a, DELETE'") == []
    assert ttl_days("MergeTree ORDER BY id TTL ts + toIntervalDay(30) TO VOLUME 'x, DELETE', ts + INTERVAL 1 DAY + "
                    "INTERVAL 12 HOUR") == [1.5]
    assert ttl_days("MergeTree ORDER BY id TTL ts + toIntervalDay(1) + toIntervalSecond(extra)") == []


def test_a_move_ttl_is_not_taken_for_retention_by_lifecycle_aligned(tmp_path, s3_stack, monkeypatch):
    # moving rows to another volume after 14 days keeps them: only the 400-day DELETE is the table's retention, so a
    # 14-day blob expiry deletes payloads that traces still reference (it passed when the move counted)
    import chdb_engine

    chdb_engine.sql("CREATE DATABASE IF NOT EXISTS s3move",
                    "CREATE TABLE IF NOT EXISTS s3move.blob_moved_rows (id String, ts DateTime) ENGINE = MergeTree "
                    "ORDER BY id TTL ts + INTERVAL 14 DAY TO VOLUME 'default', ts + INTERVAL 400 DAY DELETE")
    targets = {"s3": s3_stack.target("good-traces"), **chdb_engine.use_chdb(monkeypatch)}
    targets["clickhouse"]["databases"] = ["s3move"]  # the product's database: the audit identity must see it
    cl = checklist_with(tmp_path, "blob.lifecycle-aligned", sections=("clickhouse", "blob"),
                        tables=["s3move.blob_moved_rows"], prefixes=["ttl_s/"])
    try:
        r = audit(tmp_path, targets, ["blob.lifecycle-aligned"], checklist=cl)[0]["blob.lifecycle-aligned"]
    finally:
        chdb_engine.sql("DROP DATABASE IF EXISTS s3move")
    assert r.status == "fail" and "ttl_s/ expires after 14 d, want 400 d (deleted while the traces" in r.message
    assert r.evidence["clickhouse_ttls"] == {"s3move.blob_moved_rows": [400]}, r.evidence


def test_lifecycle_aligned_reads_the_clickhouse_ttls_through_the_shared_session(tmp_path, s3_stack, ch_single,
                                                                                 monkeypatch):
    from readiness.clients.clickhouse import Node

    sent: list[str] = []
    query = Node.query
    monkeypatch.setattr(Node, "query", lambda n, stmt, values=None: sent.append(stmt.name) or query(n, stmt, values))
    targets = {"preset": "langsmith", "s3": s3_stack.target("good-traces"),
               **ch_single.target(), }
    both = checklist_with(tmp_path, sections=("clickhouse", "blob"))
    results, _ = audit(tmp_path, targets, ["blob.lifecycle-aligned", "clickhouse.ttl-configured"], checklist=both)
    # the facts clickhouse.ttl reads, once: no engine_full of every table ("tables")
    assert "tables" not in sent and sent.count("merge-tree-clauses") == 1, sent
    r = results["blob.lifecycle-aligned"]
    # ClickHouse 18.16 has no table TTLs: the probe saw the tables and fell back to the product's tiers
    assert r.status == "pass", r.message
    assert "clickhouse_ttls" in r.evidence and "the product's trace tiers" in r.message
    assert results["clickhouse.ttl-configured"].status == "fail"
    down = {**targets, "clickhouse": {"url": f"clickhouse://default@127.0.0.1:{free_port()}/default"}}
    results, _ = audit(tmp_path, down, ["blob.lifecycle-aligned"], timeout=3)
    assert results["blob.lifecycle-aligned"].status == "error"
    assert "ClickHouse TTLs" in results["blob.lifecycle-aligned"].message


# --- secrets and settings ------------------------------------------------------------------------------------------

def test_the_secret_key_appears_in_no_report_format(tmp_path, s3_stack):
    _, secret = s3_stack.keys["auditor"]
    targets = {"preset": "langsmith", "s3": {**s3_stack.target("denied-traces"), "secret_access_key": "${S3_SECRET}"}}
    write_yaml(tmp_path / "targets.yaml", targets)
    outs = {fmt: tmp_path / f"report.{fmt}" for fmt in ("json", "html", "junit", "markdown")}
    argv = [sys.executable, "-m", "readiness", "audit", "-c", checklist_with(tmp_path), "-t",
            str(tmp_path / "targets.yaml"), "--only", "blob",
            "--timeout", "5", *[a for fmt, path in outs.items() for a in (f"--{fmt}", str(path))]]
    env = {**__import__("os").environ, "S3_SECRET": secret}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    assert "access denied" in proc.stdout  # the run did reach the store with the secret
    for text in (proc.stdout, proc.stderr, *(p.read_text() for p in outs.values())):
        assert secret not in text


def test_secrets_and_config_problems():
    from readiness.clients.s3 import config_problems, secrets

    assert secrets({"secret_access_key": "s3cr3t", "session_token": "tok", "access_key_id": "AKIA"}) == {"s3cr3t",
                                                                                                         "tok"}
    url = "https://k3y:p%2Fw@minio:9000/?X-Amz-Signature=sig"
    assert {"k3y", "p%2Fw", "p/w", "sig"} <= secrets({"endpoint_url": url})
    assert secrets({"endpoint_url": 7, "secret_access_key": None}) == set()
    fields = dict(config_problems({"bucket": "b-1", "endpoint_url": "minio:9000"}))
    assert "http:// or https://" in fields["endpoint_url"]
    problem = dict(config_problems({"bucket": "b-1", "endpoint_url": "http://AK:SECRETPART@minio:9000"}))
    assert "must not carry credentials" in problem["endpoint_url"] and "SECRETPART" not in problem["endpoint_url"]
    assert "access_key_id" in dict(config_problems({"bucket": "b-1", "access_key_id": "AK"}))
    assert "bucket" in dict(config_problems({"bucket": "s3://b-1/prefix"}))
    assert config_problems({"bucket": "b-1", "endpoint_url": "https://s3.eu-west-1.amazonaws.com"}) == []
    assert config_problems({"endpoint_url": object()}) == []


def test_redirect_and_region_signature_errors_are_explained():
    # moto answers any region; these are the replies AWS sends (documented error codes and headers)
    from botocore.exceptions import ClientError

    from readiness.clients.s3 import S3Handle, explain

    handle = S3Handle({"bucket": "traces", "region": "us-east-1"}, 5)
    redirect = ClientError({"Error": {"Code": "PermanentRedirect", "Message": "The bucket you are attempting to "
                                      "access must be addressed using the specified endpoint."},
                            "ResponseMetadata": {"HTTPStatusCode": 301,
                                                 "HTTPHeaders": {"x-amz-bucket-region": "eu-central-1"}}},
                           "GetBucketLifecycleConfiguration")
    text = str(explain(redirect, "GetBucketLifecycleConfiguration", handle))
    assert "is in region eu-central-1, not us-east-1" in text and "set region: eu-central-1" in text
    head = ClientError({"Error": {"Code": "301", "Message": "Moved Permanently"},
                        "ResponseMetadata": {"HTTPStatusCode": 301,
                                             "HTTPHeaders": {"x-amz-bucket-region": "ap-south-1"}}}, "HeadBucket")
    assert "region ap-south-1" in str(explain(head, "HeadBucket", handle))
    malformed = ClientError({"Error": {"Code": "AuthorizationHeaderMalformed", "Region": "eu-west-2",
                                       "Message": "the region 'us-east-1' is wrong; expecting 'eu-west-2'"},
                             "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}}}, "HeadBucket")
    assert "signed for region us-east-1 but bucket 'traces' expects eu-west-2" in str(
        explain(malformed, "HeadBucket", handle))


# --- hostile buckets and checklists --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_bucket(s3_stack):
    """Rules an attacker (or a careless operator) could write: markup and 600-character prefixes, a tag filter on
    the media prefix, a fixed-date expiration."""
    admin = s3_stack.client("admin")
    admin.create_bucket(Bucket="hostile-traces")
    long_prefix = "ttl_l/" + "<b>x</b>" * 75
    admin.put_bucket_lifecycle_configuration(Bucket="hostile-traces", LifecycleConfiguration={"Rules": [
        {"ID": "<script>alert(1)</script>", "Status": "Enabled", "Filter": {"Prefix": long_prefix},
         "Expiration": {"Days": 400}},
        {"ID": "tagged-media", "Status": "Enabled",
         "Filter": {"And": {"Prefix": "media/", "Tags": [{"Key": "tmp", "Value": "yes"}]}},
         "Expiration": {"Days": 1}},
        {"ID": "dated", "Status": "Enabled", "Filter": {"Prefix": "ttl_s/"},
         "Expiration": {"Date": "2030-01-01T00:00:00Z"}},
    ]})
    return "hostile-traces"


def test_tag_filtered_and_dated_rules_are_judged_not_passed(tmp_path, s3_stack, hostile_bucket):
    results, _ = audit(tmp_path, {"preset": "langsmith", "s3": s3_stack.target(hostile_bucket)},
                       ["blob.lifecycle-aligned", "blob.lifecycle"])
    aligned = results["blob.lifecycle-aligned"]
    assert aligned.status == "fail" and "ttl_s/ expires on a fixed date" in aligned.message
    assert "ttl_l/ never expires" in aligned.message  # the 400-day rule covers only its long prefix
    langfuse, _ = audit(tmp_path, {"preset": "langfuse", "s3": s3_stack.target(hostile_bucket)},
                        ["blob.media-retained"])
    media = langfuse["blob.media-retained"]
    assert media.status == "fail" and "tagged-media" in media.message and "tmp=yes" in media.message


def test_markup_in_rules_reaches_the_html_report_escaped(tmp_path, s3_stack, hostile_bucket):
    targets = write_yaml(tmp_path / "targets.yaml", {"preset": "langsmith", "s3": s3_stack.target(hostile_bucket)})
    html = tmp_path / "report.html"
    proc = subprocess.run([sys.executable, "-m", "readiness", "audit", "-c", checklist_with(tmp_path), "-t",
                           str(targets), "--only",
                           "blob.lifecycle", "--html", str(html)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    page = html.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "\\u003cscript" in page
    assert "<script>alert(1)</script>" not in page and "<b>x</b>" not in page


def test_a_checklist_that_misuses_the_probes_gets_no_pass(tmp_path, s3_stack):
    cl = checklist_with(tmp_path, "blob.lifecycle-aligned", tiers={"ttl_s/": "fourteen"})
    results, _ = audit(tmp_path, {"s3": s3_stack.target("good-traces")}, ["blob.lifecycle-aligned"], checklist=cl)
    assert results["blob.lifecycle-aligned"].status == "error"
    cl = checklist_with(tmp_path, "blob.lifecycle-aligned", tiers={})
    results, _ = audit(tmp_path, {"s3": s3_stack.target("good-traces")}, ["blob.lifecycle-aligned"], checklist=cl)
    assert results["blob.lifecycle-aligned"].status == "error"
    assert "nothing to compare" in results["blob.lifecycle-aligned"].message
    # prefixes no product rule names: the good bucket's noncurrent rule is whole-bucket, so it still covers them
    cl = checklist_with(tmp_path, "blob.noncurrent-expiry", prefixes=["anything/", ""])
    results, _ = audit(tmp_path, {"s3": s3_stack.target("good-traces")}, ["blob.noncurrent-expiry"], checklist=cl)
    assert results["blob.noncurrent-expiry"].status == "pass"


def test_validate_reports_a_bad_endpoint_and_imports_no_boto3(tmp_path):
    targets = tmp_path / "targets.yaml"
    targets.write_text("s3:\n  bucket: traces\n  endpoint_url: minio.internal:9000\n")
    code = ("import sys\nfrom readiness.cli import main\n"
            f"sys.argv = ['readiness', 'validate', '-t', {str(targets)!r}]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    print('EXIT', e.code)\n"
            "print('HEAVY:' + ','.join(m for m in ('boto3', 'botocore') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "targets.yaml:3:17: endpoint_url must start with http:// or https://" in proc.stderr, proc.stderr
    assert proc.stdout.split() == ["EXIT", "2", "HEAVY:"], proc.stdout


# --- the credential chain ------------------------------------------------------------------------------------------

@pytest.fixture
def clean_aws_env(tmp_path, monkeypatch):
    """No AWS settings from the host: no keys, no profile files, no instance metadata (no traffic off loopback)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_DEFAULT_REGION",
                 "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def chain_target(stack: S3Stack, **extra: Any) -> dict[str, Any]:
    target = stack.target("good-traces", **extra)
    target.pop("access_key_id"), target.pop("secret_access_key")
    return target


def test_keys_from_the_environment_are_used(tmp_path, s3_stack, clean_aws_env):
    key, secret = s3_stack.keys["auditor"]
    clean_aws_env.setenv("AWS_ACCESS_KEY_ID", key)
    clean_aws_env.setenv("AWS_SECRET_ACCESS_KEY", secret)
    results, _ = audit(tmp_path, {"s3": chain_target(s3_stack)}, ["blob.reachable", "blob.lifecycle"])
    assert results["blob.reachable"].status == "pass" and results["blob.lifecycle"].status == "pass"


def test_a_named_profile_is_used(tmp_path, s3_stack, clean_aws_env):
    key, secret = s3_stack.keys["auditor"]
    (tmp_path / "no-credentials").write_text(f"[audit]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    results, _ = audit(tmp_path, {"s3": chain_target(s3_stack, profile="audit")}, ["blob.reachable"])
    assert results["blob.reachable"].status == "pass", results["blob.reachable"].message
    missing, _ = audit(tmp_path, {"s3": chain_target(s3_stack, profile="nope")}, ["blob.reachable"])
    assert missing["blob.reachable"].status == "error"
    assert "cannot set up AWS credentials" in missing["blob.reachable"].message


def test_no_credentials_anywhere_is_an_error_that_says_where_it_looked(tmp_path, s3_stack, clean_aws_env):
    results, _ = audit(tmp_path, {"s3": chain_target(s3_stack)}, ["blob.reachable", "blob.lifecycle"])
    for item in ("blob.reachable", "blob.lifecycle"):
        r = results[item]
        assert r.status == "error" and "no usable AWS credentials" in r.message, r.message


def test_keys_put_into_the_endpoint_url_are_refused_without_being_echoed(tmp_path):
    targets = write_yaml(tmp_path / "targets.yaml", {"s3": {
        "bucket": "traces", "endpoint_url": "http://AKIDPLANTED:PLANTED-endpoint-secret-91c2@127.0.0.1:9/"}})
    proc = subprocess.run([sys.executable, "-m", "readiness", "audit", "-c", checklist_with(tmp_path), "-t",
                           str(targets), "--only", "blob", "--json", str(tmp_path / "r.json")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "endpoint_url must not carry credentials" in proc.stderr
    assert "PLANTED-endpoint-secret-91c2" not in proc.stdout + proc.stderr
    assert not (tmp_path / "r.json").exists() or "PLANTED-endpoint-secret-91c2" not in (tmp_path / "r.json").read_text()


def test_lifecycle_aligned_follows_fixed_clickhouse_ttls_on_a_current_clickhouse(tmp_path, s3_stack, monkeypatch):
    # a current ClickHouse (chdb, in-process, behind the clickhouse client's interface) has table TTLs; 18.16 has none.
    # The engine is shared by the process: a table no other test's patterns match, dropped afterwards.
    import chdb_engine

    chdb_engine.sql("CREATE DATABASE IF NOT EXISTS s3ttl",
                    "CREATE TABLE IF NOT EXISTS s3ttl.blob_payload_rows (id String, ts DateTime) ENGINE = MergeTree "
                    "ORDER BY id TTL ts + INTERVAL 14 DAY")
    targets = {"s3": s3_stack.target("good-traces"), **chdb_engine.use_chdb(monkeypatch)}
    targets["clickhouse"]["databases"] = ["s3ttl"]  # the product's database: the audit identity must see it

    def judged(prefixes: list[str]) -> Any:
        cl = checklist_with(tmp_path, "blob.lifecycle-aligned", sections=("clickhouse", "blob"),
                            tables=["s3ttl.blob_payload_rows"], prefixes=prefixes)
        return audit(tmp_path, targets, ["blob.lifecycle-aligned"], checklist=cl)[0]["blob.lifecycle-aligned"]

    try:
        short = judged(["ttl_s/"])
        assert short.status == "pass", short.message
        assert "the ClickHouse trace tables' TTLs" in short.message
        assert short.evidence["clickhouse_ttls"] == {"s3ttl.blob_payload_rows": [14]}
        both_tiers = judged(["ttl_s/", "ttl_l/"])
        assert both_tiers.status == "fail"
        assert "ttl_l/ expires after 400 d, want 14 d (kept after the traces)" in both_tiers.message
    finally:
        chdb_engine.sql("DROP DATABASE IF EXISTS s3ttl")


def test_a_thousand_rules_are_judged_and_shown_bounded(tmp_path, s3_stack):
    admin = s3_stack.client("admin")
    admin.create_bucket(Bucket="many-rules")
    rules = [{"ID": f"r{i}", "Status": "Enabled", "Filter": {"Prefix": f"tenant-{i:04d}/"},
              "Expiration": {"Days": 30}} for i in range(999)]
    rules.append({"ID": "media", "Status": "Enabled", "Filter": {"Prefix": "media/"}, "Expiration": {"Days": 3}})
    admin.put_bucket_lifecycle_configuration(Bucket="many-rules", LifecycleConfiguration={"Rules": rules})
    results, report = audit(tmp_path, {"preset": "langfuse", "s3": s3_stack.target("many-rules")},
                            ["blob.lifecycle", "blob.media-retained"])
    assert results["blob.lifecycle"].status == "pass" and "and 992 more" in results["blob.lifecycle"].message
    media = results["blob.media-retained"]
    assert media.status == "fail" and "rule media expires prefix 'media/'" in media.message  # the 1000th rule
    assert len(media.evidence["rules"]) == 51 and media.evidence["rules"][-1] == {"more_rules": 950}
    assert len(repr(report)) < 200_000


@pytest.mark.parametrize("databases", [None, ["default"]])
def test_lifecycle_aligned_is_undecided_when_the_clickhouse_user_cannot_see_the_trace_tables(tmp_path, s3_stack,
                                                                                            ch_single, databases):
    # 'outsider' may open the system database alone: system.tables leaves the trace tables (and any TTL they have)
    # out, so "no TTL seen" fell back to the product's tiers and passed
    node = ch_single.nodes[0]
    targets = {"preset": "langsmith", "s3": s3_stack.target("good-traces"),
               **ch_single.target(urls=[node.url(user="outsider", database="system")],
                                  **({"databases": databases} if databases else {}))}
    results, _ = audit(tmp_path, targets, ["blob.lifecycle-aligned"],
                       checklist=checklist_with(tmp_path, sections=("clickhouse", "blob")))
    r = results["blob.lifecycle-aligned"]
    assert r.status == "error", r.message
    assert r.message.startswith("cannot compare with the ClickHouse TTLs: the audit identity (outsider)"), r.message
    assert ("cannot see database default" if databases else "sees no database but system") in r.message
    # the bucket's rules stay beside what the blind spot saw (only the latter was kept)
    assert r.evidence["rules"] and all("prefix" in rule for rule in r.evidence["rules"]), r.evidence
