"""HTTP(S) to the product's public endpoint: bounded requests, TLS handshakes of one version, the certificate chain.

    http: {base_url: "https://observability.example.com", ca_file: ..., metrics_token: ..., worker_url: ...}

Every request has one total deadline (DNS, connect, TLS, headers, body: readiness.clients.deadline), follows a
redirect only when asked and only on the same host, asks for an uncompressed body and reads at most ``max_body``
bytes of it, so a huge, endless or trickling answer costs no more than that.
Handshakes are made with the standard library's ``ssl``; the legacy versions are offered with OpenSSL's security
level lowered to 0, because OpenSSL 3 otherwise refuses to offer TLS 1.0/1.1 at all and a refusal would prove
nothing about the server.  h11 (the HTTP/1.1 parser under httpx) is imported inside functions only.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from readiness.clients.deadline import Deadline, DeadlineExceeded
from readiness.errors import TargetUnavailable
from readiness.redact import secret_values
from readiness.urlpath import path_problem

MAX_BODY = 64 * 1024
_LOCK = threading.Lock()
_URL_FIELDS = ("base_url", "http_url", "worker_url")
_KEY_FIELDS = ("metrics_token", "public_key", "secret_key", "api_key")  # credentials: masked everywhere
_READS = ("GET", "HEAD")
_LEGACY = {"TLSv1": b"\x03\x01", "TLSv1.1": b"\x03\x02"}


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


@dataclass(frozen=True)
class Handshake:
    accepted: bool
    version: str | None = None  # negotiated
    cipher: str | None = None
    reason: str = ""
    # the server refused this version itself (protocol_version alert, or it answered at another version); a reset
    # or a cipher mismatch is not that
    refused: bool = False


@dataclass(frozen=True)
class BodyAnswer:
    status: int
    sent: int  # body bytes written before the answer came
    complete: bool  # the whole body was sent before the server answered
    elapsed: float
    continued: bool = False  # asked with Expect: 100-continue and the server said 100 Continue


@dataclass(frozen=True)
class Certificate:
    ok: bool  # the chain verified and the name matched
    reason: str  # OpenSSL's verify message when not ok
    subject: str = ""
    issuer: str = ""
    names: tuple[str, ...] = ()
    not_after: float | None = None  # epoch seconds, the leaf
    chain_not_after: float | None = None  # the earliest expiry in the verified chain
    version: str | None = None


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def https(self) -> bool:
        return self.scheme == "https"

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.https else 80) else f"{host}:{self.port}"


def parse_origin(url: str, what: str = "base_url") -> Origin:
    """Scheme, host, port and path of an http(s) URL; the message never repeats the URL (it may hold a password)."""
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port
    except ValueError:
        raise TargetUnavailable(f"http {what} is not a valid URL (bad host or port)") from None
    if parts.scheme not in ("http", "https"):
        scheme = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise TargetUnavailable(f"http {what} must start with http:// or https:// (it has {scheme})")
    if not parts.hostname:
        raise TargetUnavailable(f"http {what} names no host (https://host[:port]/)")
    return Origin(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), parts.path or "/")


def _basic_auth(parts: Any) -> dict[str, str]:
    """Credentials in the URL (https://user:pw@host/) as HTTP Basic, as browsers and httpx send them."""
    if not parts.username:
        return {}
    import base64

    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _origin_key(url: str) -> tuple[str, str, int]:
    o = parse_origin(url, "URL")
    return o.scheme, o.host.lower(), o.port


def _may_follow(current: str, target: str) -> bool:
    """A redirect on the same origin, or the same host upgraded from http to https."""
    try:
        here, there = _origin_key(current), _origin_key(target)
    except TargetUnavailable:
        return False
    return here == there or (here[0], there[0]) == ("http", "https") and here[1] == there[1]


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


def _legacy_context(version: str, ciphers: str | None = "DEFAULT:@SECLEVEL=0") -> ssl.SSLContext:
    """A client context that offers exactly ``version`` (any certificate: only the protocol is being asked)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSVersion.TLSv1 is deprecated: that is the point
        tls = getattr(ssl.TLSVersion, version.replace(".", "_"))
        ctx.minimum_version = ctx.maximum_version = tls
    if version in _LEGACY and ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def can_offer(version: str, ciphers: str | None = "DEFAULT:@SECLEVEL=0") -> tuple[bool, str]:
    """Whether this host's OpenSSL really builds a ClientHello for ``version`` (in memory, nothing sent)."""
    try:
        out = ssl.MemoryBIO()
        obj = _legacy_context(version, ciphers).wrap_bio(ssl.MemoryBIO(), out, server_hostname="probe")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
    except (ssl.SSLError, ValueError, AttributeError) as exc:
        return False, _first_line(exc)
    hello = out.read()
    if version in _LEGACY:
        # record header (5 bytes), handshake type and length (4 bytes), then the client_version field
        if len(hello) < 11 or hello[0] != 0x16 or hello[5] != 0x01 or hello[9:11] != _LEGACY[version]:
            return False, "the ClientHello it builds does not offer that version"
    return bool(hello), "" if hello else "no ClientHello was produced"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class WriteRefused(TargetUnavailable):
    """A request that writes (any method but GET/HEAD) outside ``writes()``, or on a target without allow_writes."""


class HttpHandle:
    """One target: its origin, verification settings, and counters for the benchmark."""

    opened_total = 0  # connections opened by any handle in this process (for the benchmark)

    def __init__(self, config: Mapping[str, Any], timeout: float):
        self.config, self.timeout = config, timeout
        self.origin = parse_origin(str(config["base_url"]))
        self.base_url = str(config["base_url"]).strip()
        self.connections = 0
        self.allow_writes = config.get("allow_writes") is True
        self._local = threading.local()

    @contextmanager
    def writes(self) -> Iterator[None]:
        """Let this thread send requests that write: only with ``allow_writes: true`` in the target (the item's own
        opt-in is the caller's to check)."""
        if not self.allow_writes:
            raise WriteRefused("writes are not allowed on this http target (set allow_writes: true to opt in)")
        self._local.writing = True
        try:
            yield
        finally:
            self._local.writing = False

    # --- URLs -------------------------------------------------------------------------------------------------
    def url(self, path: str, base: str | None = None) -> str:
        """``path`` under ``base`` (default base_url); a path that would leave that origin is refused."""
        problem = path_problem(path)
        if problem:
            raise TargetUnavailable(problem)
        root = base or self.base_url
        joined = urljoin(root if root.endswith("/") else root + "/", path.lstrip("/"))
        if _origin_key(joined) != _origin_key(root):  # belt and braces: the join must stay on the origin
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
            if target is None or len(hops) >= follow or not _may_follow(url, target):
                return replace(r, elapsed=time.monotonic() - started, redirects=tuple(hops))
            hops.append(f"{r.status} {self.shown(target)}")
            url = target

    def send(self, method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
             max_body: int = MAX_BODY, timeout: float | None = None) -> Response:
        """One request of any method within a total deadline; no redirect is followed (a write is never replayed
        elsewhere).  Anything but GET/HEAD is a write: refused outside ``writes()``."""
        method = method.upper()
        if method not in _READS and not getattr(self._local, "writing", False):
            raise WriteRefused(f"{method} {self.shown(url)} is a write, sent only inside writes() (allow_writes: "
                               "true and the item's opt-in)")
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
                    "Connection": "close", **_basic_auth(parts), **headers}
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

    def _post_head(self, path: str, size: int, content_type: str, expect: bool) -> bytes:
        target = urlsplit(self.url(path))
        return (f"POST {target.path or '/'}{'?' + target.query if target.query else ''} HTTP/1.1\r\n"
                f"Host: {self.origin.netloc}\r\nUser-Agent: readiness-audit\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {size}\r\n{'Expect: 100-continue' + chr(13) + chr(10) if expect else ''}"
                "Connection: close\r\n\r\n").encode()

    def _wrap(self, sock: socket.socket, deadline: Deadline) -> socket.socket:
        if not self.origin.https:
            return sock
        tls = self._tls_context().wrap_socket(sock, server_hostname=self.origin.host, do_handshake_on_connect=False)
        deadline.handshake(tls)
        return tls

    @contextmanager
    def _posting(self, what: str, timeout: float) -> Iterator[tuple[socket.socket, Deadline]]:
        """A connection to the base URL (TLS wrapped) under one total deadline; closed on the way out, and any
        failure but our own explained as the target's."""
        o = self.origin
        deadline = Deadline(timeout, what)
        sock = self._socket(o.host, o.port, deadline)
        try:
            sock = self._wrap(sock, deadline)  # the TLS socket takes over the descriptor: close that one
            yield sock, deadline
        except TargetUnavailable:
            raise
        except Exception as exc:
            raise explain(exc, f"{o.host}:{o.port}") from None
        finally:
            sock.close()

    def ask_body(self, path: str, size: int, timeout: float, content_type: str = "application/json") -> BodyAnswer:
        """Whether the server would take a POST of ``size`` bytes, asked with the headers alone.

        ``Content-Length`` and ``Expect: 100-continue`` go out, no body: nginx and ingress-nginx answer 413 from the
        headers when the size is above their limit and ``100 Continue`` when they would read it.  The connection is
        closed as soon as either arrives, so nothing else is ever sent."""
        o = self.origin
        started = time.monotonic()
        with self._posting(f"POST headers to {o.host}:{o.port}", timeout) as (sock, deadline):
            deadline.sendall(sock, self._post_head(path, size, content_type, expect=True))
            data = b""
            try:
                while b"\r\n\r\n" not in data and len(data) < 16384:
                    more = deadline.recv(sock, 4096, "waiting for 100 Continue or a refusal")
                    if not more:
                        break
                    data += more
            except DeadlineExceeded:
                raise TargetUnavailable(f"{o.host}:{o.port} gave no answer to the POST headers within {timeout:g}s: "
                                        "it waits for the body instead of honouring Expect: 100-continue, so the "
                                        "limit cannot be read without sending it (opt in with send_body)") from None
            status = _status_of(data)
            if status is None:
                raise TargetUnavailable(f"{o.host}:{o.port} closed the connection without an HTTP answer to the "
                                        "POST headers")
            return BodyAnswer(status, 0, False, time.monotonic() - started, continued=status == 100)

    def send_body(self, path: str, size: int, timeout: float, content_type: str = "application/json",
                  chunk: int = 256 * 1024) -> BodyAnswer:
        """POST ``size`` bytes to ``path`` of the base URL and return the status the server answers with (a write:
        the body-size item sends it only when opted in).

        Sent by hand so that an early answer (a 413 before the body is through) is read, not lost in a reset."""
        o = self.origin
        started = time.monotonic()
        with self._posting(f"POST to {o.host}:{o.port}", timeout) as (sock, deadline):
            deadline.sendall(sock, self._post_head(path, size, content_type, expect=False))
            opening, closing = b'{"readiness_probe":"', b'"}'
            pad = max(0, size - len(opening) - len(closing))
            body_iter = _pieces(opening, pad, closing, chunk) if size >= len(opening) + len(closing) \
                else iter([b"x" * size])
            sent = 0
            early = b""
            for piece in body_iter:
                early, stop = _early_answer(sock)
                if stop:
                    break
                try:
                    deadline.sendall(sock, piece, f"sending the body ({sent} of {size} bytes sent)")
                except (BrokenPipeError, ConnectionResetError):
                    break  # the server stopped reading: its answer (if any) is waiting
                sent += len(piece)
            status = _read_status(sock, deadline, early)
            if status is None:
                raise TargetUnavailable(f"the server closed the connection after {sent} of {size} body bytes "
                                        "without an HTTP answer")
            return BodyAnswer(status, sent, sent >= size, time.monotonic() - started)

    def handshake(self, version: str, timeout: float) -> Handshake:
        """Offer exactly ``version`` to the base URL's TLS port; whether the server took it, refused that version
        (its protocol_version alert, or a ServerHello at another version), or failed for another reason."""
        o = self.origin
        deadline = Deadline(timeout, f"the TLS handshake with {o.host}:{o.port}")
        sock = self._socket(o.host, o.port, deadline)
        try:
            tls = _legacy_context(version).wrap_socket(sock, server_hostname=o.host, do_handshake_on_connect=False)
            try:
                deadline.handshake(tls)
            except ssl.SSLError as exc:
                reason = _first_line(exc)
                return Handshake(False, reason=reason, refused=_version_refusal(reason))
            except (ConnectionResetError, BrokenPipeError) as exc:
                return Handshake(False, reason=f"connection reset during the handshake ({_first_line(exc)})")
            except ConnectionError as exc:
                return Handshake(False, reason=f"connection lost during the handshake ({_first_line(exc)})")
            cipher = tls.cipher()
            return Handshake(True, tls.version(), cipher[0] if cipher else None)
        finally:
            sock.close()

    def certificate(self, timeout: float) -> Certificate:
        """The server's certificate as a client verifying it sees it (ca_file or the system store; host name)."""
        o = self.origin
        ca = self.config.get("ca_file")
        ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
        deadline = Deadline(timeout, f"the TLS handshake with {o.host}:{o.port}")
        sock = self._socket(o.host, o.port, deadline)
        try:
            tls = ctx.wrap_socket(sock, server_hostname=o.host, do_handshake_on_connect=False)
            try:
                deadline.handshake(tls)
            except ssl.SSLCertVerificationError as exc:
                return Certificate(False, str(exc.verify_message or _first_line(exc)))
            except ssl.SSLError as exc:
                raise TargetUnavailable(f"TLS handshake with {o.host}:{o.port} failed: {_first_line(exc)}") from None
            except DeadlineExceeded:
                raise TargetUnavailable(f"the TLS handshake with {o.host}:{o.port} did not finish within "
                                        f"{timeout:g}s") from None
            except OSError as exc:
                raise explain(exc, f"{o.host}:{o.port}") from None
            info: dict[str, Any] = dict(tls.getpeercert() or {})
            expiries: list[float] = []
            chain = getattr(getattr(tls, "_sslobj", None), "get_verified_chain", None)
            if chain is not None:
                try:
                    expiries = [ssl.cert_time_to_seconds(c.get_info()["notAfter"]) for c in chain()]
                except Exception:
                    expiries = []
            not_after = float(ssl.cert_time_to_seconds(str(info["notAfter"]))) if info.get("notAfter") else None
            names = tuple(str(v) for _, v in info.get("subjectAltName", ()))
            return Certificate(True, "", _dn(info.get("subject")), _dn(info.get("issuer")), names, not_after,
                               min(expiries) if expiries else not_after, tls.version())
        finally:
            sock.close()

    def close(self) -> None:
        pass  # every exchange opens and closes its own connection


def _dn(rdns: Any) -> str:
    try:
        return ", ".join(f"{k}={v}" for rdn in rdns or () for k, v in rdn)
    except (TypeError, ValueError):
        return ""


def _pieces(opening: bytes, pad: int, closing: bytes, chunk: int) -> Any:
    yield opening
    block = b"x" * chunk
    while pad > 0:
        n = min(chunk, pad)
        yield block[:n]
        pad -= n
    yield closing


def _early_answer(sock: socket.socket) -> tuple[bytes, bool]:
    """What the server has sent so far while the body is going out: (bytes, whether it has answered or closed).

    A readable TLS socket may only hold handshake records (TLS 1.3 session tickets): that is not an answer."""
    readable = (isinstance(sock, ssl.SSLSocket) and sock.pending()) or select.select([sock], [], [], 0)[0]
    if not readable:
        return b"", False
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        data = sock.recv(8192)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
        return b"", False
    except (ConnectionResetError, ssl.SSLError):
        return b"", True
    finally:
        sock.settimeout(timeout)
    return data, True


def _read_status(sock: socket.socket, deadline: Deadline, data: bytes = b"") -> int | None:
    while b"\r\n" not in data and len(data) < 8192:
        try:
            more = deadline.recv(sock, 4096, "reading the answer")
        except (ConnectionResetError, ssl.SSLError):
            break
        if not more:
            break
        data += more
    return _status_of(data)


def _status_of(data: bytes) -> int | None:
    line = data.split(b"\r\n", 1)[0].split()
    if len(line) >= 2 and line[0].startswith(b"HTTP/") and line[1].isdigit():
        return int(line[1])
    return None


# OpenSSL's words for "the server will not speak this version": its protocol_version alert (RFC 8446 6.2), or a
# ServerHello at a version outside what was offered
_VERSION_REFUSALS = ("alert protocol version", "unsupported protocol", "tlsv1_alert_protocol_version")


def _version_refusal(reason: str) -> bool:
    low = reason.lower()
    return any(word in low for word in _VERSION_REFUSALS)


def explain(exc: BaseException, where: str) -> TargetUnavailable:
    """A request failure as one sentence: DNS, refused, TLS, timeout."""
    if isinstance(exc, TargetUnavailable):
        return exc
    text = _first_line(exc)
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

