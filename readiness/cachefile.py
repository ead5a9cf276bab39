"""Per-user cache files (XDG_CACHE_HOME, else ~/.cache, under readiness/): a header line, the key the file was made
for, and the body (text, or JSON for anything else), with a checksum of both.  Every failure is a miss: an
unwritable dir means working without the cache, and a file that is unreadable, truncated, edited, or made for another
key is never used."""

from __future__ import annotations

import os
import stat
import zlib

TYPE_CHECKING = False  # typing's import is a third of a cached `--help`; mypy reads this name as True
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

MAX_BYTES = 16 * 1024 * 1024


class Corrupt(ValueError):
    """A cache body that is not exactly what its writer writes: the entry is a miss, never a value."""


def hashable(key: Any) -> Any:
    """``key`` as a decoded mapping key, or Corrupt (a list where a key belongs)."""
    try:
        hash(key)
    except TypeError:
        raise Corrupt("key") from None
    return key


def stamp(paths: Iterable[str]) -> str:
    """Each file's path, size and mtime ("path:-" when it is missing): what a cache key needs to see it change."""
    out = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            out.append(f"{p}:-")
            continue
        out.append(f"{p}:{st.st_size}:{st.st_mtime_ns}")
    return "\0".join(out)


_BIG = 1024 * 1024  # from here on hashlib's OpenSSL (5.6x faster) pays for its import


def _builtin() -> Any:
    """CPython's own sha256 constructor (hashlib's fallback, the same digests), else hashlib's."""
    try:
        from _sha2 import sha256 as new  # Python 3.12+
    except ImportError:
        try:
            from _sha256 import sha256 as new  # Python 3.10 and 3.11
        except ImportError:
            from hashlib import sha256 as new
    return new


_new: Any = None  # resolved on first use: a failed import is not cached by Python, so it would be tried every call


def sha256(data: bytes = b"") -> Any:
    """A sha256 hash object: CPython's own for small inputs, since importing hashlib starts OpenSSL, a tenth of a
    kept `validate` (readiness/cli/resultcache.py); hashlib's for big ones."""
    global _new
    if len(data) > _BIG:
        from hashlib import sha256 as big

        return big(data)
    if _new is None:
        _new = _builtin()
    return _new(data)


def sources(directory: str) -> list[str]:
    """The Python files in ``directory``, sorted: the code a cache key stamps."""
    return [os.path.join(directory, n) for n in sorted(os.listdir(directory)) if n.endswith(".py")]


def named(kind: str, fmt: int, *parts: str) -> str | None:
    """The cache file for ``kind`` and ``parts`` in this environment (venvs share ~/.cache): one per combination,
    written over when anything else changes (the key inside says exactly what it was for)."""
    import sys

    return path(f"{kind}-{fmt}-{zlib.crc32(repr((sys.prefix, *parts)).encode()):08x}.cache")


def read_bounded(fd: int, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes of ``fd``: one more than allowed says it was too big (it grew since a stat)."""
    chunks, left = [], limit + 1
    while left > 0:
        chunk = os.read(fd, left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def path(name: str) -> str | None:
    """Where the cache file ``name`` lives; None when caching is off (READINESS_NO_CACHE=1) or there is no absolute
    cache dir.  A relative XDG_CACHE_HOME is invalid and ignored, as the XDG spec says: ~/.cache then."""
    if os.environ.get("READINESS_NO_CACHE") == "1":
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "readiness", name) if os.path.isabs(base) else None


def _safe(st: os.stat_result) -> bool:
    """Ours alone: owned by this user and writable by no one else (anyone who can write it can choose what runs)."""
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _slurp(where: str) -> bytes | None:
    """At most MAX_BYTES + 1 bytes of ``where``, or None unless it and its directory are ours alone.  O_NOFOLLOW: a
    planted symlink is refused; O_NONBLOCK: a planted FIFO cannot hang the open; fstat: what was opened is checked,
    not whatever the name points to a moment later."""
    if not _safe(os.stat(os.path.dirname(where))):
        return None
    fd = os.open(where, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not _safe(st) or st.st_size > MAX_BYTES:
            return None
        return read_bounded(fd, MAX_BYTES)
    finally:
        os.close(fd)


def read(where: str, fmt: int, key: str) -> Any:
    """The body kept for ``key`` in format ``fmt`` (a str when a str was kept), or None."""
    try:
        raw = _slurp(where)
        if raw is None or len(raw) > MAX_BYTES:
            return None
        kept = unpack(raw)
        if kept is None or kept[0] != fmt or kept[1] != key:
            return None
        if kept[2]:
            return kept[3].decode("utf-8", "surrogatepass")
        import json  # here: a kept text (`--help`, a kept `validate`) is read without json's import, which loads re

        return json.loads(kept[3])
    except (OSError, ValueError, RecursionError):
        return None


def pack(fmt: int, key: str, body: Any) -> bytes:
    """The file's bytes: ``<format> <t|j> <key length> <crc32 of kind, key and body>``, a newline, the key, the body (a
    str as UTF-8, anything else as JSON).  The checksum is against damage: an unkeyed digest would stop no one
    either, and hashlib's import costs a cached `--help` more than the rest of it."""
    text = isinstance(body, str)
    if text:
        data = body.encode("utf-8", "surrogatepass")
    else:
        import json

        data = json.dumps(body, separators=(",", ":")).encode()
    kind, k = b"t" if text else b"j", key.encode("utf-8", "surrogatepass")
    return b"%d %s %d %08x\n" % (fmt, kind, len(k), zlib.crc32(kind + k + data)) + k + data


def unpack(raw: bytes) -> tuple[int, str, bool, bytes] | None:
    """(format, key, is text, body bytes) of a file ``pack`` wrote; None when it is anything else (truncated,
    edited, another writer's).  ValueError for a header that is not numbers."""
    head, sep, rest = raw.partition(b"\n")
    parts = head.split(b" ")
    if not sep or len(parts) != 4 or parts[1] not in (b"t", b"j") or not all(p.isdigit() for p in parts[::2]):
        return None
    size = int(parts[2])
    if len(rest) < size or zlib.crc32(parts[1] + rest) != int(parts[3], 16):
        return None
    return int(parts[0]), rest[:size].decode("utf-8", "surrogatepass"), parts[1] == b"t", rest[size:]


def write(where: str, fmt: int, key: str, body: Any) -> bool:
    """Keep ``body``; readers see the old file or the new one, never half of one.  Failing is only a miss later
    (False)."""
    tmp = f"{where}.{os.getpid()}.tmp"
    try:
        data = pack(fmt, key, body)
        os.makedirs(os.path.dirname(where), mode=0o700, exist_ok=True)
        if not _safe(os.stat(os.path.dirname(where))):
            return False  # a dir others can write to (or swap files in): neither read nor written
        # O_EXCL|O_NOFOLLOW: never write through a file or symlink someone else put at the temp name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, where)
        return True
    except (OSError, ValueError, RecursionError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
