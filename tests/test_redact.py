"""Masking: every URL form, linear time on hostile lengths, the credentials each client parses, bounded evidence."""

from __future__ import annotations

import json

import pytest
import readiness_testplugin as plugin  # noqa: F401 - registers the testdb kind's probes
from helpers import write_yaml

from readiness.models import MAX_EVIDENCE, bounded
from readiness.redact import Scrubber, redact_text
from readiness.targets import load_targets

PW = "Pl4nted-pw"


@pytest.mark.parametrize("text", [
    f"redis://:{PW}@h:6379/0", f"redis://user:{PW}@h:6379/0", f"postgresql://app:{PW}@db:5432/x",
    f"clickhouse://default:{PW}@ch:9000/default", f"redis://u:{PW}/x#y@h:6379/0", f"redis://u:{PW}@@h/0",
    f"postgresql://db/x?password={PW}", f"host=db password={PW} dbname=x", f"see redis://u:{PW}@h and more",
])
def test_url_and_dsn_passwords_are_masked_in_text(text):
    out = redact_text(text)
    assert PW not in out and "***" in out


@pytest.mark.parametrize("text", [
    "a" * 200_000, "x://a:" * 30_000, "redis://" + "a" * 200_000, "?" + "a" * 200_000, "&password" * 20_000,
    "password=" * 20_000, " a" * 100_000, "a://b:" + "@" * 100_000,
])
def test_masking_hostile_lengths_finishes_and_leaves_plain_text_alone(text):
    # Quadratic masking took ~45 s on "x://a:" * 30000; linear masking does each of these in milliseconds.
    out = Scrubber([PW, "another-secret"]).text(text)
    assert len(out) <= len(text) + 3


@pytest.mark.parametrize("kind, settings", [
    ("redis", {"url": f"redis://{PW}@127.0.0.1:6379/0"}),  # the password-only form redis-py accepts
    ("redis", {"url": f"redis://:{PW[:4]}/{PW[4:]}@127.0.0.1:6379/0"}),  # an unencoded '/' in the password
    ("redis", {"url": f"redis://:{PW[:4]}#{PW[4:]}@127.0.0.1:6379/0"}),  # an unencoded '#'
    ("redis", {"url": "redis://127.0.0.1:6379/0", "password": PW}),
    ("postgres", {"dsn": f"host=127.0.0.1 password='{PW}' dbname=x"}),
    ("postgres", {"dsn": f"postgresql://app:{PW[:4]}#{PW[4:]}@127.0.0.1/x"}),
    ("clickhouse", {"url": f"clickhouse://default:{PW[:4]}/{PW[4:]}@127.0.0.1:9000/default"}),
    ("s3", {"bucket": "bucket-1", "access_key_id": "AKIAEXAMPLE", "secret_access_key": PW}),
    ("http", {"base_url": "https://obs.example.com", "metrics_token": PW}),
])
def test_the_targets_section_masks_every_credential_form(tmp_path, kind, settings):
    targets = load_targets(write_yaml(tmp_path / "t.yaml", {kind: settings}))
    shown = json.dumps(targets.redacted())
    planted = next(pw for pw in (PW, f"{PW[:4]}/{PW[4:]}", f"{PW[:4]}#{PW[4:]}") if pw in json.dumps(settings))
    assert PW[:4] not in shown and PW[4:] not in shown, shown  # not even the part before the '/' or '#'
    assert targets.scrubber().text(f"echoed {planted} by a server") == "echoed *** by a server"


def test_evidence_is_bounded_per_item():
    evidence = {"key": "k" * 40_000, "keys": [f"key:{i}" for i in range(10_000)],
                "nested": {f"n{i}": "v" * 1000 for i in range(1000)}}
    kept = bounded(evidence)
    assert len(json.dumps(kept)) < MAX_EVIDENCE + 20_000
    assert kept["key"].endswith("[38000 more characters]")
    assert kept["keys"][-1].startswith("... [")


def test_a_huge_host_name_in_a_targets_file_is_an_error_in_bounded_time(tmp_path):
    # A 200,000-character host spun for minutes in the old masking; now it is one error of bounded size.
    from helpers import audit

    host = "h" * 200_000
    results, report = audit(tmp_path, {"redis": {"url": f"redis://:{PW}@{host}:6379/0"}}, ["redis.reachable"],
                            timeout=5)
    r = results["redis.reachable"]
    assert r.status == "error" and len(r.message) < 3000
    assert PW not in json.dumps(report) and len(json.dumps(report)) < 400_000
