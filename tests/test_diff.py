from __future__ import annotations

import json
import subprocess
import sys

import pytest
import reportdata

from readiness import diffing
from readiness.errors import ConfigError


def changed(edit, **finish_kwargs):
    """The sample report and a later run of it where ``edit`` changed some results."""
    results = reportdata.sample_results()
    edit({r["id"]: r for r in results}, results)
    return reportdata.sample_report(), reportdata.finish(results, **finish_kwargs)


def ids(entries):
    return [e["id"] for e in entries]


def test_identical_reports_have_no_change_and_exit_0():
    report = reportdata.sample_report()
    diff = diffing.compare(report, report)
    assert not any(diff[k] for k in ("new_blocking", "new_failures", "fixed", "changed_status",
                                     "changed_evidence", "added", "removed"))
    assert diffing.exit_code(diff) == 0
    assert "No change." in diffing.render_text(diff)


def test_a_passing_required_item_that_fails_is_a_new_blocking_failure():
    def edit(by_id, _):
        by_id["redis.persistence"].update(status="fail", message="appendonly is no",
                                          evidence={"appendonly": "no", "aof_enabled": 0})
    old, new = changed(edit)
    diff = diffing.compare(old, new)
    assert ids(diff["new_failures"]) == ["redis.persistence"]
    assert ids(diff["new_blocking"]) == ["redis.persistence"]
    assert diff["new_blocking"][0]["old_status"] == "pass" and diff["new_blocking"][0]["new_status"] == "fail"
    assert diffing.exit_code(diff) == 1
    text = diffing.render_text(diff)
    assert "New blocking (1):\n  redis.persistence [required] pass -> fail: appendonly is no" in text
    assert "Gate: new blocking items, exit 1." in text


def test_a_new_optional_failure_is_reported_but_does_not_block():
    def edit(by_id, _):
        by_id["s3.roundtrip"].update(status="fail", message="PutObject denied")
    diff = diffing.compare(*changed(edit))
    assert ids(diff["new_failures"]) == ["s3.roundtrip"]
    assert diff["new_blocking"] == []
    assert diffing.exit_code(diff) == 0


def test_an_item_already_blocking_is_not_new_even_if_its_status_changes():
    def edit(by_id, _):
        by_id["redis.eviction-policy"].update(status="error", message="connection refused")
    diff = diffing.compare(*changed(edit))
    assert ids(diff["changed_status"]) == ["redis.eviction-policy"]
    assert diff["new_failures"] == [] and diff["new_blocking"] == []
    assert diffing.exit_code(diff) == 0


def test_fixes_and_attestations_are_listed_as_fixed():
    def edit(by_id, _):
        by_id["redis.eviction-policy"].update(status="pass", message="maxmemory_policy is noeviction",
                                              evidence={"maxmemory_policy": "noeviction"})
        by_id["ops.restore-drill"].update(status="pass", message="attested")
    diff = diffing.compare(*changed(edit))
    assert ids(diff["fixed"]) == ["redis.eviction-policy", "ops.restore-drill"]
    assert diffing.exit_code(diff) == 0
    assert "Fixed (2):" in diffing.render_text(diff)


def test_changed_evidence_lists_each_key():
    def edit(by_id, _):
        by_id["clickhouse.ttl"]["evidence"] = {"table": "runs", "ttl": None, "rows": 190000000,
                                               "engine": "MergeTree"}
        by_id["redis.eviction-policy"]["evidence"] = {"maxmemory_policy": "volatile-lru"}
    diff = diffing.compare(*changed(edit))
    by_id = {e["id"]: e["changes"] for e in diff["changed_evidence"]}
    assert by_id["clickhouse.ttl"] == [
        {"key": "rows", "change": "changed", "old": 182734411, "new": 190000000},
        {"key": "engine", "change": "added", "old": None, "new": "MergeTree"}]
    assert by_id["redis.eviction-policy"] == [
        {"key": "maxmemory_policy", "change": "changed", "old": "allkeys-lru", "new": "volatile-lru"},
        {"key": "maxmemory", "change": "removed", "old": 4294967296, "new": None}]
    text = diffing.render_text(diff)
    assert "    rows: 182734411 -> 190000000" in text and "    engine: added (MergeTree)" in text


def test_added_and_removed_items():
    def edit(_, results):
        results[:] = [r for r in results if r["id"] != "postgres.ssl"]
        results.append(reportdata.result("redis.tls", "required", "error", "TLS handshake timed out"))
    diff = diffing.compare(*changed(edit))
    assert ids(diff["removed"]) == ["postgres.ssl"]
    assert ids(diff["added"]) == ["redis.tls"]
    assert ids(diff["new_failures"]) == ["redis.tls"]
    assert ids(diff["new_blocking"]) == ["redis.tls"]
    assert diffing.exit_code(diff) == 1


def test_an_expired_waiver_makes_a_new_blocking_failure():
    def edit(by_id, _):
        by_id["s3.lifecycle"].update(status="fail", message="waiver expired on 2026-03-01")
        by_id["s3.lifecycle"]["waiver"]["expired"] = True
    diff = diffing.compare(*changed(edit))
    assert ids(diff["new_blocking"]) == ["s3.lifecycle"]
    assert diff["new_blocking"][0]["old_status"] == "waived"


def test_a_stricter_gate_makes_existing_failures_newly_blocking():
    diff = diffing.compare(reportdata.sample_report(), reportdata.sample_report(fail_on="recommended"))
    assert ids(diff["new_blocking"]) == ["postgres.ssl", "clickhouse.ttl", "kubernetes.pdb",
                                         "ops.oncall"]
    note = "note: the gate changed from --fail-on required to --fail-on recommended"
    assert note in diffing.render_text(diff)


def test_reports_without_blocking_flags_are_judged_by_their_gate():
    def edit(by_id, _):
        by_id["redis.persistence"].update(status="fail")
    old, new = changed(edit, with_blocking=False)
    assert "blocking" not in new["results"][0]
    diff = diffing.compare(old, new)
    assert ids(diff["new_blocking"]) == ["redis.persistence"]


def test_diff_is_json_serialisable_and_says_what_it_is():
    diff = diffing.compare(reportdata.sample_report(), reportdata.big_report(50))
    again = json.loads(json.dumps(diff))
    assert again["schema"] == "readiness.diff/v1"
    assert again["new"]["verdict"] == "not-ready"
    assert len(again["removed"]) == 20 and len(again["added"]) == 50
    assert "note: the two runs used different checklists" not in diffing.render_text(diff)


def test_read_report_accepts_a_saved_report(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(reportdata.sample_report()))
    assert diffing.read_report(str(path)) == reportdata.sample_report()


@pytest.mark.parametrize(("content", "says"), [
    (None, "report not found"),
    ("{not json", "is not a JSON report"),
    ("[]", "the top level is not an object"),
    (json.dumps({"schema": "other/v2"}), "its schema is 'other/v2'"),
    (json.dumps({"schema": "readiness.report/v1"}), "it has no tool, checklist"),
])
def test_read_report_rejects_what_is_not_a_report_in_one_sentence(tmp_path, content, says):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        diffing.read_report(str(path))
    assert says in info.value.text and "\n" not in info.value.text


def test_read_report_names_the_broken_result(tmp_path):
    report = reportdata.sample_report()
    del report["results"][3]["status"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    with pytest.raises(ConfigError, match=r"results\[3\] has no status"):
        diffing.read_report(str(path))


def run(tmp_path, *args):
    """The installed command line, from a directory outside the repository."""
    return subprocess.run([sys.executable, "-m", "readiness", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)


def write(tmp_path, name, report):
    path = tmp_path / name
    path.write_text(json.dumps(report))
    return str(path)


def test_cli_diff_exits_1_on_a_new_blocking_failure_and_writes_json(tmp_path):
    def edit(by_id, _):
        by_id["redis.persistence"].update(status="fail", message="appendonly is no")
    old, new = changed(edit)
    proc = run(tmp_path, "diff", write(tmp_path, "old.json", old), write(tmp_path, "new.json", new),
               "--json", "diff.json")
    assert proc.returncode == 1, proc.stderr
    assert "New blocking (1):" in proc.stdout
    assert ids(json.loads((tmp_path / "diff.json").read_text())["new_blocking"]) == ["redis.persistence"]


def test_cli_diff_exits_0_when_only_fixes_appear(tmp_path):
    def edit(by_id, _):
        by_id["redis.eviction-policy"].update(status="pass")
    old, new = changed(edit)
    proc = run(tmp_path, "diff", write(tmp_path, "old.json", old), write(tmp_path, "new.json", new), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert ids(json.loads(proc.stdout)["fixed"]) == ["redis.eviction-policy"]
    assert "Fixed (1):" in proc.stderr  # the text moves aside when stdout carries the JSON


def test_cli_diff_and_render_exit_2_on_unreadable_input(tmp_path):
    good = write(tmp_path, "good.json", reportdata.sample_report())
    (tmp_path / "bad.json").write_text("{}")
    for args in (("diff", good, "missing.json"), ("diff", "bad.json", good), ("render", "bad.json", "--html", "x"),
                 ("render", good)):
        proc = run(tmp_path, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("readiness: configuration error: ") and proc.stderr.count("\n") == 1


def test_cli_render_writes_every_format_from_a_saved_report(tmp_path):
    from readiness.reports import html, junit, markdown

    report = reportdata.sample_report()
    proc = run(tmp_path, "render", write(tmp_path, "r.json", report), "--html", "r.html", "--junit", "r.xml",
               "--markdown", "r.md")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r.html").read_text() == html.render(report)
    assert (tmp_path / "r.xml").read_text() == junit.render(report)
    assert (tmp_path / "r.md").read_text() == markdown.render(report)
