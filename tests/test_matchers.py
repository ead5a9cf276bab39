"""The expect vocabulary: a pass needs a value positively observed and compared; NaN, NULL and text against a
number are `error`, booleans compare by meaning, versions by packaging's rules (pre-releases before releases)."""

from __future__ import annotations

import pytest

from readiness.matchers import MISSING, Expect


def verdict(spec, value):
    return Expect(spec).judge("v", value).status


@pytest.mark.parametrize("value", [float("nan"), "NaN", float("inf"), "-Infinity", "inf"])
@pytest.mark.parametrize("spec", [{"min": 1}, {"max": 1}, {"above": 0}, {"below": 10}, {"equals": 1},
                                  {"not_equals": 1}, {"matches": ".*"}, {"present": True}, {"not_one_of": [5]}])
def test_non_finite_numbers_are_never_judged(spec, value):
    assert verdict(spec, value) == "error"


@pytest.mark.parametrize("spec", [{"min": 1}, {"equals": 0}, {"not_equals": 0}, {"matches": ".*"}, {"contains": "a"},
                                  {"one_of": [0, 1]}])
def test_null_is_an_error_not_a_pass(spec):
    assert verdict(spec, None) == "error"


def test_present_and_absent_read_missing_and_null_as_no_value():
    assert verdict({"absent": True}, MISSING) == verdict({"absent": True}, None) == "pass"
    assert verdict({"present": True}, MISSING) == verdict({"present": True}, None) == "fail"
    assert verdict({"equals": 1}, MISSING) == "fail"


@pytest.mark.parametrize("value, operand, status", [
    (True, "false", "fail"), (True, "true", "pass"), (False, "off", "pass"), ("on", True, "pass"),
    ("0", True, "fail"), (1, False, "fail"), ("maybe", True, "error"), (True, "perhaps", "error"),
])
def test_booleans_compare_by_meaning_on_both_sides(value, operand, status):
    assert verdict({"equals": operand}, value) == status


@pytest.mark.parametrize("value, bound, status", [
    ("7.0.0-rc1", "7.0", "fail"), ("7.0.0", "7.0", "pass"), ("7.2.4", "7.0", "pass"), ("16beta1", "16", "fail"),
    ("15.4 (Debian 15.4-1.pgdg120+1)", "14", "pass"), ("23.8.2.7", "23.9", "fail"), ("v1.28.3", "1.28", "pass"),
    ("18.16.1", "23.9", "fail"), ("unknown", "6.2", "error"), (7, "6.2", "pass"),
])
def test_versions_order_by_packaging_rules(value, bound, status):
    assert verdict({"min": bound}, value) == status


def test_text_against_a_number_cannot_be_compared():
    assert verdict({"max": 100}, "lots") == "error"
    assert verdict({"equals": 0}, "zero") == "error"


@pytest.mark.parametrize("value", ["", "   ", "\x00junk", "\ufffd\ufffd", b"\xff\xfe"])
@pytest.mark.parametrize("spec", [{"not_equals": "LoadBalancer"}, {"not_one_of": ["a", "b"]}, {"not_matches": "^x"}])
def test_a_negative_matcher_never_passes_on_a_blank_or_binary_value(spec, value):
    # "is not LoadBalancer" holds for any junk: found by the hostile-facts test on files.values-frontend-service
    assert verdict(spec, value) == "error"
    assert verdict(spec, "ClusterIP") == "pass"
