"""The Prometheus report, read back with prometheus-client's own parser."""

from __future__ import annotations

import reportdata
from prometheus_client.parser import text_string_to_metric_families
from readiness.reports import prometheus


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


def test_hostile_labels_cannot_break_the_format():
    parsed = samples(prometheus.render({**reportdata.hostile_report(), "cluster": "c"}))
    assert parsed["readiness_item_status"]
