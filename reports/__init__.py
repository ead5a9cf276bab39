"""Report formats, one module per format; each exposes ``EXTENSION`` and ``render(report: dict) -> str``."""
