"""A small HTTP server that plays the product's own endpoints, healthy or failing, behind the demo's nginx.

    healthy  LangSight /api/liveness, /api/readiness; Langfuse /api/public/health, /api/public/ready, the worker's
             /api/health; LangSmith /health: 200 with a healthy body; /metrics only with the token (401 without)
    failing  liveness 500, readiness 503 {"status": "not ready"}, health 200 {"status": "degraded"},
             /metrics open to anyone

The product's tracing API (Langfuse's ingestion, trace read and delete: readiness.demo.product_api, given as
``api``) answers the end-to-end canary, the trace readable a moment after it is accepted.  Any other POST is read
to the end and answered 202 (the body-size probe's target when it is opted in to send the body;
by default it sends only the headers, which nginx answers itself).  /huge streams a body that never ends
(to prove clients read bounded); ``delay`` slows every GET (latency judgements).

    python -m readiness.demo.appstub --port 8080 --mode healthy --token T
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from readiness.demo.product_api import ProductApi

HEALTHY = {
    "/api/liveness": (200, {"status": "alive"}),
    "/api/readiness": (200, {"status": "ready"}),
    "/api/public/health": (200, {"status": "OK", "version": "3.0.0"}),
    "/api/public/ready": (200, {"status": "OK"}),
    "/api/health": (200, {"status": "OK"}),
    "/health": (200, {"status": "ok"}),
}
FAILING = {
    "/api/liveness": (500, {"status": "error", "detail": "event loop blocked"}),
    "/api/readiness": (503, {"status": "not ready", "redis": "down"}),
    "/api/public/health": (200, {"status": "degraded"}),
    "/api/public/ready": (503, {"status": "not ready"}),
    "/api/health": (503, {"status": "unhealthy"}),
    "/health": (503, {"status": "unavailable"}),
}
class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a burst of connects must not overflow the accept queue (5 by default)
    daemon_threads = True


METRICS = b"# HELP requests_total Requests served\n# TYPE requests_total counter\nrequests_total 42\n"


class AppStub:
    def __init__(self, mode: str = "healthy", host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 delay: float = 0.0, api: ProductApi | None = None):
        if mode not in ("healthy", "failing"):
            raise ValueError(f"mode must be healthy or failing, not {mode!r}")
        self.mode, self.token, self.delay = mode, token, delay
        self.huge_sent = 0  # bytes of /huge written before the client went away
        self.posted: list[int] = []  # body sizes received
        self.api = api
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _api(self) -> bool:
                if stub.api is None or not stub.api.handles(self.command, self.path.split("?", 1)[0]):
                    return False
                stub.api.answer(self)
                return True

            def do_DELETE(self) -> None:  # noqa: N802
                if not self._api():
                    self._send(405, b'{"detail":"Method Not Allowed"}')

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                if stub.delay:
                    time.sleep(stub.delay)
                if self._api():
                    return
                path = self.path.split("?", 1)[0]
                if path == "/huge":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    block = b'{"status":"OK","pad":"' + b"x" * 65536
                    try:
                        while stub.huge_sent < 1 << 30:
                            self.wfile.write(block)
                            stub.huge_sent += len(block)
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                if path == "/metrics":
                    if stub.mode == "failing":
                        return self._send(200, METRICS, "text/plain; version=0.0.4")
                    sent = self.headers.get("Authorization", "")
                    if stub.token and sent == f"Bearer {stub.token}":
                        return self._send(200, METRICS, "text/plain; version=0.0.4")
                    return self._send(401 if sent else 404, b'{"detail":"Not authenticated"}')
                table = HEALTHY if stub.mode == "healthy" else FAILING
                if path in table:
                    status, body = table[path]
                    return self._send(status, json.dumps(body).encode())
                return self._send(200, b"<html><body>app</body></html>", "text/html")

            def do_POST(self) -> None:  # noqa: N802
                if self._api():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                left = length
                while left > 0:
                    chunk = self.rfile.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    left -= len(chunk)
                stub.posted.append(length - left)
                self._send(202, b'{"accepted":true}')

        self.server = _Server((host, port), Handler)
        self.host, self.port = host, int(self.server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> AppStub:
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name=f"appstub-{self.mode}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=("healthy", "failing"), default="healthy")
    parser.add_argument("--token")
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    stub = AppStub(args.mode, args.host, args.port, args.token, args.delay)
    print(f"listening on {stub.url}", flush=True)
    stub.server.serve_forever()


if __name__ == "__main__":
    main()
