"""Test-only stand-ins next to the real servers of readiness.demo.process."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from readiness.demo.process import Server, free_port, wait_port  # noqa: F401 - re-exported for the tests

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


class TcpStub:
    """A loopback listener whose accept loop hands each connection to ``handle`` (on a thread of its own when
    ``threaded``): the scaffolding of the tests' small misbehaving servers.  Subclasses set their own state before
    calling ``__init__``, which starts serving."""

    threaded = False

    def __init__(self, host: str = "127.0.0.1"):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            if self.threaded:
                threading.Thread(target=self.handle, args=(conn,), daemon=True).start()
            else:
                self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.stop = True
        self.thread.join(2)
        self.sock.close()


class BlackHole:
    """A port that accepts connections and never answers: the worst kind of broken target."""

    def __init__(self, host: str = "127.0.0.1"):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(128)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.accepted.append(conn)
            except OSError:
                continue

    def close(self) -> None:
        self._stop = True
        for conn in self.accepted:
            conn.close()
        self.sock.close()
