"""`readiness demo` end to end, as scripts/demo.sh runs it: real servers up, audited, reports written, all stopped."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def _demo_processes() -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "readiness-demo-" in text:
            found.append(text)
    return found


def _still_running(find, seconds: float = 15.0) -> list[str]:
    """Servers asked to stop may take a moment to exit (PostgreSQL's shutdown checkpoint): wait, bounded."""
    import time

    end = time.monotonic() + seconds
    while (found := find()) and time.monotonic() < end:
        time.sleep(0.2)
    return found


def test_demo_audits_a_first_deployment_and_cleans_up(tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("readiness-demo-*"))
    readiness = Path(sys.executable).parent / "readiness"
    done = subprocess.run([str(readiness), "demo", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr  # the demo stack has findings that block
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    by_section: dict[str, set[str]] = {}
    for r in report["results"]:
        by_section.setdefault(r["section"], set()).add(r["status"])
    assert {"pass", "fail"} <= by_section["redis"] and {"pass", "fail"} <= by_section["postgres"]
    assert "NOT READY" in done.stdout and "Blocking sign-off" in done.stdout
    targets = (tmp_path / "out" / "targets.yaml").read_text()
    assert "${DEMO_REDIS_PASSWORD}" in targets and "demo-redis-s3cret" not in targets
    # the end-to-end canary, opted in by the demo's targets file, passes with its timings; its keys stay ${VARS}
    canary = next(r for r in report["results"] if r["id"] == "app.end-to-end-canary")
    assert canary["status"] == "pass" and "readable" in canary["message"], canary["message"]
    assert canary["evidence"]["visible_s"] >= 0.4 and "app.end-to-end-canary" in targets
    assert "${LANGFUSE_SECRET_KEY}" in targets and "sk-lf-" not in targets
    assert "PASS    OPT app.end-to-end-canary: langfuse accepted the canary in" in done.stdout
    for name in ("report.json", "report.html", "report.xml", "report.md", "report.prom"):
        written = (tmp_path / "out" / name).read_text()
        assert "demo-redis-s3cret" not in written and "demo-secret-key-not-for-production" not in written, name
        assert "sk-lf-" not in written and "pk-lf-" not in written, name
    # every section of the checklist is audited: the datastores, blob storage, the web front door, the deploy
    # files and the rendered Kubernetes manifests each show verdicts
    for section in ("clickhouse", "blob", "storage", "autoscaling", "network", "app"):
        assert by_section[section] & {"pass", "fail"}, (section, by_section[section])
    assert not _still_running(_demo_processes)
    assert set(Path(tempfile.gettempdir()).glob("readiness-demo-*")) == before


def test_the_demos_manifests_are_the_rendering_of_its_chart() -> None:
    """The demo audits rendered manifests offline (no Helm engine needed to run it); they come from its chart. After
    changing either, render again: ``readiness.clients.chart.render({"chart": "readiness/demo/chart", "release":
    "langfuse", "namespace": "langfuse"})`` and write the objects to readiness/demo/data/kubernetes.yaml."""
    import yaml

    from readiness.clients.chart import render
    from readiness.demo.run import DATA

    rendered = render({"chart": str(DATA.parent / "chart"), "release": "langfuse", "namespace": "langfuse"}, 60)
    objects = [o for _, text in rendered.templates for o in yaml.safe_load_all(text) if o]
    shipped = [o for o in yaml.safe_load_all((DATA / "kubernetes.yaml").read_text()) if o]

    def by_name(objs: list[dict]) -> dict[tuple[str, str], dict]:
        return {(o["kind"], o["metadata"]["name"]): o for o in objs}

    assert len(objects) == len(shipped) == len(by_name(shipped))
    assert by_name(objects) == by_name(shipped)
