"""What a demo backend starter hands back: its servers (to stop), its targets-file section, and the secrets the
targets file refers to as ${VARIABLES}."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from readiness.demo.process import Server


@dataclass
class Backend:
    name: str  # the targets-file key and checklist section, e.g. "redis"
    target: dict[str, Any]  # its section of the targets file, secrets as ${VAR}
    servers: list[Server] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # values of the ${VAR}s, set while the audit runs
