"""The one writes() guard of the clients that may write (http's canary and body POST, s3's round trip).

The audit is read-only: a client asks ``check()`` before anything that writes leaves the process, and it passes only
inside ``writes()`` on this thread, which itself needs ``allow_writes: true`` in the target.  The item's own opt-in
is the probe's to check; this is the second lock, so a misused probe still sends nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from readiness.errors import TargetUnavailable


class WriteRefused(TargetUnavailable):
    """A write outside ``writes()``, or ``writes()`` on a target without allow_writes (a bug or a misused probe)."""


class WriteGuard:
    def __init__(self, kind: str, allow_writes: bool):
        self.kind = kind
        self.allow_writes = allow_writes
        self._local = threading.local()

    @contextmanager
    def writes(self) -> Iterator[None]:
        """Let this thread write: only with ``allow_writes: true`` in the target."""
        if not self.allow_writes:
            raise WriteRefused(f"writes are not allowed on this {self.kind} target (set allow_writes: true to opt in)")
        self._local.writing = True
        try:
            yield
        finally:
            self._local.writing = False

    @property
    def writing(self) -> bool:
        return getattr(self._local, "writing", False) is True

    def check(self, what: str, allowed: bool = True) -> None:
        """Refuse the write ``what`` unless this thread is inside ``writes()`` and the client lists it as ``allowed``
        (the s3 round trip may send PutObject and DeleteObject, nothing else)."""
        if not self.writing:
            raise WriteRefused(f"refused to send {what}: the audit is read-only outside writes() (allow_writes: true "
                               "in the target and the item's opt-in)")
        if not allowed:
            raise WriteRefused(f"refused to send {what}: not a write the opted-in item needs")
