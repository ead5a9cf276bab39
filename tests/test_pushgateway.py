"""`readiness audit --pushgateway URL` against Debian's real prometheus-pushgateway, run as a user runs it (the
installed console script), and against gateways that refuse, fail or freeze."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures_pushgateway import Answering, Gateway, start_gateway
from prometheus_client.parser import text_string_to_metric_families
from servers import BlackHole, free_port

from readiness import pushgateway as push_module
from readiness.errors import ConfigError

READINESS = str(Path(sys.executable).parent / "readiness")
LOOPBACK, HEALTH = "app.compose-loopback", "app.compose-healthchecks"
US = "arn:aws:eks:us-east-1:123456789012:cluster/us-prod"
GOOD = "services:\n  redis:\n    image: redis:7.2\n    ports: ['127.0.0.1:6379:6379']\n"
BAD = "services:\n  redis:\n    image: redis:7.2\n    ports: ['6379:6379']\n"


def cluster_dir(tmp_path: Path, name: str, compose: str, **extra: Any) -> Path:
    """A targets file named ``name`` auditing a compose file (static items: no server needed)."""
    where = tmp_path / name.rpartition("/")[2]
    where.mkdir(parents=True, exist_ok=True)
    (where / "docker-compose.yml").write_text(compose)
    (where / "targets.yaml").write_text(yaml.safe_dump({"name": name, "files": {"compose": "docker-compose.yml"},
                                                        **extra}))
    return where


def audit(where: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([READINESS, "audit", "-t", "targets.yaml", "--only", LOOPBACK, "--only", HEALTH,
                           "--json", "report.json", "--prometheus", "report.prom", *args],
                          capture_output=True, text=True, cwd=where, timeout=timeout)


def one_item_checklist(tmp_path: Path, item_id: str) -> str:
    from readiness.checklist import default_path

    data = yaml.safe_load(Path(default_path()).read_text())
    data["sections"] = [{**sec, "items": [i for i in sec["items"] if i["id"] == item_id]} for sec in data["sections"]
                        if any(i["id"] == item_id for i in sec["items"])]
    path = tmp_path / "one-item.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def ours(text: str, cluster: str) -> list[tuple[str, dict[str, str], float]]:
    """The scraped readiness samples of one cluster's group, without the gateway's job/instance labels."""
    return [(n, {k: v for k, v in labels.items() if k not in ("job", "instance")}, v) for n, labels, v in samples(text)
            if n.startswith("readiness_") and labels.get("cluster") == cluster and labels.get("job") == "readiness"]


def key(sample: tuple[str, dict[str, str], float]) -> tuple[str, tuple[tuple[str, str], ...], float]:
    return sample[0], tuple(sorted(sample[1].items())), sample[2]


def test_two_clusters_pushed_side_by_side_each_with_its_own_values(tmp_path: Path, pushgateway: Gateway) -> None:
    eu = cluster_dir(tmp_path, "eu-prod", GOOD)
    us = cluster_dir(tmp_path, US, BAD)  # an EKS context's name: its '/' goes base64-encoded into the group's path
    first = audit(eu, "--pushgateway", pushgateway.url)
    assert first.returncode == 0, first.stderr
    assert f"pushed the metrics to {pushgateway.url} (job=readiness, cluster=eu-prod)" in first.stderr
    second = audit(us, "--pushgateway", pushgateway.url)
    assert second.returncode == 1, second.stderr  # blocked: the push does not change the gate's code

    scraped = pushgateway.metrics()
    for where, name in ((eu, "eu-prod"), (us, US)):
        report = json.loads((where / "report.json").read_text())
        got = ours(scraped, name)
        # exactly the --prometheus file's samples, in the cluster's group
        assert sorted(map(key, got)) == sorted(map(key, samples((where / "report.prom").read_text())))
        by_status = {labels["status"]: v for n, labels, v in got if n == "readiness_items"}
        assert by_status == {s: report["summary"][s] for s in by_status} and len(by_status) == 6
        results = {r["id"]: r["status"] for r in report["results"]}
        for item in (LOOPBACK, HEALTH):
            ones = [labels["status"] for n, labels, v in got if n == "readiness_item_status" and
                    labels["id"] == item and v == 1]
            assert ones == [results[item]]
        stamp = next(v for n, _, v in got if n == "readiness_last_run_timestamp_seconds")
        assert abs(stamp - time.time()) < 300
        ready = next(v for n, _, v in got if n == "readiness_ready")
        assert ready == (report["summary"]["verdict"] == "ready")
    assert {labels["status"] for n, labels, v in ours(scraped, "eu-prod")
            if n == "readiness_item_status" and labels["id"] == LOOPBACK and v == 1} == {"pass"}
    assert {labels["status"] for n, labels, v in ours(scraped, US)
            if n == "readiness_item_status" and labels["id"] == LOOPBACK and v == 1} == {"fail"}


def test_a_second_run_replaces_its_own_group_only(tmp_path: Path, pushgateway: Gateway) -> None:
    eu = cluster_dir(tmp_path, "eu-prod", GOOD)
    us = cluster_dir(tmp_path, "us-prod", BAD)
    assert audit(eu, "--pushgateway", pushgateway.url).returncode == 0
    assert audit(us, "--pushgateway", pushgateway.url).returncode == 1
    us_before = sorted(map(key, ours(pushgateway.metrics(), "us-prod")))

    # The next night's run of eu-prod fails, with a checklist of one item: a PUT replaces the whole group, so the
    # items that are gone from the run are gone from the gateway too.
    (eu / "docker-compose.yml").write_text(BAD)
    again = subprocess.run([READINESS, "audit", "-t", "targets.yaml", "-c", one_item_checklist(tmp_path, LOOPBACK),
                            "--pushgateway", pushgateway.url], capture_output=True, text=True, cwd=eu, timeout=60)
    assert again.returncode == 1, again.stderr
    scraped = pushgateway.metrics()
    eu_now = ours(scraped, "eu-prod")
    assert {labels["id"] for n, labels, _ in eu_now if n == "readiness_item_status"} == {LOOPBACK}  # HEALTH is gone
    assert [labels["status"] for n, labels, v in eu_now if n == "readiness_item_status" and v == 1] == ["fail"]
    assert next(v for n, _, v in eu_now if n == "readiness_ready") == 0
    assert sorted(map(key, ours(scraped, "us-prod"))) == us_before  # the other cluster's group untouched


def failing_push(tmp_path: Path, url: str, budget: float) -> subprocess.CompletedProcess[str]:
    where = cluster_dir(tmp_path, "eu-prod", GOOD)  # a ready stack: the gate alone would say 0
    started = time.monotonic()
    run = audit(where, "--pushgateway", url, "--timeout", "2")
    assert time.monotonic() - started < budget, "the push held the run"
    assert run.returncode == 2, run.stderr  # never green, and not the gate's 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("readiness: --pushgateway "), run.stderr
    assert lines[0].endswith("the metrics were not pushed") and "Traceback" not in run.stderr
    assert "READY" in run.stdout  # the verdict is still printed, and the report written
    assert json.loads((where / "report.json").read_text())["summary"]["verdict"] == "ready"
    return run


def test_a_refused_push_says_so_in_one_line_and_exits_2(tmp_path: Path) -> None:
    run = failing_push(tmp_path, f"http://127.0.0.1:{free_port()}", budget=30)
    assert "connection refused" in run.stderr


def test_a_gateway_answering_500_exits_2_with_its_status(tmp_path: Path) -> None:
    server = Answering(500)
    try:
        run = failing_push(tmp_path, f"http://127.0.0.1:{server.port}", budget=30)
    finally:
        server.close()
    assert "HTTP 500 Oops: storage on fire" in run.stderr
    assert server.requests and server.requests[0].startswith(b"PUT /metrics/job/readiness/cluster/eu-prod ")


def test_a_frozen_gateway_costs_one_timeout_not_a_hung_run(tmp_path: Path) -> None:
    hole = BlackHole()
    try:
        started = time.monotonic()
        run = failing_push(tmp_path, f"http://127.0.0.1:{hole.port}", budget=30)
    finally:
        hole.close()
    assert "no answer within 2 s" in run.stderr or "timed out" in run.stderr
    assert hole.accepted, "the gateway was never reached"
    assert time.monotonic() - started < 25


def test_a_failed_push_still_lets_the_upload_happen_and_both_are_said(tmp_path: Path, moto: Any) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
    s3.create_bucket(Bucket="pushed-or-not")
    where = cluster_dir(tmp_path, "eu-prod", GOOD)
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": moto.url, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    run = subprocess.run([READINESS, "audit", "-t", "targets.yaml", "--only", LOOPBACK, "--pushgateway",
                          f"http://127.0.0.1:{free_port()}", "--upload", "s3://pushed-or-not/nightly/"],
                         capture_output=True, text=True, cwd=where, env=env, timeout=60)
    assert run.returncode == 2, run.stderr
    assert "connection refused; the metrics were not pushed" in run.stderr
    assert "uploaded the report to s3://pushed-or-not/nightly/eu-prod/" in run.stderr
    assert [o["Key"].split("/")[1] for o in s3.list_objects_v2(Bucket="pushed-or-not")["Contents"]] == ["eu-prod"]

    both = subprocess.run([READINESS, "audit", "-t", "targets.yaml", "--only", LOOPBACK, "--pushgateway",
                           f"http://127.0.0.1:{free_port()}", "--upload", "s3://no-such-bucket/nightly/"],
                          capture_output=True, text=True, cwd=where, env=env, timeout=60)
    assert both.returncode == 2, both.stderr  # each failure says its own line: the upload's does not hide the push's
    assert "connection refused; the metrics were not pushed" in both.stderr and "--upload" in both.stderr


def test_a_token_in_the_url_is_sent_as_a_header_and_never_shown(tmp_path: Path) -> None:
    token = "tok-51c0ffee9d2e"
    server = Answering(503)
    try:
        run = failing_push(tmp_path, f"http://{token}@127.0.0.1:{server.port}/gw", budget=30)
    finally:
        server.close()
    head = server.requests[0].decode()
    assert head.startswith("PUT /gw/metrics/job/readiness/cluster/eu-prod ")  # a path prefix is kept
    assert f"Authorization: Bearer {token}" in head
    assert token not in run.stderr + run.stdout and "***@127.0.0.1" in run.stderr


def test_basic_auth_from_the_url_reaches_a_protected_gateway_and_stays_secret(tmp_path: Path) -> None:
    with warnings.catch_warnings():  # Debian 12's Python 3.11 has it: the bcrypt hash the gateway's config takes
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

    password = "pw-3e7a9c1b5d"
    config = tmp_path / "web.yml"
    hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    config.write_text(yaml.safe_dump({"basic_auth_users": {"pusher": hashed}}))
    gateway = start_gateway(tmp_path / "gw", f"--web.config.file={config}")
    try:
        where = cluster_dir(tmp_path, "eu-prod", GOOD)
        url = gateway.url.replace("http://", "http://pusher:{}@")
        ok = audit(where, "--pushgateway", url.format(password))
        assert ok.returncode == 0, ok.stderr
        assert password not in ok.stderr + ok.stdout and "http://pusher:***@127.0.0.1" in ok.stderr
        wrong = audit(where, "--pushgateway", url.format("not-" + password))
        assert wrong.returncode == 2 and "HTTP 401" in wrong.stderr, wrong.stderr
        assert password not in wrong.stderr + wrong.stdout
        auth = base64.b64encode(f"pusher:{password}".encode()).decode()
        request = urllib.request.Request(f"{gateway.url}/metrics", headers={"Authorization": f"Basic {auth}"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            scraped = resp.read().decode()
        assert ours(scraped, "eu-prod") and password not in scraped
    finally:
        gateway.server.stop()


def test_secrets_of_the_targets_never_reach_the_pushed_labels(tmp_path: Path) -> None:
    secret = "s3cr3t-9f8e7d6c"
    server = Answering(500)
    try:
        where = cluster_dir(tmp_path, secret, GOOD)  # a name that is also a password of the stack
        (where / "targets.yaml").write_text(yaml.safe_dump({
            "name": secret, "files": {"compose": "docker-compose.yml"},
            "redis": {"url": f"redis://:{secret}@127.0.0.1:1/0"}}))
        run = audit(where, "--pushgateway", f"http://127.0.0.1:{server.port}")
    finally:
        server.close()
    assert run.returncode == 2
    assert server.requests and all(secret.encode() not in r for r in server.requests)
    assert secret not in run.stderr + run.stdout


@pytest.mark.parametrize("url", ["ftp://gw:9091", "gw:9091", "http://", "http://gw:x/", "http://gw:9091/?a=b",
                                 "http://u:pw-7x7x7x@gw:port"])
def test_a_malformed_url_is_refused_before_anything_is_audited(tmp_path: Path, url: str) -> None:
    where = cluster_dir(tmp_path, "eu-prod", GOOD)
    run = audit(where, "--pushgateway", url)
    assert run.returncode == 2 and run.stderr.startswith("readiness: configuration error: --pushgateway")
    assert not (where / "report.json").exists() and "pw-7x7x7x" not in run.stderr
    with pytest.raises(ConfigError):
        push_module.parse(url)
