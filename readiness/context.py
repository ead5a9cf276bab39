"""What a probe sees while it runs: its target's shared session (one client, facts fetched once) and the run's
settings.  Sessions are shared by every item of a target; a failure to connect is remembered, so a dead or
black-holed target costs one timeout, not one per item.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from readiness.clients import connector_for
from readiness.errors import NotInDeployment, TargetUnavailable

__all__ = ["Context", "NotInDeployment", "Session", "TargetUnavailable"]


class Session:
    """One target's shared client and facts.

    The first failure is final: a connection that failed, or any item of the target that timed out (``fail``),
    makes every waiting and later item of the target end at once with that first cause.  Locks are taken with the
    item's deadline and give up as soon as the session has failed, so no thread piles up behind a frozen server.
    """

    _POLL = 0.05  # how often a waiting item looks whether the session has failed meanwhile

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
        self._guard = threading.Lock()  # guards _fact_locks only: never held while waiting on a target
        self._undo: dict[int, tuple[str, str, Callable[[float], object]]] = {}  # token -> (item, what, undo)
        self._undo_lock = threading.Lock()
        self._undo_tokens = 0

    @property
    def failed(self) -> BaseException | None:
        return self._failure

    def _check(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _acquire(self, lock: threading.Lock, deadline: float | None) -> None:
        """Take ``lock`` before ``deadline``, giving up at once when the session fails meanwhile."""
        end = time.monotonic() + self.timeout if deadline is None else deadline
        while not lock.acquire(timeout=self._POLL):
            self._check()
            if time.monotonic() >= end:
                raise TimeoutError(f"timed out waiting for the {self.kind} target's session")
        if self._failure is not None:
            lock.release()
            raise self._failure

    def get_client(self, deadline: float | None = None) -> Any:
        self._check()
        self._acquire(self._lock, deadline)
        try:
            if not self._connected:
                connector = connector_for(self.kind)
                if connector is None:
                    raise TargetUnavailable(f"the {self.kind} target has no client")
                self.connecting = True
                try:
                    self._client = connector.connect(dict(self.config), self.timeout)
                except BaseException as exc:
                    self._failure = self._failure or exc
                    raise
                finally:
                    self.connecting = False
                self._connected = True
            return self._client
        finally:
            self._lock.release()

    @property
    def client(self) -> Any:
        return self.get_client()

    def fact(self, name: str, fetch: Callable[[Any], Any], deadline: float | None = None) -> Any:
        """``fetch(client)`` once per session; its value (or its exception) is shared by every item."""
        self._check()
        with self._guard:
            lock = self._fact_locks.setdefault(name, threading.Lock())
        self._acquire(lock, deadline)
        try:
            if name not in self._facts:
                client = self.get_client(deadline)
                self.round_trips += 1
                try:
                    self._facts[name] = (True, fetch(client))
                except Exception as exc:
                    self._facts[name] = (False, exc)
            ok, value = self._facts[name]
        finally:
            lock.release()
        if not ok:
            raise value
        return value

    def fail(self, reason: str) -> None:
        """Mark the target unusable (an item of it timed out); waiting and later items end at once.

        Plain assignment, no lock: the thread that hangs may hold the session's locks for as long as it hangs."""
        self._failure = self._failure or TargetUnavailable(reason)

    poison = fail

    # -- undoing writes: what an opted-in write must remove, whatever becomes of the item's thread --------------

    CLEANUP_WAIT = 5.0  # seconds one cleanup may take (its own bounded client); the run is over or interrupted

    def register_cleanup(self, item_id: str, what: str, undo: Callable[[float], object]) -> Callable[[], bool]:
        """Remember ``undo(seconds)`` for a write the item made; the runner calls it when the item times out or the
        run is interrupted.  The returned ``claim()`` hands the cleanup back to the item (True: do it yourself now;
        False: the runner has already run it)."""
        with self._undo_lock:
            self._undo_tokens += 1
            token = self._undo_tokens
            self._undo[token] = (item_id, what, undo)

        def claim() -> bool:
            with self._undo_lock:
                return self._undo.pop(token, None) is not None

        return claim

    def run_cleanups(self, item_id: str | None = None, wait: float | None = None) -> list[str]:
        """Run the pending cleanups (of one item, or all), each in its own thread within ``wait`` seconds; what
        became of each, as sentences for the report: done, failed with why, or not finished in time."""
        wait = self.CLEANUP_WAIT if wait is None else wait
        with self._undo_lock:
            mine = [t for t, (item, _, _) in self._undo.items() if item_id is None or item == item_id]
            todo = [self._undo.pop(t) for t in mine]
        outcomes: list[str] = [""] * len(todo)

        def one(index: int, what: str, undo: Callable[[float], object]) -> None:
            try:
                detail = undo(wait)
                outcomes[index] = f"cleanup removed {what}" + (f" ({detail})" if detail else "")
            except Exception as exc:  # noqa: BLE001 - reported, never hidden
                outcomes[index] = f"cleanup FAILED to remove {what}: {exc}"

        threads = [threading.Thread(target=one, args=(i, what, undo), daemon=True, name="readiness-cleanup")
                   for i, (_, what, undo) in enumerate(todo)]
        for t in threads:
            t.start()
        end = time.monotonic() + wait
        for i, t in enumerate(threads):
            t.join(max(0.0, end - time.monotonic()))
            if t.is_alive() or not outcomes[i]:
                outcomes[i] = f"cleanup of {todo[i][1]} did not finish within {wait:g}s: it may still be there"
        return outcomes

    def close(self) -> None:
        """Close the client.  The runner calls it once every item is done or abandoned (timed out and reported):
        a thread still stuck on the connection then ends on its own socket timeout, its result already discarded.
        Cleanups still pending (none, when the runner ran its items' cleanups) run first."""
        self.run_cleanups()
        if self._connected and self._client is not None:
            connector = connector_for(self.kind)
            try:
                connector.close(self._client)
            except Exception:  # closing is best effort; the verdicts are already made
                pass


class Context:
    """Handed to a probe: its item's identity, the run's preset/profile/timeout, and the targets' sessions."""

    def __init__(self, item_id: str, target: str | None, sessions: Mapping[str, Session],
                 configs: Mapping[str, Mapping[str, Any]], preset: str | None, profile: str, timeout: float,
                 deadline: float, reads: frozenset[str] = frozenset(),
                 set_aside: Mapping[str, str] | None = None, opted_in: bool = False):
        self.item_id = item_id
        self.opted_in = opted_in  # the targets file's opt_in: lists this item (one of the two yeses a write needs)
        self._set_aside = set_aside or {}  # target kinds this deployment has none of, and why
        self.reads = reads  # the Kubernetes resources the probe declared it reads
        self.target = target
        self.preset = preset
        self.profile = profile
        self.timeout = timeout
        self.deadline = deadline
        self._sessions = sessions
        self._configs = configs

    def _missing(self, kind: str | None) -> TargetUnavailable:
        if kind is not None and kind in self._set_aside:
            return NotInDeployment(f"{self._set_aside[kind]}, and this item reads its figures from it: give them "
                                   "as the item's parameters where it takes them, or attest")
        return TargetUnavailable(f"needs the {kind} target (not configured in the targets file)")

    def session(self, kind: str | None = None) -> Session:
        kind = kind or self.target
        if kind is None or kind not in self._sessions:
            raise self._missing(kind)
        return self._sessions[kind]

    def config(self, kind: str | None = None) -> Mapping[str, Any]:
        kind = kind or self.target
        if kind is None or kind not in self._configs:
            raise self._missing(kind)
        return self._configs[kind]

    def has(self, kind: str) -> bool:
        return kind in self._configs

    @property
    def client(self) -> Any:
        return self.session().get_client(self.deadline)

    def fact(self, name: str, fetch: Callable[[Any], Any], kind: str | None = None) -> Any:
        return self.session(kind).fact(name, fetch, self.deadline)

    def register_cleanup(self, what: str, undo: Callable[[float], object], kind: str | None = None
                         ) -> Callable[[], bool]:
        """Register the undoing of a write this item made (see ``Session.register_cleanup``)."""
        return self.session(kind).register_cleanup(self.item_id, what, undo)

    def remaining(self) -> float:
        """Seconds left before this item times out (never below a small floor, for socket timeouts)."""
        return max(0.05, self.deadline - time.monotonic())
