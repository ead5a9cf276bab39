"""Per-user cache files (XDG_CACHE_HOME, else ~/.cache, under readiness/): JSON with the key it was made for and
a checksum of its body.  Every failure is a miss: an unwritable dir means working without the cache, and a file that
is unreadable, truncated, edited, or made for another key is never used."""

from __future__ import annotations

import json
import os
import zlib

TYPE_CHECKING = False  # typing's import is a third of a cached `--help`; mypy reads this name as True
if TYPE_CHECKING:
    from typing import Any

MAX_BYTES = 16 * 1024 * 1024


def path(name: str) -> str | None:
    """Where the cache file ``name`` lives; None when there is no absolute cache dir to put it in."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "readiness", name) if os.path.isabs(base) else None


def read(where: str, fmt: int, key: str) -> Any:
    """The body kept for ``key`` in format ``fmt``, or None."""
    try:
        with open(where, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
        head, sep, body = raw.partition(b"\n")
        if len(raw) > MAX_BYTES or not sep:
            return None
        doc = json.loads(head)
        if not isinstance(doc, dict) or doc.get("format") != fmt or doc.get("key") != key:
            return None
        # truncated or edited: not ours.  A checksum against damage (an unkeyed digest would stop no one either,
        # and hashlib's import costs a cached `--help` more than the rest of it)
        if doc.get("crc32") != zlib.crc32(body):
            return None
        return json.loads(body)
    except (OSError, ValueError, RecursionError):
        return None


def write(where: str, fmt: int, key: str, body: Any) -> None:
    """Keep ``body``; readers see the old file or the new one, never half of one.  Failing is only a miss later.
    The file is a header line (format, key, checksum of the rest) and the body's JSON."""
    tmp = f"{where}.{os.getpid()}.tmp"
    try:
        data = json.dumps(body, separators=(",", ":")).encode()
        head = json.dumps({"format": fmt, "key": key, "crc32": zlib.crc32(data)}).encode()
        os.makedirs(os.path.dirname(where), mode=0o700, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(head + b"\n" + data)
        os.replace(tmp, where)
    except (OSError, ValueError, RecursionError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
