"""Security headers, the HTTPS redirect, the body-size limit and the application's endpoints, through a real nginx
in front of the application stubs (tests/fixtures_nginx.py).

Over 400 lines: the http section's items against one nginx setup, both verdicts each."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from checklists import checklist_with
from fixtures_nginx import TOKEN, WebStack
from helpers import audit, write_yaml
from servers import BlackHole, TcpStub, free_port

from readiness.demo.appstub import AppStub

pytest_plugins = ["fixtures_nginx"]  # the session's nginx + application stubs (web_stack)

URL_PW = "url-pw-5c0ffee"
APP = ["app.liveness", "app.readiness", "app.metrics-protected"]


def one(tmp_path: Path, targets: dict[str, Any], item: str, **kw: Any) -> Any:
    results, _ = audit(tmp_path, targets, [item], **kw)
    return results[item]


# --- headers, redirect, body size ----------------------------------------------------------------------------------

def test_security_headers_pass_on_the_good_proxy_and_fail_on_the_bad(web_stack: WebStack, tmp_path: Path) -> None:
    r = one(tmp_path, web_stack.http(web_stack.good), "network.security-headers", preset="langsight")
    assert r.status == "pass", r.message
    assert "max-age=31536000; includeSubDomains" in r.message
    r = one(tmp_path, web_stack.http(web_stack.bad), "network.security-headers", preset="langsight")
    assert r.status == "fail"
    for missing in ("no Strict-Transport-Security", "no x-content-type-options", "no x-frame-options",
                    "no referrer-policy"):
        assert missing in r.message
    results, _ = audit(tmp_path, web_stack.http(web_stack.good), ["network.security-headers", "app.liveness"],
                       preset="langfuse")
    r = results["network.security-headers"]
    assert r.status == "skipped" and "langsight only" in r.message


def test_a_short_hsts_fails_against_a_longer_minimum(web_stack: WebStack, tmp_path: Path) -> None:
    longer = checklist_with(tmp_path, {"network.security-headers": {"hsts_min_age": 63072000}})
    r = one(tmp_path, web_stack.http(web_stack.good), "network.security-headers", preset="langsight",
            checklist=longer)
    assert r.status == "fail" and "HSTS max-age 31536000 is below 63072000" in r.message


def test_https_redirect_passes_with_301_and_fails_when_plain_http_serves(web_stack: WebStack, tmp_path: Path) -> None:
    r = one(tmp_path, web_stack.http(web_stack.good), "network.https-redirect")
    assert r.status == "pass", r.message
    assert f"answers 301 to https://127.0.0.1:{web_stack.good.https_port}/" in r.message
    r = one(tmp_path, web_stack.http(web_stack.bad), "network.https-redirect")
    assert r.status == "fail" and "answers 200 over plain HTTP instead of redirecting" in r.message
    closed = web_stack.http(web_stack.good, http_url=f"http://127.0.0.1:{free_port()}/")
    r = one(tmp_path, closed, "network.https-redirect")
    assert r.status == "error" and "connection refused" in r.message


def test_body_size_is_read_from_the_headers_alone_on_real_nginx(web_stack: WebStack, tmp_path: Path) -> None:
    before = len(web_stack.healthy.posted)
    r = one(tmp_path, web_stack.http(web_stack.good), "network.body-size")
    assert r.status == "pass", r.message
    assert "answers 100 Continue to the headers of a 25.0 MiB POST" in r.message and r.evidence["sent"] == 0
    r = one(tmp_path, web_stack.http(web_stack.bad), "network.body-size")
    assert r.status == "fail" and "refuses the headers of a 25.0 MiB POST with 413" in r.message, r.message
    assert web_stack.healthy.posted[before:] == []  # nginx never passed a request on: no body reached the app


def test_sending_the_body_is_opt_in_twice(web_stack: WebStack, tmp_path: Path) -> None:
    send = checklist_with(tmp_path, {"network.body-size": {"send_body": True}})
    r = one(tmp_path, web_stack.http(web_stack.good), "network.body-size", checklist=send)
    assert r.status == "skipped" and "does not allow writes (allow_writes: true)" in r.message
    before = len(web_stack.healthy.posted)
    r = one(tmp_path, web_stack.http(web_stack.good, allow_writes=True), "network.body-size", checklist=send)
    assert r.status == "pass", r.message
    assert "POST of 25.0 MiB" in r.message and "answered 202, not 413" in r.message
    assert web_stack.healthy.posted[before:] == [25 * 1024 * 1024]  # the application got the whole body
    r = one(tmp_path, web_stack.http(web_stack.bad, allow_writes=True), "network.body-size", checklist=send)
    assert r.status == "fail" and "refused with 413" in r.message
    assert r.evidence["sent"] < 25 * 1024 * 1024  # the early answer was read, the rest not sent


class Counting(TcpStub):
    """Reads a request's headers, answers ``100 Continue`` (or nothing, ``honour=False``) and counts every byte the
    client sends after the headers; answers 202 once a whole body came."""

    def __init__(self, honour: bool = True):
        self.honour, self.after_headers, self.requests = honour, 0, 0
        super().__init__()

    def handle(self, conn: Any) -> None:
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    break
                data += more
            head, _, rest = data.partition(b"\r\n\r\n")
            self.requests += 1
            self.after_headers += len(rest)
            length = int(next((line.split(b":", 1)[1] for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), b"0"))
            if self.honour:
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            while self.after_headers < length:
                more = conn.recv(1 << 20)
                if not more:
                    break
                self.after_headers += len(more)
            if self.after_headers >= length:
                conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass
        finally:
            conn.close()


def test_by_default_no_body_byte_is_sent(tmp_path: Path) -> None:
    server = Counting()
    try:
        r = one(tmp_path, {"http": {"base_url": f"http://127.0.0.1:{server.port}/"}}, "network.body-size")
    finally:
        server.close()
    assert r.status == "pass", r.message
    assert server.requests == 1 and server.after_headers == 0


def test_a_server_that_waits_for_the_body_leaves_the_size_undecided(tmp_path: Path) -> None:
    server = Counting(honour=False)
    try:
        r = one(tmp_path, {"http": {"base_url": f"http://127.0.0.1:{server.port}/"}}, "network.body-size",
                timeout=1.5)
    finally:
        server.close()
    assert r.status == "error" and "Expect: 100-continue" in r.message, r.message
    assert server.after_headers == 0


# --- the application's endpoints --------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset, paths", [
    ("langsight", ["/api/liveness", "/api/readiness"]),
    ("langfuse", ["/api/public/health", "/api/public/ready"]),
    ("langsmith", ["/health", "/health"]),
])
def test_health_and_readiness_per_preset(web_stack: WebStack, tmp_path: Path, preset: str, paths: list[str]) -> None:
    results, _ = audit(tmp_path, web_stack.http(web_stack.good), APP[:2], preset=preset)
    for item, path in zip(APP[:2], paths, strict=True):
        assert results[item].status == "pass", results[item].message
        assert f"{path} 200 in" in results[item].message
    if preset == "langfuse":  # the worker's own health endpoint, on worker_url
        checked = [c["url"] for c in results["app.liveness"].evidence["checked"]]
        assert checked[-1] == f"{web_stack.healthy.url}/api/health"
    results, _ = audit(tmp_path, web_stack.http(web_stack.bad), APP[:2], preset=preset)
    for item in APP[:2]:
        assert results[item].status == "fail", results[item].message
    if preset == "langsight":
        assert "answered 500" in results["app.liveness"].message
        assert "answered 503" in results["app.readiness"].message and "not ready" in results["app.readiness"].message
    if preset == "langfuse":  # 200 whose body says degraded is not healthy
        assert "answered 200 with status 'degraded'" in results["app.liveness"].message


def test_a_slow_or_huge_health_answer(tmp_path: Path) -> None:
    slow = AppStub("healthy", delay=0.3).start()
    try:
        tight = checklist_with(tmp_path, {"app.liveness": {"path": "/api/liveness", "max_latency_ms": 100}})
        r = one(tmp_path, {"http": {"base_url": slow.url}}, "app.liveness", checklist=tight)
        assert r.status == "fail" and "(more than 100 ms)" in r.message
    finally:
        slow.stop()
    endless = AppStub("healthy").start()
    try:
        huge = checklist_with(tmp_path, {"app.liveness": {"path": "/huge"}})
        r = one(tmp_path, {"http": {"base_url": endless.url}}, "app.liveness", checklist=huge)
        assert r.status == "pass", r.message
        assert len(r.evidence["checked"][0]["body"]) <= 200
        assert endless.huge_sent < 64 * 1024 * 1024  # the client stopped reading after its bound
    finally:
        endless.stop()


def test_metrics_must_refuse_without_the_token_and_accept_it(web_stack: WebStack, tmp_path: Path) -> None:
    r = one(tmp_path, web_stack.http(web_stack.good), "app.metrics-protected")
    assert r.status == "pass", r.message
    assert "is not served without a token (404) and serves metrics with metrics_token" in r.message
    no_token = web_stack.http(web_stack.good)
    del no_token["http"]["metrics_token"]
    r = one(tmp_path, no_token, "app.metrics-protected")
    assert r.status == "pass" and "no metrics_token configured" in r.message
    refused = web_stack.http(web_stack.good, metrics_token="wrong-token-123")
    refused_path = checklist_with(tmp_path, {"app.metrics-protected": {"token_header": "X-Other"}})
    r = one(tmp_path, web_stack.http(web_stack.good), "app.metrics-protected", checklist=refused_path)
    assert r.status == "fail" and "also the configured metrics_token (404)" in r.message, r.message
    r = one(tmp_path, refused, "app.metrics-protected")
    assert r.status == "fail" and "also the configured metrics_token (401)" in r.message
    r = one(tmp_path, web_stack.http(web_stack.bad), "app.metrics-protected")
    assert r.status == "fail" and "serves Prometheus metrics to anyone" in r.message


# --- errors ----------------------------------------------------------------------------------------------------------

@pytest.fixture
def hole() -> Iterator[BlackHole]:
    h = BlackHole()
    yield h
    h.close()


def test_dns_refused_tls_and_timeout_failures_are_errors_with_the_reason(web_stack: WebStack, hole: BlackHole,
                                                                          tmp_path: Path) -> None:
    cases = {
        "https://no-such-host.invalid/": "DNS lookup failed",
        f"https://127.0.0.1:{free_port()}/": "connection refused",
        f"https://127.0.0.1:{web_stack.good.http_port}/": "TLS handshake with",
        f"https://127.0.0.1:{hole.port}/": "did not answer in time",
    }
    for url, reason in cases.items():
        items = ["app.liveness", "network.body-size"]
        results, _ = audit(tmp_path, {"http": {"base_url": url}}, items, timeout=1.5)
        for item in items:
            r = results[item]
            assert r.status == "error", (url, item, r.message)
            assert reason in r.message or (reason == "did not answer in time" and "timed out" in r.message), \
                (url, item, r.message)


def test_the_metrics_token_appears_in_no_report_format(web_stack: WebStack, tmp_path: Path) -> None:
    targets = web_stack.http(web_stack.good, metrics_token="${METRICS_TOKEN}",
                             worker_url=f"http://auditor:{URL_PW}@127.0.0.1:{web_stack.healthy.port}")
    write_yaml(tmp_path / "targets.yaml", {"preset": "langsight", **targets})
    help_text = subprocess.run([sys.executable, "-m", "readiness", "audit", "--help"], capture_output=True,
                               text=True, timeout=60).stdout
    formats = [f for f in ("json", "html", "junit", "markdown", "sarif", "prometheus") if f"--{f} " in help_text]
    assert {"json", "html", "junit", "markdown"} <= set(formats)
    outs = {fmt: tmp_path / f"report.{fmt}" for fmt in formats}
    argv = [sys.executable, "-m", "readiness", "audit", "-t", str(tmp_path / "targets.yaml"), "--only", "app",
            "--only", "network.security-headers", "--timeout", "5",
            *[a for fmt, path in outs.items() for a in (f"--{fmt}", str(path))]]
    env = {**__import__("os").environ, "METRICS_TOKEN": TOKEN}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    assert "serves metrics with metrics_token" in proc.stdout  # the token was really sent and accepted
    for text in (proc.stdout, proc.stderr, *(p.read_text() for p in outs.values())):
        assert TOKEN not in text and URL_PW not in text


def test_http_secrets_and_config_problems() -> None:
    from readiness.clients.http import config_problems, secrets

    assert secrets({"base_url": "https://u:p%2Fw@h/", "metrics_token": "tok-1", "worker_url": "http://T0K@w:3030"}) \
        == {"p%2Fw", "p/w", "tok-1", "T0K"}
    assert secrets({"base_url": "https://h/", "metrics_token": None}) == set()
    problems = dict(config_problems({"base_url": "observability.example.com", "worker_url": "ftp://w/",
                                     "http_url": "https://u:SECRETPART@h:port/"}))
    assert "http:// or https://" in problems["base_url"] and "ftp://" in problems["worker_url"]
    assert "not a valid URL" in problems["http_url"] and "SECRETPART" not in problems["http_url"]
    assert config_problems({"base_url": "https://h:8443/x"}) == []


def test_a_checklist_cannot_make_the_http_probes_pass_by_misuse(web_stack: WebStack, tmp_path: Path) -> None:
    misuse = {"app.liveness": {"path": "/api/liveness", "status": 500}, "network.https-redirect": {"statuses": [200]},
              "network.body-size": {"size": "0"}, "network.tls-versions": {"refused": [], "accepted": ["TLSv1.2"]},
              "network.internal-latency": {"percentile": 150}}
    checklist = checklist_with(tmp_path, misuse)
    targets = {**web_stack.http(web_stack.bad), "redis": {"url": f"redis://127.0.0.1:{web_stack.healthy.port}/0"}}
    results, _ = audit(tmp_path, targets, list(misuse), checklist=checklist)
    for item in misuse:
        assert results[item].status == "error", (item, results[item].message)


class Garbage(TcpStub):
    """Answers every connection with ``reply`` (not HTTP, or HTTP with an endless header) and closes."""

    def __init__(self, reply: bytes):
        self.reply = reply
        super().__init__()

    def handle(self, conn: Any) -> None:
        try:
            conn.settimeout(2)
            conn.recv(65536)
            conn.sendall(self.reply)
        except OSError:
            pass
        finally:
            conn.close()


@pytest.mark.parametrize("reply", [bytes(range(256)) * 64,
                                   b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 200_000 + b"\r\n\r\n{}"])
def test_a_server_that_answers_garbage_is_an_error_never_a_pass(reply: bytes, tmp_path: Path) -> None:
    server = Garbage(reply)
    try:
        results, _ = audit(tmp_path, {"http": {"base_url": f"http://127.0.0.1:{server.port}/"}}, APP, timeout=3)
    finally:
        server.close()
    for item in APP:
        assert results[item].status == "error", (item, results[item].message)
        assert "did not answer valid HTTP" in results[item].message


def test_conflicting_repeated_security_headers_fail(web_stack: WebStack, tmp_path: Path) -> None:
    from readiness.demo.nginx import GOOD_HEADERS

    r = _security_headers(web_stack, tmp_path, "twice", (*GOOD_HEADERS, ("X-Frame-Options", "SAMEORIGIN")))
    assert r.status == "fail" and "x-frame-options is 'DENY, SAMEORIGIN'" in r.message, r.message


def _security_headers(web_stack: WebStack, tmp_path: Path, name: str, headers: tuple[tuple[str, str], ...]) -> Any:
    """network.security-headers against a real nginx in front of the healthy app, sending ``headers``."""
    from readiness.demo.nginx import NginxSpec, make_cert, start_nginx

    cert = make_cert(web_stack.ca, tmp_path, name, ("127.0.0.1",), 90)
    nginx = start_nginx(NginxSpec(cert, web_stack.healthy.url, headers=headers), tmp_path / f"nginx-{name}")
    try:
        return one(tmp_path, {"http": {"base_url": f"https://127.0.0.1:{nginx.https_port}/",
                                       "ca_file": str(web_stack.ca.cert)}}, "network.security-headers",
                   preset="langsight")
    finally:
        nginx.stop()


@pytest.mark.parametrize("first", ["max-age=31536000", "max-age=31536000; max-age=0; includeSubDomains"])
def test_a_second_hsts_header_cannot_lend_the_first_what_browsers_read(first: str, web_stack: WebStack,
                                                                         tmp_path: Path) -> None:
    # browsers read the first header only (RFC 6797 8.1) and ignore one with a repeated directive (6.1)
    from readiness.demo.nginx import GOOD_HEADERS

    r = _security_headers(web_stack, tmp_path, "hsts", (("Strict-Transport-Security", f'"{first}"'), *GOOD_HEADERS))
    assert r.evidence["headers"]["strict-transport-security"].startswith(first + ", "), r.evidence
    assert r.status == "fail", r.message
    assert "HSTS lacks includeSubDomains" in r.message or "appears twice" in r.message, r.message


# --- the metrics endpoint: redirects, server errors, other hosts ---------------------------------------------------

class Recorder:
    """Plays any endpoint: every GET answers ``status`` (with ``location``) and is recorded with its headers."""

    def __init__(self, host: str, status: int = 200, location: str = "", body: bytes = b"# TYPE x counter\nx 1\n"):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.seen: list[dict[str, str]] = []
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                rec.seen.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        import threading

        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_metrics_behind_a_redirect_is_judged_where_it_lands(web_stack: WebStack, tmp_path: Path) -> None:
    from readiness.demo.nginx import NginxSpec, make_cert, start_nginx

    cert = make_cert(web_stack.ca, tmp_path, "open-metrics", ("127.0.0.1",), 90)
    nginx = start_nginx(NginxSpec(cert, web_stack.failing.url), tmp_path / "nginx-open-metrics")
    try:  # plain HTTP answers 301 to https, where /metrics is open to anyone
        targets = {"http": {"base_url": f"http://127.0.0.1:{nginx.http_port}/", "ca_file": str(web_stack.ca.cert)}}
        r = one(tmp_path, targets, "app.metrics-protected")
    finally:
        nginx.stop()
    assert r.status == "fail" and "serves Prometheus metrics to anyone" in r.message, r.message
    assert r.evidence["redirects"] == [f"301 https://127.0.0.1:{nginx.https_port}/metrics"]


def test_a_dead_backend_behind_the_proxy_decides_nothing(web_stack: WebStack, tmp_path: Path) -> None:
    from readiness.demo.nginx import NginxSpec, make_cert, start_nginx

    cert = make_cert(web_stack.ca, tmp_path, "dead", ("127.0.0.1",), 90)
    nginx = start_nginx(NginxSpec(cert, f"http://127.0.0.1:{free_port()}"), tmp_path / "nginx-dead")
    try:  # nginx answers 502: nobody behind it
        targets = {"http": {"base_url": f"https://127.0.0.1:{nginx.https_port}/", "ca_file": str(web_stack.ca.cert)}}
        r = one(tmp_path, targets, "app.metrics-protected")
    finally:
        nginx.stop()
    assert r.status == "error" and "answers 502 without a token: a server error" in r.message, r.message
    unavailable = Recorder("127.0.0.1", status=503, body=b'{"detail":"metrics token not configured"}')
    try:  # LangSight answers 503 when no token is configured in the application
        r = one(tmp_path, {"http": {"base_url": f"http://127.0.0.1:{unavailable.port}/"}}, "app.metrics-protected")
    finally:
        unavailable.close()
    assert r.status == "error" and "answers 503 without a token" in r.message, r.message


def test_a_redirect_to_another_host_is_not_followed_and_gets_no_token(tmp_path: Path) -> None:
    elsewhere = Recorder("127.0.0.2")  # another host, serving metrics to anyone
    here = Recorder("127.0.0.1", status=302, location=f"http://127.0.0.2:{elsewhere.port}/metrics")
    try:
        targets = {"http": {"base_url": f"http://127.0.0.1:{here.port}/", "metrics_token": TOKEN}}
        r = one(tmp_path, targets, "app.metrics-protected")
    finally:
        here.close()
        elsewhere.close()
    assert r.status == "error" and "redirects (302 to http://127.0.0.2:" in r.message, r.message
    assert elsewhere.seen == [] and len(here.seen) == 1 and "authorization" not in here.seen[0]


@pytest.mark.parametrize("path", ["http://127.0.0.2:9/metrics", "//127.0.0.2/metrics", "http:127.0.0.2/metrics",
                                  "https://elsewhere.example/x", "/\\elsewhere.example/x"])
def test_a_path_that_names_another_host_is_refused_before_anything_runs(path: str, tmp_path: Path) -> None:
    checklist = checklist_with(tmp_path, {"app.metrics-protected": {"path": path}})
    proc = subprocess.run([str(Path(sys.executable).parent / "readiness"), "validate", "-c", checklist],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = next(n for n, text in enumerate(Path(checklist).read_text().splitlines(), 1)
                if "id: app.metrics-protected" in text)
    assert f"{checklist}:" in proc.stderr and "path must be a path on the target" in proc.stderr, proc.stderr
    assert re.search(rf"{re.escape(checklist)}:{line + 1}\d*:", proc.stderr) or \
        re.search(rf"{re.escape(checklist)}:\d+:\d+: item 'app.metrics-protected'", proc.stderr), proc.stderr


@pytest.mark.parametrize("path", ["http://127.0.0.2:9/metrics", "//127.0.0.2/metrics", "http:127.0.0.2/metrics"])
def test_the_client_refuses_a_path_that_leaves_the_origin(path: str) -> None:
    from readiness.clients.http import HttpHandle
    from readiness.context import TargetUnavailable

    handle = HttpHandle({"base_url": "https://127.0.0.1:8443/", "metrics_token": TOKEN}, 2)
    with pytest.raises(TargetUnavailable, match="must be a path on the target"):
        handle.url(path)
    assert handle.url("/metrics") == "https://127.0.0.1:8443/metrics"


# --- one total deadline per request ---------------------------------------------------------------------------------

class Trickle(TcpStub):
    """Answers every request with a status line and headers that never end, one byte every ``every`` seconds;
    records when the client gave up (the write failed)."""

    threaded = True

    def __init__(self, every: float = 0.1):
        self.every = every
        self.connected: list[float] = []
        self.gave_up: list[float] = []
        super().__init__()

    def handle(self, conn: Any) -> None:
        self.connected.append(time.monotonic())
        payload = itertools.chain(b"HTTP/1.1 200 OK\r\n", itertools.cycle(b"X-Slow: a\r\n"))
        try:
            conn.recv(65536)
            for byte in payload:
                if self.stop:
                    return
                conn.sendall(bytes([byte]))
                time.sleep(self.every)
        except OSError:
            self.gave_up.append(time.monotonic())
        finally:
            conn.close()


def test_a_trickling_server_cannot_hold_a_request_past_its_deadline(tmp_path: Path) -> None:
    from readiness.clients.http import HttpHandle
    from readiness.context import TargetUnavailable

    server = Trickle()
    try:
        handle = HttpHandle({"base_url": f"http://127.0.0.1:{server.port}/"}, 1.0)
        started = time.monotonic()
        with pytest.raises(TargetUnavailable, match="did not answer in time"):
            handle.get(handle.url("/api/liveness"))
        assert time.monotonic() - started < 1.5
        started = time.monotonic()
        r = one(tmp_path, {"http": {"base_url": f"http://127.0.0.1:{server.port}/"}}, "app.metrics-protected",
                timeout=1.5)
        assert r.status == "error" and time.monotonic() - started < 3.5, r.message
        started = time.monotonic()  # the raw-socket path (the POST headers of the body-size item) too
        r = one(tmp_path, {"http": {"base_url": f"http://127.0.0.1:{server.port}/"}}, "network.body-size",
                timeout=1.5)
        assert r.status == "error" and time.monotonic() - started < 3.5, r.message
        deadline = time.monotonic() + 3
        while len(server.gave_up) < len(server.connected) and time.monotonic() < deadline:
            time.sleep(0.05)
        # every connection was dropped by the client, each within about its timeout
        assert len(server.gave_up) == len(server.connected) == 3
        assert all(end - start < 2.5 for start, end in zip(server.connected, server.gave_up, strict=True))
    finally:
        server.close()
