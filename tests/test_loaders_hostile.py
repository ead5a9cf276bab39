"""Hostile and odd files are bad input, found quickly: exit 2, file:line:col, one sentence, bounded time and memory.

Every case runs through both YAML parsers (LibYAML and the pure-Python fallback): the messages must be the same.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from readiness import yamlsrc
from readiness.checklist import load_checklist
from readiness.errors import ConfigError
from readiness.targets import load_targets
from readiness.waivers import load_attestations, load_waivers

BIN = str(Path(sys.executable).parent / "readiness")
CHART = Path(__file__).parent / "data" / "charts" / "langfuse"

# Nine lines, 9**9 (387 million) strings once every alias is expanded.
BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))


@pytest.fixture(params=["libyaml", "pure"])
def parser(request, monkeypatch):
    if request.param == "pure":
        monkeypatch.setattr(yamlsrc, "_FAST", None)
    elif yamlsrc._FAST is None:
        pytest.skip("PyYAML without LibYAML here")
    return request.param


def problems(loader, path) -> str:
    with pytest.raises(ConfigError) as info:
        loader(path)
    text = info.value.text
    assert "Traceback" not in text and text.strip()
    return text


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def checklist_with(items: str) -> str:
    return "version: 1\nname: t\nsections:\n  - id: s\n    title: S\n    items:\n" + textwrap.indent(items, "      ")


MANUAL = "- {id: s.a, title: A, level: required, manual: true, rationale: r}\n"
LOADERS = {
    "targets": lambda p: load_targets(p, env={}),
    "checklist": load_checklist,
    "waivers": load_waivers,
    "attestations": load_attestations,
}


def bounded(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child limited to 1 GB of address space, so a loader that blows up fails the test."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit)


# --- 1. alias bombs and oversized documents ---------------------------------------------------------------------

@pytest.mark.parametrize("loader", LOADERS)
def test_an_alias_bomb_is_refused_by_every_loader_at_its_line(tmp_path, parser, loader):
    text = problems(LOADERS[loader], write(tmp_path, "bomb.yaml", BOMB))
    assert text.endswith("bomb.yaml:5:8: aliases repeat more than 10000 values (an alias bomb?): write the values "
                         "out, or use fewer aliases")


def test_an_alias_bomb_in_a_targets_file_is_exit_2_for_validate_and_audit(tmp_path):
    path = write(tmp_path, "targets.yaml", BOMB.replace("a: &a", "name: &a").replace("b: &b", "redis: &b", 1))
    cl = write(tmp_path, "c.yaml", checklist_with(MANUAL))
    for argv in (["validate", "-c", cl, "--targets", path], ["audit", "-c", cl, "--targets", path]):
        run = subprocess.run([BIN, *argv], capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, run.stderr
        assert "targets.yaml:5:8: aliases repeat more than 10000 values" in run.stderr
        assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_an_alias_bomb_in_a_charts_values_file_is_exit_2_at_its_line(tmp_path):
    bomb = write(tmp_path, "values.yaml", BOMB)
    path = write(tmp_path, "targets.yaml", f"kubernetes: {{chart: {CHART}, values: [values.yaml]}}\n")
    cl = write(tmp_path, "c.yaml", checklist_with(MANUAL))
    for argv in (["validate", "-c", cl, "--targets", path], ["audit", "-c", cl, "--targets", path]):
        run = subprocess.run([BIN, *argv], capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, run.stderr
        assert f"{bomb}:5:8: aliases repeat more than 10000 values" in run.stderr
        assert "Traceback" not in run.stderr


def test_a_bomb_is_refused_in_bounded_time_and_memory(tmp_path):
    path = write(tmp_path, "targets.yaml", BOMB)
    run = bounded(f"from readiness.targets import load_targets\nload_targets({path!r}, env={{}})", timeout=30)
    assert "alias bomb" in run.stderr and "MemoryError" not in run.stderr


def test_modest_aliases_and_merge_keys_still_work(tmp_path, parser):
    path = write(tmp_path, "targets.yaml", "x-base: &base {verify: false, protocol: 3}\n"
                                           "name: &n demo\nredis: {url: 'redis://h:1/0', <<: *base}\n")
    with pytest.raises(ConfigError, match="unknown key 'x-base'"):
        load_targets(path, env={})
    path = write(tmp_path, "targets.yaml", "redis: &r {url: 'redis://h:1/0', protocol: 3}\nname: *r\n")
    assert load_targets(path, env={}).name.startswith("{")


def test_keys_written_beside_a_merge_override_it_and_only_written_duplicates_are_refused(parser):
    data = yamlsrc.load_text("b: &b {x: 1, y: 2}\nc: &c {y: 3, z: 4}\nr: {<<: [*b, *c], x: 9}\n", "f",
                             libyaml=parser == "libyaml")
    assert data["r"] == {"x": 9, "y": 2, "z": 4}
    with pytest.raises(ConfigError, match=r"^f:3:19: duplicate key 'x' \(first given on line 3\)$"):
        yamlsrc.load_text("b: &b {x: 1}\nc: 1\nr: {<<: *b, x: 9, x: 8}\n", "f", libyaml=parser == "libyaml")


def test_a_recursive_alias_is_refused(tmp_path, parser):
    text = problems(load_waivers, write(tmp_path, "w.yaml", "- &r {id: x, justification: j, expires: 2030-01-01, "
                                                             "approved_by: [*r]}\n"))
    assert "w.yaml:1:67: alias *r is inside the value it refers to" in text


@pytest.mark.parametrize("what, text, expected", [
    ("deep", "[" * 3_000_000, ":1:65: values are nested more than 64 deep: not a settings file"),
    ("wide", "- 1\n" * 150_000, ":100000:3: more than 100000 values (aliases expanded): not a settings file"),
    ("keys", "".join(f"k{i}: {{a: 1, b: 2}}\n" for i in range(40_000)), "more than 100000 values"),
])
def test_big_or_deep_files_under_the_size_limit_are_refused_quickly(tmp_path, parser, what, text, expected):
    path = write(tmp_path, "big.yaml", text)
    assert os.path.getsize(path) < yamlsrc.MAX_BYTES
    assert expected in problems(load_waivers, path)


def test_a_deep_file_is_refused_in_bounded_memory_by_either_parser(tmp_path):
    path = write(tmp_path, "deep.yaml", "{a: " * 900_000)
    for fast in ("True", "False"):
        code = (f"from readiness import yamlsrc\nfrom readiness.waivers import load_waivers\n"
                f"yamlsrc._FAST = yamlsrc._FAST if {fast} else None\nload_waivers({path!r})")
        run = bounded(code, timeout=30)
        assert "deep.yaml:1:" in run.stderr and "nested more than 64 deep" in run.stderr, run.stderr[-500:]


# --- 2. impossible values and explicit tags are bad input -----------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2099-02-30", "'2099-02-30' is not a date (day is out of range for month)"),
    ("2026-13-01", "'2026-13-01' is not a date (month must be in 1..12)"),
    ('!!int "abc"', "'abc' is not an integer"),
    ('!!bool "maybe"', "'maybe' is not true or false"),
    ('!!float "x"', "'x' is not a number"),
    ("!foo bar", "unknown YAML tag '!foo' (settings files take plain values, lists and mappings)"),
    ("!!python/object:os.system x", "unknown YAML tag 'tag:yaml.org,2002:python/object:os.system' (settings "
                                    "files take plain values, lists and mappings)"),
])
def test_impossible_dates_and_bad_tags_are_located(tmp_path, parser, value, expected):
    path = write(tmp_path, "w.yaml", f"- id: x\n  justification: j\n  expires: {value}\n")
    assert problems(load_waivers, path) == f"{path}:3:12: {expected}"


def test_bad_values_are_exit_2_on_the_command_line(tmp_path):
    cl = write(tmp_path, "c.yaml", checklist_with(MANUAL))
    path = write(tmp_path, "w.yaml", "- {id: x, justification: j, expires: 2099-02-30}\n")
    run = subprocess.run([BIN, "validate", "-c", cl, "--waivers", path], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "w.yaml:1:38: '2099-02-30' is not a date" in run.stderr, run.stderr
    path = write(tmp_path, "targets.yaml", 'redis: {url: !!int "abc"}\n')
    run = subprocess.run([BIN, "validate", "-c", cl, "--targets", path], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "targets.yaml:1:14: 'abc' is not an integer" in run.stderr, run.stderr


# --- 3. text fields keep the text as written ------------------------------------------------------------------

@pytest.mark.parametrize("written", ["0755", "12:30:00", "yes", "1e3", "0x1F", "2026-01-01", "1_000", "~x", "Off"])
def test_credentials_keep_the_text_as_written(tmp_path, parser, written):
    path = write(tmp_path, "targets.yaml", f"redis: {{url: 'redis://h:1/0', password: {written}}}\n"
                                           f"clickhouse: {{url: 'clickhouse://h:9000', password: {written}, "
                                           f"keeper: [{written}]}}\n")
    t = load_targets(path, env={})
    assert t.configs["redis"]["password"] == written
    assert t.configs["clickhouse"]["password"] == written and t.configs["clickhouse"]["keeper"] == [written]


def test_ids_and_names_keep_the_text_as_written(tmp_path, parser):
    assert load_targets(write(tmp_path, "t.yaml", "name: 0755\nredis: {url: 'redis://h'}\n"), env={}).name == "0755"
    cl = load_checklist(write(tmp_path, "c.yaml", checklist_with(
        "- {id: 1.10, title: 0755, level: required, manual: true, rationale: yes}\n")))
    item = cl.items[0]
    assert (item.id, item.title, item.rationale) == ("1.10", "0755", "yes")
    w = load_waivers(write(tmp_path, "w.yaml", "- {id: 1.10, justification: 12:30, expires: 2030-01-01}\n"))
    assert (w[0].id, w[0].justification) == ("1.10", "12:30")


def test_a_dollar_variable_without_braces_is_reported(tmp_path):
    path = write(tmp_path, "targets.yaml", "redis: {url: 'redis://:$REDIS_PW@h:1/0'}\n")
    assert problems(LOADERS["targets"], path) == \
        f"{path}:1:14: $REDIS_PW is not substituted: write ${{REDIS_PW}} (or $$ for a literal $)"
    t = load_targets(write(tmp_path, "t2.yaml", "redis: {url: 'redis://:pa$$word$1@h:1/0'}\n"), env={})
    assert t.configs["redis"]["url"] == "redis://:pa$word$1@h:1/0"


# --- 4. settings that can never work -------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ('redis: {url: "http://cache:6379/0"}\n', ":1:14: "),
    ("redis: {url: 'cache:6379'}\n", ":1:14: "),
    ("clickhouse: {url: 'ch-node:9000'}\n", ":1:19: "),
    ("clickhouse: {urls: ['clickhouse://a:9000', 'b:9000']}\n", ":1:20: "),
    ("postgres: {dsn: 'this is not a dsn'}\n", ":1:17: "),
    ("postgres: {dsn: 'postgresql://db/app', direct_dsn: 'mysql://db/app'}\n", ":1:52: "),
])
def test_urls_and_dsns_that_can_never_work_are_located(tmp_path, text, expected):
    path = write(tmp_path, "targets.yaml", text)
    found = problems(LOADERS["targets"], path)
    assert found.startswith(path + expected), found
    assert len(found.splitlines()) == 1


def test_good_urls_and_dsns_pass_validation(tmp_path):
    load_targets(write(tmp_path, "targets.yaml", textwrap.dedent("""\
        redis: {url: "rediss://:pw@cache:6380/0"}
        clickhouse: {urls: ["clickhouse://u:p@a:9000/db", "clickhouses://b:9440"]}
        postgres: {dsn: "host=db user=app dbname=app", direct_dsn: "postgresql://app@db:5432/app"}
    """)), env={})


@pytest.mark.parametrize("value", ["0", "-1", ".nan", ".inf", "-.inf", "soon", "true"])
def test_an_item_timeout_must_be_a_positive_finite_number(tmp_path, parser, value):
    path = write(tmp_path, "c.yaml", checklist_with(
        f"- {{id: s.a, title: A, level: required, manual: true, rationale: r, timeout: {value}}}\n"))
    assert ":7:83: item 's.a': timeout must be a positive number of seconds, not " in problems(load_checklist, path)


def test_duplicate_waiver_and_attestation_ids_are_refused(tmp_path, parser):
    w = write(tmp_path, "w.yaml", "- {id: s.a, justification: j, expires: 2030-01-01}\n"
                                  "- {id: s.b, justification: j, expires: 2030-01-01}\n"
                                  "- {id: s.a, justification: k, expires: 2031-01-01}\n")
    assert problems(load_waivers, w) == \
        f"{w}:3:8: waiver 3: a second waiver for 's.a' (the first is on line 1): keep one"
    a = write(tmp_path, "a.yaml", "- {id: s.a, by: x, date: 2026-01-01, evidence: e}\n" * 2)
    assert problems(load_attestations, a) == \
        f"{a}:2:8: attestation 2: a second attestation for 's.a' (the first is on line 1): keep one"


def test_an_attestation_dated_in_the_future_is_refused(tmp_path, parser):
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    a = write(tmp_path, "a.yaml", f"- {{id: s.a, by: x, date: {tomorrow.isoformat()}, evidence: e}}\n")
    assert problems(load_attestations, a) == (f"{a}:1:26: attestation 1: date {tomorrow.isoformat()} is in the "
                                              f"future (today is {dt.date.today().isoformat()})")
    assert load_attestations(a, today=tomorrow)[0].date == tomorrow


@pytest.mark.parametrize("loader, expected", [
    ("targets", "targets file has no settings (only comments)"),
    ("checklist", "checklist has no settings (only comments)"),
    ("waivers", "waivers file has no settings (only comments)"),
])
def test_a_comment_only_file_says_it_has_no_settings(tmp_path, parser, loader, expected):
    path = write(tmp_path, "f.yaml", "# redis: {url: redis://cache}\n\n# the end\n")
    assert problems(LOADERS[loader], path) == f"{path}:1:1: {expected}"


def test_a_bad_expect_names_the_parameter_once(tmp_path, parser):
    path = write(tmp_path, "c.yaml", checklist_with(
        "- {id: s.a, title: A, level: required, probe: test.echo, with: {expect: 3}, rationale: r}\n"))
    text = problems(load_checklist, path)
    assert "'with': expect must be a mapping of matchers" in text and "expect expect" not in text


# --- both parsers say the same ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "a: [1, 2\n", "a: b: c\n", "a:\n  - x\n y: 1\n", "{a: 1, a: 2}\n", "a: *nope\n", "a: '\x07'\n", "\t- x\n",
    "- x\n- {y: [1, {z: !!int q}]}\n", "%YAML 1.1\n%YAML 1.1\n--- a\n", "a: 1\n--- b: 2\n", "? [1, 2]\n: x\n",
    "a: 'unterminated\n", 'a: "\\q"\n', "- &x 1\n- &x 2\n- *x\n", BOMB,
])
def test_both_parsers_give_the_same_message_and_place(text):
    if yamlsrc._FAST is None:
        pytest.skip("PyYAML without LibYAML here")
    said = []
    for libyaml in (True, False):
        try:
            said.append(repr(yamlsrc.load_text(text, "f.yaml", libyaml=libyaml)))
        except ConfigError as exc:
            said.append(exc.text)
    assert said[0] == said[1]


def test_a_second_document_in_a_settings_file_says_so(tmp_path, parser):
    path = write(tmp_path, "targets.yaml", "redis: {url: 'redis://h'}\n---\nx: 1\n")
    assert problems(LOADERS["targets"], path) == \
        f"{path}:2:1: YAML syntax error: expected a single document in the stream, but found another document"


def test_a_stream_of_documents_is_held_to_the_same_budgets(parser):
    libyaml = parser == "libyaml"
    docs = yamlsrc.load_documents("kind: A\nn: 0755\n---\nkind: B\n--- [1, 2]\n", "m.yaml", libyaml=libyaml)
    assert docs == [{"kind": "A", "n": 493}, {"kind": "B"}, [1, 2]] and docs[0].text_of("n") == "0755"
    with pytest.raises(ConfigError, match=r"^m.yaml:7:8: aliases repeat more than 10000 values"):
        yamlsrc.load_documents("kind: A\n---\n" + BOMB, "m.yaml", libyaml=libyaml)
    with pytest.raises(ConfigError, match=r"^m.yaml:3:4: '2026-02-30' is not a date"):
        yamlsrc.load_documents("a: 1\n---\nb: 2026-02-30\n", "m.yaml", libyaml=libyaml)
    with pytest.raises(ConfigError, match=r"^m.yaml:2:1: YAML syntax error: "):
        yamlsrc.load_documents("a: 1\n- b\n", "m.yaml", libyaml=libyaml)


def test_a_file_of_thousands_of_mistakes_reports_the_first_hundred(tmp_path, parser):
    path = write(tmp_path, "w.yaml", "- {id: x, justification: j, expires: 2099-02-30, by: y}\n" * 5000)
    lines = problems(load_waivers, path).splitlines()
    assert len(lines) == 101 and lines[-1] == "... and 4900 more problems"
    assert lines[0] == f"{path}:1:38: '2099-02-30' is not a date (day is out of range for month)"


# --- 5. special files: a FIFO never answers, /dev/zero never ends -----------------------------------------------

def _report(path: Path) -> str:
    import json

    import reportdata

    path.write_text(json.dumps(reportdata.sample_report()))
    return str(path)


def _special_cases(tmp_path: Path, special: str) -> dict[str, tuple[list[str], str]]:
    """Each loader given ``special`` (the path of a FIFO or of a link to /dev/zero): argv and the path it must name."""
    cl = write(tmp_path, "c.yaml", checklist_with(MANUAL))
    rendered = tmp_path / "rendered"
    rendered.mkdir()
    (rendered / "a.yaml").write_text("kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\n")
    os.symlink(special, rendered / "b.yaml")  # found by the directory walk
    reports = tmp_path / "reports"
    reports.mkdir()
    _report(reports / "a.json")
    os.symlink(special, reports / "b.json")

    def targets(name: str, text: str) -> str:
        return write(tmp_path, name, f"preset: langsmith\n{text}\n")

    compose = tmp_path / "commit" / "docker-compose.yml"  # check-files knows a file's kind by its name
    compose.parent.mkdir()
    os.symlink(special, compose)

    return {
        "checklist": (["validate", "-c", special], special),
        "targets": (["validate", "-c", cl, "--targets", special], special),
        "waivers": (["validate", "-c", cl, "--waivers", special], special),
        "attestations": (["validate", "-c", cl, "--attestations", special], special),
        "manifests file": (["validate", "-c", cl, "--targets", targets("t1.yaml", f"kubernetes: {{manifests: "
                                                                                   f"{special}}}")], special),
        "manifests directory": (["audit", "-c", cl, "--targets", targets("t2.yaml", f"kubernetes: {{manifests: "
                                                                                      f"{rendered}}}")],
                                str(rendered / "b.yaml")),
        "files target": (["validate", "-c", cl, "--targets", targets("t3.yaml", f"files: {{env: {special}}}")],
                         special),
        "chart values": (["audit", "-c", cl, "--targets", targets("t4.yaml", f"kubernetes: {{chart: {CHART}, values: "
                                                                               f"[{special}]}}")], special),
        "render": (["render", special, "--html", str(tmp_path / "r.html")], special),
        "diff": (["diff", _report(tmp_path / "old.json"), special], special),
        "fleet": (["fleet", str(reports), "-o", str(tmp_path / "fleet.html")], str(reports / "b.json")),
        "check-files": (["check-files", "-c", cl, str(compose)], str(compose)),
    }


@pytest.mark.parametrize("special", ["fifo", "dev-zero"])
@pytest.mark.parametrize("loader", ["checklist", "targets", "waivers", "attestations", "manifests file",
                                    "manifests directory", "files target", "chart values", "render", "diff",
                                    "fleet", "check-files"])
def test_a_fifo_or_device_is_bad_input_for_every_loader_in_bounded_time(tmp_path, special, loader):
    if special == "fifo":
        path = str(tmp_path / "input.yaml")
        os.mkfifo(path)  # nobody writes: opening it to read would wait forever
    else:
        path = str(tmp_path / "zero.yaml")
        os.symlink("/dev/zero", path)  # reading it never ends
    argv, named = _special_cases(tmp_path, path)[loader]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    try:
        run = subprocess.run([BIN, *argv], capture_output=True, text=True, timeout=60, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{loader}: still reading {path} after 60 s")
    assert run.returncode == 2, (run.returncode, run.stderr[-800:])
    kind = "a FIFO (named pipe)" if special == "fifo" else "a character device"
    assert f"{named}: is {kind}, expected " in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and "MemoryError" not in run.stderr
