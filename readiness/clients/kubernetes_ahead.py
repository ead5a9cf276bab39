"""Reading ahead on a live cluster: the listings a probe will surely read are fetched by background readers (at
most ``Ahead.READERS`` per cluster) while the probe waits for or judges its first, so the API server works while the
audit computes instead of each waiting on the other, and a probe's chain of listings costs one round trip rather
than one per listing.

A read ahead goes through the session's facts like the probe's own read (``ctx.fact``): one request per listing per
audit, and its answer or its failure (403, timeout, malformed page) is the fact the probe then reads.  The reader
itself swallows nothing the probe would not see again: an exception here only means the probe's own read will meet
it (or retry it, when it was a lock wait that ran out)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable


class Ahead:
    """Background readers per cluster (at most ``READERS``, so one slow listing does not hold up the rest and the
    connections stay few); each key is read at most once, and never one a probe is reading itself."""

    READERS = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._seen: set[str] = set()
        self._planned: set[Hashable] = set()
        self._todo: deque[Callable[[], object]] = deque()
        self._readers = 0
        self._closed = False

    def reading(self, key: str) -> None:
        """A probe reads ``key`` itself now: reading it ahead as well would only wait on the same fact."""
        with self._lock:
            self._seen.add(key)

    def planned(self, plan: Hashable) -> bool:
        """True the first time ``plan`` (a probe's set of reads) is named: its listings are queued once per audit,
        so a probe's later listings (per namespace, per call) skip working them out again."""
        with self._lock:
            if plan in self._planned:
                return False
            self._planned.add(plan)
            return True

    def read_all(self, reads: Iterable[tuple[str, Callable[[], object]]]) -> None:
        for key, fetch in reads:
            self.read(key, fetch)

    def read(self, key: str, fetch: Callable[[], object]) -> None:
        """Queue ``fetch`` (once per ``key``), starting a reader when fewer than ``READERS`` run."""
        with self._lock:
            if self._closed or key in self._seen:
                return
            self._seen.add(key)
            self._todo.append(fetch)
            if self._readers >= self.READERS:
                return
            self._readers += 1
        try:
            threading.Thread(target=self._drain, daemon=True, name="readiness-k8s-ahead").start()
        except RuntimeError:  # no thread to be had (the process's limit): the probe's own read does it
            with self._lock:
                self._readers -= 1
                if fetch in self._todo:
                    self._todo.remove(fetch)
                self._idle.notify_all()

    def close(self) -> None:
        """The audit is over: nothing queued is read any more (a reader ends after the fetch it is in)."""
        with self._lock:
            self._closed = True
            self._todo.clear()
            self._idle.notify_all()

    def join(self, timeout: float) -> bool:
        """Wait until nothing is queued or being read (True), or ``timeout`` seconds (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._readers == 0 and not self._todo, timeout)

    def _drain(self) -> None:
        counted = True  # this reader is in ``_readers`` until it leaves, however it leaves
        try:
            while True:
                with self._lock:
                    if self._closed or not self._todo:
                        self._readers -= 1
                        counted = False
                        self._idle.notify_all()
                        return
                    fetch = self._todo.popleft()
                try:
                    fetch()
                except Exception:  # noqa: BLE001 - the probe's own read through the same fact reports it
                    pass
        finally:
            if counted:
                with self._lock:
                    self._readers -= 1
                    self._idle.notify_all()
