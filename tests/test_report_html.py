from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
import reportdata
from readiness.reports import html

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "readiness" / "schema" / "report-v1.json").read_text())
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Page(HTMLParser):
    """Every element with its attributes, the text outside <script>/<style>, and the bodies of scripts."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag
            if tag == "script":
                self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in is None:
            self.text.append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]


@pytest.mark.parametrize("make", [reportdata.sample_report, reportdata.big_report, reportdata.hostile_report,
                                  lambda: reportdata.sample_report(preset=None, fail_on="never")])
def test_report_fixtures_follow_the_report_schema(make):
    jsonschema.validate(make(), SCHEMA)


def test_planted_markup_comes_out_inert():
    report = reportdata.hostile_report()
    out = html.render(report)
    page = Page(out)
    assert len(page.scripts) == 1, "only the report's own script"
    assert page.tags("script") == [{}]
    assert page.tags("img") == []
    assert not [(tag, a) for tag, attrs in page.elements for a in attrs if a.startswith("on")]
    for raw in (reportdata.XSS_TAG, reportdata.XSS_ATTR, "<img src=x", "</script><script>"):
        assert raw not in out
    text = "".join(page.text)
    assert reportdata.XSS in text  # shown to the reader as text, in full
    assert "Checklist " + reportdata.XSS in text


def test_planted_markup_in_attributes_stays_inside_the_attribute():
    page = Page(html.render(reportdata.hostile_report()))
    sections = [a["data-section"] for tag, a in page.elements if tag == "article" and "data-section" in a]
    assert "postgres " + reportdata.XSS in sections
    options = [a["value"] for a in page.tags("option")]
    assert "postgres " + reportdata.XSS in options


def test_the_only_script_is_pinned_by_the_content_security_policy():
    out = html.render(reportdata.sample_report())
    page = Page(out)
    csp = next(a["content"] for a in page.tags("meta") if a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp
    digest = base64.b64encode(hashlib.sha256(page.scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_the_page_is_self_contained():
    out = html.render(reportdata.sample_report())
    page = Page(out)
    for tag, attrs in page.elements:
        for name in ("src", "href", "action", "formaction", "poster", "data", "srcset"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value or value.startswith(("#", "data:")), (tag, name, value)
    assert not re.search(r"url\s*\(|@import|@font-face", out, re.I)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", out, re.I)
    # A link in the evidence is shown, not followed.
    assert "https://wiki.example.com/ops/write-path" in "".join(page.text)


def test_header_shows_verdict_score_counts_and_run_metadata():
    report = reportdata.sample_report()
    text = " ".join(" ".join(Page(html.render(report)).text).split())
    assert "Not ready 3 blocking items at gate “required”" in text
    assert "47% score" in text and "8 of 17 required and recommended items pass" in text
    assert "Score = passing / applicable" in text
    assert report["checklist"]["sha256"] in text and "version 1" in text
    assert "Profile production" in text and "Preset langsmith" in text
    assert "Started 2026-03-02T10:15:00.000000Z" in text and "Duration 4.5 s" in text
    assert "Tool readiness 0.1.0" in text
    assert "redis://:***@cache.internal:6379/0" in text
    ready = reportdata.finish([r for r in reportdata.sample_results() if r["status"] == "pass"], preset=None)
    text = " ".join(" ".join(Page(html.render(ready)).text).split())
    assert "Ready 0 blocking items" in text and "Preset none" in text and "100% score" in text


def test_items_keep_checklist_order_with_failures_open_and_passes_folded():
    report = reportdata.sample_report()
    page = Page(html.render(report))
    articles = [a for tag, a in page.elements if tag == "article"]
    assert [a["id"] for a in articles] == [f"item-{r['id']}" for r in report["results"]]
    opened = [tag == "details" and "open" in attrs for tag, attrs in page.elements if tag == "details"]
    folded = {r["id"]: not o for r, o in zip(report["results"], opened[1:], strict=True)}  # [0] is Targets
    assert not folded["redis.eviction-policy"] and not folded["postgres.backups"] and not folded["ops.oncall"]
    assert folded["redis.persistence"] and folded["s3.roundtrip"] and folded["redis.replicas"]


def test_blocking_items_are_listed_first_with_links():
    report = reportdata.sample_report()
    out = html.render(report)
    top = out[out.index('id="blocking"'):out.index('id="filters"')]
    links = re.findall(r'href="#(item-[a-z0-9.-]+)"', top)
    assert links == ["item-redis.eviction-policy", "item-postgres.backups", "item-ops.restore-drill"]


def test_blocking_is_judged_by_the_gate_when_the_report_does_not_say():
    with_flags = html.render(reportdata.sample_report())
    without = html.render(reportdata.sample_report(with_blocking=False))
    assert with_flags == without


def test_nested_evidence_reads_as_json():
    text = "".join(Page(html.render(reportdata.sample_report())).text)
    assert '{"runs": "ReplicatedMergeTree", "feedback": "ReplicatedMergeTree"}' in text
    assert '[{"shard": 1, "replicas": ["ch-0", "ch-1"]}]' in text
    assert "null" in text  # clickhouse.ttl's ttl is None


def test_signoff_lists_waivers_by_urgency_attestations_and_reviewer_fields():
    out = html.render(reportdata.sample_report())
    signoff = out[out.index('id="signoff"'):]
    rows = re.findall(r'<tr class="row-(\w+)"><td><a href="#item-([a-z0-9.-]+)"', signoff)
    assert rows == [("expiring", "redis.replicas"), ("expired", "postgres.ssl"), ("valid", "s3.lifecycle")]
    assert "expires in 10 days" in signoff
    text = " ".join(" ".join(Page(signoff).text).split())
    assert "Alex Kim 2026-02-27 2026-08-27 https://wiki.example.com/ops/write-path" in text
    page = Page(signoff)
    assert {a.get("id") for a in page.tags("input") if a.get("type") == "text"} >= {"reviewer-0", "date-0"}
    assert {a.get("value") for a in page.tags("input") if a.get("type") == "radio"} == {
        "approve", "conditions", "reject"}


def test_print_stylesheet_hides_filters_and_unfolds_everything():
    css = html._assets()[0]
    printed = css[css.index("@media print"):]
    assert ".toolbar" in printed and "display: none" in printed
    assert "details::details-content" in printed


def test_empty_report_renders():
    out = html.render(reportdata.finish([]))
    assert "Nothing blocks sign-off" in out


# --- in a real browser ---

needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                    reason=f"{CHROMIUM} is absent (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_report(browser, tmp_path):
    pages = []

    def open_(report, name="report.html"):
        path = tmp_path / name
        path.write_text(html.render(report), encoding="utf-8")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.problems = []  # type: ignore[attr-defined]
        page.requests = []  # type: ignore[attr-defined]
        page.on("console", lambda m: m.type in ("error", "warning") and page.problems.append(m.text))
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        page.on("dialog", lambda d: (page.problems.append("dialog: " + d.message), d.dismiss()))
        page.on("request", lambda r: page.requests.append(r.url))
        page.goto(path.as_uri())
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


def visible_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "article.item", "els => els.filter(e => e.checkVisibility()).map(e => e.id.slice(5))")


def toggle(page, key: str, *values: str, on: bool = False) -> None:
    """Check (on) or uncheck the report's filter boxes of ``key`` (status, level) for these values."""
    for value in values:
        box = page.locator(f"input[data-filter={key}][value={value}]")
        if on:
            box.check()
        else:
            box.uncheck()


@needs_chromium
def test_browser_loads_without_errors_or_network(open_report):
    page = open_report(reportdata.sample_report())
    assert page.problems == []
    assert [u for u in page.requests if not u.startswith(("file://", "data:"))] == []
    assert page.locator("#filter-shown").inner_text() == "20 of 20 items shown"
    assert page.evaluate("document.documentElement.className") == "js"


@needs_chromium
def test_browser_runs_no_planted_script(open_report):
    page = open_report(reportdata.hostile_report())
    page.wait_for_timeout(200)
    assert page.problems == []
    assert page.locator("article.item").count() == 20


@needs_chromium
def test_browser_failures_expanded_and_passes_collapsed(open_report):
    page = open_report(reportdata.sample_report())
    state = page.eval_on_selector_all("article.item", "els => els.map(e => [e.dataset.status, e.querySelector"
                                      "('details').open, e.querySelector('.body').checkVisibility()])")
    for status, is_open, body_visible in state:
        assert is_open == body_visible
        if status in ("fail", "error"):
            assert is_open, status
        if status in ("pass", "skipped"):
            assert not is_open, status


@needs_chromium
def test_browser_status_filter(open_report):
    report = reportdata.sample_report()
    page = open_report(report)
    toggle(page, "status", "pass", "skipped")
    expected = [r["id"] for r in report["results"] if r["status"] not in ("pass", "skipped")]
    assert visible_ids(page) == expected
    assert page.locator("#filter-shown").inner_text() == f"{len(expected)} of 20 items shown"
    toggle(page, "status", "pass", on=True)
    assert len(visible_ids(page)) == 20 - 2


@needs_chromium
def test_browser_level_filter(open_report):
    report = reportdata.sample_report()
    page = open_report(report)
    toggle(page, "level", "required", "recommended")
    assert visible_ids(page) == [r["id"] for r in report["results"] if r["level"] == "optional"]
    assert page.locator("section.section:visible h2").all_inner_texts()[0].startswith("clickhouse")


@needs_chromium
def test_browser_section_filter_and_blocking_only(open_report):
    report = reportdata.sample_report()
    page = open_report(report)
    page.select_option("#filter-section", "clickhouse")
    assert visible_ids(page) == ["clickhouse.replicas", "clickhouse.ttl", "clickhouse.disk-headroom"]
    assert page.locator("section.section:visible").count() == 1
    page.select_option("#filter-section", "")
    page.locator("#filter-blocking").check()
    assert visible_ids(page) == ["redis.eviction-policy", "postgres.backups", "ops.restore-drill"]


@needs_chromium
def test_browser_text_search_reaches_folded_evidence(open_report):
    page = open_report(reportdata.sample_report())
    page.fill("#filter-text", "eviction")
    assert visible_ids(page) == ["redis.eviction-policy"]
    page.fill("#filter-text", "replicatedmergetree")  # only in a passing item's folded evidence
    assert visible_ids(page) == ["clickhouse.replicas"]
    page.fill("#filter-text", "no such text anywhere")
    assert visible_ids(page) == []
    assert page.locator("#filter-empty").is_visible()
    page.click("#reset-filters")
    assert len(visible_ids(page)) == 20


@needs_chromium
def test_browser_blocking_link_reveals_a_filtered_item(open_report):
    page = open_report(reportdata.sample_report())
    toggle(page, "status", "error")
    assert "postgres.backups" not in visible_ids(page)
    page.click("#blocking a[href='#item-postgres.backups']")
    # A locator wait, not wait_for_function: the latter polls with eval(), which the report's CSP forbids.
    page.locator("#item-postgres\\.backups").wait_for(state="visible", timeout=5000)
    assert "postgres.backups" in visible_ids(page)


@needs_chromium
def test_browser_print_media_shows_everything_and_hides_filters(open_report):
    page = open_report(reportdata.sample_report())
    toggle(page, "status", "pass")
    page.emulate_media(media="print")
    assert not page.locator("#filters").is_visible() and not page.locator("#filter-empty").is_visible()
    assert len(visible_ids(page)) == 20
    assert page.locator("#item-redis\\.persistence .body").is_visible()  # folded on screen
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and page.problems == []


@needs_chromium
def test_browser_screenshots(open_report):
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page = open_report(reportdata.sample_report())
    page.screenshot(path=str(artifacts / "report-full.png"), full_page=True)
    page.screenshot(path=str(artifacts / "report.png"))
    docs = ROOT / "docs" / "report.png"
    # The committed README image is rewritten only on request, so a test run leaves the work tree clean.
    if not docs.exists() or os.environ.get("READINESS_UPDATE_SCREENSHOT"):
        docs.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(docs))
    assert (artifacts / "report.png").stat().st_size > 10_000


ASKED = ["redis.eviction-policy", "redis.persistence", "kubernetes.langsight-sidecar"]
LEFT_OUT = "17 items not selected (--only redis kubernetes.langsight-sidecar; --skip redis.replicas): not shown"


def test_a_narrowed_run_shows_what_was_asked_and_folds_the_rest_under_a_count():
    out = html.render(reportdata.narrowed_report())
    page = Page(out)
    assert [a["id"] for a in page.tags("article")] == [f"item-{i}" for i in ASKED]
    assert [s["data-section"] for s in page.tags("section") if "data-section" in s] == ["redis", "kubernetes"]
    assert [o["value"] for o in page.tags("option")] == ["", "redis", "kubernetes"]
    folded = out.split('<details class="unselected" id="unselected">')[1].split("</details>")[0]
    assert f"<summary>{LEFT_OUT}</summary>" in folded
    assert folded.count("<li>") == 17 and "<code>postgres.backups</code>" in folded
    jsonschema.validate(reportdata.narrowed_report(), SCHEMA)


@needs_chromium
def test_browser_narrowed_run_hides_the_unselected_until_asked(open_report):
    page = open_report(reportdata.narrowed_report())
    assert visible_ids(page) == ASKED
    assert page.locator("#filter-shown").inner_text() == "3 of 3 items shown"
    assert page.locator("#unselected summary").inner_text() == LEFT_OUT
    assert not page.locator("#unselected li").first.is_visible()
    page.locator("#unselected summary").click()
    assert page.locator("#unselected li").count() == 17 and page.locator("#unselected li").first.is_visible()
    assert page.problems == [] and page.requests == [page.url]
