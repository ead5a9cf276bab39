"""Across a fleet: reports uploaded to object storage (moto's S3 over HTTP) or kept in a directory, one overview of
the latest report of each cluster, checked as HTML and in a real Chromium."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import reportdata
from helpers import write_yaml
from test_report_html import CHROMIUM, Page, needs_chromium

BIN = str(Path(sys.executable).parent / "readiness")
PLUGIN = str(Path(__file__).parent / "plugin")


def report_for(cluster: str, finished: str, failing: bool) -> dict:
    report = copy.deepcopy(reportdata.sample_report())
    report["cluster"], report["finished_at"] = cluster, finished
    if not failing:
        for r in report["results"]:
            r["status"], r["blocking"] = "pass", False
        report["summary"] = {**report["summary"], "fail": 0, "error": 0, "manual": 0, "waived": 0, "blocking": 0,
                             "verdict": "ready", "pass": len(report["results"])}
    return report


def fleet_dir(root: Path) -> Path:
    for cluster, finished, failing in (("eu-prod", "2026-12-01T02:00:00.000000Z", True),
                                       ("eu-prod", "2026-11-30T02:00:00.000000Z", False),  # older: ignored
                                       ("us-prod", "2026-12-01T02:05:00.000000Z", False),
                                       ("staging", "2026-11-20T02:00:00.000000Z", True)):
        folder = root / cluster
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{finished[:10]}.json").write_text(json.dumps(report_for(cluster, finished, failing)))
    (root / "eu-prod" / "2026-12-01.html").write_text("<html></html>")
    (root / "junk.json").write_text('{"not": "a report"}')
    return root


def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def rows(page_text: str) -> dict[str, dict]:
    page = Page(page_text)
    return {a["data-cluster"]: a for a in page.tags("tr") if a.get("data-cluster")}


def test_the_overview_shows_each_clusters_latest_report(tmp_path):
    source = fleet_dir(tmp_path / "reports")
    out = tmp_path / "fleet.html"
    proc = run("fleet", str(source), "-o", str(out))
    assert proc.returncode == 1, proc.stderr  # a cluster is not ready
    assert "3 clusters, 2 not ready" in proc.stderr and "skipped" in proc.stderr and "junk.json" in proc.stderr
    text = out.read_text()
    found = rows(text)
    assert {k: v["data-verdict"] for k, v in found.items()} == {"eu-prod": "not-ready", "staging": "not-ready",
                                                                 "us-prod": "ready"}
    assert 'href="reports/eu-prod/2026-12-01.html"' in text  # the HTML beside the JSON, relative to the page
    assert 'href="reports/us-prod/2026-12-01.json"' in text
    assert 'class="stale"' in text  # staging's report is weeks old
    assert "Failing most often" in text and "<td>eu-prod, staging</td>" in text


def test_reports_are_uploaded_per_cluster_and_run_and_read_back_from_s3(tmp_path, moto):
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": moto.url, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": PLUGIN}
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
    s3.create_bucket(Bucket="readiness-reports")
    checklist = tmp_path / "checklist.yaml"
    checklist.write_text(textwrap.dedent("""\
        version: 1
        name: t
        sections:
          - id: s
            title: S
            items:
              - {id: s.ok, title: ok, level: required, probe: test.constant, with: {status: pass}, rationale: r}
        """))
    for cluster in ("blue", "green"):
        targets = write_yaml(tmp_path / f"{cluster}.yaml", {"name": cluster})
        proc = run("audit", "-c", str(checklist), "-t", str(targets), "--upload", "s3://readiness-reports/nightly/",
                   env=env, cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"uploaded the report to s3://readiness-reports/nightly/{cluster}/" in proc.stderr
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="readiness-reports")["Contents"]]
    assert sorted(k.split("/")[1] for k in keys) == ["blue", "green"] and all(k.endswith(".json") for k in keys)
    out = tmp_path / "fleet.html"
    proc = run("fleet", "s3://readiness-reports/nightly/", "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert set(rows(out.read_text())) == {"blue", "green"}


def test_a_bad_upload_destination_is_refused_before_the_audit(tmp_path):
    proc = run("audit", "--upload", "s3://Bad_Bucket", cwd=tmp_path)
    assert proc.returncode == 2 and "expected s3://bucket/prefix/" in proc.stderr


def test_an_empty_source_is_bad_input(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run("fleet", str(tmp_path / "empty"), "-o", str(tmp_path / "f.html"))
    assert proc.returncode == 2 and "no readiness report found" in proc.stderr


@needs_chromium
def test_the_overview_loads_in_a_browser_without_errors_or_network(tmp_path):
    from playwright.sync_api import sync_playwright
    from test_report_html import CHROMIUM_ARGS

    source = fleet_dir(tmp_path / "reports")
    out = tmp_path / "fleet.html"
    run("fleet", str(source), "-o", str(out))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        problems: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())
        visible = page.eval_on_selector_all("tr.cluster", "els => els.map(e => e.dataset.cluster)")
        colour = page.eval_on_selector(".verdict.ready", "e => getComputedStyle(e).backgroundColor")
        browser.close()
    assert problems == [] and requests == [out.as_uri()]
    assert visible == ["eu-prod", "staging", "us-prod"]  # not ready first, most blocking first
    assert colour == "rgb(218, 251, 225)"  # the stylesheet applied under the page's CSP
