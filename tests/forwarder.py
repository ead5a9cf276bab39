"""A plain TCP forwarder (what kubectl port-forward or docker -p are to the audit): bytes relayed both ways, nothing
understood.  ``black_hole()`` stops relaying without closing anything, as a network that drops packets would."""

from __future__ import annotations

import selectors
import socket
import threading


class Forwarder:
    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.upstream = (host, port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        self.relaying = True
        self._stop = False
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._thread = threading.Thread(target=self._loop, daemon=True, name="test-forwarder")
        self._thread.start()

    def _loop(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, None)
        while not self._stop:
            for key, _ in sel.select(timeout=0.1):
                if key.data is None:
                    try:
                        client, _ = self.sock.accept()
                        server = socket.create_connection(self.upstream, timeout=5)
                    except OSError:
                        continue
                    self._pairs.append((client, server))
                    sel.register(client, selectors.EVENT_READ, server)
                    sel.register(server, selectors.EVENT_READ, client)
                    continue
                if not self.relaying:
                    continue  # leave the bytes in the kernel buffers: nothing arrives, nothing is refused
                src, dst = key.fileobj, key.data
                try:
                    data = src.recv(65536)  # type: ignore[union-attr]
                    if data:
                        dst.sendall(data)
                        continue
                except OSError:
                    pass
                for s in (src, dst):
                    try:
                        sel.unregister(s)
                    except (KeyError, ValueError):
                        pass
                    s.close()  # type: ignore[union-attr]
            if not self.relaying:
                threading.Event().wait(0.05)
        sel.close()

    def black_hole(self) -> None:
        self.relaying = False

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)
        for pair in self._pairs:
            for s in pair:
                s.close()
        self.sock.close()
