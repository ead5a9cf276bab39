"""The package as users install it: a wheel built from the source, installed into a clean venv (no editable
install, no system site-packages, run outside the source tree), and every command run from there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from readiness.demo.process import Server, free_port

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {"readiness": "readiness", "readiness/checks": "checks", "readiness/reports": "reports"}


class Installed:
    def __init__(self, venv: Path, wheel: Path, work: Path, src: Path):
        self.venv, self.wheel, self.work, self.src = venv, wheel, work, src

    def run(self, *args: str, expect: int | tuple[int, ...] = 0,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        done = subprocess.run([str(self.venv / "bin" / "readiness"), *args], capture_output=True, text=True,
                              cwd=self.work, env=env, timeout=timeout)
        codes = expect if isinstance(expect, tuple) else (expect,)
        assert done.returncode in codes, f"readiness {' '.join(args)}: exit {done.returncode}\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"  # a copy: building in the shared tree would write build/ and egg-info there
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("readiness", "checks", "reports"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
                            "-w", str(root / "dist"), str(src)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next((root / "dist").glob("readiness-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                              str(wheel)], capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    work = root / "work"
    work.mkdir()
    yield Installed(venv, wheel, work, src)


def test_the_wheel_holds_every_module_and_data_file_of_the_source_tree(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = set()
    for prefix, directory_name in SOURCES.items():
        directory = installed.src / directory_name  # the copy the wheel was built from
        for path in directory.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc" and \
                    not (prefix == "readiness" and path.relative_to(directory).parts[0] in ("checks", "reports")):
                expected.add(f"{prefix}/{path.relative_to(directory).as_posix()}")
    assert expected - names == set()


def test_the_installed_copy_is_used_not_the_source_tree(installed):
    where = subprocess.run([str(installed.venv / "bin" / "python"), "-c",
                            "import readiness, readiness.demo, readiness.checks; print(readiness.__file__)"],
                           capture_output=True, text=True, cwd=installed.work, timeout=60, check=True).stdout
    assert where.startswith(str(installed.venv)) and "site-packages" in where
    cfg = (installed.venv / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg


def test_the_read_only_commands_run_from_the_wheel(installed):
    top = installed.run("--help").stdout
    commands = [line.split()[0] for line in top.split("Commands:", 1)[1].splitlines() if line.startswith("  ")]
    assert {"audit", "demo", "diff", "explain", "list", "probes", "render", "validate"} <= set(commands)
    for command in commands:
        assert "Usage:" in installed.run(command, "--help").stdout
    assert "valid:" in installed.run("validate").stdout
    listed = installed.run("list").stdout
    assert "redis.reachable" in listed
    assert "redis.reachable" in installed.run("explain", "redis.reachable").stdout
    assert "redis.ping" in installed.run("probes").stdout


def test_the_kubectl_plugin_and_the_pushgateway_client_come_with_the_wheel(installed):
    """kubectl-readiness is installed beside readiness (krew's convention), and --pushgateway works from a clean
    install: prometheus-client is a dependency, not something the test environment happens to have."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "KUBECONFIG"))}
    plugin = installed.venv / "bin" / "kubectl-readiness"

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(plugin), *args], capture_output=True, text=True, cwd=installed.work,
                              env={**env, **extra}, timeout=120)
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        return done

    assert run("--help").stdout.startswith("Usage: kubectl readiness")
    assert run("version").stdout.startswith("kubectl-readiness ")
    lost = run("audit", KUBECONFIG=str(installed.work / "no-such-kubeconfig"))
    assert lost.returncode == 2 and "no kubeconfig at" in lost.stderr
    (installed.work / "compose.yml").write_text("services:\n  redis:\n    ports: ['127.0.0.1:6379:6379']\n")
    (installed.work / "push-targets.yaml").write_text("files: {compose: compose.yml}\n")
    pushed = installed.run("audit", "-t", "push-targets.yaml", "--only", "app.compose-loopback", "--pushgateway",
                           f"http://127.0.0.1:{free_port()}", expect=2)
    assert "--pushgateway http://127.0.0.1:" in pushed.stderr and "connection refused" in pushed.stderr


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed (scripts/setup.sh installs it)")
    port = free_port()
    work = tmp_path_factory.mktemp("wheel-redis")
    server = Server("redis", [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                              "--dir", str(work)], work, port=port).start()
    try:
        yield port
    finally:
        server.stop()


def test_audit_render_diff_and_demo_run_from_the_wheel(installed, redis_server):
    work = installed.work
    (work / "targets.yaml").write_text(f"redis: {{url: 'redis://127.0.0.1:{redis_server}/0'}}\n")
    installed.run("audit", "--targets", "targets.yaml", "--only", "redis", "--json", "audit.json",
                  "--html", "audit.html", "--timeout", "5", expect=1)  # an unprotected Redis: findings
    report = json.loads((work / "audit.json").read_text())
    statuses = {r["id"]: r["status"] for r in report["results"]}
    assert statuses["redis.reachable"] == "pass" and "fail" in statuses.values()
    assert "<html" in (work / "audit.html").read_text().lower()

    installed.run("demo", "--out", "demo", expect=1, timeout=300)  # the demo stack has findings by design
    for name in ("report.json", "report.html", "report.xml", "report.md", "targets.yaml"):
        assert (work / "demo" / name).stat().st_size > 0, name

    installed.run("render", "audit.json", "--markdown", "r.md", "--junit", "r.xml", "--html", "r.html")
    assert "redis.reachable" in (work / "r.md").read_text() and "<testsuite" in (work / "r.xml").read_text()
    compared = installed.run("diff", "audit.json", "demo/report.json", "--json", "-", expect=(0, 1))
    assert isinstance(json.loads(compared.stdout), dict)
