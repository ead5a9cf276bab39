"""Files in and out: one reader for every user file, one writer for every report file.

``read_bytes`` reads regular files only (a FIFO would block forever, ``/dev/zero`` never ends), never more than a
cap; every way a file can be unusable is a ``ConfigError`` naming it.  ``write_text`` replaces a report atomically
(a temporary file in the same directory, then ``os.replace``), so a reader such as node_exporter's textfile
collector never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import stat

from readiness.errors import ConfigError, Problem

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class NotAFile(ConfigError):
    """The path is a directory, FIFO, device or socket: bad input wherever it is found."""


def special(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO (named pipe)"), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_regular(path: str, what: str, expected: str | None = None) -> os.stat_result:
    """The file's stat (following symlinks), or a ConfigError if it is missing or not a regular file.  ``expected``
    completes "is a FIFO (named pipe), expected ..." (default: ``what``)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    kind = special(st.st_mode)
    if kind:
        raise NotAFile(f"{path}: is {kind}, expected {expected or what}")
    return st


def read_bytes(path: str, what: str, limit: int, expected: str | None = None) -> bytes:
    """At most ``limit`` bytes of a regular file; larger files, special files and unreadable ones are refused."""
    check_regular(path, what, expected)  # before open: opening some devices has effects
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO after the check, open returns instead of waiting
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        kind = special(st.st_mode)
        if kind:
            raise NotAFile(f"{path}: is {kind}, expected {expected or what}")
        if st.st_size > limit:
            raise ConfigError(_too_large(path, what, st.st_size, limit))
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > limit:  # it grew since the stat
        raise ConfigError(_too_large(path, what, len(data), limit))
    return data


def _too_large(path: str, what: str, size: int, limit: int) -> list[Problem]:
    return [Problem(path, 1, 1, f"{what} is {size / 1e6:.1f} MB; files over {limit / 2**20:g} MB are refused")]


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically; a path that is not a regular file (``/dev/stdout``, a FIFO) is
    written in place, since replacing it would remove the device or pipe.  OSError on failure, nothing left over."""
    real = os.path.realpath(path)  # replace the file a symlink points to, not the link
    try:
        st: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        st = None
    if st is not None and special(st.st_mode):
        with open(real, "w", encoding="utf-8") as fh:
            fh.write(text)
        return
    folder = os.path.dirname(real) or "."
    import tempfile  # writers only: validate and list write nothing

    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.", suffix=".tmp", dir=folder)
    try:
        # mkstemp makes the file 0600; keep the mode the report had, else what open() would have given
        os.fchmod(fd, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; set straight back
    os.umask(mask)
    return mask
