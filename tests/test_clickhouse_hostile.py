"""Hostile facts: every clickhouse probe of the checklist, fed rows whose values are NaN, infinities, NULL, text,
bytes or containers where numbers and names belong (through the same client layer the probes use), or error
replies, never passes.  Only the items whose observation is not read from rows (the session opened, its version)
(and one URL without a cluster: one shard by configuration) are left out."""

from __future__ import annotations

import math
import random
import threading
from dataclasses import replace
from typing import Any

from helpers import audit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readiness.clients import KINDS
from readiness.clients.clickhouse import ClickHouse, ClickHouseError, Endpoint, Node

HOSTILE: list[Any] = [math.nan, math.inf, -math.inf, None, "", "not a number", b"\xff\xfe", [], {}, -math.nan]
class _State:  # the current example's settings, read by connect() on the runner's worker thread
    rng = random.Random(0)
    nodes = 1
    fail_rate = 0.0


_state = _State()


class Row(dict):  # type: ignore[type-arg]
    """A row that has every column a probe asks for, each holding a hostile value."""

    def __init__(self, rng: random.Random):
        super().__init__()
        self._rng = rng

    def __missing__(self, key: str) -> Any:
        value = self._rng.choice(HOSTILE)
        self[key] = value
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]


class HostileNode(Node):
    def __init__(self, rng: random.Random, name: str, fail_rate: float):
        self.endpoint = Endpoint(name, 9000, "default", "", "default", False)
        self.name = f"{name}:9000"
        self.queries = 0
        self.version, self.host, self.uptime = "25.3.1", name, 1
        self._lock = threading.Lock()
        self._columns_lock = threading.Lock()
        self._columns = None
        self._rng, self._fail_rate = rng, fail_rate

    def open(self) -> HostileNode:
        return self

    def missing(self, needs: Any) -> list[str]:
        return []  # every modern table and column "exists": the modern paths are fed too

    def columns(self) -> dict[str, set[str]]:
        return {t: {"name"} for t in ("query_log", "parts", "merges", "disks", "users", "grants", "zookeeper")}

    def execute(self, sql: str) -> list[dict[str, Any]]:
        with self._lock:
            self.queries += 1
            if self._rng.random() < self._fail_rate:
                raise ClickHouseError(f"{self.name}: code 497: Not enough privileges", 497)
            return [Row(self._rng) for _ in range(self._rng.randint(1, 3))]

    def close(self) -> None:
        pass


def connect(config: dict[str, Any], timeout: float) -> ClickHouse:
    rng: random.Random = _state.rng
    nodes = [HostileNode(rng, f"h{i}", _state.fail_rate) for i in range(_state.nodes)]
    return ClickHouse(list(nodes), {}, config.get("cluster"), config, timeout)


def close(client: ClickHouse) -> None:
    pass


NOT_FROM_ROWS = {"clickhouse.reachable", "clickhouse.version"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), nodes=st.integers(1, 3), fail_rate=st.sampled_from([0.0, 0.2]),
       cluster=st.sampled_from([None, "c"]), preset=st.sampled_from(["langfuse", "langsmith"]))
def test_no_clickhouse_item_passes_on_hostile_facts(tmp_path_factory, monkeypatch, seed, nodes, fail_rate, cluster,
                                                     preset):
    monkeypatch.setitem(KINDS, "clickhouse", replace(KINDS["clickhouse"], client_module="test_clickhouse_hostile"))
    _state.rng, _state.nodes, _state.fail_rate = random.Random(seed), nodes, fail_rate
    target: dict[str, Any] = {"url": "clickhouse://default@h0/default"}
    if cluster:
        target["cluster"] = cluster
    results, _ = audit(tmp_path_factory.mktemp("hostile"), {"clickhouse": target}, ["clickhouse"], preset=preset,
                       timeout=5)
    assert results["clickhouse.reachable"].status == "pass", results["clickhouse.reachable"].message  # not vacuous
    # One URL and no cluster is one shard by configuration, not by anything a node answered.
    exempt = NOT_FROM_ROWS | ({"clickhouse.single-shard"} if not cluster and nodes == 1 else set())
    passed = {i: r.message for i, r in results.items()
              if i.startswith("clickhouse.") and i not in exempt and r.status == "pass"}
    assert passed == {}, passed
