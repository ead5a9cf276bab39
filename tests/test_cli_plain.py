"""`validate` and `list` in their plain forms run without click (readiness/cli/plain.py): the same bytes on stdout
and stderr and the same exit code as the click command, for good and broken checklists alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from checklists import checklist_with, generic_item

BIN = str(Path(sys.executable).parent / "readiness")
CLICK = "import sys; from readiness.cli import main; main(sys.argv[1:], fast=False)"
# the click path with load_checklist broken: what a bug in the loader looks like on each path
BUG = ("import sys, readiness.checklist as c\n"
       "def boom(*a, **k): raise RuntimeError('loader bug')\n"
       "c.load_checklist = boom\n"
       "from readiness.cli import main; main(sys.argv[2:], fast=sys.argv[1] == 'fast')")
NO_CLICK = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write('click imported\\n' if 'click' in sys.modules else ''))\n"
            "from readiness.cli import main; main(sys.argv[1:])")


MANUAL = {"id": "s.a", "title": "t", "level": "required", "manual": True, "rationale": "r"}


def run(argv: list[str | bytes], tmp_path: Path, env: dict[str, str] | None = None
        ) -> tuple[int, bytes, bytes]:
    base = {k: v for k, v in os.environ.items() if k not in ("READINESS_CHECKLIST", "READINESS_DEBUG")}
    proc = subprocess.run(argv, capture_output=True, cwd=tmp_path, timeout=120,
                          env={**base, "XDG_CACHE_HOME": str(tmp_path / "cache"), **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr


def both(args: list[str | bytes], tmp_path: Path, env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    """Each path twice (the second run may answer from a cache); all four the same, which is returned."""
    fast = [run([BIN, *args], tmp_path, env) for _ in range(2)]
    slow = [run([sys.executable, "-c", CLICK, *args], tmp_path, env) for _ in range(2)]
    assert fast[0] == slow[0] == fast[1] == slow[1]
    return fast[0]


def files(tmp_path: Path) -> dict[str, Path]:
    good = Path(checklist_with(tmp_path))
    out = {"good": good}
    broken = {
        "yaml": "version: 1\nname: x\nsections: [\n",
        "unknown-probe": {"items": [generic_item("s.a", "redis.infoo", field="x", expect={"present": True})]},
        "duplicate": {"items": [MANUAL] * 2},
        "bad-level": {"items": [{**MANUAL, "level": "mandatory"}]},
        "ansi": {"title": "\x1b[31mred\x1b[0m", "items": [{"id": "s.a", "title": "\x1b[1mt", "level": "required",
                                                           "manual": True, "rationale": "r"}]},
        "no-items": {"items": []},
    }
    for name, body in broken.items():
        path = tmp_path / f"{name}.yaml"
        if isinstance(body, str):
            path.write_text(body)
        else:
            path.write_text(yaml.safe_dump({"version": 1, "name": name,
                                            "sections": [{"id": "s", **({"title": "S"} | body)}]}))
        out[name] = path
    (tmp_path / "dir.yaml").mkdir()
    out["dir"] = tmp_path / "dir.yaml"
    out["missing"] = tmp_path / "missing.yaml"
    return out


@pytest.mark.parametrize("name", ["good", "yaml", "unknown-probe", "duplicate", "bad-level", "ansi", "no-items",
                                  "dir", "missing"])
def test_plain_validate_and_list_print_what_click_prints(tmp_path, name):
    path = str(files(tmp_path)[name])
    codes = set()
    for args in (["validate", "-c", path], ["validate", f"--checklist={path}"], ["list", "--checklist", path],
                 ["list", "-c", path, "--profile", "non-production"], ["list", "--profile=production", "-c", path]):
        code, out, err = both(args, tmp_path)
        codes.add(code)
        assert code in (0, 2), err  # a broken file is the user's mistake: one sentence, never a traceback
        assert b"Traceback" not in err
    code, out, err = both(["validate"], tmp_path, env={"READINESS_CHECKLIST": path})
    assert codes == {code} == ({0} if name in ("good", "ansi", "no-items") else {2})
    if code == 2:
        assert err.startswith(b"readiness: configuration error") and path.encode() in err
    if name == "ansi":
        assert b"\x1b" not in out + err and b"red" in both(["list", "-c", path], tmp_path)[1]


def test_the_packaged_checklist_and_the_environment_variable_as_click_reads_it(tmp_path):
    good = str(files(tmp_path)["good"])
    assert both(["validate"], tmp_path)[0] == 0
    assert both(["list"], tmp_path)[0] == 0
    # an empty variable is unset for click; an empty -c means the packaged checklist
    assert both(["validate"], tmp_path, env={"READINESS_CHECKLIST": ""}) == both(["validate"], tmp_path)
    assert both(["validate", "-c", ""], tmp_path, env={"READINESS_CHECKLIST": good})[1] == \
        both(["validate"], tmp_path)[1]
    assert good.encode() in both(["list", "--profile", "non-production"], tmp_path,
                                 env={"READINESS_CHECKLIST": good})[1] + both(["validate"], tmp_path, env={
                                     "READINESS_CHECKLIST": good})[1]


def test_a_path_that_is_not_utf8_is_said_alike(tmp_path):
    code, _, err = both([b"validate", b"-c", bytes(tmp_path) + b"/caf\xe9.yaml"], tmp_path)
    assert code == 2 and b"caf\\udce9.yaml" in err  # stderr's backslashreplace, on both paths


@pytest.mark.parametrize("args", [["validate", "--bogus"], ["list", "--profile", "staging"], ["validate", "-c"],
                                  ["list", "--checklist"], ["validate", "-c", "a", "-c", "b"], ["validate", "x"],
                                  ["list", "--"]])
def test_what_is_not_a_plain_form_is_clicks(tmp_path, args):
    code, out, err = both(args, tmp_path)  # click's usage errors, its last -c, its `--`
    assert code in (0, 2) and b"Traceback" not in err
    assert (code == 2) == (b"Error" in err or b"configuration error" in err)


def test_the_plain_forms_do_not_import_click_and_the_others_do(tmp_path):
    good = str(files(tmp_path)["good"])
    for args in (["validate"], ["list", "-c", good, "--profile", "non-production"], ["validate", "--checklist", good]):
        code, _, err = run([sys.executable, "-c", NO_CLICK, *args], tmp_path)
        assert code == 0 and b"click imported" not in err, err
    code, _, err = run([sys.executable, "-c", NO_CLICK, "validate", "--debug"], tmp_path)
    assert code == 0 and b"click imported" in err


def test_a_bug_in_the_loader_is_exit_3_on_both_paths(tmp_path):
    fast, slow = (run([sys.executable, "-c", BUG, which, "validate"], tmp_path) for which in ("fast", "slow"))
    assert fast == slow
    assert fast[0] == 3 and fast[2] == (b"readiness: internal error: RuntimeError: loader bug (a bug; run with "
                                        b"--debug for the traceback)\n")


def test_the_environment_that_asks_click_for_more_gets_click(tmp_path):
    """READINESS_TARGETS is validate's -t as click reads it: the targets file is validated and said too."""
    targets = tmp_path / "targets.yaml"
    targets.write_text("preset: langfuse\nredis: {url: 'redis://127.0.0.1:6379/0'}\n")
    code, out, err = both(["validate"], tmp_path, env={"READINESS_TARGETS": str(targets)})
    assert code == 0 and f"{targets}: valid: redis".encode() in out, out + err
    targets.write_text("redis: {url: 5}\n")
    code, out, err = both(["validate"], tmp_path, env={"READINESS_TARGETS": str(targets)})
    assert code == 2 and str(targets).encode() in err
    # shell completion is click's too: a plain form must not print a validation instead of completions
    done = subprocess.run([BIN, "validate"], capture_output=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "_READINESS_COMPLETE": "bash_complete", "COMP_WORDS": "readiness va",
                               "COMP_CWORD": "1"})
    assert b"valid:" not in done.stdout


PATHS = "import sys; from readiness.cli import main; main(sys.argv[2:], fast=sys.argv[1] == 'fast')"


def _closed_reader(args: list[str], tmp_path: Path, fast: bool) -> tuple[int, bytes]:
    """`readiness ARGS | head -0`: stdout is a pipe whose reader has gone, so the first write meets EPIPE."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-c", PATHS, "fast" if fast else "click", *args], stdout=write,
                              stderr=subprocess.PIPE, cwd=tmp_path, timeout=120,
                              env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    finally:
        os.close(write)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("command", ["list", "validate"])
def test_a_reader_that_left_ends_both_paths_alike(tmp_path, command):
    click_says = _closed_reader([command], tmp_path, fast=False)
    assert click_says == (1, b"")  # exit 1, nothing on stderr: no traceback, no "Exception ignored"
    assert _closed_reader([command], tmp_path, fast=True) == click_says  # a miss: the answer is made
    assert list((tmp_path / "cache" / "readiness").glob("result-*.cache"))
    assert _closed_reader([command], tmp_path, fast=True) == click_says  # a hit: the kept answer


def test_more_than_a_hundred_problems_are_said_alike(tmp_path):
    # click's validate goes through load_inputs (which sorts every file's problems), the plain path through
    # load_checklist alone: the same lines, whatever their number
    items = [{**MANUAL, "id": f"s.i{n:03d}", "level": "mandatory", "manual": "maybe"} for n in range(70)]
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "name": "many", "sections": [{"id": "s", "title": "S",
                                                                                 "items": items}]}))
    for args in (["validate", "-c", str(path)], ["list", "-c", str(path)]):
        code, out, err = both(args, tmp_path)
        assert code == 2 and out == b""
        assert err.count(b"\n") > 100, err[-300:]
