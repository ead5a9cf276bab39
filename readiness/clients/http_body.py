"""A POST's body size asked of the server on a raw connection: the headers alone with ``Expect: 100-continue``, or
(opted in, a write) the whole body, sent by hand so that an early answer (a 413 before the body is through) is
read, not lost in a reset."""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from readiness.clients.deadline import Deadline, DeadlineExceeded
from readiness.errors import TargetUnavailable


@dataclass(frozen=True)
class BodyAnswer:
    status: int
    sent: int  # body bytes written before the answer came
    complete: bool  # the whole body was sent before the server answered
    elapsed: float
    continued: bool = False  # asked with Expect: 100-continue and the server said 100 Continue


def post_head(target: str, netloc: str, size: int, content_type: str, expect: bool) -> bytes:
    return (f"POST {target} HTTP/1.1\r\n"
            f"Host: {netloc}\r\nUser-Agent: readiness-audit\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {size}\r\n{'Expect: 100-continue' + chr(13) + chr(10) if expect else ''}"
            "Connection: close\r\n\r\n").encode()


def ask(sock: socket.socket, deadline: Deadline, head: bytes, where: str, timeout: float) -> int:
    """Send the headers alone and return the status of the first answer (100 or a refusal).

    nginx and ingress-nginx answer 413 from the headers when the size is above their limit and ``100 Continue``
    when they would read it; the caller closes the connection as soon as either arrives."""
    deadline.sendall(sock, head)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 16384:
            more = deadline.recv(sock, 4096, "waiting for 100 Continue or a refusal")
            if not more:
                break
            data += more
    except DeadlineExceeded:
        raise TargetUnavailable(f"{where} gave no answer to the POST headers within {timeout:g}s: it waits for the "
                                "body instead of honouring Expect: 100-continue, so the limit cannot be read "
                                "without sending it (opt in with send_body)") from None
    status = status_of(data)
    if status is None:
        raise TargetUnavailable(f"{where} closed the connection without an HTTP answer to the POST headers")
    return status


def send(sock: socket.socket, deadline: Deadline, head: bytes, size: int, chunk: int) -> tuple[int, int]:
    """Send the headers and ``size`` bytes of JSON-shaped body, stopping when the server answers or closes:
    (the answer's status, body bytes sent)."""
    deadline.sendall(sock, head)
    opening, closing = b'{"readiness_probe":"', b'"}'
    pad = max(0, size - len(opening) - len(closing))
    body_iter = _pieces(opening, pad, closing, chunk) if size >= len(opening) + len(closing) else iter([b"x" * size])
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
        raise TargetUnavailable(f"the server closed the connection after {sent} of {size} body bytes without an "
                                "HTTP answer")
    return status, sent


def _pieces(opening: bytes, pad: int, closing: bytes, chunk: int) -> Iterator[bytes]:
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
    return status_of(data)


def status_of(data: bytes) -> int | None:
    line = data.split(b"\r\n", 1)[0].split()
    if len(line) >= 2 and line[0].startswith(b"HTTP/") and line[1].isdigit():
        return int(line[1])
    return None
