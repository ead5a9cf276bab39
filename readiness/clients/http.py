"""HTTP(S) to the product's public endpoint: bounded requests, TLS handshakes of one version, the certificate chain.

    http: {base_url: "https://observability.example.com", ca_file: ..., metrics_token: ..., worker_url: ...}

Every request has explicit timeouts, follows no redirect (a redirect is something the probes judge), asks for an
uncompressed body and reads at most ``max_body`` bytes of it, so a huge or endless body costs no more than that.
Handshakes are made with the standard library's ``ssl``; the legacy versions are offered with OpenSSL's security
level lowered to 0, because OpenSSL 3 otherwise refuses to offer TLS 1.0/1.1 at all and a refusal would prove
nothing about the server.  httpx is imported inside functions only.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from readiness.context import TargetUnavailable
from readiness.redact import secret_values

MAX_BODY = 64 * 1024
_LOCK = threading.Lock()
_URL_FIELDS = ("base_url", "http_url", "worker_url")
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

    def text(self, limit: int = 200) -> str:
        return self.body[:limit].decode("utf-8", "replace")


@dataclass(frozen=True)
class Handshake:
    accepted: bool
    version: str | None = None  # negotiated
    cipher: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class BodyAnswer:
    status: int
    sent: int  # body bytes written before the answer came
    complete: bool  # the whole body was sent before the server answered
    elapsed: float


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


def secrets(config: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    token = config.get("metrics_token")
    if isinstance(token, str) and token:
        found.add(token)
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


class HttpHandle:
    """One target: its origin, verification settings, and counters for the benchmark."""

    opened_total = 0  # connections opened by any handle in this process (for the benchmark)

    def __init__(self, config: Mapping[str, Any], timeout: float):
        self.config, self.timeout = config, timeout
        self.origin = parse_origin(str(config["base_url"]))
        self.base_url = str(config["base_url"]).strip()
        self.connections = 0
        self._client: Any = None

    # --- URLs -------------------------------------------------------------------------------------------------
    def url(self, path: str, base: str | None = None) -> str:
        root = base or self.base_url
        if "://" in path:
            return path
        return urljoin(root if root.endswith("/") else root + "/", path.lstrip("/"))

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
    def _verify(self) -> Any:
        if self.config.get("verify", True) is False:
            return False
        ca = self.config.get("ca_file")
        return ssl.create_default_context(cafile=str(ca)) if ca else True

    def _http(self) -> Any:
        with _LOCK:  # items of the target run in parallel threads: one client for all of them
            if self._client is None:
                self._client = self._new_client()
        return self._client

    def _new_client(self) -> Any:
        import httpx

        return httpx.Client(verify=self._verify(), timeout=httpx.Timeout(self.timeout),
                            follow_redirects=False, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0))

    def get(self, url: str, headers: Mapping[str, str] | None = None, max_body: int = MAX_BODY,
            timeout: float | None = None) -> Response:
        """One GET, no redirect followed, at most ``max_body`` bytes of the body read within ``timeout``."""
        import httpx

        limit = min(timeout or self.timeout, self.timeout)
        deadline = time.monotonic() + limit
        sent = {"Accept-Encoding": "identity", "User-Agent": "readiness-audit", **(headers or {})}
        started = time.monotonic()
        self._count()
        try:
            with self._http().stream("GET", url, headers=sent, timeout=httpx.Timeout(limit)) as r:
                body = bytearray()
                truncated = False
                for chunk in r.iter_raw():
                    body += chunk
                    if len(body) > max_body:
                        truncated = True
                        break
                    if time.monotonic() > deadline:
                        raise TargetUnavailable(f"{self.shown(url)} was still sending its body after {limit:g}s")
                headers_out: dict[str, str] = {}
                for key, value in r.headers.multi_items():
                    k = key.lower()
                    headers_out[k] = f"{headers_out[k]}, {value}" if k in headers_out else value
                return Response(self.shown(url), r.status_code, headers_out, bytes(body[:max_body]), truncated,
                                time.monotonic() - started, r.headers.get("location"))
        except TargetUnavailable:
            raise
        except Exception as exc:
            raise explain(exc, self.shown(url)) from None

    # --- raw sockets: bodies and handshakes ---------------------------------------------------------------------
    def _count(self) -> None:
        with _LOCK:
            self.connections += 1
            HttpHandle.opened_total += 1

    def _socket(self, host: str, port: int, timeout: float) -> socket.socket:
        self._count()
        try:
            return socket.create_connection((host, port), timeout=timeout)
        except Exception as exc:
            raise explain(exc, f"{host}:{port}") from None

    def send_body(self, path: str, size: int, timeout: float, content_type: str = "application/json",
                  chunk: int = 256 * 1024) -> BodyAnswer:
        """POST ``size`` bytes to ``path`` of the base URL and return the status the server answers with.

        Sent by hand so that an early answer (a 413 before the body is through) is read, not lost in a reset."""
        o = self.origin
        deadline = time.monotonic() + timeout
        started = time.monotonic()
        sock = self._socket(o.host, o.port, timeout)
        try:
            if o.https:
                ctx = self._verify()
                if ctx is True:
                    ctx = ssl.create_default_context()
                elif ctx is False:
                    ctx = ssl.create_default_context()
                    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
                sock = ctx.wrap_socket(sock, server_hostname=o.host)
            target = urlsplit(self.url(path))
            head = (f"POST {target.path or '/'}{'?' + target.query if target.query else ''} HTTP/1.1\r\n"
                    f"Host: {o.netloc}\r\nUser-Agent: readiness-audit\r\nContent-Type: {content_type}\r\n"
                    f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()
            sock.sendall(head)
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
                if time.monotonic() > deadline:
                    raise TargetUnavailable(f"sending {size} bytes did not finish within {timeout:g}s "
                                            f"({sent} sent)")
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                try:
                    sock.sendall(piece)
                except (BrokenPipeError, ConnectionResetError):
                    break  # the server stopped reading: its answer (if any) is waiting
                sent += len(piece)
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            status = _read_status(sock, early)
            if status is None:
                raise TargetUnavailable(f"the server closed the connection after {sent} of {size} body bytes "
                                        "without an HTTP answer")
            return BodyAnswer(status, sent, sent >= size, time.monotonic() - started)
        except TargetUnavailable:
            raise
        except Exception as exc:
            raise explain(exc, f"{o.host}:{o.port}") from None
        finally:
            sock.close()

    def handshake(self, version: str, timeout: float) -> Handshake:
        """Offer exactly ``version`` to the base URL's TLS port; whether the server took it."""
        o = self.origin
        sock = self._socket(o.host, o.port, timeout)
        try:
            tls = _legacy_context(version).wrap_socket(sock, server_hostname=o.host, do_handshake_on_connect=False)
            tls.settimeout(timeout)
            try:
                tls.do_handshake()
            except ssl.SSLError as exc:
                return Handshake(False, reason=_first_line(exc))
            except (ConnectionResetError, BrokenPipeError) as exc:
                return Handshake(False, reason=f"connection reset during the handshake ({_first_line(exc)})")
            except OSError as exc:
                if isinstance(exc, TimeoutError) or "timed out" in str(exc):
                    raise TargetUnavailable(f"the TLS handshake with {o.host}:{o.port} did not finish within "
                                            f"{timeout:g}s") from None
                raise
            cipher = tls.cipher()
            return Handshake(True, tls.version(), cipher[0] if cipher else None)
        finally:
            sock.close()

    def certificate(self, timeout: float) -> Certificate:
        """The server's certificate as a client verifying it sees it (ca_file or the system store; host name)."""
        o = self.origin
        ca = self.config.get("ca_file")
        ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
        sock = self._socket(o.host, o.port, timeout)
        try:
            tls = ctx.wrap_socket(sock, server_hostname=o.host, do_handshake_on_connect=False)
            tls.settimeout(timeout)
            try:
                tls.do_handshake()
            except ssl.SSLCertVerificationError as exc:
                return Certificate(False, str(exc.verify_message or _first_line(exc)))
            except ssl.SSLError as exc:
                raise TargetUnavailable(f"TLS handshake with {o.host}:{o.port} failed: {_first_line(exc)}") from None
            except OSError as exc:
                if isinstance(exc, TimeoutError):
                    raise TargetUnavailable(f"the TLS handshake with {o.host}:{o.port} did not finish within "
                                            f"{timeout:g}s") from None
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
        if self._client is not None:
            self._client.close()


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


def _read_status(sock: socket.socket, data: bytes = b"") -> int | None:
    while b"\r\n" not in data and len(data) < 8192:
        try:
            more = sock.recv(4096)
        except (ConnectionResetError, ssl.SSLError):
            break
        if not more:
            break
        data += more
    line = data.split(b"\r\n", 1)[0].split()
    if len(line) >= 2 and line[0].startswith(b"HTTP/") and line[1].isdigit():
        return int(line[1])
    return None


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

