"""Across a fleet: reports uploaded to object storage (moto's S3 over HTTP) or kept in a directory, one overview of
the latest report of each cluster, checked as HTML and in a real Chromium."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


@contextmanager
def opened(out: Path) -> Iterator[tuple[Any, list[str], list[str]]]:
    """The page in Chromium: (page, problems: console errors and warnings, page errors, dialogs; requests)."""
    from playwright.sync_api import sync_playwright
    from test_report_html import CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        problems: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())
        try:
            yield page, problems, requests
        finally:
            browser.close()


def visible(page: Any) -> list[str]:
    return page.eval_on_selector_all("tr.cluster",
                                     "els => els.filter(e => e.checkVisibility()).map(e => e.dataset.cluster)")


def test_the_overview_shows_each_clusters_latest_report(tmp_path):
    source = fleet_dir(tmp_path / "reports")
    out = tmp_path / "fleet.html"
    proc = run("fleet", str(source), "-o", str(out))
    assert proc.returncode == 1, proc.stderr  # a cluster is not ready
    assert "3 clusters, 2 not ready" in proc.stderr and "skipped" in proc.stderr and "junk.json" in proc.stderr
    assert "5 JSON files are not named <cluster>/<time>.json as --upload names them" in proc.stderr
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
    item = {"id": "s.ok", "title": "ok", "level": "required", "probe": "test.constant", "with": {"status": "pass"},
            "rationale": "r"}
    checklist = write_yaml(tmp_path / "checklist.yaml",
                           {"version": 1, "name": "t", "sections": [{"id": "s", "title": "S", "items": [item]}]})
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
    source = fleet_dir(tmp_path / "reports")
    out = tmp_path / "fleet.html"
    run("fleet", str(source), "-o", str(out))
    with opened(out) as (page, problems, requests):
        shown = page.eval_on_selector_all("tr.cluster", "els => els.map(e => e.dataset.cluster)")
        colour = page.eval_on_selector(".verdict.ready", "e => getComputedStyle(e).backgroundColor")
    assert problems == [] and requests == [out.as_uri()]
    assert shown == ["eu-prod", "staging", "us-prod"]  # not ready first, most blocking first
    assert colour == "rgb(218, 251, 225)"  # the stylesheet applied under the page's CSP


# --- names as --upload writes them: <cluster>/<time>.json, only each cluster's newest is read ---------------------


def stamp(finished: str) -> str:
    from readiness.upload import key_for

    return key_for({"cluster": "x", "finished_at": finished}, "").split("/")[1]


def uploaded_dir(root: Path, clusters: dict[str, list[tuple[str, bool | None]]]) -> Path:
    """clusters: name -> [(finished_at, failing)]; failing None writes garbage (a corrupt report)."""
    for cluster, runs in clusters.items():
        folder = root / cluster
        folder.mkdir(parents=True, exist_ok=True)
        for finished, failing in runs:
            body = "{not json" if failing is None else json.dumps(report_for(cluster, finished, failing))
            (folder / stamp(finished)).write_text(body)
    return root


NEWEST, OLDER, OLDEST = "2026-12-03T02:00:00.000000Z", "2026-12-02T02:00:00.000000Z", "2026-12-01T02:00:00.000000Z"


def test_each_clusters_newest_is_picked_by_name_and_the_older_ones_are_never_read(tmp_path):
    # the older reports are corrupt: reading any of them would show as a note (or an unreadable row)
    source = uploaded_dir(tmp_path / "reports", {"eu-prod": [(OLDEST, None), (NEWEST, False), (OLDER, None)],
                                                   "us-prod": [(OLDER, True), (OLDEST, None)]})
    out = tmp_path / "fleet.html"
    proc = run("fleet", str(source), "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [f"2 clusters, 1 not ready: {out}"]
    found = rows(out.read_text())
    assert {k: v["data-verdict"] for k, v in found.items()} == {"eu-prod": "ready", "us-prod": "not-ready"}
    assert f'href="reports/eu-prod/{stamp(NEWEST)}"' in out.read_text()
    assert "Every cluster found is shown" in out.read_text()


def test_a_corrupt_newest_report_is_unreadable_for_its_cluster_not_replaced_by_an_older_ready_one(tmp_path):
    source = uploaded_dir(tmp_path / "reports", {"eu-prod": [(OLDER, False), (NEWEST, None)],
                                                   "us-prod": [(NEWEST, False)]})
    out = tmp_path / "fleet.html"
    proc = run("fleet", str(source), "-o", str(out))
    assert proc.returncode == 1, proc.stderr  # unreadable is not ready
    assert "2 clusters, 1 not ready (1 unreadable)" in proc.stderr
    text = out.read_text()
    found = rows(text)
    assert found["eu-prod"]["data-verdict"] == "unreadable" and found["us-prod"]["data-verdict"] == "ready"
    assert list(found) == ["eu-prod", "us-prod"]  # worst first
    assert "is not a JSON report" in text and "UNREADABLE" in text


def test_a_stray_unnamed_report_never_replaces_an_unreadable_newest_or_wins_by_its_times_text(tmp_path):
    # c1's newest is corrupt; c2's newest is not ready: stray ready files claim each by a time that sorted last as
    # text ("zz..." and "2026-12-2T..." both sort after "2026-12-03T...") and made the cluster "ready"
    source = uploaded_dir(tmp_path / "reports", {"c1": [(OLDER, False), (NEWEST, None)], "c2": [(NEWEST, True)],
                                                   "c3": [(OLDER, True)]})
    (source / "stray.json").write_text(json.dumps(report_for("c1", "zz-not-a-time", False)))
    (source / "stray2.json").write_text(json.dumps(report_for("c2", "2026-12-2T02:00:00.000000Z", False)))
    (source / "stray3.json").write_text(json.dumps(report_for("c1", "2026-12-04T02:00:00.000000Z", False)))
    (source / "stray4.json").write_text(json.dumps(report_for("c3", "2026-12-04T02:00:00.000000Z", False)))
    out = tmp_path / "fleet.html"
    proc = run("fleet", str(source), "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    found = {k: v["data-verdict"] for k, v in rows(out.read_text()).items()}
    # a stray that is really newer still replaces a readable row (c3)
    assert found == {"c1": "unreadable", "c2": "not-ready", "c3": "ready"}


def test_a_report_with_an_unknown_or_inconsistent_verdict_is_unreadable_not_ready(tmp_path):
    source = uploaded_dir(tmp_path / "reports", {c: [(NEWEST, c == "c")] for c in "abc"})
    for cluster, change in (("a", {"verdict": "READY!"}), ("b", {"blocking": float("nan")}),
                            ("c", {"verdict": "ready"})):  # c has blocking results
        path = source / cluster / stamp(NEWEST)
        report = json.loads(path.read_text())
        report["summary"].update(change)
        path.write_text(json.dumps(report))
    out = tmp_path / "f.html"
    proc = run("fleet", str(source), "-o", str(out))
    assert proc.returncode == 1 and "3 clusters, 3 not ready (3 unreadable)" in proc.stderr
    assert {v["data-verdict"] for v in rows(out.read_text()).values()} == {"unreadable"}


HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', "javascript:alert(3)"]


def test_hostile_cluster_names_are_escaped_and_links_stay_relative_paths(tmp_path):
    source = uploaded_dir(tmp_path, {name: [(NEWEST, True)] for name in HOSTILE})
    out = tmp_path / "fleet.html"
    proc = run("fleet", str(source), "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    text = out.read_text()
    assert "<script>alert" not in text and "<img" not in text
    page = Page(text)
    assert sorted(a["data-cluster"] for a in page.tags("tr") if a.get("data-cluster")) == sorted(HOSTILE)
    hrefs = [a["href"] for a in page.tags("a")]
    assert len(hrefs) == 3 and not any(":" in h for h in hrefs), hrefs  # no scheme: a relative path
    assert len(page.tags("script")) == 2 and all(s.strip() for s in page.scripts)


def test_the_cluster_cap_counts_clusters_and_is_stated_at_the_top(tmp_path):
    source = uploaded_dir(tmp_path / "reports", {c: [(NEWEST, False), (OLDER, False)] for c in ("a", "b", "c")})
    out = tmp_path / "fleet.html"
    proc = run("fleet", str(source), "-o", str(out), "--max-clusters", "2")
    assert proc.returncode == 0, proc.stderr
    assert "3 clusters found; this page shows the first 2 by name, the other 1 were not read" in proc.stderr
    text = out.read_text()
    assert set(rows(text)) == {"a", "b"}
    assert text.index("Capped: 1 more cluster not shown") < text.index('<table id="clusters">')


def test_s3_reads_only_each_clusters_newest_concurrently_and_a_denied_read_is_unreadable(moto):
    from readiness import fleet
    from readiness.upload import key_for

    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
    s3.create_bucket(Bucket="fleet-reports")
    newest = {}
    for cluster, runs in {"blue": [(OLDEST, False), (NEWEST, True)], "green": [(OLDER, False)],
                          "red": [(OLDER, False), (NEWEST, None)]}.items():
        for finished, failing in runs:
            key = key_for({"cluster": cluster, "finished_at": finished}, "nightly/")
            body = b"{oops" if failing is None else json.dumps(report_for(cluster, finished, failing)).encode()
            s3.put_object(Bucket="fleet-reports", Key=key, Body=body)
            newest[cluster] = max(newest.get(cluster, ""), key)
    s3.put_object(Bucket="fleet-reports", Key="nightly/elsewhere.json", Body=b"[]")  # not named by the scheme
    got: list[str] = []
    s3.meta.events.register("provide-client-params.s3.GetObject", lambda params, **_: got.append(params["Key"]))
    found = fleet.collect("s3://fleet-reports/nightly/", ".", s3=s3)
    assert sorted(got) == sorted([*newest.values(), "nightly/elsewhere.json"])
    by = {r.cluster: r for r in found.rows}
    assert {c: r.verdict for c, r in by.items()} == {"blue": "not-ready", "green": "ready", "red": "unreadable"}
    assert by["blue"].finished_at == NEWEST and "redis.eviction-policy" in by["blue"].blocking_ids
    assert by["red"].source == f"s3://fleet-reports/{newest['red']}" and "not a JSON report" in by["red"].problem
    assert any("elsewhere.json" in n and n.startswith("skipped") for n in found.notices)

    def denied(**_: object) -> None:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")

    s3.meta.events.register("before-call.s3.GetObject", denied)
    found = fleet.collect("s3://fleet-reports/nightly/", ".", s3=s3)
    assert {r.verdict for r in found.rows} == {"unreadable"}
    assert all("AccessDenied" in r.problem for r in found.rows)


@needs_chromium
def test_the_overview_sorts_and_filters_in_a_browser(tmp_path):
    clusters = {f"c{n:02d}": [(NEWEST, n % 3 == 0)] for n in range(12)}
    clusters["broken"] = [(NEWEST, None)]
    clusters.update({name: [(OLDER, True)] for name in HOSTILE})
    source = uploaded_dir(tmp_path / "reports", clusters)
    out = tmp_path / "fleet.html"
    run("fleet", str(source), "-o", str(out))
    with opened(out) as (page, problems, _):
        first = visible(page)
        page.select_option("#filter-verdict", "ready")
        ready = visible(page)
        page.select_option("#filter-verdict", "")
        page.fill("#filter-text", "c1")
        named = visible(page)
        shown = page.inner_text("#shown")
        page.fill("#filter-text", "")
        page.click("th[data-key=cluster]")
        by_name = visible(page)
        page.click("th[data-key=cluster]")
        by_name_desc = visible(page)
    assert problems == []
    assert first[0] == "broken" and len(first) == 16  # unreadable first, then not ready
    assert set(first[1:8]) == {*HOSTILE, "c00", "c03", "c06", "c09"}
    assert ready == [f"c{n:02d}" for n in range(12) if n % 3]
    assert named == ["c10", "c11"] and shown == "2 of 16 clusters shown"
    assert by_name == sorted(first) and by_name_desc == sorted(first, reverse=True)


def test_a_listing_out_of_name_order_still_shows_each_clusters_newest(tmp_path):
    from readiness import fleet

    source = uploaded_dir(tmp_path / "r", {"a": [(OLDER, True), (NEWEST, False), (OLDEST, None)],
                                           "b": [(NEWEST, True)]})

    class Interleaved(fleet.Directory):
        """The same files, a's reports split around b's: a folder seen again after it was sent for."""

        def listing(self):
            found = sorted(super().listing(), key=lambda f: f.where)
            a = [f for f in found if f.folder == "a"]
            assert [f.name for f in a] == sorted(f.name for f in a)
            return iter([a[1], a[0], *[f for f in found if f.folder == "b"], a[2]])

    got = fleet._collect(Interleaved(str(source), str(tmp_path)), max_clusters=10, workers=2)
    by = {r.cluster: r for r in got.rows}
    assert {c: (r.verdict, r.finished_at) for c, r in by.items()} == {"a": ("ready", NEWEST),
                                                                      "b": ("not-ready", NEWEST)}


@needs_chromium
def test_a_large_fleet_shows_the_first_500_worst_and_the_rest_on_request(tmp_path):
    source = uploaded_dir(tmp_path / "reports", {f"c{n:03d}": [(NEWEST, n >= 550)] for n in range(600)})
    out = tmp_path / "fleet.html"
    run("fleet", str(source), "-o", str(out))
    with opened(out) as (page, problems, _):
        first, shown = visible(page), page.inner_text("#shown")
        page.click("#show-all")
        everything = visible(page)
    assert problems == []
    assert len(first) == 500 and first[:50] == [f"c{n:03d}" for n in range(550, 600)]  # the not ready first
    assert shown == "600 of 600 clusters match, the first 500 shown"
    assert len(everything) == 600
