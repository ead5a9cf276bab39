"""The product presets and the profiles, by name: what the checklist loader checks names against, without the
targets module (which brings the client kinds and redaction)."""

from __future__ import annotations

PRESETS = ("langsmith", "langfuse", "langsight")
PROFILES = ("production", "non-production")
