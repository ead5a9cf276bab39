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


def run_commands(workdir: Path, env: dict[str, str] | None = None) -> list[int]:
    env = env or {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
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


CHART_TARGETS = re.sub(r"^\s+", "", block_after("## Without a render step", "yaml"), flags=re.M)
CHARTS = ROOT / "tests" / "data" / "charts"


def chart_pipeline(workdir: Path, *values: str) -> None:
    """The variant without a render step: the chart (ours, shaped like Langfuse's) and one values file."""
    import yaml

    from readiness.clients.chart import user_values

    shutil.copytree(CHARTS / "langfuse", workdir / "charts" / "langfuse")
    merged = user_values([str(CHARTS / v) for v in values])
    (workdir / "values.yaml").write_text(yaml.safe_dump(merged))
    (workdir / "ci-targets.yaml").write_text(CHART_TARGETS)


def test_the_commands_work_with_the_chart_in_the_targets(tmp_path):
    assert "chart:" in CHART_TARGETS and "manifests" not in CHART_TARGETS
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin"}  # no helm binary
    main = tmp_path / "main"
    main.mkdir()
    chart_pipeline(main, "langfuse-values.yaml")
    subprocess.run(["bash", "-c", COMMANDS[1]], cwd=main, check=True, timeout=120, env=env)
    baseline = (main / "readiness.json").read_text()
    assert '"k8s.hpa-coverage"' in baseline and "chart" in baseline

    same = tmp_path / "same"
    same.mkdir()
    chart_pipeline(same, "langfuse-values.yaml")
    (same / "main-readiness.json").write_text(baseline)
    assert run_commands(same, env) == [0, 0, 0]

    worse = tmp_path / "worse"
    worse.mkdir()
    chart_pipeline(worse, "langfuse-values.yaml", "langfuse-no-hpa.yaml")  # the change switches the HPAs off
    (worse / "main-readiness.json").write_text(baseline)
    assert run_commands(worse, env) == [0, 0, 1]

    broken = tmp_path / "broken"
    broken.mkdir()
    chart_pipeline(broken, "langfuse-no-hpa.yaml")  # no salt: the chart's `required` fails
    proc = subprocess.run(["bash", "-c", COMMANDS[0]], cwd=broken, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and "langfuse.salt.value is required" in proc.stderr
