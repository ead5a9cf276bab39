from __future__ import annotations

import sys
from pathlib import Path

# The test plugin is registered through an entry point exactly like a third-party package: a dist-info directory on
# sys.path.  It must be there before readiness's registry first reads entry points.
sys.path.insert(0, str(Path(__file__).parent / "plugin"))

from readiness.clients import KINDS, TargetKind  # noqa: E402
from readiness.probe import Param  # noqa: E402

KINDS["testdb"] = TargetKind("testdb", {"host": Param("str", "127.0.0.1"), "port": Param("int"),
                                        "password": Param("str", None)}, "readiness_testplugin")
from fixtures_clickhouse import ch_cluster, ch_single  # noqa: E402,F401 - ClickHouse servers for every test module
