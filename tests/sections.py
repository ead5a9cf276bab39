"""Run some items of the default checklist and count what the target's client fetched (the growth tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import write_yaml

from readiness.audit import load_inputs
from readiness.models import Result
from readiness.runner import Options, close_sessions, plan, run


def fetched(tmp_path: Path, targets: dict[str, Any], only: list[str],
            preset: str = "langfuse") -> tuple[dict[str, Result], int, int]:
    """Results by id, and the statements sent and rows fetched by the one target's client."""
    inputs = load_inputs(None, str(write_yaml(tmp_path / "targets.yaml", targets)))
    options = Options(profile="production", preset=preset, only=tuple(only), timeout=30.0)
    results, sessions = run(plan(inputs.checklist, options), inputs.targets, options)
    try:
        (session,) = sessions.values()
        client = session.client
        nodes = getattr(client, "nodes", [client])
        statements = sum(getattr(n, "queries", getattr(n, "commands", 0)) for n in nodes)
        return {r.id: r for r in results}, statements, sum(n.rows for n in nodes)
    finally:
        close_sessions(sessions)
