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
    ("s3", "readiness.demo.s3:demo_backend"),
    ("http", "readiness.demo.web:demo_backend"),
]
# Files the stack is deployed from (packaged beside this module), copied into the output folder and audited there:
# the compose file, its .env and the chart values; and rendered Kubernetes manifests for the offline mode.
DATA = Path(__file__).parent / "data"
STATIC = {"docker-compose.yml": "deploy/docker-compose.yml", "langfuse.env": "deploy/.env",
          "values.yaml": "deploy/values.yaml", "kubernetes.yaml": "rendered/langfuse.yaml"}
PRESET = "langfuse"
FORMATS = ("json", "html", "junit", "markdown", "sarif", "prometheus")
_EXTENSIONS = {"json": "json", "html": "html", "junit": "xml", "markdown": "md", "sarif": "sarif",
               "prometheus": "prom"}


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
            if name == "s3" and not _has_moto():
                echo("demo: skipping s3: moto's S3 server is not installed (pip install 'moto[server]')")
                continue
            echo(f"demo: starting {name} ...")
            backends.append(_starter(spec)(work / name))
        for backend in backends:
            os.environ.update(backend.env)
        targets: dict[str, Any] = {"name": "readiness demo stack", "preset": PRESET, "profile": "production",
                                   "opt_in": ["app.end-to-end-canary"]}  # the one writing item the demo runs
        for b in backends:
            targets.update({b.name: b.target, **b.more})
        if "network" in targets:  # the datastores must not answer from outside: their ports are the private ones
            targets["network"]["private_ports"] += _datastore_ports(targets)
        for source, dest in STATIC.items():
            (outdir / dest).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(DATA / source, outdir / dest)
        targets["files"] = {"compose": "deploy/docker-compose.yml", "env": "deploy/.env",
                            "helm_values": "deploy/values.yaml"}
        targets["kubernetes"] = {"manifests": "rendered/", "namespace": "langfuse", "release": "langfuse"}
        targets_path = outdir / "targets.yaml"
        targets_path.write_text("# Written by `readiness demo`; secrets come from ${VARIABLES}.\n"
                                + yaml.safe_dump(targets, sort_keys=False))
        sections = [k for k in targets if k not in ("name", "preset", "profile", "opt_in")]
        echo(f"demo: wrote {targets_path} for {', '.join(sections)}; auditing every section\n")
        return _audit(targets_path, outdir, echo)
    finally:
        for backend in reversed(backends):
            for server in reversed(backend.servers):
                server.stop()
        os.environ.clear()
        os.environ.update(saved_env)
        shutil.rmtree(work, ignore_errors=True)


def _has_moto() -> bool:
    from readiness.demo.s3 import available

    return available() is not None


def _datastore_ports(targets: dict[str, Any]) -> list[int]:
    import re

    ports = []
    for kind in ("redis", "postgres", "clickhouse"):
        for value in targets.get(kind, {}).values():
            ports += [int(p) for p in re.findall(r"@?127\.0\.0\.1:(\d+)", str(value))]
    return sorted(set(ports))


def _audit(targets_path: Path, outdir: Path, echo: Callable[[str], None]) -> int:
    from readiness.audit import execute, load_inputs
    from readiness.fsio import write_text
    from readiness.registry import reporter
    from readiness.runner import Options

    inputs = load_inputs(None, str(targets_path))
    options = Options(profile="production", preset=PRESET)
    report, _ = execute(inputs, options, "required")
    written, notes = [], []
    for name in FORMATS:
        try:
            rendered: Any = reporter(name).render(report)
        except Exception as exc:  # a format that is not there (yet) must not cost the others
            notes.append(f"{name} report skipped ({type(exc).__name__}: {exc})")
            continue
        path = outdir / f"report.{_EXTENSIONS[name]}"
        write_text(str(path), rendered)
        written.append(str(path))
    try:
        text = reporter("text").module.render(report, color=sys.stdout.isatty())
    except Exception:
        text = f"{report['summary']}\n"
    echo(text.rstrip("\n"))
    for note in notes:
        echo(f"note: {note}")
    echo(f"\ndemo: reports written: {', '.join(written)}")
    echo(f"demo: open {outdir / 'report.html'} in a browser for the reviewers' view")
    return 0 if report["summary"]["verdict"] == "ready" else 1
