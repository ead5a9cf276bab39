"""The http client's writes() guard (readiness/clients/guard.py): a write outside writes() is refused before a
connection is opened, against a real local HTTP server that keeps every request that reaches it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures_pushgateway import Answering

from readiness.clients.http import HttpHandle, WriteRefused


@pytest.fixture
def server() -> Iterator[Answering]:
    stub = Answering(200)  # reads each request whole, keeps it, answers 200
    yield stub
    stub.close()


def test_a_write_outside_writes_is_refused_before_any_connection(server: Answering) -> None:
    handle = HttpHandle({"base_url": f"http://127.0.0.1:{server.port}/", "allow_writes": True}, 2.0)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with pytest.raises(WriteRefused, match="writes()"):
            handle.send(method, handle.url("/api"), b"{}")
    with pytest.raises(WriteRefused, match="writes()"):  # the body-size POST is a write too
        handle.send_body("/upload", 100, 2.0)
    for method in ("GET", "HEAD"):  # a body makes a read method a write as well
        with pytest.raises(WriteRefused, match="writes()"):
            handle.send(method, handle.url("/api"), b"{}")
    with pytest.raises(ValueError, match="at least 1 byte"):  # Content-Length: 0 is a whole empty POST
        handle.ask_body("/upload", 0, 2.0)
    assert (handle.connections, server.requests) == (0, [])
    assert handle.get(handle.url("/")).status == 200  # reads need no opt-in; the server counts what arrives
    assert len(server.requests) == 1


def test_writes_needs_allow_writes_and_then_lets_the_write_out(server: Answering) -> None:
    base = f"http://127.0.0.1:{server.port}/"
    with pytest.raises(WriteRefused, match="allow_writes"):
        with HttpHandle({"base_url": base}, 2.0).writes():
            pass
    handle = HttpHandle({"base_url": base, "allow_writes": True}, 2.0)
    with handle.writes():
        assert handle.send_body("/upload", 100, 2.0).status == 200
        assert handle.send("DELETE", handle.url("/api/x")).status == 200
    assert len(server.requests) == 2
    with pytest.raises(WriteRefused):  # the block is over
        handle.send("DELETE", handle.url("/api/x"))
    assert len(server.requests) == 2


def test_http_and_s3_share_one_guard() -> None:
    from readiness.clients import guard, s3

    assert WriteRefused is s3.WriteRefused is guard.WriteRefused
    assert isinstance(HttpHandle({"base_url": "http://127.0.0.1:1/"}, 1.0).guard, guard.WriteGuard)
