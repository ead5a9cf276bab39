"""Figures for the files target: wall time of the app and files.* items on the Langfuse fixtures, and how long
reading big compose files takes (every value located, variables resolved; up to the 100,000-value budget and one
over it), with peak RSS.

Run from the repository root with the project installed:  .venv/bin/python bench/bench_files.py
"""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from readiness.audit import execute, load_inputs
from readiness.clients import files as files_client
from readiness.runner import Options

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "files"


def audit_fixture(work: Path, name: str) -> tuple[float, int]:
    shutil.copytree(DATA / name, work / name)
    targets = work / f"{name}.yaml"
    targets.write_text(yaml.safe_dump({"preset": "langfuse", "files": {
        "compose": f"{name}/docker-compose.yml", "env": f"{name}/.env", "helm_values": f"{name}/values.yaml"}}))
    started = time.perf_counter()
    inputs = load_inputs(None, str(targets))
    _, results = execute(inputs, Options(preset="langfuse", only=("app", "files.*")), "required")
    return time.perf_counter() - started, sum(1 for r in results if r.status in ("pass", "fail"))


def big_compose(work: Path, limit: int) -> tuple[float, int, int]:
    service = ("  svc{n}:\n    image: redis:${{TAG_{n}:-7.2}}\n    ports: ['127.0.0.1:{p}:6379']\n"
               "    environment:\n      REDIS_AUTH: ${{AUTH:-x}}\n      NAME: svc{n}\n"
               "    healthcheck: {{test: [CMD, redis-cli, ping]}}\n")
    parts, size, n = ["services:\n"], 0, 0
    while size < 3_800_000 and n < limit:
        text = service.format(n=n, p=10000 + n % 50000)
        parts.append(text)
        size += len(text)
        n += 1
    path = work / f"big{limit}" / "docker-compose.yml"
    path.parent.mkdir()
    path.write_text("".join(parts))
    started = time.perf_counter()
    try:
        files = files_client.load({"compose": str(path), "root": str(work)})
        count = len(files.services())
    except Exception as exc:  # the node budget may refuse it: that is a figure too
        print(f"  refused: {str(exc).splitlines()[0][:160]}")
        count = 0
    return time.perf_counter() - started, n, count


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("langfuse-default", "langfuse-hardened"):
            seconds, judged = audit_fixture(work, name)
            print(f"{name}: app + files.* items in {seconds * 1000:.0f} ms ({judged} judged)")
        for limit in (1_000, 5_000, 60_000):
            seconds, written, parsed = big_compose(work, limit)
            size = (work / f"big{limit}" / "docker-compose.yml").stat().st_size / 1e6
            print(f"compose file of {written} services ({size:.1f} MB): read in {seconds:.2f} s, {parsed} parsed")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
