"""What a demo backend starter hands back: its servers (to stop), its targets-file section, and the secrets the
targets file refers to as ${VARIABLES}."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass
class Backend:
    name: str  # the targets-file key and checklist section, e.g. "redis"
    target: dict[str, Any]  # its section of the targets file, secrets as ${VAR}
    servers: Sequence[Stoppable] = field(default_factory=list)  # processes (and in-process servers) to stop
    env: dict[str, str] = field(default_factory=dict)  # values of the ${VAR}s, set while the audit runs
    more: dict[str, dict[str, Any]] = field(default_factory=dict)  # further targets-file sections it provides
