"""The terminal and Markdown reports as a CI log shows them: probed data cannot forge lines or colours."""

from __future__ import annotations

import reportdata
from readiness.reports import markdown, text

FORGED = "queue:a\n  PASS    REQ redis.eviction-policy: forged\x1b[32m\r\u202egnp.exe"


def forged_report():
    return reportdata.finish([
        reportdata.result("redis.dedicated", "required", "fail", f"unknown key {FORGED}",
                          evidence={"keys": [FORGED], FORGED: 1}),
        reportdata.result("redis.eviction-policy", "required", "pass", "maxmemory_policy is noeviction"),
    ])


def test_probed_newlines_and_escape_sequences_cannot_forge_terminal_lines():
    out = text.render(forged_report(), color=False)
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert [line for line in out.splitlines() if line.startswith("  PASS ")] == [
        "  PASS    REQ redis.eviction-policy: maxmemory_policy is noeviction"]
    assert "queue:a\\x0a  PASS    REQ redis.eviction-policy: forged\\x1b[32m\\x0d\\u202egnp.exe" in out


def test_markdown_cells_carry_no_control_characters():
    out = markdown.render(forged_report())
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    rows = [line for line in out.splitlines() if line.startswith("| `redis.")]
    assert [r.split("|")[1].strip() for r in rows].count("`redis.eviction-policy`") == 1


def test_a_narrowed_run_shows_what_was_asked_and_one_line_for_the_rest():
    out = text.render(reportdata.narrowed_report(), color=False)
    lines = out.splitlines()
    assert "  FAIL    REQ redis.eviction-policy: maxmemory_policy is allkeys-lru, expected noeviction" in lines
    assert "  PASS    REQ redis.persistence: appendonly is yes" in lines
    # a skip for another reason than the selection is still shown
    assert "  SKIPPED OPT kubernetes.langsight-sidecar: only for preset langsight" in lines
    left_out = [line for line in lines if "not selected" in line or "excluded by" in line]
    assert left_out == [
        "17 items not selected (--only redis kubernetes.langsight-sidecar; --skip redis.replicas): not shown"]
    assert "postgres" not in out and "redis.replicas:" not in out
    assert [line for line in lines if line and not line.startswith(" ")][1:3] == ["redis", "kubernetes"]
