"""The lines every section bench opens its figures with: median wall time of the runs and the slowest single item."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def print_timing(figures: Sequence[dict[str, Any]], header: str, verdicts: str) -> tuple[float, float]:
    """Print the header, the verdicts, the wall time (median, min, max) and the slowest item of ``figures`` (one dict
    per run with wall_s, slowest_s and, in the last run, slowest_id); return the two medians."""
    wall = statistics.median(f["wall_s"] for f in figures)
    slowest = statistics.median(f["slowest_s"] for f in figures)
    print(header)
    print(f"  verdicts (last run): {verdicts}")
    print(f"  total wall time:        {wall * 1000:7.1f} ms   (min {min(f['wall_s'] for f in figures) * 1000:.1f},"
          f" max {max(f['wall_s'] for f in figures) * 1000:.1f})")
    print(f"  slowest single item:    {slowest * 1000:7.1f} ms   ({figures[-1]['slowest_id']} in the last run)")
    return wall, slowest
