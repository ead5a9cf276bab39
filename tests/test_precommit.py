"""The pre-commit hook as a user meets it: the real ``pre-commit`` (PyPI) installs this repository's hook into an
environment of its own and runs it on the files of a commit in another git repository.

pre-commit clones the hook repository at a commit: ``try-repo`` on a path with uncommitted changes commits the
staged and tracked-modified files to a shadow clone, never the untracked ones (pre_commit/commands/try_repo.py,
``_repo_ref``).  So the hook repository here is a committed copy of this working tree: the test sees the code as
it is, from a clean CI checkout and from a working tree with new files alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import source_copy

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = str(Path(sys.executable).parent / "pre-commit")
SECRET = "Zk8-real-Pw-41q"

BAD = f"""services:
  redis:
    image: redis:7.2.4
    command: redis-server --requirepass {SECRET} --maxmemory-policy allkeys-lru
    ports:
      - "6379:6379"
  langfuse-web:
    image: langfuse/langfuse:3
    environment:
      REDIS_CONNECTION_STRING: redis://:{SECRET}@redis:6379/0
      NEXTAUTH_SECRET: mysecret
"""
GOOD = """services:
  redis:
    image: redis:7.2.4
    command: redis-server --requirepass ${REDIS_PASSWORD:?set it} --maxmemory 96mb --maxmemory-policy noeviction
    mem_limit: 128m
    ports:
      - "127.0.0.1:6379:6379"
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
"""


def readme_config() -> dict[str, object]:
    """The README's .pre-commit-config.yaml, as a user copies it."""
    text = (ROOT / "README.md").read_text().split("<!-- pre-commit-usage -->", 1)[1]
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    config: dict[str, object] = yaml.safe_load(block)
    return config


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def repository(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "files")
    return path


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = source_copy(tmp_path_factory.mktemp("hooks") / "readiness", ".pre-commit-hooks.yaml", "pyproject.toml",
                       "README.md")
    git(copy, "init", "-q")
    git(copy, "add", "-A")
    git(copy, "commit", "-qm", "the working tree")
    return copy


def pre_commit(cwd: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PRE_COMMIT"))}
    if home is not None:
        env["PRE_COMMIT_HOME"] = str(home)
    return subprocess.run([PRE_COMMIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)


def test_the_hook_blocks_a_bad_compose_file_without_printing_its_secret(tmp_path, hooks_repo):
    repo = repository(tmp_path / "app", {"deploy/docker-compose.yml": BAD, "README.md": "hello\n"})
    done = pre_commit(repo, "try-repo", str(hooks_repo), "readiness", "--files", "deploy/docker-compose.yml",
                      "README.md")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "readiness (compose, env and Helm values files)" in out and "Failed" in out
    assert "deploy/docker-compose.yml:6: service redis publishes redis on 0.0.0.0:6379" in out  # app.compose-loopback
    assert "REQ files.compose-redis" in out and "allkeys-lru" in out
    assert "blocking finding(s) in 1 file(s)" in out  # README.md is not a file the hook judges
    assert SECRET not in out


def test_the_hook_passes_a_good_compose_file_and_ignores_other_files(tmp_path, hooks_repo):
    repo = repository(tmp_path / "app", {"docker-compose.yml": GOOD, ".env": f"REDIS_PASSWORD={SECRET}\n",
                                         ".env.example": "REDIS_PASSWORD=changeme\n", "notes.txt": "x\n",
                                         "bad/docker-compose.yml": BAD})
    config = readme_config()  # with this copy for the repository and its commit for the release
    config["repos"][0].update(repo=str(hooks_repo), rev=git(hooks_repo, "rev-parse", "HEAD").strip())  # type: ignore[index]
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git(repo, "add", ".pre-commit-config.yaml")  # pre-commit refuses an unstaged configuration
    home = tmp_path / "pre-commit-home"  # the store users keep in ~/.cache/pre-commit: installed once
    first = pre_commit(repo, "run", "--verbose", "--files", "docker-compose.yml", ".env", ".env.example",
                       "notes.txt", home=home)
    out = first.stdout + first.stderr
    assert first.returncode == 0, out
    assert "Passed" in out and "2 file(s) checked, nothing blocks" in out  # .env.example and notes.txt ignored
    assert SECRET not in out

    start = time.monotonic()
    again = pre_commit(repo, "run", "--files", "docker-compose.yml", ".env", home=home)
    took = time.monotonic() - start
    assert again.returncode == 0, again.stdout + again.stderr
    assert took < 20, f"the installed hook took {took:.1f}s on one compose file"

    # the same configuration on all files: the bad compose file in bad/ blocks the commit
    every = pre_commit(repo, "run", "--all-files", home=home)
    assert every.returncode == 1 and "bad/docker-compose.yml:6" in every.stdout, every.stdout
