"""An identity that cannot see what it judges does not pass: a role without pg_monitor sees other roles' sessions with
a NULL backend_type, so 85 idle application connections would read as its own one.  Tested with real roles and 85
real connections; and a migration table the identity may not read is an error naming the GRANT."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from checklists import checklist_with
from fixtures_postgres import PgStack
from helpers import audit

BLIND = ("blind", "blind-pw")
MONITOR = ("watcher", "watcher-pw")
ITEMS = ["postgres.connection-headroom", "postgres.connection-reuse", "postgres.migrations"]


@pytest.fixture(scope="module")
def roles(pg_stack: PgStack) -> Iterator[PgStack]:
    pg_stack.good.execute(*[f"DROP ROLE IF EXISTS {r}" for r, _ in (BLIND, MONITOR)],
                          f"CREATE ROLE {BLIND[0]} LOGIN PASSWORD '{BLIND[1]}'",
                          f"CREATE ROLE {MONITOR[0]} LOGIN PASSWORD '{MONITOR[1]}' IN ROLE pg_monitor")
    pg_stack.good.execute(f"GRANT SELECT ON _prisma_migrations, alembic_version TO {MONITOR[0]}", db="app")
    yield pg_stack


def target(stack: PgStack, role: tuple[str, str]) -> dict:
    return {"postgres": {"dsn": f"postgresql://{role[0]}:{role[1]}@127.0.0.1:{stack.good.port}/app?sslmode=require"}}


def test_an_identity_without_pg_monitor_cannot_pass_headroom_over_85_hidden_connections(roles: PgStack,
                                                                                        tmp_path: Path) -> None:
    checklist = checklist_with(tmp_path, {"postgres.connection-headroom": {"max_ratio": 0.4},
                                          "postgres.connection-reuse": {"min_median_age_s": 0}})
    held = roles.connect(roles.good, 85)  # 85 + the application's 3 of max_connections 200: 44%
    try:
        blind, _ = audit(tmp_path, target(roles, BLIND), ITEMS, checklist=checklist)
        seeing, _ = audit(tmp_path, target(roles, MONITOR), ITEMS, checklist=checklist)
    finally:
        for conn in held:
            conn.close()
    for item in ITEMS:
        assert blind[item].status == "error", (item, blind[item].message)
    headroom = blind["postgres.connection-headroom"].message
    assert "cannot see other roles' sessions" in headroom and "GRANT pg_monitor TO blind" in headroom, headroom
    assert blind["postgres.connection-headroom"].evidence["hidden_sessions"] >= 88
    assert "GRANT SELECT ON" in blind["postgres.migrations"].message
    assert seeing["postgres.connection-headroom"].status == "fail", seeing["postgres.connection-headroom"].message
    assert seeing["postgres.connection-headroom"].evidence["in_use"] >= 89
    assert seeing["postgres.connection-reuse"].status == "pass"
    assert seeing["postgres.migrations"].status == "pass"
