"""ClickHouse's Keeper/ZooKeeper ensemble: odd size, every voter in the quorum, every node holding a session."""

from __future__ import annotations

import re
from typing import Any

from readiness.checks.clickhouse import has_replication, on_nodes, unanswered

from readiness.clients.clickhouse import KEEPER_EXCEPTION, ClickHouse, ClickHouseError, Node, Unsupported, statement
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

KEEPER_CONFIG = statement(
    "keeper-config", "SELECT name, value FROM system.zookeeper WHERE path = {path}",
    needs=["system.zookeeper"], instead="the server has no ZooKeeper/Keeper configured (<zookeeper> in its config)",
    example={"path": "/zookeeper"})

_SERVER_LINE = re.compile(r"^server\.(\d+)=([^:;\s]+)[^;]*?(?::(participant|observer))?(?:;(.*))?$")


def _ensemble(text: str) -> list[dict[str, Any]]:
    """Members from a /zookeeper/config (or /keeper/config) value: id, host, role, client address if given."""
    out = []
    for line in text.splitlines():
        m = _SERVER_LINE.match(line.strip())
        if not m:
            continue
        sid, host, role, client = m.groups()
        if role is None and re.search(r"\b(observer|learner)\b", line):
            role = "observer"
        member: dict[str, Any] = {"id": int(sid), "host": host, "role": role or "participant"}
        if client and re.fullmatch(r"(?:[^:;]+:)?\d+", client.strip()):
            c_host, _, c_port = client.strip().rpartition(":")
            member["client"] = (host if c_host in ("", "0.0.0.0", "::") else c_host, int(c_port))
        out.append(member)
    return out


@probe("clickhouse.keeper-quorum", target="clickhouse", params={
    "min_nodes": Param("int", 3, help="fewest voting Keeper/ZooKeeper nodes (an odd number is required too)"),
})
def keeper_quorum(ctx: Any, p: dict[str, Any]) -> Verdict:
    """With replication in use: an odd number (>= min_nodes) of Keeper/ZooKeeper voters, each answering as leader
    or follower, and every ClickHouse node holding a live session."""
    replicating = has_replication(ctx)
    if replicating is False and not ctx.config().get("keeper"):
        return not_applicable("no replicated tables: ClickHouse does not depend on Keeper/ZooKeeper here")
    c: ClickHouse = ctx.client

    def fetch(client: ClickHouse) -> dict[str, Any]:
        node: Node = client.first
        found: dict[str, Any] = {}
        try:
            root = {r["name"] for r in node.query(KEEPER_CONFIG, {"path": "/"})}
        except Unsupported:
            raise
        except ClickHouseError as exc:
            return {"/zookeeper": exc}
        for path in ("/zookeeper", "/keeper"):  # /keeper/config: ClickHouse Keeper's own view of its ensemble
            if path.lstrip("/") in root:
                found[path] = {r["name"]: r["value"] for r in node.query(KEEPER_CONFIG, {"path": path})}
        return found

    seen = ctx.fact("keeper-config", fetch)
    zk = seen.get("/zookeeper", {})
    if isinstance(zk, ClickHouseError):
        if zk.code == KEEPER_EXCEPTION:
            return failed(f"ClickHouse has no Keeper/ZooKeeper session: {zk}", node=c.first.name)
        return undecided(f"ClickHouse cannot read ZooKeeper/Keeper: {zk}", node=c.first.name)
    configured = [str(x) for x in ctx.config().get("keeper") or []]
    members = _ensemble(zk.get("config", "") or "")
    keeper = seen.get("/keeper")
    if not members and isinstance(keeper, dict):
        members = _ensemble(keeper.get("config", "") or "")
    voters = [m for m in members if m["role"] == "participant"]
    evidence: dict[str, Any] = {"members": [f"server.{m['id']}={m['host']} ({m['role']})" for m in members]}
    if not members and not configured:
        if zk.get("config", None) == "":
            return failed("ZooKeeper runs standalone (1 node, empty /zookeeper/config): losing it makes every "
                          "replicated table read-only", voters=1, **evidence)
        return undecided("cannot see the Keeper/ZooKeeper ensemble (no /zookeeper/config): list its nodes in "
                         "'keeper:' of the clickhouse target", **evidence)
    count = len(voters) if members else len(configured)
    if count < p["min_nodes"] or count % 2 == 0:
        return failed(f"{count} voting Keeper/ZooKeeper node{'s' if count != 1 else ''}; want an odd number "
                      f">= {p['min_nodes']} (an even count tolerates no more failures than one fewer)",
                      voters=count, **evidence)
    targets = ([(h, int(port)) for h, _, port in (x.rpartition(":") for x in configured)] if configured
               else [m["client"] for m in voters if "client" in m])
    if len(targets) < count:
        return undecided(f"{count} voters, but their client ports are not in the ensemble config: list them in "
                         "'keeper:' of the clickhouse target to check each", voters=count, **evidence)

    def modes(client: ClickHouse) -> dict[str, str]:
        out = {}
        for host, port in targets:
            try:
                out[f"{host}:{port}"] = client.keeper_mode(host, port)
            except ClickHouseError as exc:
                out[f"{host}:{port}"] = f"down ({str(exc).split(': ', 1)[-1]})"
        return out

    roles = ctx.fact(f"keeper-modes:{targets}", modes)
    evidence["roles"] = roles
    wrong = {k: v for k, v in roles.items() if v not in ("leader", "follower")}
    if wrong:
        return failed("Keeper/ZooKeeper nodes not in the quorum: " + ", ".join(f"{k} {v}" for k, v in wrong.items()),
                      voters=count, **evidence)
    sessions = on_nodes(ctx, KEEPER_CONFIG, {"path": "/"})
    lost = {n: v for n, v in sessions.items() if isinstance(v, ClickHouseError) and n not in c.down}
    if any(v.code == KEEPER_EXCEPTION for v in lost.values()):
        keeperless = [v for v in lost.values() if v.code == KEEPER_EXCEPTION]
        return failed("ClickHouse nodes without a Keeper/ZooKeeper session: " + "; ".join(map(str, keeperless)),
                      voters=count, **evidence)
    # A node that does not answer (or cannot read system.zookeeper) may have lost its session too: not a pass.
    unread = {n: str(v).removeprefix(f"{n}: ") for n, v in sessions.items() if isinstance(v, ClickHouseError)}
    if unread:
        return unanswered(unread)
    return passed(f"{count} voting Keeper/ZooKeeper nodes, all in the quorum; {len(sessions)} ClickHouse node(s) "
                  "connected", voters=count, **evidence)
