from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import reportdata
from readiness.reports import junit

XSD = Path(__file__).parent / "data" / "junit.xsd"


def cases(xml: str) -> dict[str, ET.Element]:
    return {c.get("name", ""): c for c in ET.fromstring(xml).iter("testcase")}


def outcome(case: ET.Element) -> str:
    tags = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
    assert len(tags) <= 1
    return tags[0] if tags else "pass"


@pytest.mark.parametrize("make", [reportdata.sample_report, reportdata.big_report, reportdata.hostile_report])
def test_output_validates_against_the_junit_schema(make):
    etree = pytest.importorskip("lxml.etree")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.fromstring(junit.render(make()).encode())
    assert schema.validate(doc), schema.error_log


def test_one_suite_per_section_and_one_case_per_item_in_checklist_order():
    report = reportdata.sample_report()
    root = ET.fromstring(junit.render(report))
    sections = list(dict.fromkeys(r["section"] for r in report["results"]))
    assert [s.get("name") for s in root.iter("testsuite")] == sections
    assert [(c.get("classname"), c.get("name")) for c in root.iter("testcase")] == [
        (r["section"], r["id"]) for r in report["results"]]


def test_statuses_map_to_failure_error_and_skipped():
    xml = junit.render(reportdata.sample_report())
    got = {name: outcome(case) for name, case in cases(xml).items()}
    assert got["redis.eviction-policy"] == "failure"
    assert got["clickhouse.disk-headroom"] == "failure"  # an optional failure is still a failure
    assert got["postgres.backups"] == "error"
    assert got["s3.roundtrip"] == "skipped"
    assert got["redis.replicas"] == "skipped"  # waived
    assert got["redis.persistence"] == "pass"
    assert got["ops.write-path-understood"] == "pass"  # attested


def test_manual_items_fail_only_when_they_block_the_gate():
    got = {name: outcome(case) for name, case in cases(junit.render(reportdata.sample_report())).items()}
    assert got["ops.restore-drill"] == "failure"  # required, gate required: blocks
    assert got["ops.oncall"] == "skipped"  # recommended, gate required: does not block
    relaxed_xml = junit.render(reportdata.sample_report(fail_on="never"))
    relaxed = {n: outcome(c) for n, c in cases(relaxed_xml).items()}
    assert relaxed["ops.restore-drill"] == "skipped"


def test_failure_carries_message_evidence_and_remediation():
    case = cases(junit.render(reportdata.sample_report()))["redis.eviction-policy"]
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "maxmemory_policy is allkeys-lru, expected noeviction"
    assert "maxmemory_policy: allkeys-lru" in (failure.text or "")
    assert "CONFIG SET maxmemory-policy noeviction" in (failure.text or "")


def test_skipped_says_why_including_the_waiver():
    got = cases(junit.render(reportdata.sample_report()))
    skipped = got["s3.roundtrip"].find("skipped")
    assert skipped is not None and skipped.get("message") == "write probes are opt-in (--allow-writes)"
    waived = got["redis.replicas"].find("skipped")
    assert waived is not None
    assert "waived until 2026-03-12 by Dana Ruiz" in (waived.get("message") or "")
    assert "OPS-412" in (waived.get("message") or "")


def test_count_attributes_match_the_cases():
    root = ET.fromstring(junit.render(reportdata.big_report()))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root.iter("testsuite"):
        outcomes = [outcome(c) for c in suite.iter("testcase")]
        counts = {"tests": len(outcomes), "failures": outcomes.count("failure"),
                  "errors": outcomes.count("error"), "skipped": outcomes.count("skipped")}
        assert {k: int(suite.get(k, "-1")) for k in counts} == counts
        for k, v in counts.items():
            totals[k] += v
    assert {k: int(root.get(k, "-1")) for k in totals} == totals
    assert totals["tests"] == 500


def test_times_come_from_the_report():
    report = reportdata.sample_report()
    report["results"][0]["duration_s"] = 1.23456
    root = ET.fromstring(junit.render(report))
    assert root.get("time") == "4.512"
    assert cases(junit.render(report))["redis.eviction-policy"].get("time") == "1.235"
    redis = next(root.iter("testsuite"))
    assert float(redis.get("time", "0")) == pytest.approx(1.23456 + 0.004 + 0.004, abs=0.001)


def test_characters_illegal_in_xml_are_dropped_and_markup_is_escaped():
    report = reportdata.hostile_report()
    report["results"][0]["message"] = "bad\x00byte\x1b[31m red\ufffe <b>&amp;"
    report["results"][0]["evidence"] = {"raw\x07": "line\x0bfeed"}
    xml = junit.render(report)
    case = cases(xml)["redis.eviction-policy"]
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "badbyte[31m red <b>&amp;"
    assert "raw: linefeed" in (failure.text or "")
    assert "<script>" not in xml


def test_empty_report_is_still_valid_junit():
    report = reportdata.finish([])
    root = ET.fromstring(junit.render(report))
    assert root.get("tests") == "0" and list(root) == []


def test_a_narrowed_run_has_testcases_only_for_what_was_asked():
    etree = pytest.importorskip("lxml.etree")
    xml = junit.render(reportdata.narrowed_report())
    assert list(cases(xml)) == ["redis.eviction-policy", "redis.persistence", "kubernetes.langsight-sidecar"]
    root = ET.fromstring(xml)
    assert [s.get("name") for s in root.iter("testsuite")] == ["redis", "kubernetes"]
    assert root.get("tests") == "3" and root.get("skipped") == "1" and root.get("failures") == "1"
    props = {p.get("name"): p.get("value") for p in root.find("testsuite").iter("property")}
    assert props["not_selected"] == "17"
    assert props["selection"].startswith("17 items not selected (--only redis")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(etree.fromstring(xml.encode())), schema.error_log
