"""A third-party package brings a whole backend (targets-file section, client, probes) through entry points:
the example in examples/readiness-memcached, installed as a user would and run against a real memcached."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import write_yaml
from servers import Server, free_port

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "readiness-memcached"
BIN = str(Path(sys.executable).parent / "readiness")

pytestmark = pytest.mark.skipif(shutil.which("memcached") is None, reason="memcached is installed by scripts/setup.sh")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The example package pip-installed into a directory of its own (its dist-info carries the entry points)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--disable-pip-version-check", "--target", str(target), str(EXAMPLE)],
                   check=True, capture_output=True, text=True, timeout=300)
    return {**os.environ, "PYTHONPATH": str(target)}


@pytest.fixture(scope="module")
def memcached(tmp_path_factory):
    work = tmp_path_factory.mktemp("memcached")
    servers = {}
    for name, megabytes in (("big", 64), ("small", 8)):
        port = free_port()
        servers[name] = Server(f"memcached-{name}", ["memcached", "-u", "nobody", "-l", "127.0.0.1", "-p", str(port),
                                                     "-U", "0", "-m", str(megabytes)], work, port=port).start()
    yield servers
    for server in servers.values():
        server.stop()


CHECKLIST = textwrap.dedent("""\
    version: 1
    name: memcached
    sections:
      - id: memcached
        title: memcached
        items:
          - id: memcached.memory
            title: memcached has at least 64 MiB
            level: required
            probe: memcached.stat
            with: {stat: limit_maxbytes, expect: {min: 67108864}}
            rationale: a small cache evicts the sessions it holds
          - id: memcached.no-evictions
            title: memcached evicts nothing
            level: required
            probe: memcached.no-evictions
            rationale: evictions mean the cache is too small
    """)


def run(env, *args, cwd):
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_the_plugin_backend_is_registered_and_listed(installed, tmp_path):
    proc = run(installed, "probes", cwd=tmp_path)
    assert "memcached.stat  (target: memcached)" in proc.stdout, proc.stdout + proc.stderr
    assert "broken plugin" not in proc.stderr


def test_the_plugin_backend_audits_a_real_server_both_ways(installed, memcached, tmp_path):
    checklist = tmp_path / "checklist.yaml"
    checklist.write_text(CHECKLIST)
    verdicts = {}
    for name, server in memcached.items():
        targets = write_yaml(tmp_path / f"{name}.yaml", {"memcached": {"port": server.port}})
        out = tmp_path / f"{name}.json"
        proc = run(installed, "audit", "-c", str(checklist), "-t", str(targets), "--json", str(out), cwd=tmp_path)
        assert proc.returncode in (0, 1), proc.stderr
        import json

        verdicts[name] = {r["id"]: r["status"] for r in json.loads(out.read_text())["results"]}
    assert verdicts["big"] == {"memcached.memory": "pass", "memcached.no-evictions": "pass"}
    assert verdicts["small"]["memcached.memory"] == "fail"


def test_the_plugin_backends_settings_are_validated_like_the_built_ins(installed, tmp_path):
    checklist = tmp_path / "checklist.yaml"
    checklist.write_text(CHECKLIST)
    targets = tmp_path / "t.yaml"
    targets.write_text("memcached:\n  port: eleven\n  hots: cache\n")
    proc = run(installed, "validate", "-c", str(checklist), "-t", str(targets), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{targets}:2:9: " in proc.stderr and "port must be an integer" in proc.stderr, proc.stderr
    assert "unknown key 'hots'" in proc.stderr and "did you mean 'host'" in proc.stderr
