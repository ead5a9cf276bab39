"""The remediation data file: every id is a checklist item, every preset a real one, every entry says what to change
where; the loader refuses a broken file at file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from readiness import remediation
from readiness.checklist import load_checklist
from readiness.errors import ConfigError


def test_the_packaged_table_is_valid_against_the_checklist() -> None:
    ids = {item.id for item in load_checklist(None).items}
    table = remediation.load(remediation.PATH, known_ids=ids)
    assert len(table) >= 30
    for item_id, presets in table.items():
        assert set(presets) <= set(remediation.PRESETS), item_id
        for entry in presets.values():
            assert entry["text"].strip() and entry["where"]


def test_for_item_in_the_products_own_words() -> None:
    langsmith = remediation.for_item("files.values-blob-storage", "langsmith")
    assert langsmith and langsmith["where"] == {"helm": "config.blobStorage.enabled"}
    assert "enabled: true" in langsmith["snippet"]
    hpa = remediation.for_item("k8s.hpa-coverage", "langfuse")
    assert hpa and hpa["where"]["helm"] == "langfuse.web.hpa.enabled"
    assert remediation.for_item("redis.eviction-policy", "langfuse")["where"]["helm"] == "redis.valkeyConfig"
    assert remediation.for_item("clickhouse.replicas", "langfuse")["where"]["helm"] == "clickhouse.cluster.replicas"
    assert remediation.for_item("app.trusted-proxies", "langsight")["where"]["env"] == "LANGSIGHT_TRUSTED_PROXY_CIDRS"
    assert remediation.for_item("files.values-blob-storage", "langfuse") is None
    assert remediation.for_item("files.values-blob-storage", None) is None
    assert remediation.for_item("no.such-item", "langsmith") is None
    # callers get copies: the table loaded once cannot be changed through them
    langsmith["where"]["helm"] = "changed"
    again = remediation.for_item("files.values-blob-storage", "langsmith")
    assert again and again["where"]["helm"] == "config.blobStorage.enabled"


@pytest.mark.parametrize("text,where,words", [
    ("version: 1\nitems:\n  no.such:\n    langsmith: {text: t, where: {helm: a}}\n", ":3:3:", "not an item"),
    ("version: 1\nitems:\n  redis.tls:\n    datadog: {text: t, where: {helm: a}}\n", ":4:5:", "unknown preset"),
    ("version: 1\nitems:\n  redis.tls:\n    langfuse: {text: t, where: {kubectl: a}}\n", ":4:42:", "where.kubectl"),
    ("version: 1\nitems:\n  redis.tls:\n    langfuse: {where: {env: A}}\n", ":4:15:", "text must be"),
    ("version: 1\nitems:\n  redis.tls:\n    langfuse: {text: t, where: {env: A}, fix: x}\n", ":4:42:",
     "unknown key 'fix'"),
    ("version: 2\nitems: {}\n", ":1:1:", "version: 1"),
    ("version: 1\nitems:\n  redis.tls: &a {langfuse: {text: t, where: {env: A}}}\n  redis.ha: !!binary AAAA\n",
     ":4:3:", "mapping of presets"),
])
def test_a_broken_table_is_refused_at_its_line(tmp_path: Path, text: str, where: str, words: str) -> None:
    path = tmp_path / "remediation.yaml"
    path.write_text(text)
    ids = {item.id for item in load_checklist(None).items}
    with pytest.raises(ConfigError) as info:
        remediation.load(str(path), known_ids=ids)
    assert f"remediation.yaml{where}" in info.value.text and words in info.value.text, info.value.text


def test_results_carry_the_products_own_fix_before_the_generic_one(tmp_path):
    from helpers import audit

    targets = {"preset": "langfuse", "redis": {"url": "redis://127.0.0.1:1/0"}}
    results, report = audit(tmp_path, targets, ["redis.eviction-policy"])
    fix = results["redis.eviction-policy"].remediation
    assert fix.startswith("langfuse: ") and "(helm redis.valkeyConfig)" in fix
    assert "--maxmemory-policy noeviction" in fix and "\nGenerally: " in fix
    results, _ = audit(tmp_path, {**targets, "preset": "langsight"}, ["redis.eviction-policy"], preset="langsight")
    assert results["redis.eviction-policy"].remediation.startswith("langsight: ")
    plain, _ = audit(tmp_path, {"redis": {"url": "redis://127.0.0.1:1/0"}}, ["redis.eviction-policy"])
    assert not plain["redis.eviction-policy"].remediation.startswith(("langfuse", "langsmith", "langsight"))
