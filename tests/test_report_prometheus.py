"""The Prometheus report, read back with prometheus-client's own parser."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import reportdata
from prometheus_client.parser import text_string_to_metric_families
from readiness.reports import prometheus

from readiness import fsio


def samples(text: str) -> dict[str, list]:
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def test_every_item_has_one_status_set_and_the_summary_matches():
    report = {**reportdata.sample_report(), "cluster": 'prod "eu"\n1'}
    parsed = samples(prometheus.render(report))
    status = parsed["readiness_item_status"]
    assert len(status) == 6 * len(report["results"])
    for r in report["results"]:
        ones = [s for s in status if s.labels["id"] == r["id"] and s.value == 1]
        assert [s.labels["status"] for s in ones] == [r["status"]]
        assert ones[0].labels == {"cluster": 'prod "eu"\n1', "id": r["id"], "section": r["section"],
                                  "level": r["level"], "status": r["status"]}
    by_status = {s.labels["status"]: s.value for s in parsed["readiness_items"]}
    assert by_status == {k: report["summary"][k] for k in by_status}
    assert parsed["readiness_blocking_items"][0].value == report["summary"]["blocking"]
    assert parsed["readiness_ready"][0].value == (report["summary"]["verdict"] == "ready")
    assert parsed["readiness_last_run_timestamp_seconds"][0].value > 1.7e9


def test_the_run_timestamp_and_duration_keep_every_digit():
    """`%g` kept six digits: a run that finished at 23:31:10 read as 23:20:00 (1.79634e+09), so an alert on the age
    of the last run was off by up to 8 minutes either way, and a 1234.567 s run read as 1234.57 s."""
    report = {**reportdata.sample_report(), "finished_at": "2026-12-03T23:31:10.250000Z", "duration_s": 1234.567}
    parsed = samples(prometheus.render(report))
    assert parsed["readiness_last_run_timestamp_seconds"][0].value == 1796340670.25
    assert parsed["readiness_run_duration_seconds"][0].value == 1234.567


def test_hostile_labels_cannot_break_the_format():
    parsed = samples(prometheus.render({**reportdata.hostile_report(), "cluster": "c"}))
    assert parsed["readiness_item_status"]


def test_the_prometheus_file_is_replaced_atomically_never_truncated_in_place(tmp_path):
    """node_exporter's textfile collector reads the file at any moment: it must see the old file or the new one,
    whole, never an empty or half-written one."""
    report = tmp_path / "r.json"
    report.write_text(json.dumps(reportdata.sample_report()))
    out = tmp_path / "readiness.prom"
    out.write_text("readiness_ready 1\n")
    os.chmod(out, 0o644)
    before = out.stat().st_ino
    with open(out) as reader:  # a collector in the middle of reading the previous run's file
        run = subprocess.run([str(Path(sys.executable).parent / "readiness"), "render", str(report), "--report",
                              f"prometheus={out}"], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert reader.read() == "readiness_ready 1\n"
    assert out.stat().st_ino != before  # a new file renamed over the old one
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # still readable by the collector's user
    assert samples(out.read_text())["readiness_ready"]
    assert sorted(os.listdir(tmp_path)) == ["r.json", "readiness.prom"]  # no temporary file left behind


def test_report_writes_follow_a_symlink_and_write_into_a_fifo_in_place(tmp_path):
    target = tmp_path / "real.prom"
    target.write_text("old\n")
    (tmp_path / "link.prom").symlink_to(target)
    fsio.write_text(str(tmp_path / "link.prom"), "new\n")
    assert (tmp_path / "link.prom").is_symlink() and target.read_text() == "new\n"

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    fsio.write_text(str(fifo), "through the pipe\n")  # like /dev/stdout: never replaced by a regular file
    reader.join(10)
    assert got == ["through the pipe\n"] and stat.S_ISFIFO(fifo.lstat().st_mode)
