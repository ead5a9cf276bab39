"""Random YAML documents never make a loader raise anything but its own ConfigError."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readiness.checklist import load_checklist
from readiness.errors import ConfigError
from readiness.targets import load_targets
from readiness.waivers import load_attestations, load_waivers

KEYS = ["version", "name", "sections", "id", "title", "items", "level", "probe", "with", "preset_with", "manual",
        "rationale", "remediation", "presets", "profiles", "timeout", "expect", "status", "equals", "min",
        "redis", "postgres", "url", "dsn", "preset", "profile", "network", "public_ports", "files", "compose",
        "justification", "expires", "by", "date", "evidence", "production", "langfuse", "test.constant", "${X}"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
                    st.sampled_from(["required", "test.constant", "pass", "1", "2026-01-01", "${HOME}", "${NOPE}",
                                     "${", "$$", "production", "langfuse", "redis://:pw@h:1/0"]))
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers())
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                          st.dictionaries(keys, inner, max_size=6)), max_leaves=40)
LOADERS = (load_checklist, lambda p: load_targets(p, env={"HOME": "/root"}), load_waivers, load_attestations)


def _check(text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        for loader in LOADERS:
            try:
                loader(str(path))
            except ConfigError as exc:
                assert exc.text.strip()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_structured_documents(doc):
    _check(yaml.safe_dump(doc, allow_unicode=True))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_arbitrary_text_and_bytes(text):
    _check(text)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(KEYS), scalars, max_size=8), max_size=4))
def test_checklist_shaped_documents(items):
    doc = {"version": 1, "name": "n", "sections": [{"id": "s", "title": "S", "items": items}]}
    _check(yaml.safe_dump(doc))


HOSTILE_LINES = ["a: &x [1, 2]", "b: *x", "c: !!int abc", "d: 2099-02-30", "e: !foo x", "- *x", "<<: *x",
                 "f: &y {g: *x}", "h: [*y, *y, *y]", "i: !!binary Zm9v", "j: !!set {a}", "k: 12:30:00", "l: ${X}",
                 "m: $X", "  - nested", ":", "? [a]", "n: !!timestamp 2026-01-01T25:00", "- &z [*z]", "o: !!float x",
                 "- {id: x, justification: j, expires: 2026-02-29}", "p: !!python/object:os.system x", "q: [[[[[[",
                 "- id: *x", "r: !!str 0755", "version: 1", "sections: *x", "redis: {url: *y}", "s: &w !!bool maybe"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(HOSTILE_LINES), max_size=12), st.booleans())
def test_hostile_line_mixes_through_both_parsers(lines, pure):
    from readiness import yamlsrc

    saved = yamlsrc._FAST
    try:
        if pure:
            yamlsrc._FAST = None
        _check("\n".join(lines) + "\n")
    finally:
        yamlsrc._FAST = saved
