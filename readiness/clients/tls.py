"""TLS as the http target's probes ask it: a handshake offering exactly one version, and the certificate chain as a
verifying client sees it, each on a socket the caller connected.

The legacy versions are offered with OpenSSL's security level lowered to 0, because OpenSSL 3 otherwise refuses to
offer TLS 1.0/1.1 at all and a refusal would prove nothing about the server.
"""

from __future__ import annotations

import socket
import ssl
import warnings
from dataclasses import dataclass
from typing import Any

from readiness.clients.deadline import Deadline, DeadlineExceeded
from readiness.errors import TargetUnavailable

_LEGACY = {"TLSv1": b"\x03\x01", "TLSv1.1": b"\x03\x02"}


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
class Certificate:
    ok: bool  # the chain verified and the name matched
    reason: str  # OpenSSL's verify message when not ok
    subject: str = ""
    issuer: str = ""
    names: tuple[str, ...] = ()
    not_after: float | None = None  # epoch seconds, the leaf
    chain_not_after: float | None = None  # the earliest expiry in the verified chain
    version: str | None = None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def legacy_context(version: str, ciphers: str | None = "DEFAULT:@SECLEVEL=0") -> ssl.SSLContext:
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
        obj = legacy_context(version, ciphers).wrap_bio(ssl.MemoryBIO(), out, server_hostname="probe")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
    except (ssl.SSLError, ValueError, AttributeError) as exc:
        return False, first_line(exc)
    hello = out.read()
    if version in _LEGACY:
        # record header (5 bytes), handshake type and length (4 bytes), then the client_version field
        if len(hello) < 11 or hello[0] != 0x16 or hello[5] != 0x01 or hello[9:11] != _LEGACY[version]:
            return False, "the ClientHello it builds does not offer that version"
    return bool(hello), "" if hello else "no ClientHello was produced"


def offer(sock: socket.socket, host: str, version: str, deadline: Deadline) -> Handshake:
    """Offer exactly ``version`` on ``sock``; whether the server took it, refused that version (its
    protocol_version alert, or a ServerHello at another version), or failed for another reason."""
    tls = legacy_context(version).wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    try:
        deadline.handshake(tls)
    except ssl.SSLError as exc:
        reason = first_line(exc)
        return Handshake(False, reason=reason, refused=_version_refusal(reason))
    except (ConnectionResetError, BrokenPipeError) as exc:
        return Handshake(False, reason=f"connection reset during the handshake ({first_line(exc)})")
    except ConnectionError as exc:
        return Handshake(False, reason=f"connection lost during the handshake ({first_line(exc)})")
    cipher = tls.cipher()
    return Handshake(True, tls.version(), cipher[0] if cipher else None)


def verify(sock: socket.socket, host: str, port: int, ca_file: str | None, deadline: Deadline) -> Certificate:
    """The server's certificate on ``sock`` as a client verifying it sees it (``ca_file`` or the system store;
    host name).  Any other OSError is the caller's to explain."""
    ctx = ssl.create_default_context(cafile=ca_file)
    tls = ctx.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    try:
        deadline.handshake(tls)
    except ssl.SSLCertVerificationError as exc:
        return Certificate(False, str(exc.verify_message or first_line(exc)))
    except ssl.SSLError as exc:
        raise TargetUnavailable(f"TLS handshake with {host}:{port} failed: {first_line(exc)}") from None
    except DeadlineExceeded:
        raise TargetUnavailable(f"the TLS handshake with {host}:{port} did not finish within "
                                f"{deadline.seconds:g}s") from None
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


def _dn(rdns: Any) -> str:
    try:
        return ", ".join(f"{k}={v}" for rdn in rdns or () for k, v in rdn)
    except (TypeError, ValueError):
        return ""


# OpenSSL's words for "the server will not speak this version": its protocol_version alert (RFC 8446 6.2), or a
# ServerHello at a version outside what was offered
_VERSION_REFUSALS = ("alert protocol version", "unsupported protocol", "tlsv1_alert_protocol_version")


def _version_refusal(reason: str) -> bool:
    low = reason.lower()
    return any(word in low for word in _VERSION_REFUSALS)
