"""HTTP(S) to the product's public endpoint: bounded requests, TLS handshakes of one version, the certificate chain.

    http: {base_url: "https://observability.example.com", ca_file: ..., metrics_token: ..., worker_url: ...}

Every request has one total deadline (DNS, connect, TLS, headers, body: readiness.clients.deadline), follows a
redirect only when asked and only on the same host, asks for an uncompressed body and reads at most ``max_body``
bytes of it, so a huge, endless or trickling answer costs no more than that.
This module holds the request loop; the handle's other faces live beside it: URLs and origins (http_urls), TLS
handshakes and certificates (tls), the body-size POST (http_body), the writes() guard (guard).  h11 (the HTTP/1.1
parser under httpx) is imported inside functions only.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

from readiness.clients import http_body, tls
from readiness.clients.deadline import Deadline
from readiness.clients.guard import WriteGuard
from readiness.clients.guard import WriteRefused as WriteRefused  # callers catch it from here
from readiness.clients.http_body import BodyAnswer as BodyAnswer  # the records probes and tests read, from here
from readiness.clients.http_urls import Origin, basic_auth, may_follow, origin_key, parse_origin
from readiness.clients.tls import Certificate as Certificate
from readiness.clients.tls import Handshake as Handshake
from readiness.clients.tls import can_offer as can_offer
from readiness.clients.tls import first_line
from readiness.errors import TargetUnavailable
from readiness.redact import secret_values
from readiness.urlpath import path_problem

MAX_BODY = 64 * 1024
_LOCK = threading.Lock()
_URL_FIELDS = ("base_url", "http_url", "worker_url")
_KEY_FIELDS = ("metrics_token", "public_key", "secret_key", "api_key")  # credentials: masked everywhere
_READS = ("GET", "HEAD")


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: Mapping[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes
    truncated: bool  # the body was longer than what was read
    elapsed: float  # seconds from sending the request to the end of what was read
    location: str | None = None
    redirects: tuple[str, ...] = ()  # "301 https://host/path" for each redirect followed

    def text(self, limit: int = 200) -> str:
        return self.body[:limit].decode("utf-8", "replace")


def secrets(config: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for name in _KEY_FIELDS:
        value = config.get(name)
        if isinstance(value, str) and value:
            found.add(value)
    pk, sk = config.get("public_key"), config.get("secret_key")
    if isinstance(pk, str) and isinstance(sk, str) and sk:  # Langfuse's basic auth, as a server may echo it
        import base64

        found.add(base64.b64encode(f"{pk}:{sk}".encode()).decode())
    for name in _URL_FIELDS:
        value = config.get(name)
        if isinstance(value, str):
            found |= secret_values(value)  # https://user:PW@host and the https://TOKEN@host form
    return {s for s in found if s}


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for name in _URL_FIELDS:
        value = config.get(name)
        if value is None:
            continue
        try:
            parse_origin(str(value), name)
        except TargetUnavailable as exc:
            problems.append((name, str(exc)))
    return problems


class HttpHandle:
    """One target: its origin, verification settings, and counters for the benchmark."""

    opened_total = 0  # connections opened by any handle in this process (for the benchmark)

    def __init__(self, config: Mapping[str, Any], timeout: float):
        self.config, self.timeout = config, timeout
        self.origin = parse_origin(str(config["base_url"]))
        self.base_url = str(config["base_url"]).strip()
        self.connections = 0
        self.guard = WriteGuard("http", config.get("allow_writes") is True)

    @property
    def allow_writes(self) -> bool:
        return self.guard.allow_writes

    def writes(self) -> AbstractContextManager[None]:
        """Let this thread send requests that write: only with ``allow_writes: true`` in the target (the item's own
        opt-in is the caller's to check)."""
        return self.guard.writes()

    # --- URLs -------------------------------------------------------------------------------------------------
    def url(self, path: str, base: str | None = None) -> str:
        """``path`` under ``base`` (default base_url); a path that would leave that origin is refused."""
        problem = path_problem(path)
        if problem:
            raise TargetUnavailable(problem)
        root = base or self.base_url
        joined = urljoin(root if root.endswith("/") else root + "/", path.lstrip("/"))
        if origin_key(joined) != origin_key(root):  # belt and braces: the join must stay on the origin
            raise TargetUnavailable(f"path {path!r} does not stay on {self.shown(root)}")
        return joined

    def setting(self, name: str) -> str | None:
        value = self.config.get(name)
        return str(value) if value else None

    def shown(self, url: str) -> str:
        """A URL fit for a message: no userinfo, no query."""
        o = urlsplit(url)
        host = o.hostname or ""
        netloc = f"{host}:{o.port}" if o.port else host
        return f"{o.scheme}://{netloc}{o.path or '/'}"

    # --- HTTP ---------------------------------------------------------------------------------------------------
    def _tls_context(self) -> ssl.SSLContext:
        if self.config.get("verify", True) is False:
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            return ctx
        ca = self.config.get("ca_file")
        return ssl.create_default_context(cafile=str(ca) if ca else None)

    def _open(self, o: Origin, deadline: Deadline) -> socket.socket:
        """A connection to ``o`` (TLS when https), made within ``deadline``."""
        self._count()
        sock = deadline.connect(o.host, o.port)
        if not o.https:
            return sock
        try:
            tls = self._tls_context().wrap_socket(sock, server_hostname=o.host, do_handshake_on_connect=False)
            deadline.handshake(tls)
            return tls
        except BaseException:
            sock.close()
            raise

    def get(self, url: str, headers: Mapping[str, str] | None = None, max_body: int = MAX_BODY,
            timeout: float | None = None, follow: int = 0) -> Response:
        """One GET within a total deadline (connect, TLS, headers, body), at most ``max_body`` bytes of the body.

        ``follow`` redirects are followed when they stay on the host (same origin, or http -> https); the headers
        (a token) therefore never go to another host.  A redirect that leaves is returned as it is."""
        limit = min(timeout or self.timeout, self.timeout)
        deadline = Deadline(limit, f"GET {self.shown(url)}")
        started = time.monotonic()
        hops: list[str] = []
        while True:
            r = self._exchange("GET", url, headers or {}, None, max_body, deadline)
            target = urljoin(url, r.location) if r.location and 300 <= r.status < 400 else None
            if target is None or len(hops) >= follow or not may_follow(url, target):
                return replace(r, elapsed=time.monotonic() - started, redirects=tuple(hops))
            hops.append(f"{r.status} {self.shown(target)}")
            url = target

    def send(self, method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
             max_body: int = MAX_BODY, timeout: float | None = None) -> Response:
        """One request of any method within a total deadline; no redirect is followed (a write is never replayed
        elsewhere).  Anything but GET/HEAD is a write: refused outside ``writes()``."""
        method = method.upper()
        if method not in _READS or body is not None:  # a body makes any method a write
            self.guard.check(f"{method} {self.shown(url)}")
        limit = min(timeout or self.timeout, self.timeout)
        deadline = Deadline(limit, f"{method} {self.shown(url)}")
        return self._exchange(method, url, headers or {}, body, max_body, deadline)

    def _exchange(self, method: str, url: str, headers: Mapping[str, str], payload: bytes | None, max_body: int,
                  deadline: Deadline) -> Response:
        import h11

        shown = self.shown(url)
        try:
            o = parse_origin(url, "URL")
            parts = urlsplit(url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            sent = {"Host": o.netloc, "Accept-Encoding": "identity", "User-Agent": "readiness-audit",
                    "Connection": "close", **basic_auth(parts), **headers}
            if payload is not None:
                sent["Content-Length"] = str(len(payload))
            started = time.monotonic()
            sock = self._open(o, deadline)
            try:
                conn = h11.Connection(h11.CLIENT)
                deadline.sendall(sock, conn.send(h11.Request(method=method, target=target,
                                                             headers=list(sent.items()))))
                if payload:
                    deadline.sendall(sock, conn.send(h11.Data(data=payload)))
                deadline.sendall(sock, conn.send(h11.EndOfMessage()))
                response = None
                body = bytearray()
                truncated = False
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        doing = "reading the body" if response is not None else "reading the headers"
                        conn.receive_data(deadline.recv(sock, 65536, doing))
                    elif isinstance(event, h11.Response):
                        response = event
                    elif isinstance(event, h11.Data):
                        body += event.data
                        if len(body) > max_body:
                            truncated = True
                            break
                    elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                        break
                if response is None:
                    raise TargetUnavailable(f"{shown} closed the connection without an HTTP answer")
                out: dict[str, str] = {}
                for key, value in response.headers:
                    k = key.decode("latin-1").lower()
                    v = value.decode("latin-1")
                    out[k] = f"{out[k]}, {v}" if k in out else v
                return Response(shown, response.status_code, out, bytes(body[:max_body]), truncated,
                                time.monotonic() - started, out.get("location"))
            finally:
                sock.close()
        except TargetUnavailable:
            raise
        except Exception as exc:
            raise explain(exc, shown) from None

    # --- raw sockets: bodies and handshakes ---------------------------------------------------------------------
    def _count(self) -> None:
        with _LOCK:
            self.connections += 1
            HttpHandle.opened_total += 1

    def _socket(self, host: str, port: int, deadline: Deadline) -> socket.socket:
        self._count()
        try:
            return deadline.connect(host, port)
        except Exception as exc:
            raise explain(exc, f"{host}:{port}") from None

    def _wrap(self, sock: socket.socket, deadline: Deadline) -> socket.socket:
        if not self.origin.https:
            return sock
        tls = self._tls_context().wrap_socket(sock, server_hostname=self.origin.host, do_handshake_on_connect=False)
        deadline.handshake(tls)
        return tls

    @contextmanager
    def _raw(self, what: str, timeout: float, wrap: bool = False) -> Iterator[tuple[socket.socket, Deadline]]:
        """A connection to the base URL's host and port (TLS wrapped when ``wrap`` and https) under one total
        deadline; closed on the way out, and any failure but our own explained as the target's."""
        o = self.origin
        deadline = Deadline(timeout, what)
        sock = self._socket(o.host, o.port, deadline)
        try:
            if wrap:
                sock = self._wrap(sock, deadline)  # the TLS socket takes over the descriptor: close that one
            yield sock, deadline
        except TargetUnavailable:
            raise
        except Exception as exc:
            raise explain(exc, f"{o.host}:{o.port}") from None
        finally:
            sock.close()

    def _post_head(self, path: str, size: int, content_type: str, expect: bool) -> bytes:
        target = urlsplit(self.url(path))
        return http_body.post_head(f"{target.path or '/'}{'?' + target.query if target.query else ''}",
                                   self.origin.netloc, size, content_type, expect)

    def ask_body(self, path: str, size: int, timeout: float, content_type: str = "application/json") -> BodyAnswer:
        """Whether the server would take a POST of ``size`` bytes, asked with the headers alone
        (``Content-Length`` and ``Expect: 100-continue``, no body; readiness.clients.http_body)."""
        if size < 1:  # Content-Length: 0 with no body to wait for is a whole (empty) POST: a write
            raise ValueError(f"ask_body asks about a body of at least 1 byte, not {size}")
        o = self.origin
        started = time.monotonic()
        head = self._post_head(path, size, content_type, expect=True)
        with self._raw(f"POST headers to {o.host}:{o.port}", timeout, wrap=True) as (sock, deadline):
            status = http_body.ask(sock, deadline, head, f"{o.host}:{o.port}", timeout)
            return BodyAnswer(status, 0, False, time.monotonic() - started, continued=status == 100)

    def send_body(self, path: str, size: int, timeout: float, content_type: str = "application/json",
                  chunk: int = 256 * 1024) -> BodyAnswer:
        """POST ``size`` bytes to ``path`` of the base URL and return the status the server answers with (a write:
        refused outside ``writes()``)."""
        self.guard.check(f"POST {self.shown(self.url(path))}")
        o = self.origin
        started = time.monotonic()
        head = self._post_head(path, size, content_type, expect=False)
        with self._raw(f"POST to {o.host}:{o.port}", timeout, wrap=True) as (sock, deadline):
            status, sent = http_body.send(sock, deadline, head, size, chunk)
            return BodyAnswer(status, sent, sent >= size, time.monotonic() - started)

    # --- TLS (readiness.clients.tls) ----------------------------------------------------------------------------
    def handshake(self, version: str, timeout: float) -> Handshake:
        """Offer exactly ``version`` to the base URL's TLS port (tls.offer)."""
        o = self.origin
        with self._raw(f"the TLS handshake with {o.host}:{o.port}", timeout) as (sock, deadline):
            return tls.offer(sock, o.host, version, deadline)

    def certificate(self, timeout: float) -> Certificate:
        """The server's certificate as a client verifying it sees it (ca_file or the system store; host name)."""
        o = self.origin
        ca = self.config.get("ca_file")
        with self._raw(f"the TLS handshake with {o.host}:{o.port}", timeout) as (sock, deadline):
            return tls.verify(sock, o.host, o.port, str(ca) if ca else None, deadline)

    def close(self) -> None:
        pass  # every exchange opens and closes its own connection


def explain(exc: BaseException, where: str) -> TargetUnavailable:
    """A request failure as one sentence: DNS, refused, TLS, timeout."""
    if isinstance(exc, TargetUnavailable):
        return exc
    text = first_line(exc)
    low = text.lower()
    cause = exc.__cause__ or exc.__context__
    chain = f"{low} {str(cause).lower()}" if cause else low
    if isinstance(exc, socket.gaierror) or "name or service not known" in chain or "nodename nor servname" in chain \
            or "temporary failure in name resolution" in chain or "no address associated" in chain:
        return TargetUnavailable(f"DNS lookup failed for {where}: {text}")
    if "refused" in chain:
        return TargetUnavailable(f"connection refused by {where}")
    if isinstance(exc, ssl.SSLError) or "ssl" in chain or "certificate" in chain or "handshake" in chain:
        hint = " (check ca_file, or verify: false for a test endpoint)" if "certificate" in chain else ""
        return TargetUnavailable(f"TLS handshake with {where} failed: {text}{hint}")
    if isinstance(exc, TimeoutError) or "timed out" in chain or "timeout" in type(exc).__name__.lower():
        return TargetUnavailable(f"{where} did not answer in time ({text})")
    if "protocolerror" in type(exc).__name__.lower():
        return TargetUnavailable(f"{where} did not answer valid HTTP ({text}): is it the right port and scheme?")
    return TargetUnavailable(f"request to {where} failed: {type(exc).__name__}: {text}")


def connect(config: dict[str, Any], timeout: float) -> HttpHandle:
    return HttpHandle(config, timeout)


def close(handle: HttpHandle) -> None:
    handle.close()

