from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# The test plugin is registered through an entry point exactly like a third-party package: a dist-info directory on
# sys.path.  It must be there before readiness's registry first reads entry points.
sys.path.insert(0, str(Path(__file__).parent / "plugin"))

# The schema index, the parsed checklist and --help are cached per user (readiness/cachefile.py): the tests and the
# CLI processes they start use a cache of their own, so a run neither reads nor leaves files in the user's ~/.cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="readiness-test-cache-")

# Property tests explore new random examples on a developer's machine, and the same derandomized ones in CI, so a
# CI run never depends on luck (hypothesis' example database starts empty there).
if os.environ.get("CI"):
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None)
    settings.load_profile("ci")

# Session-scoped real servers (redis-server, redis-sentinel, PostgreSQL, PgBouncer, moto) for the probe tests.
from fixtures_clickhouse import ch_cluster, ch_single  # noqa: E402,F401 - ClickHouse servers for every test module
from fixtures_postgres import moto, pg_stack  # noqa: E402, F401
from fixtures_pushgateway import gateway_server, pushgateway  # noqa: E402, F401 - prometheus-pushgateway
from fixtures_redis import redis_stack  # noqa: E402, F401
from fixtures_tls import server_root, tls_files  # noqa: E402, F401
