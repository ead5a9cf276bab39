from __future__ import annotations

import re

import reportdata
from readiness.reports import markdown

PIPE = re.compile(r"(?<!\\)\|")


def tables(text: str) -> list[list[str]]:
    out: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            out.append(current)
            current = []
    return out + ([current] if current else [])


def cells(row: str) -> list[str]:
    return [c.strip() for c in PIPE.split(row)[1:-1]]


def test_every_table_row_has_as_many_cells_as_its_header():
    for make in (reportdata.sample_report, reportdata.big_report, reportdata.hostile_report):
        found = tables(markdown.render(make()))
        assert found
        for table in found:
            assert re.fullmatch(r"\|(-+:?\|)+", table[1]), table[1]
            width = len(cells(table[0]))
            assert all(len(cells(row)) == width for row in table), table


def test_summary_table_has_counts_and_verdict():
    text = markdown.render(reportdata.sample_report())
    assert text.startswith("## ❌ readiness: not ready — 3 blocking (gate: required)")
    summary = tables(text)[0]
    row = dict(zip(cells(summary[0]), cells(summary[2]), strict=True))
    assert row["Verdict"] == "**not ready**"
    assert row["Total"] == "20" and row["❌ fail"] == "4" and row["✅ pass"] == "8"
    assert row["Blocking"] == "**3**"
    assert row["Score"] == "47% (8/17)"


def test_blocking_items_are_listed_with_level_status_message_and_remediation():
    text = markdown.render(reportdata.sample_report())
    blocking = tables(text)[1]
    assert cells(blocking[0]) == ["Item", "Level", "Status", "Message", "Remediation"]
    rows = [cells(r) for r in blocking[2:]]
    assert [r[0] for r in rows] == ["`redis.eviction-policy`", "`postgres.backups`", "`ops.restore-drill`"]
    assert rows[0][1:] == [
        "required", "❌ fail", r"maxmemory\_policy is allkeys-lru, expected noeviction",
        "CONFIG SET maxmemory-policy noeviction (and persist it in redis.conf / the chart values)"]


def test_ready_report_says_nothing_blocks():
    results = [r for r in reportdata.sample_results() if r["status"] in ("pass", "skipped")]
    text = markdown.render(reportdata.finish(results))
    assert "## ✅ readiness: ready — 0 blocking" in text
    assert "Nothing blocks at this gate." in text


def test_cells_escape_pipes_newlines_and_html():
    results = reportdata.sample_results()
    results[0]["message"] = "a | b\nsecond line\r\n<script>alert(1)</script> & `tick` [link](x)"
    text = markdown.render(reportdata.finish(results))
    row = next(line for line in text.splitlines() if line.startswith("| `redis.eviction-policy` | required"))
    assert len(cells(row)) == 5
    assert r"a \| b second line &lt;script&gt;alert(1)&lt;/script&gt; &amp; \`tick\` \[link\](x)" in row
    assert "<script>" not in text


def test_hostile_report_carries_no_live_html():
    text = markdown.render(reportdata.hostile_report())
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;" in text


def test_expiring_and_expired_waivers_are_called_out():
    text = markdown.render(reportdata.sample_report())
    assert "| `redis.replicas` | 2026-03-12 | expires in 10 days | Dana Ruiz |" in text
    assert "| `postgres.ssl` | 2026-02-20 | **expired** | Sam Lee |" in text
    assert "s3.lifecycle` | 2026-09-30" not in text  # far from expiry: not news


def test_500_items_stay_under_the_size_limit_and_say_what_was_cut():
    text = markdown.render(reportdata.big_report(500))
    assert len(text.encode()) < markdown.LIMIT
    assert "not listed" in text and "Long messages are cut" in text
    assert "### Blocking items" in text


def test_size_limit_holds_when_everything_blocks_with_huge_messages():
    results = [reportdata.result(f"s{i % 5}.item-{i}", "required", "fail", "m" * 5000, remediation="r" * 5000)
               for i in range(500)]
    text = markdown.render(reportdata.finish(results))
    assert len(text.encode()) < markdown.LIMIT
    assert "more blocking items, not listed here for size" in text


def test_small_report_lists_every_item_uncut():
    report = reportdata.sample_report()
    text = markdown.render(report)
    for r in report["results"]:
        assert f"`{r['id']}`" in text
    assert "not listed" not in text and "cut (…)" not in text


def test_a_narrowed_run_lists_what_was_asked_and_counts_the_rest():
    text = markdown.render(reportdata.narrowed_report())
    listed = [cells(row)[0] for table in tables(text)[2:] for row in table[2:]]
    assert listed == ["`redis.eviction-policy`", "`redis.persistence`", "`kubernetes.langsight-sidecar`"]
    assert ("17 items not selected (--only redis kubernetes.langsight-sidecar; --skip redis.replicas): "
            "not shown.") in text.splitlines()
    assert "postgres" not in text.split("### Results by section")[1]
