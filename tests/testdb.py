"""A tiny line-protocol TCP server for the test plugin's ``testdb`` backend (real sockets, counted requests)."""

from __future__ import annotations

import socketserver
import threading
from collections import Counter


class LineDB:
    def __init__(self, value: str = "42", freeze_after_hello: bool = False):
        self.value = value
        self.frozen = threading.Event()  # set: the server reads requests and never answers (a SIGSTOPped server)
        if freeze_after_hello:
            self.frozen.set()
        self.requests: Counter[str] = Counter()
        self.connections = 0
        db = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                db.connections += 1
                for raw in self.rfile:
                    line = raw.decode().strip()
                    db.requests[line] += 1
                    if line != "HELLO" and db.frozen.is_set():
                        continue
                    self.wfile.write((line if line == "HELLO" else db.value).encode() + b"\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
