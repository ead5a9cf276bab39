"""A regular expression compiled on first use: modules on the start-up path (``validate``, ``list``) declare their
patterns at the top as before without paying to compile the ones a run never matches."""

from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    """Stands for ``re.compile(pattern, flags)``: every attribute (``search``, ``sub``, ...) is the compiled one's."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: str, flags: int = 0):
        self._args = (pattern, flags)
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:  # only for what is not a slot: the pattern's own methods
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(*self._args)  # a race compiles twice, harmlessly
        return getattr(compiled, name)
