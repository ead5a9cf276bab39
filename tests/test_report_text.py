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
