"""The checklist loader: the default checklist is valid; every kind of mistake is one located sentence, all at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from checklists import checklist_with

from readiness.checklist import load_checklist
from readiness.errors import ConfigError


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "checklist.yaml"
    path.write_text(text)
    return str(path)


GOOD = """\
version: 1
name: t
sections:
  - id: s
    title: S
    items:
      - id: s.one
        title: One
        level: {production: required, non-production: optional}
        probe: test.constant
        with: {status: pass}
        preset_with:
          langfuse: {status: fail}
        rationale: r
      - id: s.manual
        title: Manual
        level: recommended
        manual: true
        rationale: r
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_checklist(write(tmp_path, text))
    return [str(p) for p in info.value.problems] or [info.value.text]


def test_default_checklist_is_valid_and_has_manual_ops_items():
    cl = load_checklist()
    ids = [i.id for i in cl.items]
    assert len(ids) == len(set(ids))
    manual = {"ops.monitoring", "ops.failover-drill", "postgres.recovery-rehearsed", "k8s.hpa-tested-under-load"}
    assert manual <= set(ids)
    assert all(i.rationale and (i.manual or i.probe) for i in cl.items)


def test_per_profile_levels_and_per_preset_parameters(tmp_path):
    cl = load_checklist(write(tmp_path, GOOD))
    one = cl.find("s.one")
    assert one.level_for("production") == "required" and one.level_for("non-production") == "optional"
    assert one.params_for(None)["status"] == "pass"
    assert one.params_for("langfuse")["status"] == "fail"
    assert one.params_for("langsmith")["message"] == "constant"  # default filled in


def test_every_problem_is_reported_at_once_with_its_location(tmp_path):
    text = GOOD.replace("probe: test.constant", "probe: test.constnt").replace("level: recommended", "level: urgent")
    text = text.replace("rationale: r\n      - id: s.manual", "rationale: r\n        colour: red\n      - id: s.manual")
    found = problems_of(tmp_path, text)
    assert any(":10:16: item 's.one': unknown probe kind 'test.constnt' (did you mean 'test.constant'?)" in p
               for p in found), found
    assert any(":18:16: item 's.manual': level must be one of required, recommended, optional, not 'urgent'" in p
               for p in found), found
    assert any(":15:9: unknown key 'colour'" in p for p in found), found


@pytest.mark.parametrize("change, expected", [
    (("with: {status: pass}", "with: {status: pass, message: [1]}"), "message must be a string, not a list"),
    (("with: {status: pass}", "with: {status: maybe}"), "status must be one of pass, fail, error, skipped"),
    (("with: {status: pass}", "with: {status: pass, extra: 1}"), "unknown key 'extra'"),
    (("        with: {status: pass}\n", ""), "needs 'with:' with 'status'"),
    (("id: s.manual", "id: s.one"), "duplicate id 's.one' (first used on line 7)"),
    (("id: s.manual", "id: S_Manual"), "must be lower-case letters"),
    (("non-production: optional", "staging: optional"), "level per profile takes production and non-production"),
    (("langfuse: {status: fail}", "langfoose: {status: fail}"), "unknown preset 'langfoose' (did you\
 mean 'langfuse'?)"),
    (("manual: true", "manual: true\n        probe: test.constant"), "a manual item has no probe"),
    (("version: 1", "version: 2"), "unsupported checklist version 2"),
    (("name: t\n", ""), "checklist is missing 'name'"),
    (("    title: S\n", "    title: S\n    tittle: x\n"), "unknown key 'tittle' in section 1 (did you mean 'title'?)"),
    (("        level: recommended", "        level: [required]"), "level must be one of"),
    (("rationale: r\n      - id: s.manual", "rationale: r\n        presets: [langsmyth]\n      - id: s.manual"),
     "unknown preset 'langsmyth'"),
    (("items:", "items: 3\n    x:"), "items must be a list"),
])
def test_each_mistake_gets_a_located_message(tmp_path, change, expected):
    old, new = change
    assert old in GOOD
    found = problems_of(tmp_path, GOOD.replace(old, new, 1))
    assert any(expected in p for p in found), found
    assert all(p.startswith(str(tmp_path)) for p in found), found


@pytest.mark.parametrize("content, expected", [
    (b"version: 1\nname: [unclosed\n", ":3:1: YAML syntax error"),
    (b"", ":1:1: checklist is empty"),
    (b"   \n\n", ":1:1: checklist is empty"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00", ":1:1: binary data (a NUL byte)"),
    (b"name: \xff\xfe\n", ":1:1: not UTF-8 text"),
    (b"- a\n- b\n", ":1:1: checklist must be a mapping, not a list"),
    (b"just text\n", ":1:1: checklist must be a mapping"),
    (b"version: 1\nname: a\nname: b\nsections: []\n", ":3:1: duplicate key 'name' (first given on line 2)"),
    (b"a: &x [*x]\n", ""),  # a recursive alias must not crash the loader
])
def test_unusable_files_are_one_located_sentence(tmp_path, content, expected):
    path = tmp_path / "checklist.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_checklist(str(path))
    assert expected in info.value.text


def test_a_10_mb_file_is_refused_without_parsing(tmp_path):
    path = tmp_path / "checklist.yaml"
    path.write_text("# padding\n" * 1_100_000)
    with pytest.raises(ConfigError) as info:
        load_checklist(str(path))
    assert ":1:1: checklist is 11.0 MB; files over 4 MB are refused" in info.value.text


def test_a_missing_file_and_a_directory_are_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: checklist not found"):
        load_checklist(str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="is a directory"):
        load_checklist(str(tmp_path))


def test_cli_reports_bad_checklist_with_exit_2_and_no_traceback(tmp_path):
    path = write(tmp_path, GOOD.replace("probe: test.constant", "probe: redis.infoo"))
    proc = subprocess.run([str(Path(sys.executable).parent / "readiness"), "validate", "-c", path],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{path}:10:16: item 's.one': unknown probe kind 'redis.infoo'" in proc.stderr


def test_a_number_parameter_that_is_nan_or_infinite_is_refused(tmp_path):
    # NaN compares false with everything: a share or threshold of .nan would let any value pass
    for bad in (".nan", ".inf"):
        checklist = checklist_with(tmp_path, {"files.compose-redis": {"max_share": bad}})
        text = Path(checklist).read_text().replace(f"max_share: '{bad}'", f"max_share: {bad}")
        path = write(tmp_path, text)
        with pytest.raises(ConfigError) as info:
            load_checklist(path)
        assert "max_share must be a number" in info.value.text, info.value.text
