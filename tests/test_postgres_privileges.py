"""The whole postgres section run by exactly the least-privileged audit identity the README documents (LOGIN, CONNECT
on the database, pg_monitor, SELECT on the migration tables; in PgBouncer's stats_users): verdicts, not permission
errors, for everything it can judge."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures_postgres import PgStack
from helpers import audit

from readiness.demo.postgres import start_pgbouncer
from readiness.demo.process import Server

AUDITOR = ("auditor", "auditor-pw")
# what no identity can see from SQL, or what needs another target: errors by nature, not for want of a privilege
BY_NATURE = {"postgres.disk-usage": "cannot be seen from SQL", "postgres.connection-budget": "kubernetes target"}


@pytest.fixture(scope="module")
def auditor(pg_stack: PgStack, server_root: Path) -> Iterator[Server]:
    good = pg_stack.good
    good.execute(f"DROP ROLE IF EXISTS {AUDITOR[0]}", f"CREATE ROLE {AUDITOR[0]} LOGIN PASSWORD '{AUDITOR[1]}'",
                 f"GRANT pg_monitor TO {AUDITOR[0]}", "REVOKE CONNECT ON DATABASE app FROM PUBLIC",
                 f"GRANT CONNECT ON DATABASE app TO {AUDITOR[0]}")
    good.execute(f"GRANT SELECT ON _prisma_migrations, alembic_version TO {AUDITOR[0]}", db="app")
    bouncer = start_pgbouncer(Path(tempfile.mkdtemp(prefix="stats-bouncer-", dir=server_root)), good.port,
                              {"app_tx": "dbname=app pool_mode=transaction"}, {AUDITOR[0]: AUDITOR[1]},
                              name="stats-bouncer", settings={"stats_users": AUDITOR[0]})
    try:
        yield bouncer
    finally:
        bouncer.stop()
        good.execute("GRANT CONNECT ON DATABASE app TO PUBLIC")


def test_the_least_privileged_identity_gets_verdicts_for_the_whole_section(pg_stack: PgStack, auditor: Server,
                                                                           tmp_path: Path) -> None:
    user = f"{AUDITOR[0]}:{AUDITOR[1]}"
    direct = f"postgresql://{user}@127.0.0.1:{pg_stack.good.port}/app?sslmode=require"
    targets = {
        "direct": {"postgres": {"dsn": direct}},
        "pooled": {"postgres": {"dsn": f"postgresql://{user}@127.0.0.1:{auditor.port}/app_tx?pgbouncer=true",
                                "pgbouncer_admin_dsn": f"postgresql://{user}@127.0.0.1:{auditor.port}/pgbouncer",
                                "direct_dsn": direct}},
    }
    for name, target in targets.items():
        results, _ = audit(tmp_path, {"preset": "langfuse", **target}, ["postgres"])
        probed = {i: r for i, r in results.items() if r.section == "postgres" and r.probe}
        assert len(probed) >= 16, name
        errors = {i: r.message for i, r in probed.items() if r.status == "error"}
        assert all(i in BY_NATURE and BY_NATURE[i] in m for i, m in errors.items()), (name, errors)
        words = ("permission denied", "cannot see", "GRANT", "must be superuser", "not allowed")
        assert not [r.message for r in probed.values() if any(w in r.message for w in words)], name
        assert results["postgres.connection-headroom"].status == "pass"
        assert results["postgres.migrations"].status == "pass"
        if name == "pooled":
            assert results["postgres.pooling"].status == "pass"
            assert "SHOW CLIENTS lists this session" in results["postgres.pooling"].message
            assert results["postgres.pooler-compatible"].status == "pass", results["postgres.pooler-compatible"]
