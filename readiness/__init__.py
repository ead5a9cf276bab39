"""readiness: production-readiness audits for self-hosted LLM-observability stacks."""

__version__ = "0.1.0"
