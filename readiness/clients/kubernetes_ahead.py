"""Reading ahead on a live cluster: the listings a probe declared are fetched in one background thread while the
probe waits for or judges its first, so the API server works while the audit computes instead of each waiting on
the other, and a probe's chain of listings costs one round trip rather than one per listing.

A read ahead goes through the session's facts like the probe's own read (``ctx.fact``): one request per listing per
audit, and its answer or its failure (403, timeout, malformed page) is the fact the probe then reads.  The reader
itself swallows nothing the probe would not see again: an exception here only means the probe's own read will meet
it (or retry it, when it was a lock wait that ran out)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable


class Ahead:
    """Background readers per cluster (at most ``READERS``, so one slow listing does not hold up the rest and the
    connections stay few); each key is read at most once, and never one a probe is reading itself."""

    READERS = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._todo: deque[Callable[[], object]] = deque()
        self._readers = 0

    def reading(self, key: str) -> None:
        """A probe reads ``key`` itself now: reading it ahead as well would only wait on the same fact."""
        with self._lock:
            self._seen.add(key)

    def read(self, key: str, fetch: Callable[[], object]) -> None:
        """Queue ``fetch`` (once per ``key``), starting a reader when fewer than ``READERS`` run."""
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            self._todo.append(fetch)
            if self._readers >= self.READERS:
                return
            self._readers += 1
        threading.Thread(target=self._drain, daemon=True, name="readiness-k8s-ahead").start()

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._todo:
                    self._readers -= 1
                    return
                fetch = self._todo.popleft()
            try:
                fetch()
            except Exception:  # noqa: BLE001 - the probe's own read through the same fact reports it
                pass
