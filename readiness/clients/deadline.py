"""One total deadline for a whole exchange on a raw socket: DNS, connect, TLS, sending, every read.

A socket timeout bounds one blocking call, so a server that trickles a byte a second would hold a request for as
long as it likes; here each call gets only what is left of the total, and running out is a ``DeadlineExceeded``.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from typing import Any

from readiness.errors import TargetUnavailable


class DeadlineExceeded(TargetUnavailable):
    """The exchange did not finish within its total time."""


class Deadline:
    def __init__(self, seconds: float, what: str = "the request"):
        self.seconds = max(0.001, float(seconds))
        self.what = what
        self.end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def check(self, doing: str = "") -> float:
        left = self.remaining()
        if left <= 0:
            raise self.exceeded(doing)
        return left

    def exceeded(self, doing: str = "") -> DeadlineExceeded:
        during = f", {doing}" if doing else ""
        return DeadlineExceeded(f"{self.what} did not answer in time (not done within {self.seconds:g}s{during})")

    def arm(self, sock: socket.socket, doing: str = "") -> None:
        """Give the next blocking call on ``sock`` what is left of the total (never more)."""
        sock.settimeout(self.check(doing))

    def resolve(self, host: str, port: int) -> list[Any]:
        """getaddrinfo has no timeout of its own: run it aside and stop waiting at the deadline."""
        box: dict[str, Any] = {}

        def lookup() -> None:
            try:
                box["infos"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                box["error"] = exc

        worker = threading.Thread(target=lookup, daemon=True, name="readiness-dns")
        worker.start()
        worker.join(max(0.0, self.check("DNS lookup")))
        if worker.is_alive():
            raise self.exceeded(f"DNS lookup of {host}")
        if "error" in box:
            raise box["error"]
        return list(box["infos"])

    def connect(self, host: str, port: int, source: str | None = None) -> socket.socket:
        """A TCP connection to the first address of ``host`` that accepts, within what is left."""
        last: BaseException | None = None
        for family, kind, proto, _, address in self.resolve(host, port):
            sock = socket.socket(family, kind, proto)
            try:
                if source:
                    sock.bind((source, 0))
                self.arm(sock, f"connecting to {host}:{port}")
                sock.connect(address)
                return sock
            except DeadlineExceeded:
                sock.close()
                raise
            except OSError as exc:
                sock.close()
                last = exc
        raise last or OSError(f"{host} resolves to no address")

    def handshake(self, tls: ssl.SSLSocket, doing: str = "TLS handshake") -> None:
        # CPython's do_handshake spends at most the socket timeout in total, so arming once bounds it
        self.arm(tls, doing)
        try:
            tls.do_handshake()
        except TimeoutError:
            raise self.exceeded(doing) from None

    def recv(self, sock: socket.socket, size: int = 65536, doing: str = "reading the answer") -> bytes:
        self.arm(sock, doing)
        try:
            return sock.recv(size)
        except TimeoutError:
            raise self.exceeded(doing) from None

    def sendall(self, sock: socket.socket, data: bytes, doing: str = "sending the request") -> None:
        self.arm(sock, doing)
        try:
            sock.sendall(data)
        except TimeoutError:
            raise self.exceeded(doing) from None
