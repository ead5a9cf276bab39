"""The http client's writes() guard (readiness/clients/guard.py): a write outside writes() is refused before a
connection is opened, against a real local HTTP server that counts what reaches it."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from servers import TcpStub

from readiness.clients.http import HttpHandle, WriteRefused


class Counting(TcpStub):
    """Answers every request 200 and counts the connections that reached it."""

    threaded = True

    def __init__(self) -> None:
        self.connections = 0
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        self.connections += 1
        conn.settimeout(2)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    break
                data += more
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(65536):  # drain the body so the close is clean
                pass
        except OSError:
            pass
        finally:
            conn.close()


@pytest.fixture
def server() -> Iterator[Counting]:
    stub = Counting()
    yield stub
    stub.close()


def test_a_write_outside_writes_is_refused_before_any_connection(server: Counting) -> None:
    handle = HttpHandle({"base_url": f"http://127.0.0.1:{server.port}/", "allow_writes": True}, 2.0)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with pytest.raises(WriteRefused, match="writes()"):
            handle.send(method, handle.url("/api"), b"{}")
    with pytest.raises(WriteRefused, match="writes()"):  # the body-size POST is a write too
        handle.send_body("/upload", 100, 2.0)
    assert (handle.connections, server.connections) == (0, 0)
    assert handle.get(handle.url("/")).status == 200  # reads need no opt-in; the server counts what arrives
    assert server.connections == 1


def test_writes_needs_allow_writes_and_then_lets_the_write_out(server: Counting) -> None:
    base = f"http://127.0.0.1:{server.port}/"
    with pytest.raises(WriteRefused, match="allow_writes"):
        with HttpHandle({"base_url": base}, 2.0).writes():
            pass
    handle = HttpHandle({"base_url": base, "allow_writes": True}, 2.0)
    with handle.writes():
        assert handle.send_body("/upload", 100, 2.0).status == 200
        assert handle.send("DELETE", handle.url("/api/x")).status == 200
    assert server.connections == 2
    with pytest.raises(WriteRefused):  # the block is over
        handle.send("DELETE", handle.url("/api/x"))
    assert server.connections == 2


def test_http_and_s3_share_one_guard() -> None:
    from readiness.clients import guard, s3

    assert WriteRefused is s3.WriteRefused is guard.WriteRefused
    assert isinstance(HttpHandle({"base_url": "http://127.0.0.1:1/"}, 1.0).guard, guard.WriteGuard)
