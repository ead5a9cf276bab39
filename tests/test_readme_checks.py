"""The README's "Writing checks without Python" examples are valid items and run against real servers."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from checklists import checklist_with
from fixtures_postgres import PgStack
from fixtures_redis import RedisStack
from helpers import audit

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_items() -> list[dict]:
    section = README.read_text().split("## Writing checks without Python", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, "no yaml example in the README section"
    return yaml.safe_load(block.group(1))


def test_readme_examples_validate_and_run(redis_stack: RedisStack, pg_stack: PgStack, tmp_path: Path) -> None:
    items = readme_items()
    redis_items = [i for i in items if i["probe"].startswith("redis.")]
    pg_items = [i for i in items if i["probe"].startswith("postgres.")]
    path = checklist_with(tmp_path, extra=redis_items)
    data = yaml.safe_load(Path(path).read_text())
    next(s for s in data["sections"] if s["id"] == "postgres")["items"].extend(pg_items)
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False))
    ids = [i["id"] for i in items]
    targets = {**redis_stack.target(redis_stack.good), **pg_stack.target(pg_stack.good)}
    results, _ = audit(tmp_path, targets, ids, checklist=path)
    assert {i: results[i].status for i in ids} == {
        "redis.aof-enabled": "fail", "redis.protected-mode": "pass", "postgres.wal-level": "pass",
        "postgres.no-idle-in-transaction": "pass"}
    assert results["postgres.no-idle-in-transaction"].message == "sessions idle in a transaction is 0"
