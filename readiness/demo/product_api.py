"""A stand-in of the products' public tracing APIs, written from their published API definitions (the same sources
as readiness/checks/_canary_products.py names: Langfuse's fern definitions ingestion.yml, trace.yml,
opentelemetry.yml and observations-v2.yml; LangSmith's OpenAPI for POST /runs and GET /runs/{run_id}).  It is no
copy of either product: it keeps what was written and shows it after ``visible_after`` seconds, as the products'
asynchronous workers do.

Behaviours (``behaviour``), for the canary's tests and the demo:
    ok            accept, readable after ``visible_after``; DELETE removes it
    partial       Langfuse: 207 with an error for the event (LangSmith: 422)
    never         accept, never readable
    throttle      429 with Retry-After ``retry_after`` on the first ``throttles`` ingestion requests, then ok
    freeze        ingestion requests are read and never answered
    delete-fails  ok, but DELETE answers 500
    delete-hangs  ok, but DELETE is never answered
Wrong keys get 401, with a body that echoes what was sent (a hostile server: the audit must not repeat it).
Every request is counted in ``requests`` as (method, path).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BEHAVIOURS = ("ok", "partial", "never", "throttle", "freeze", "delete-fails", "delete-hangs")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


class ProductApi:
    def __init__(self, product: str = "langfuse", behaviour: str = "ok", visible_after: float = 0.3,
                 public_key: str = "pk-lf-demo", secret_key: str = "sk-lf-demo", api_key: str = "lsv2-demo",
                 prefix: str | None = None, version: str = "3.100.0", retry_after: str = "1", throttles: int = 1,
                 host: str = "127.0.0.1", port: int = 0):
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {', '.join(BEHAVIOURS)}")
        self.product, self.behaviour, self.visible_after, self.version = product, behaviour, visible_after, version
        self.keys: tuple[str, ...] = (public_key, secret_key) if product == "langfuse" else (api_key,)
        self.prefix = prefix if prefix is not None else ("/api/v1" if product == "langsmith" else "")
        self.retry_after, self.throttles = retry_after, throttles
        self.requests: list[tuple[str, str]] = []
        self.written: dict[str, float] = {}  # id -> when it was accepted
        self.bodies: list[Any] = []
        self.deleted: list[str] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.host, self.port = host, port
        self.server: _Server | None = None  # served on its own only after start(); the demo's stub routes to it

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def handles(self, method: str, path: str) -> bool:
        """Whether ``method path`` is one of the API's own endpoints (the demo's stub serves everything else)."""
        ours = ("/api/public/ingestion", "/api/public/otel/v1/traces", "/api/public/traces/",
                "/api/public/v2/observations") \
            if self.product == "langfuse" else ("/runs",)
        return method in ("GET", "POST", "DELETE") and path.startswith(tuple(self.prefix + p for p in ours))

    # -- the API ---------------------------------------------------------------------------------------------------
    def _authorised(self, headers: Any) -> bool:
        if self.product == "langfuse":
            pair = f"{self.keys[0]}:{self.keys[1]}".encode()
            return headers.get("Authorization", "") == "Basic " + base64.b64encode(pair).decode()
        return headers.get("X-Api-Key", "") == self.keys[0]

    def _ingest(self, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.bodies.append(body)
            if self.behaviour == "throttle" and self.throttles > 0:
                self.throttles -= 1
                return 429, {"Retry-After": self.retry_after}, {"message": "rate limit exceeded"}
        now = time.monotonic()
        if path.endswith("/otel/v1/traces"):
            spans = [s for rs in body.get("resourceSpans", []) for ss in rs.get("scopeSpans", [])
                     for s in ss.get("spans", [])]
            if self.behaviour == "partial":
                return 200, {}, {"partialSuccess": {"rejectedSpans": len(spans), "errorMessage": "invalid span"}}
            for span in spans:
                self._keep(str(span.get("traceId")), now)
            return 200, {}, {}
        if path.endswith("/ingestion"):
            successes, errors = [], []
            for event in body.get("batch", []):
                if self.behaviour == "partial":
                    errors.append({"id": event.get("id"), "status": 400, "message": "Invalid request data",
                                   "error": "body.timestamp: invalid"})
                    continue
                if event.get("type") == "trace-create":
                    self._keep(str(event["body"]["id"]), now)
                successes.append({"id": event.get("id"), "status": 201})
            return 207, {}, {"successes": successes, "errors": errors}
        if self.behaviour == "partial":  # LangSmith: a run it cannot validate
            return 422, {}, {"detail": "run is invalid"}
        self._keep(str(body.get("id")), now)
        return 202, {}, {"message": "Run created"}

    def _keep(self, ident: str, now: float) -> None:
        if self.behaviour != "never":
            with self._lock:
                self.written[ident] = now

    def _visible(self, ident: str) -> bool:
        with self._lock:
            at = self.written.get(ident)
        return at is not None and time.monotonic() - at >= self.visible_after

    def _read(self, ident: str) -> tuple[int, Any]:
        if not self._visible(ident):
            return 404, {"message": f"Trace {ident} not found within authorized project"}
        return 200, {"id": ident, "name": "readiness-canary", "observations": []}

    def _observations(self, query: str) -> tuple[int, Any]:
        ident = parse_qs(query).get("traceId", [""])[0]
        rows = [{"id": "0" * 16, "traceId": ident, "type": "SPAN", "name": "readiness-canary"}] \
            if self._visible(ident) else []
        return 200, {"data": rows, "meta": {}}

    def _delete(self, ident: str) -> tuple[int, Any]:
        if self.behaviour == "delete-fails":
            return 500, {"message": "Internal Server Error"}
        with self._lock:
            self.deleted.append(ident)
            self.written.pop(ident, None)
        return 200, {"message": "Trace deleted successfully"}

    def route(self, method: str, path: str, headers: Any, raw: bytes, query: str = ""
              ) -> tuple[int, dict[str, str], Any]:
        if method == "GET" and path == f"{self.prefix}/api/public/health":
            return 200, {}, {"status": "OK", "version": self.version}
        if not self._authorised(headers):
            sent = headers.get("Authorization") or headers.get("X-Api-Key") or ""
            return 401, {}, {"message": f"Invalid credentials: {sent!s} {_decoded(sent)}"}
        base = self.prefix + ("/api/public/traces/" if self.product == "langfuse" else "/runs/")
        ingest = {f"{self.prefix}/api/public/ingestion", f"{self.prefix}/api/public/otel/v1/traces"} \
            if self.product == "langfuse" else {f"{self.prefix}/runs"}
        if method == "POST" and path in ingest:
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return 400, {}, {"message": "invalid JSON"}
            return self._ingest(path, body)
        if self.product == "langfuse" and method == "GET" and path == f"{self.prefix}/api/public/v2/observations":
            status, answer = self._observations(query)
            return status, {}, answer
        if path.startswith(base) and method in ("GET", "DELETE"):
            ident = path[len(base):]
            if method == "GET":
                status, answer = self._read(ident)
                return status, {}, answer
            if self.product == "langfuse":
                status, answer = self._delete(ident)
                return status, {}, answer
        return 404, {}, {"message": "not found"}

    # -- serving ---------------------------------------------------------------------------------------------------
    def answer(self, request: BaseHTTPRequestHandler) -> None:
        """Read one request from ``request`` and answer it (this server's handler, or the demo stub's)."""
        path, _, query = request.path.partition("?")
        raw = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        with self._lock:
            self.requests.append((request.command, path))
        if (self.behaviour, request.command) in (("freeze", "POST"), ("delete-hangs", "DELETE")):
            self._release.wait(120)  # never answers (until the test stops the server)
            request.close_connection = True
            return
        status, extra, answer = self.route(request.command, path, request.headers, raw, query)
        body = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        for key, value in extra.items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                api.answer(self)

            do_GET = do_POST = do_DELETE = _serve  # noqa: N815 - the stdlib's names

        return Handler

    def start(self) -> ProductApi:
        self.server = _Server((self.host, self.port), self._handler())
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                         name=f"product-api-{self.product}").start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> ProductApi:
        return self if self.server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _decoded(header: str) -> str:
    try:
        return base64.b64decode(header.split()[-1]).decode() if header.startswith("Basic ") else ""
    except (ValueError, IndexError):
        return ""
