"""What a path on a target's URL may be: shared by the parameter check (``url-path``) and the HTTP client, which
refuses the same paths again; kept apart from the client so validating a checklist loads no socket or TLS code."""

from __future__ import annotations

from urllib.parse import urlsplit


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a plain path on the target (an absolute or scheme-relative URL sends the request, and a
    token, to another host), or None."""
    text = str(path)
    parts = urlsplit(text)
    if parts.scheme or parts.netloc or text.startswith("//") or "\\" in text:
        return f"path {text!r} must be a path on the target (like /metrics), not a URL naming a host or scheme"
    if any(ord(c) < 33 or ord(c) == 127 for c in text):
        return f"path {text!r} must not contain spaces or control characters"
    return None
