"""Run items of a checklist against targets from a test, in a few lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from readiness.audit import Inputs, execute, load_inputs
from readiness.models import Result
from readiness.runner import Options


def source_copy(dest: Path, *top_files: str) -> Path:
    """The project's source as an installer fetches it: the packages and ``top_files`` copied to ``dest`` (building
    in the shared tree would write build/ and egg-info there)."""
    import shutil

    root = Path(__file__).resolve().parent.parent
    dest.mkdir()
    for name in top_files:
        shutil.copy(root / name, dest / name)
    for name in ("readiness", "checks", "reports"):
        shutil.copytree(root / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    return dest


def probe_source(kind: str, params: str, doc: str, verdict: str) -> str:
    """A plugin module of one probe, ``kind``, with ``params`` (Python source), ``doc`` and ``passed(verdict)``."""
    return ("from readiness.probe import Param, passed, probe\n\n\n"
            f'@probe("{kind}", target=None, params={{{params}}})\n'
            "def kind(ctx, p):\n"
            f'    """{doc}"""\n'
            f"    return passed({verdict})\n")


def install_probe_plugin(site: Path, name: str, version: str, source: str) -> None:
    """A probe plugin as pip leaves it in ``site``: module ``name``.py and one dist-info directory naming it as a
    ``readiness.probes`` entry point (an upgrade replaces the old dist-info)."""
    for old in site.glob(f"{name}-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    dist = site / f"{name}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text(f"[readiness.probes]\n{name.split('_')[0]} = {name}\n")
    (site / f"{name}.py").write_text(source)


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def audit(tmp_path: Path, targets: dict[str, Any], only: list[str], *, checklist: str | None = None,
          preset: str | None = None, profile: str = "production", timeout: float = 10.0, fail_on: str = "required",
          today: dt.date | None = None) -> tuple[dict[str, Result], dict[str, Any]]:
    """Audit the default (or given) checklist narrowed to ``only``; results by id, and the report."""
    targets_file = write_yaml(tmp_path / "targets.yaml", targets)
    inputs: Inputs = load_inputs(checklist, str(targets_file))
    options = Options(profile=profile, preset=preset or inputs.targets.preset, only=tuple(only), timeout=timeout)
    report, results = execute(inputs, options, fail_on, today=today)
    return {r.id: r for r in results}, report
