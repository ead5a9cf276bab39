"""Waivers and attestations: applied, expired, unknown, unmatched, all reported."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import audit, write_yaml
from test_runner import checklist, item

from readiness.errors import ConfigError
from readiness.waivers import load_attestations, load_waivers

TODAY = dt.date(2026, 6, 1)


def run(tmp_path, waivers=None, attestations=None):
    from readiness.audit import execute, load_inputs
    from readiness.runner import Options

    cl = checklist(tmp_path, item("s.f", "test.constant", "{status: fail}")
                   + item("s.g", "test.constant", "{status: fail}")
                   + item("s.p", "test.constant", "{status: pass}") + item("s.e", "test.constant", "{status: error}")
                   + item("s.u", "test.unobservable")
                   + "- {id: s.m, title: M, level: required, manual: true, rationale: r}\n"
                   + "- {id: s.n, title: N, level: required, manual: true, rationale: r}\n")
    w = str(write_yaml(tmp_path / "waivers.yaml", waivers)) if waivers is not None else None
    a = str(write_yaml(tmp_path / "attest.yaml", attestations)) if attestations is not None else None
    report, results = execute(load_inputs(cl, None, w, a), Options(), "required", today=TODAY)
    return {r.id: r for r in results}, report


def test_a_valid_waiver_waives_and_an_expired_one_fails_again(tmp_path):
    results, report = run(tmp_path, waivers=[
        {"id": "s.f", "justification": "migrating in Q3", "expires": "2026-09-30", "approved_by": "cto"},
        {"id": "s.g", "justification": "was temporary", "expires": "2026-05-31"},
    ])
    assert results["s.f"].status == "waived"
    assert results["s.f"].waiver == {"justification": "migrating in Q3", "expires": "2026-09-30",
                                     "approved_by": "cto", "expired": False}
    assert results["s.g"].status == "fail"
    assert results["s.g"].message == "waiver expired on 2026-05-31: constant"
    assert results["s.g"].waiver["expired"] is True
    assert any("waiver for s.g expired on 2026-05-31" in n for n in report["notices"])
    assert report["summary"]["waived"] == 1 and not results["s.f"].blocking


def test_waivers_for_unknown_ids_or_passing_items_are_reported(tmp_path):
    _, report = run(tmp_path, waivers=[
        {"id": "s.nope", "justification": "j", "expires": "2027-01-01"},
        {"id": "s.p", "justification": "j", "expires": "2027-01-01"},
    ])
    notes = report["notices"]
    assert any(n.endswith(":1: waiver for unknown item id 's.nope'") for n in notes), notes
    assert any(n.endswith(":4: waiver for s.p matched nothing (the item is pass); remove it") for n in notes), notes


def test_an_attestation_turns_a_manual_item_into_pass_with_its_evidence(tmp_path):
    results, report = run(tmp_path, attestations=[
        {"id": "s.m", "by": "alice", "date": "2026-05-20", "evidence": "https://wiki/runbook"},
        {"id": "s.n", "by": "bob", "date": "2025-01-01", "evidence": "drill", "expires": "2026-01-01"},
        {"id": "s.u", "by": "carol", "date": "2026-05-21", "evidence": "checked the console"},
    ])
    assert results["s.m"].status == "pass"
    assert results["s.m"].message == "attested by alice on 2026-05-20: https://wiki/runbook"
    assert results["s.n"].status == "manual" and "expired on 2026-01-01" in results["s.n"].message
    # a fact the probe declared invisible to it: the attestation and the probe's own words side by side
    assert results["s.u"].status == "pass" and results["s.u"].evidence["probe_said"] == \
        "disk usage is not visible over SQL"
    assert results["s.u"].message == ("attested by carol on 2026-05-21: checked the console (the probe: disk usage "
                                      "is not visible over SQL)")


def test_an_attestation_never_covers_a_fault_the_probe_could_have_seen(tmp_path):
    # s.e is an error of the probe's own (unreachable, timed out, denied, no target): a person's word does not hide it
    results, report = run(tmp_path, attestations=[
        {"id": "s.e", "by": "mallory", "date": "2026-05-21", "evidence": "trust me"}])
    assert results["s.e"].status == "error" and results["s.e"].attestation is None
    assert any("attestation for s.e does not apply: the probe could not observe the item (constant)" in n
               for n in report["notices"]), report["notices"]


def test_a_waived_error_says_the_item_was_not_observed(tmp_path):
    results, _ = run(tmp_path, waivers=[{"id": "s.e", "justification": "known", "expires": "2026-09-30"}])
    assert results["s.e"].status == "waived"
    assert results["s.e"].message == "not observed, waived until 2026-09-30: constant"


@pytest.mark.parametrize("record, expected", [
    ({"id": "s.f", "expires": "2027-01-01"}, "waiver 1 is missing 'justification'"),
    ({"id": "s.f", "justification": "j"}, "waiver 1 is missing 'expires'"),
    ({"id": "s.f", "justification": " ", "expires": "2027-01-01"}, "justification must not be empty"),
    ({"id": "s.f", "justification": "j", "expires": "next year"}, "expires must be a date (YYYY-MM-DD)"),
    ({"id": "s.f", "justification": "j", "expires": "2027-01-01", "by": "x"}, "unknown key 'by'"),
])
def test_bad_waivers_are_located(tmp_path, record, expected):
    path = write_yaml(tmp_path / "w.yaml", [record])
    with pytest.raises(ConfigError, match=r"w.yaml:\d+:\d+: ") as info:
        load_waivers(path)
    assert expected in info.value.text


def test_a_waivers_file_must_be_a_list_and_attestations_need_evidence(tmp_path):
    with pytest.raises(ConfigError, match="a waivers file must be a list of waiver records"):
        load_waivers(write_yaml(tmp_path / "w.yaml", {"id": "x"}))
    with pytest.raises(ConfigError, match="attestation 1 is missing 'evidence'"):
        load_attestations(write_yaml(tmp_path / "a.yaml", [{"id": "x", "by": "a", "date": "2026-01-01"}]))


def test_audit_helper_still_applies_no_waivers_by_default(tmp_path):
    results, _ = audit(tmp_path, {}, ["ops.monitoring"])
    assert results["ops.monitoring"].status == "manual"
