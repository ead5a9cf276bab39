"""Hostile compose, env and values files stop `validate` and `audit` with exit 2 at file:line:col, quickly, without
echoing what they hold."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import write_yaml

BIN = str(Path(sys.executable).parent / "readiness")
BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))

CASES = {
    "alias bomb": ("compose", "services:\n  x:\n    image: redis:7\n" + BOMB, ":8:8:", "alias bomb"),
    "binary": ("helm_values", "config:\n  a: 1\n\x00\x01\x02", ":3:1:", "binary"),
    "impossible date": ("helm_values", "backup:\n  since: 2099-02-30\n", ":2:10:", "not a date"),
    "bad tag": ("compose", "services:\n  x: !!python/object:os.system {}\n", ":2:6:", "unknown YAML tag"),
    "a list": ("compose", "- services\n- x\n", ":1:1:", "not a list"),
    "services a list": ("compose", "services:\n  - redis\n", ":2:3:", "'services' must be a mapping"),
    "values a string": ("helm_values", "just text\n", ":1:1:", "must be a mapping"),
    "env without =": ("env", "GOOD=1\nthis is not a setting\n", ":2:1:", "KEY=VALUE"),
    "env binary": ("env", "A=1\nB=\x00\n", ":2:1:", "binary"),
    "env unterminated": ("env", 'A="never closed\n', ":1:3:", "unterminated"),
    "unterminated variable": ("compose", "services:\n  x:\n    image: redis:${TAG\n", ":3:12:", "unterminated ${"),
    "nginx stray brace": ("nginx", "events {}\nhttp {\n  server { listen 80; }\n}\n}\n", ":5:1:",
                          'nginx configuration: unexpected "}"'),
    "nginx unclosed block": ("nginx", "http {\n  server {\n", ":2:1:", "nginx configuration: unexpected end of file"),
    "nginx missing include": ("nginx", "http {\n  include missing.conf;\n}\n", ":2:1:", "not found"),
    "nginx include loop": ("nginx", "http {\n  include nginx.conf;\n}\n", ":2:1:", "(a loop): refused"),
    "nginx include outside": ("nginx", "http {\n  include /etc/passwd;\n}\n", ":2:1:",
                              "outside the project directory"),
}
NAMES = {"compose": "docker-compose.yml", "env": ".env", "helm_values": "values.yaml", "nginx": "nginx.conf"}


def _validate(tmp_path: Path, field: str) -> subprocess.CompletedProcess[str]:
    write_yaml(tmp_path / "targets.yaml", {"files": {field: NAMES[field]}})
    return subprocess.run([BIN, "validate", "-t", str(tmp_path / "targets.yaml")], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_file_is_exit_2_at_its_line(tmp_path: Path, case: str) -> None:
    field, text, where, words = CASES[case]
    (tmp_path / NAMES[field]).write_bytes(text.encode())
    started = time.monotonic()
    proc = _validate(tmp_path, field)
    assert time.monotonic() - started < 30
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{NAMES[field]}{where}" in proc.stderr and words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("field", ["compose", "env", "helm_values", "nginx"])
def test_a_5_mb_file_is_refused_before_it_is_read(tmp_path: Path, field: str) -> None:
    line = "A=1\n" if field == "env" else "# padding padding padding padding padding padding padding\n"
    (tmp_path / NAMES[field]).write_text(line * (5 * 1024 * 1024 // len(line) + 1))
    proc = _validate(tmp_path, field)
    assert proc.returncode == 2 and "MB; files over 4 MB are refused" in proc.stderr, proc.stderr


def test_audit_also_stops_and_never_echoes_the_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SECRET_TOKEN=tk-5f1e0a6b3c\nno equals sign with tk-5f1e0a6b3c\n")
    write_yaml(tmp_path / "targets.yaml", {"files": {"env": ".env"}})
    proc = subprocess.run([BIN, "audit", "-t", str(tmp_path / "targets.yaml"), "--only", "app"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and ".env:2:1:" in proc.stderr, proc.stderr
    assert "tk-5f1e0a6b3c" not in proc.stdout + proc.stderr


# A compose project over several files: each hostile shape is one sentence at the line that causes it.
PROJECTS = {
    "include cycle": ({"docker-compose.yml": "include: [a.yml]\nservices: {}\n",
                       "a.yml": "include:\n  - docker-compose.yml\nservices: {}\n"}, "a.yml:2:5:", "a cycle"),
    "include outside": ({"docker-compose.yml": "include:\n  - ../../etc/compose.yml\nservices: {}\n"},
                        "docker-compose.yml:2:5:", "outside the project directory"),
    "extends itself": ({"docker-compose.yml": "services:\n  r:\n    extends: r\n    image: redis:7\n"},
                       "docker-compose.yml:3:14:", "extends itself"),
    "extends loop": ({"docker-compose.yml": "services:\n  a:\n    extends: b\n  b:\n    extends: a\n"},
                     "docker-compose.yml:", "deeper than"),
    "extends missing": ({"docker-compose.yml": "services:\n  a:\n    extends: {service: x, file: b.yml}\n",
                         "b.yml": "services: {}\n"}, "docker-compose.yml:3:14:", "does not define"),
    "include depth": ({"docker-compose.yml": "include: [d1/c.yml]\nservices: {}\n",
                       **{"/".join(f"d{j}" for j in range(1, i + 1)) + "/c.yml":
                          f"include: [d{i + 1}/c.yml]\nservices: {{}}\n" for i in range(1, 12)}},
                      "c.yml:1:10:", "deeper than"),
    "override broken": ({"docker-compose.yml": "services:\n  r:\n    image: redis:7\n",
                         "docker-compose.override.yml": "services:\n  - r\n"}, "docker-compose.override.yml:2:3:",
                        "'services' must be a mapping"),
}


@pytest.mark.parametrize("case", sorted(PROJECTS))
def test_hostile_compose_project_is_exit_2_at_its_line(tmp_path: Path, case: str) -> None:
    texts, where, words = PROJECTS[case]
    for name, text in texts.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    started = time.monotonic()
    proc = _validate(tmp_path, "compose")
    assert time.monotonic() - started < 30
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert where in proc.stderr and words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_nginx_include_of_a_huge_file_or_a_fifo_is_refused_at_the_include(tmp_path: Path) -> None:
    import os

    (tmp_path / "nginx.conf").write_text("events {}\nhttp {\n  include big.conf;\n}\n")
    (tmp_path / "big.conf").write_text("# padding padding padding\n" * (5 * 1024 * 1024 // 26 + 1))
    proc = _validate(tmp_path, "nginx")
    assert proc.returncode == 2 and "nginx.conf:3:1: include:" in proc.stderr and "refused" in proc.stderr, \
        proc.stderr
    (tmp_path / "big.conf").unlink()
    os.mkfifo(tmp_path / "big.conf")
    started = time.monotonic()
    proc = _validate(tmp_path, "nginx")
    assert time.monotonic() - started < 30
    assert proc.returncode == 2 and "nginx.conf:3:1: include:" in proc.stderr and "FIFO" in proc.stderr, proc.stderr
