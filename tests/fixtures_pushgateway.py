"""Debian's real prometheus-pushgateway on 127.0.0.1 (in memory: persistence off), wiped before each test through
its admin API, and the little misbehaving gateways: one that answers 500, one that freezes."""

from __future__ import annotations

import shutil
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import ARTIFACTS, TcpStub

from readiness.demo.process import Server, free_port


@dataclass
class Gateway:
    server: Server
    url: str

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as resp:
            return resp.read().decode()

    def wipe(self) -> None:
        request = urllib.request.Request(f"{self.url}/api/v1/admin/wipe", method="PUT")
        with urllib.request.urlopen(request, timeout=10):
            pass


def start_gateway(work: Path, *extra: str) -> Gateway:
    exe = shutil.which("prometheus-pushgateway")
    if exe is None:
        pytest.fail("prometheus-pushgateway is not installed (scripts/setup.sh installs it)")
    port = free_port()
    server = Server("pushgateway", [exe, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=",
                                    "--web.enable-admin-api", "--log.level=warn", *extra], work, port=port).start()
    return Gateway(server, f"http://127.0.0.1:{port}")


@pytest.fixture(scope="session")
def gateway_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(tmp_path_factory.mktemp("pushgateway"))
    try:
        yield gateway
    finally:
        gateway.server.stop()
        gateway.server.keep_log(ARTIFACTS, "pushgateway")


@pytest.fixture
def pushgateway(gateway_server: Gateway) -> Gateway:
    gateway_server.wipe()  # each test starts from an empty gateway
    return gateway_server


class Answering(TcpStub):
    """An HTTP server that reads each request and answers ``status`` with a short body; keeps the requests."""

    def __init__(self, status: int = 500):
        self.status = status
        self.requests: list[bytes] = []
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            with conn.makefile("rb") as stream:  # closed before the socket, or the socket stays open
                head: list[bytes] = []
                for line in iter(stream.readline, b""):  # the request line and headers, up to the blank line
                    head.append(line)
                    if line in (b"\r\n", b"\n"):
                        break
                length = next((int(line.split(b":", 1)[1]) for line in head
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(b"".join(head) + stream.read(length))
            text = b"storage on fire\n"
            conn.sendall(b"HTTP/1.1 %d Oops\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n%s" % (self.status, len(text), text))
        except OSError:
            pass
        finally:
            conn.close()
