"""docs/ci.md as a pipeline would run it: its command block, against rendered manifests of the main branch and of
a pull request, with the exit codes a CI gate relies on; and both CI recipes run exactly those commands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "ci.md").read_text()
K8S = ROOT / "tests" / "data" / "k8s"


def block_after(marker: str, lang: str) -> str:
    rest = DOC[DOC.index(marker):]
    m = re.search(rf"```{lang}\n(.*?)```", rest, re.S)
    assert m, f"no ```{lang} block after {marker!r}"
    return m.group(1)


COMMANDS = [line for line in block_after("<!-- ci-commands -->", "bash").splitlines() if line.strip()]
TARGETS = re.sub(r"^\s+", "", block_after("names the rendered manifests", "yaml"), flags=re.M)


def test_both_recipes_run_exactly_the_documented_commands():
    github = block_after("## GitHub Actions", "yaml")
    gitlab = block_after("## GitLab CI", "yaml")
    for command in COMMANDS:
        assert f"- run: {command}\n" in github, command
        assert f"    - {command}\n" in gitlab, command


def run_commands(workdir: Path) -> list[int]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    codes = []
    for command in COMMANDS:
        proc = subprocess.run(["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=120)
        codes.append(proc.returncode)
        assert proc.returncode in (0, 1), f"{command}: {proc.stderr}"
    return codes


def pipeline(workdir: Path, manifests: str) -> None:
    (workdir / "rendered").mkdir(parents=True)
    shutil.copy(K8S / manifests, workdir / "rendered" / "all.yaml")
    (workdir / "ci-targets.yaml").write_text(TARGETS)


def test_the_commands_gate_only_on_new_blocking_findings(tmp_path):
    main = tmp_path / "main"
    pipeline(main, "good.yaml")
    # the main branch: its report is the baseline (its own diff step is against itself here)
    (main / "main-readiness.json").write_text("{}")
    subprocess.run(["bash", "-c", COMMANDS[1]], cwd=main, check=True, timeout=120,
                   env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    baseline = (main / "readiness.json").read_text()

    same = tmp_path / "same"
    pipeline(same, "good.yaml")
    (same / "main-readiness.json").write_text(baseline)
    assert run_commands(same) == [0, 0, 0]  # nothing new blocks: the pull request passes
    for name in ("readiness.xml", "readiness.md", "readiness.html", "readiness.json"):
        assert (same / name).stat().st_size > 0

    worse = tmp_path / "worse"
    pipeline(worse, "bad.yaml")
    (worse / "main-readiness.json").write_text(baseline)
    assert run_commands(worse) == [0, 0, 1]  # the bad manifests add blocking findings: the diff gate fails
