"""`--help` from the cache: the very text click prints, for this width and program name, without importing click;
a corrupt cache file or another width asks click again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

RUN = """
import sys
from readiness.cli import main
try:
    main(sys.argv[2:], prog_name=sys.argv[1])
finally:
    print("CLICK", "click" in sys.modules, "JSON", "json" in sys.modules, file=sys.stderr)
"""


def run(cache: Path, *args: str, columns: str = "100", prog: str = "readiness",
        timeout: float = 120) -> tuple[int, str, bool]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "XDG_CACHE"))}
    env.update(XDG_CACHE_HOME=str(cache), COLUMNS=columns)
    done = subprocess.run([sys.executable, "-c", RUN, prog, *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)
    return done.returncode, done.stdout, "CLICK True" in done.stderr


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["validate", "--help"], ["init", "-h"]])
def test_the_kept_help_is_clicks_and_needs_no_click(tmp_path, args):
    unwritable = tmp_path / "file"
    unwritable.write_text("")
    reference = run(unwritable, *args)  # nothing kept: click every time
    assert reference[0] == 0 and "Usage: readiness" in reference[1] and reference[2]
    assert run(tmp_path / "cache", *args) == reference  # click printed it, and it was kept
    assert run(tmp_path / "cache", *args) == (0, reference[1], False)


def test_the_kept_help_needs_no_json(tmp_path):
    """json's import loads re and enum: a fifth of a bare interpreter's start-up (the text is kept as text)."""
    for _ in range(2):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "XDG_CACHE"))}
        done = subprocess.run([sys.executable, "-c", RUN, "readiness", "--help"], capture_output=True, text=True,
                              env={**env, "XDG_CACHE_HOME": str(tmp_path)}, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and "CLICK False JSON False" in done.stderr


def test_another_width_or_program_name_is_asked_of_click(tmp_path):
    cache = tmp_path / "cache"
    run(cache, "validate", "--help")
    narrow = run(cache, "validate", "--help", columns="60")
    assert narrow[2] and max(map(len, narrow[1].splitlines())) <= 60
    kubectl = run(cache, "--help", prog="kubectl readiness")
    assert kubectl[2] and "Usage: kubectl readiness" in kubectl[1]


@pytest.mark.parametrize("damage", [b"", b"\xff\xfe", b'{"format": 1}\n"x"'])
def test_a_corrupt_help_file_is_ignored(tmp_path, damage):
    cache = tmp_path / "cache"
    reference = run(cache, "--help")
    for kept in (cache / "readiness").glob("help-*.cache"):
        kept.write_bytes(damage)
    assert run(cache, "--help") == reference


def test_errors_are_not_kept(tmp_path):
    cache = tmp_path / "cache"
    for _ in range(2):
        code, _, used_click = run(cache, "nosuch", "--help")
        assert code == 2 and used_click


@pytest.mark.parametrize("command", [[], ["audit"]])
def test_h_and_help_share_one_file_and_key(tmp_path, command):
    """They print the same text: two keys for one file wrote over each other, so each asked click every other run."""
    cache = tmp_path / "cache"
    reference = run(cache, *command, "-h")
    assert run(cache, *command, "--help") == (0, reference[1], False)
    assert run(cache, *command, "-h") == (0, reference[1], False)
    assert len(list((cache / "readiness").glob("help-*.cache"))) == 1
