"""What crosses the wire to Redis: the read allow-list checked on every send, error replies on the way back, and
probed text made fit for a message.

The guard sits in redis-py's connection class itself (``send_packed_command``), below every path that can send: a
pipeline, ``execute_command``, a bound method reached through a plugin, a raw ``send_command``.  A command outside
``READ_COMMANDS`` (or the handshake's) is refused before a byte leaves.  redis-py is imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

# Commands (and subcommands) the audit may send.  SELECT only switches the connection's database.
READ_COMMANDS = frozenset({
    "PING", "INFO", "SCAN", "TYPE", "TTL", "PTTL", "LLEN", "ZCARD", "SCARD", "XLEN", "HLEN", "EXISTS", "DBSIZE",
    "ROLE", "SELECT", "CONFIG GET", "CLUSTER INFO", "CLUSTER SLOTS", "CLUSTER NODES",
    "SENTINEL MASTER", "SENTINEL MASTERS", "SENTINEL REPLICAS", "SENTINEL SLAVES", "SENTINEL SENTINELS",
    "SENTINEL CKQUORUM", "SENTINEL GET-MASTER-ADDR-BY-NAME",
})
# What redis-py's connection set-up sends: credentials, the RESP version, the database.
HANDSHAKE_COMMANDS = frozenset({"AUTH", "HELLO", "SELECT"})
_SUBCOMMANDS = {"CONFIG", "CLUSTER", "SENTINEL", "CLIENT", "SCRIPT", "FUNCTION", "ACL", "MODULE", "DEBUG", "MEMORY",
                "OBJECT", "XINFO", "COMMAND", "LATENCY", "SLOWLOG"}


class ReadOnlyViolation(PermissionError):
    """Something asked to send a command outside the read allow-list; nothing was sent."""


class ErrorReply(Exception):
    """A command answered an error (NOPERM, WRONGTYPE, LOADING ...): never data; the item cannot decide."""

    def __init__(self, node: str, args: Sequence[Any], reply: BaseException, label: str | None = None):
        self.node, self.command, self.reply = node, command_name(args), reply_text(reply)
        key = f" {display(args[1 + (' ' in self.command)])}" if len(args) > 1 + (" " in self.command) else ""
        if label:
            key, self.command = "", label
        hint = " (the audit identity lacks this permission: see the README for its ACL)" \
            if self.reply.startswith("NOPERM") or "no permissions" in self.reply else ""
        super().__init__(f"{self.command}{key} on {node} answered an error: {self.reply}{hint}")


def reply_text(reply: BaseException) -> str:
    """The server's error text with its code (redis-py turns NOPERM, LOADING ... into classes and drops the code)."""
    text = str(reply).strip()
    codes = {"NoPermissionError": "NOPERM", "BusyLoadingError": "LOADING", "ReadOnlyError": "READONLY",
             "NoScriptError": "NOSCRIPT", "ExecAbortError": "EXECABORT", "OutOfMemoryError": "OOM",
             "AuthenticationError": "NOAUTH", "AuthenticationWrongNumberOfArgsError": "ERR"}
    code = next((c for cls in type(reply).__mro__ for name, c in codes.items() if cls.__name__ == name), None)
    return f"{code} {text}" if code and not text.startswith(code) else text


def command_name(args: Sequence[Any]) -> str:
    first = args[0].decode(errors="replace") if isinstance(args[0], bytes) else str(args[0])
    name = first.upper()
    if name in _SUBCOMMANDS and len(args) > 1:
        second = args[1].decode(errors="replace") if isinstance(args[1], bytes) else str(args[1])
        name = f"{name} {second.upper()}"
    return name


def display(value: Any, limit: int = 120) -> str:
    """A key name (or any probed text) for messages: undecodable bytes as \\xNN, control characters escaped, long
    names cut, in linear time."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    text = str(value)
    cut = text[:limit]
    out = []
    for ch in cut:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape kept
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\\":  # so that a literal "\xff" and the byte 0xff never look alike
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                       if not 0xD800 <= code <= 0xDFFF else f"\\u{code:04x}")
        else:
            out.append(ch)
    shown = "".join(out)
    return shown if len(text) <= limit else f"{shown}... ({len(text)} characters)"


def _command_names(packed: Any) -> list[str]:
    """The command names in what redis-py is about to send (RESP arrays of bulk strings), in linear time."""
    if isinstance(packed, str):
        data = packed.encode()
    elif isinstance(packed, (bytes, bytearray, memoryview)):
        data = bytes(packed)
    else:
        data = b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in packed)
    names, i, n = [], 0, len(data)
    try:
        while i < n:
            if data[i:i + 1] != b"*":
                return ["(not a command array)"]
            j = data.index(b"\r\n", i)
            count, i = int(data[i + 1:j]), j + 2
            args: list[bytes] = []
            for k in range(count):
                if data[i:i + 1] != b"$":
                    return ["(not a command array)"]
                j = data.index(b"\r\n", i)
                size, i = int(data[i + 1:j]), j + 2
                if k < 2:
                    args.append(data[i:i + size])
                i += size + 2
            names.append(command_name(args) if args else "(empty)")
    except ValueError:
        return ["(not a command array)"]
    return names


def check_read_only(names: Iterable[str]) -> None:
    for name in names:
        if name not in READ_COMMANDS and name not in HANDSHAKE_COMMANDS:
            raise ReadOnlyViolation(f"readiness sends read commands only; refused to send {display(name, 40)}")


@cache
def guarded(kind: str) -> type:
    """redis-py's connection class whose every send is checked against the allow-list first."""
    from redis import connection as rc

    base: Any = {"tcp": rc.Connection, "ssl": rc.SSLConnection, "unix": rc.UnixDomainSocketConnection}[kind]

    def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        check_read_only(_command_names(command))
        base.send_packed_command(self, command, check_health)

    return type(f"ReadOnly{base.__name__}", (base,), {"send_packed_command": send_packed_command})
