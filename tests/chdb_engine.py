"""A current ClickHouse engine in-process (chdb) behind the ClickHouse client's interface, so the real probes and
checklist items run their real SQL against modern system tables (Debian's server is 18.16).

Only the transport differs: statements, feature detection and judgements are the production code.  Registered as
the ``clickhouse`` target's connector for a test with ``use_chdb(monkeypatch)``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from typing import Any

from chdb import session as chdb_session

from readiness.clients import KINDS
from readiness.clients.clickhouse import ClickHouse, ClickHouseError, Endpoint, Node, refusal

_session: Any = None
_lock = threading.RLock()


def engine() -> Any:
    """The process's chdb session (created once)."""
    global _session
    with _lock:
        if _session is None:
            _session = chdb_session.Session()
        return _session


def sql(*statements: str) -> None:
    for s in statements:
        engine().query(s)


_ERROR = re.compile(r"Code: (\d+)\. DB::Exception: (.*?)(?: \([A-Z_]+\))?\s*$", re.S)


class ChdbNode(Node):
    def __init__(self, database: str = "default"):  # no super(): no network connection to open
        self.endpoint = Endpoint("chdb", 0, "default", "", database, False)
        self.name = "chdb"
        self.queries = 0
        self._lock = threading.Lock()
        self._columns_lock = threading.Lock()
        self._columns = None

    def open(self) -> ChdbNode:
        row = self.execute("SELECT version() AS version, hostName() AS host, uptime() AS uptime")[0]
        self.version, self.host, self.uptime = str(row["version"]), str(row["host"]), int(row["uptime"])
        return self

    def execute(self, sql: str) -> list[dict[str, Any]]:
        refused = refusal(sql)  # the same guard as a real node's, so the modern statements are held to it too
        if refused:
            raise ClickHouseError(f"{self.name}: refused before sending: {refused}; the audit only reads")
        with self._lock, _lock:
            self.queries += 1
            try:
                # Converted under the lock: the result's buffers belong to the engine until the next query.
                return engine().query(sql, "ArrowTable").to_pylist()  # type: ignore[no-any-return]
            except Exception as exc:
                m = _ERROR.search(str(exc))
                code, text = (int(m.group(1)), m.group(2)) if m else (None, str(exc))
                raise ClickHouseError(f"{self.name}: code {code}: {text}", code) from exc

    def close(self) -> None:
        pass


def connect(config: dict[str, Any], timeout: float) -> ClickHouse:
    return ClickHouse([ChdbNode().open()], {}, config.get("cluster"), config, timeout)


def close(client: ClickHouse) -> None:
    pass


def use_chdb(monkeypatch: Any) -> dict[str, Any]:
    """Route the clickhouse target to chdb for this test; returns the targets entry to audit."""
    monkeypatch.setitem(KINDS, "clickhouse", replace(KINDS["clickhouse"], client_module="chdb_engine"))
    return {"clickhouse": {"url": "clickhouse://default@chdb/default"}}
