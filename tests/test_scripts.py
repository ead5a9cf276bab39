"""The set-up scripts recover from what a fresh machine leaves behind: a half-made or broken venv is made again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


def venv_sh(venv: Path, python: str | None = PYTHON) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "VENV", "VIRTUAL_ENV")}
    env["VENV"] = str(venv)
    if python is not None:
        env["PYTHON"] = python
    return subprocess.run(["bash", str(ROOT / "scripts" / "venv.sh")], capture_output=True, text=True, env=env,
                          timeout=300)


def has_pip(venv: Path) -> bool:
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], capture_output=True,
                          timeout=60).returncode == 0


def test_a_half_made_venv_is_made_again(tmp_path):
    venv = tmp_path / "v"
    (venv / "bin").mkdir(parents=True)  # what a `python3 -m venv` without python3-venv leaves: no python, no pip
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    done = venv_sh(venv)
    assert done.returncode == 0, done.stderr
    assert "is broken" in done.stderr and has_pip(venv)
    again = venv_sh(venv)  # a working one is kept as it is
    assert again.returncode == 0 and again.stderr == ""


def test_a_venv_without_pip_is_made_again(tmp_path):
    venv = tmp_path / "v"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    assert not has_pip(venv)
    done = venv_sh(venv)
    assert done.returncode == 0, done.stderr
    assert has_pip(venv)


def test_a_venv_of_another_interpreter_is_made_again_when_python_is_named(tmp_path):
    other = sys.executable  # the interpreter running the tests: in CI Debian's own, then the test is trivial
    venv = tmp_path / "v"
    subprocess.run([other, "-m", "venv", str(venv)], check=True, timeout=120)
    base = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.base_prefix)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    wanted = subprocess.run([PYTHON, "-c", "import sys; print(sys.base_prefix)"], capture_output=True, text=True,
                            check=True).stdout.strip()
    done = venv_sh(venv)
    assert done.returncode == 0, done.stderr
    assert ("another interpreter" in done.stderr) == (base != wanted)
    now = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.base_prefix)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert now == wanted


def test_a_python_that_cannot_make_a_venv_leaves_nothing_behind(tmp_path):
    fake = tmp_path / "python3"  # Debian's python3 without python3-venv: makes the directory, then fails
    fake.write_text('#!/bin/sh\n[ "$1" = "-m" ] && [ "$2" = "venv" ] && mkdir -p "$3/bin" && '
                    'echo "ensurepip is not available" >&2 && exit 1\nexit 0\n')
    fake.chmod(0o755)
    venv = tmp_path / "v"
    done = venv_sh(venv, str(fake))
    assert done.returncode == 1
    assert "install python3-venv" in done.stderr and not venv.exists()


def test_setup_installs_python3_venv_and_ci_uses_debians_python():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    packages = setup.split("APT_PACKAGES=(", 1)[1].split(")", 1)[0].split()
    assert "python3-venv" in packages and "ca-certificates" in packages
    assert "scripts/venv.sh" in setup
    assert "PYTHON=/usr/bin/python3" in (ROOT / ".ci" / "run").read_text()
