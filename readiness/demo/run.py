"""``readiness demo``: start local backends configured like a typical first deployment, audit them, write the
reports, stop everything.  A backend is one line in BACKENDS and a module with ``demo_backend(workdir) -> Backend``."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from readiness.demo.backend import Backend

# (targets-file key, "module:function") - started in this order, stopped in reverse.
BACKENDS: list[tuple[str, str]] = [
    ("redis", "readiness.demo.redis:demo_backend"),
    ("postgres", "readiness.demo.postgres:demo_backend"),
    ("clickhouse", "readiness.demo.clickhouse:demo_backend"),
]
PRESET = "langfuse"
FORMATS = ("json", "html", "junit", "markdown")
_EXTENSIONS = {"json": "json", "html": "html", "junit": "xml", "markdown": "md"}


def _starter(spec: str) -> Callable[[Path], Backend]:
    module, _, func = spec.partition(":")
    return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]


def run_demo(outdir: Path, echo: Callable[[str], None] = print) -> int:
    """Start the demo backends, audit them into ``outdir``, stop them; the audit's exit code (0 ready, 1 blocked)."""
    outdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="readiness-demo-"))
    os.chmod(work, 0o755)  # PostgreSQL runs as the postgres user and must reach its work dir
    backends: list[Backend] = []
    saved_env = dict(os.environ)
    try:
        for name, spec in BACKENDS:
            echo(f"demo: starting {name} ...")
            backends.append(_starter(spec)(work / name))
        for backend in backends:
            os.environ.update(backend.env)
        targets = {"name": "readiness demo stack", "preset": PRESET, "profile": "production",
                   **{b.name: b.target for b in backends}}
        targets_path = outdir / "targets.yaml"
        targets_path.write_text("# Written by `readiness demo`; secrets come from ${VARIABLES}.\n"
                                + yaml.safe_dump(targets, sort_keys=False))
        echo(f"demo: wrote {targets_path}; auditing the {', '.join(b.name for b in backends)} sections\n")
        return _audit(targets_path, [b.name for b in backends], outdir, echo)
    finally:
        for backend in reversed(backends):
            for server in reversed(backend.servers):
                server.stop()
        os.environ.clear()
        os.environ.update(saved_env)
        shutil.rmtree(work, ignore_errors=True)


def _audit(targets_path: Path, sections: list[str], outdir: Path, echo: Callable[[str], None]) -> int:
    from readiness.audit import execute, load_inputs
    from readiness.registry import reporter
    from readiness.runner import Options

    inputs = load_inputs(None, str(targets_path))
    options = Options(profile="production", preset=PRESET, only=tuple(sections))
    report, _ = execute(inputs, options, "required")
    written, notes = [], []
    for name in FORMATS:
        try:
            rendered: Any = reporter(name).render(report)
        except Exception as exc:  # a format that is not there (yet) must not cost the others
            notes.append(f"{name} report skipped ({type(exc).__name__}: {exc})")
            continue
        path = outdir / f"report.{_EXTENSIONS[name]}"
        path.write_text(rendered, encoding="utf-8")
        written.append(str(path))
    try:
        text = reporter("text").module.render(report, color=sys.stdout.isatty())
    except Exception:
        text = f"{report['summary']}\n"
    echo(text.rstrip("\n"))
    for note in notes:
        echo(f"note: {note}")
    echo(f"\ndemo: reports written: {', '.join(written)}")
    return 0 if report["summary"]["verdict"] == "ready" else 1
