"""``readiness check-files``: the static items on the files of a commit, as the pre-commit hook runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from readiness import checkfiles
from readiness.audit import Inputs, execute
from readiness.checklist import load_checklist
from readiness.runner import Options
from readiness.targets import Targets

BIN = str(Path(sys.executable).parent / "readiness")
DATA = Path(__file__).parent / "data" / "files"
SECRET = "Zk8-real-Pw-41q"
BAD = f"""services:
  redis:
    image: redis:7.2.4
    command: redis-server --requirepass {SECRET} --maxmemory-policy allkeys-lru
    ports: ["6379:6379"]
  web:
    image: langfuse/langfuse:3
    environment:
      REDIS_CONNECTION_STRING: redis://:{SECRET}@redis:6379/0
"""
GOOD = """services:
  redis:
    image: redis:7.2.4
    command: redis-server --requirepass ${REDIS_PASSWORD:?set it} --maxmemory 96mb --maxmemory-policy noeviction
    mem_limit: 128m
    ports: ["127.0.0.1:6379:6379"]
    healthcheck: {test: ["CMD", "redis-cli", "ping"]}
"""


def check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN, "check-files", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("name", "kind"), [
    ("docker-compose.yml", "compose"), ("deploy/docker-compose.prod.yaml", "compose"), ("compose.yaml", "compose"),
    ("compose.override.yml", "compose"), (".env", "env"), ("deploy/.env.production", "env"), ("prod.env", "env"),
    ("values.yaml", "helm_values"), ("charts/values-prod.yml", "helm_values"), (".env.example", None),
    ("values.yaml.template", None), ("README.md", None), ("my-values.yaml", None), ("composer.json", None)])
def test_a_files_kind_comes_from_its_name(name, kind):
    assert checkfiles.kind_of(name) == kind


@pytest.mark.parametrize("name", ["docker-compose.yml", "deploy/compose.override.yml", ".env", "a/.env.prod",
                                  "x.env", "values.yaml", "c/values-prod.yml", ".env.example", "values.yaml.sample",
                                  "README.md", "my-values.yaml", "src/env.py"])
def test_the_hook_hands_over_exactly_the_files_check_files_judges(name):
    import re

    import yaml

    hook = yaml.safe_load((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text())[0]
    selected = bool(re.search(hook["files"], name)) and not re.search(hook["exclude"], name)
    assert selected == (checkfiles.kind_of(name) is not None)


def test_files_of_one_directory_are_judged_together_one_of_each_kind():
    found = checkfiles.groups(["a/docker-compose.yml", "b/.env", "a/.env", "README.md", "a/compose.yaml"])
    assert found == [{"compose": "a/docker-compose.yml", "env": "a/.env"}, {"env": "b/.env"},
                     {"compose": "a/compose.yaml"}]


def test_a_bad_compose_file_blocks_with_its_lines_and_no_secret(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(BAD)
    done = check(tmp_path, "--preset", "langfuse", "docker-compose.yml", "README.md")
    assert done.returncode == 1, done.stderr
    assert "docker-compose.yml:5: service redis publishes redis on 0.0.0.0:6379" in done.stdout
    assert "REQ files.compose-redis" in done.stdout and "fix:" in done.stdout
    assert done.stdout.rstrip().endswith("2 blocking finding(s) in 1 file(s) (--fail-on required)")
    assert SECRET not in done.stdout + done.stderr


def test_a_good_compose_file_with_its_env_passes(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(GOOD)
    (tmp_path / ".env").write_text(f"REDIS_PASSWORD={SECRET}\n")
    done = check(tmp_path, "--preset", "langfuse", "docker-compose.yml", ".env")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 file(s) checked, nothing blocks" in done.stdout and SECRET not in done.stdout


def test_no_file_of_a_known_kind_is_nothing_to_block(tmp_path):
    done = check(tmp_path, "README.md", "src/app.py")
    assert done.returncode == 0 and "0 file(s) checked" in done.stdout


def test_a_file_that_does_not_parse_is_bad_input_at_its_line(tmp_path):
    (tmp_path / "values.yaml").write_text("a: [1\n")
    done = check(tmp_path, "values.yaml")
    assert done.returncode == 2 and "values.yaml:" in done.stderr


def test_items_on_files_not_given_do_not_apply_only_in_check_files(tmp_path):
    """A hook that sees a values file judges it, not the compose file it was not given; a targets file that leaves
    the compose file out still gets an error for the compose items (fail-closed)."""
    shutil.copy(DATA / "langfuse-hardened" / "values.yaml", tmp_path / "values.yaml")
    checklist = load_checklist(None)
    only = ("app.clickhouse-cluster-flag", "files.values-hpa")

    def statuses(partial: bool) -> dict[str, tuple[str, str]]:
        cfg = {"helm_values": str(tmp_path / "values.yaml"), "root": str(tmp_path), "partial": partial}
        report, _ = execute(Inputs(checklist, Targets({"files": cfg}, "langfuse", "production", path="t.yaml")),
                            Options(preset="langfuse", only=only, deployment=None), "required")
        return {r["id"]: (r["status"], r["message"]) for r in report["results"] if r["id"] in only}

    partial = statuses(True)
    assert partial["files.values-hpa"][0] == "pass"
    assert partial["app.clickhouse-cluster-flag"] == ("skipped", "no env or compose file among the files checked")
    whole = statuses(False)
    assert whole["app.clickhouse-cluster-flag"][0] == "error" and whole["files.values-hpa"][0] == "pass"


def test_check_files_imports_no_client_library(tmp_path):
    """pre-commit runs it on every commit: no database, cloud or Kubernetes client is imported for files."""
    shutil.copytree(DATA / "langfuse-default", tmp_path / "d")
    code = ("import sys\nsys.argv = ['readiness', 'check-files', '--preset', 'langfuse', 'd/docker-compose.yml', "
            "'d/values.yaml', 'd/.env']\nfrom readiness.cli import main\ntry:\n    main()\nexcept SystemExit as e:\n"
            "    print('exit', e.code)\nprint(sorted({m.split('.')[0] for m in sys.modules}))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "exit 1" in done.stdout, done.stdout + done.stderr  # it judged something: the default files block
    loaded = done.stdout.splitlines()[-1]
    for heavy in ("kubernetes", "boto3", "botocore", "clickhouse_driver", "psycopg", "redis", "urllib3", "jinja2"):
        assert f"'{heavy}'" not in loaded, heavy
