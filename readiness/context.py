"""What a probe sees while it runs: its target's shared session (one client, facts fetched once) and the run's
settings.  Sessions are shared by every item of a target; a failure to connect is remembered, so a dead or
black-holed target costs one timeout, not one per item.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from readiness.clients import KINDS


class TargetUnavailable(Exception):
    """The target could not be used (not configured, unreachable, timed out earlier); the message says why."""


class Session:
    def __init__(self, kind: str, config: Mapping[str, Any], timeout: float):
        self.kind = kind
        self.config = config
        self.timeout = timeout
        self.connecting = False
        self.round_trips = 0  # facts fetched (and so queries sent) through this session
        self._client: Any = None
        self._connected = False
        self._failure: BaseException | None = None
        self._lock = threading.Lock()
        self._facts: dict[str, tuple[bool, Any]] = {}
        self._fact_locks: dict[str, threading.Lock] = {}

    @property
    def client(self) -> Any:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if not self._connected:
                connector = KINDS[self.kind].connector()
                if connector is None:
                    raise TargetUnavailable(f"the {self.kind} target has no client")
                self.connecting = True
                try:
                    self._client = connector.connect(dict(self.config), self.timeout)
                except BaseException as exc:
                    self._failure = exc
                    raise
                finally:
                    self.connecting = False
                self._connected = True
            return self._client

    def fact(self, name: str, fetch: Callable[[Any], Any]) -> Any:
        """``fetch(client)`` once per session; its value (or its exception) is shared by every item."""
        with self._lock:
            lock = self._fact_locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._facts:
                client = self.client
                self.round_trips += 1
                try:
                    self._facts[name] = (True, fetch(client))
                except Exception as exc:
                    self._facts[name] = (False, exc)
            ok, value = self._facts[name]
        if not ok:
            raise value
        return value

    def poison(self, reason: str) -> None:
        """Mark the target unusable (an item timed out while connecting); later items fail at once.

        Plain assignment, no lock: the connecting thread may hold the lock for as long as the target hangs."""
        self._failure = self._failure or TargetUnavailable(reason)

    def close(self) -> None:
        if self._connected and self._client is not None:
            connector = KINDS[self.kind].connector()
            try:
                connector.close(self._client)
            except Exception:  # closing is best effort; the verdicts are already made
                pass


class Context:
    """Handed to a probe: its item's identity, the run's preset/profile/timeout, and the targets' sessions."""

    def __init__(self, item_id: str, target: str | None, sessions: Mapping[str, Session],
                 configs: Mapping[str, Mapping[str, Any]], preset: str | None, profile: str, timeout: float,
                 deadline: float):
        self.item_id = item_id
        self.target = target
        self.preset = preset
        self.profile = profile
        self.timeout = timeout
        self.deadline = deadline
        self._sessions = sessions
        self._configs = configs

    def session(self, kind: str | None = None) -> Session:
        kind = kind or self.target
        if kind is None or kind not in self._sessions:
            raise TargetUnavailable(f"needs the {kind} target (not configured in the targets file)")
        return self._sessions[kind]

    def config(self, kind: str | None = None) -> Mapping[str, Any]:
        kind = kind or self.target
        if kind is None or kind not in self._configs:
            raise TargetUnavailable(f"needs the {kind} target (not configured in the targets file)")
        return self._configs[kind]

    def has(self, kind: str) -> bool:
        return kind in self._configs

    @property
    def client(self) -> Any:
        return self.session().client

    def fact(self, name: str, fetch: Callable[[Any], Any], kind: str | None = None) -> Any:
        return self.session(kind).fact(name, fetch)

    def remaining(self) -> float:
        """Seconds left before this item times out (never below a small floor, for socket timeouts)."""
        return max(0.05, self.deadline - time.monotonic())
