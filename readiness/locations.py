"""Names the click-free `validate` and `list` share with the loader, without the loader's imports: where the packaged
checklist is and how big a user's YAML file may be."""

from __future__ import annotations

import os

MAX_BYTES = 4 * 1024 * 1024  # a YAML file over this is refused (readiness.yamlsrc) and its answer never kept


def default_path() -> str:
    """The packaged checklist.yaml: next to this module (wheel and editable installs alike); importlib.resources would
    cost 4 ms of start-up."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "checklist.yaml")
