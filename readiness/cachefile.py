"""Per-user cache files (XDG_CACHE_HOME, else ~/.cache, under readiness/): JSON with the key it was made for and
a digest of its body.  Every failure is a miss: an unwritable dir means working without the cache, and a file that
is unreadable, truncated, edited, or made for another key is never used."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

MAX_BYTES = 16 * 1024 * 1024


def path(name: str) -> str | None:
    """Where the cache file ``name`` lives; None when there is no absolute cache dir to put it in."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "readiness", name) if os.path.isabs(base) else None


def _digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def read(where: str, fmt: int, key: str) -> Any:
    """The body kept for ``key`` in format ``fmt``, or None."""
    try:
        with open(where, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            return None
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("format") != fmt or doc.get("key") != key:
            return None
        body = doc.get("body")
        return body if doc.get("sha256") == _digest(body) else None  # truncated or edited: not ours
    except (OSError, ValueError, RecursionError):
        return None


def write(where: str, fmt: int, key: str, body: Any) -> None:
    """Keep ``body``; readers see the old file or the new one, never half of one.  Failing is only a miss later."""
    tmp = f"{where}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(where), mode=0o700, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"format": fmt, "key": key, "sha256": _digest(body), "body": body}, fh,
                      separators=(",", ":"))
        os.replace(tmp, where)
    except (OSError, ValueError, RecursionError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
