"""What the end-to-end canary sends to each product's public API and how it reads the answers (data and parsers
only; the probe is checks/app_canary.py).  Each fact follows the vendor's published API definition:

- Langfuse: langfuse/langfuse fern/apis/server/definition/ingestion.yml (commit 012e9c8c: POST /api/public/ingestion,
  a ``batch`` of events, ``trace-create`` with a TraceBody, answer 207 ``{successes: [{id, status}], errors: [{id,
  status, message, error}]}``), trace.yml (commit 5f36516a: GET /api/public/traces/{traceId}), opentelemetry.yml
  (commit 16d7e605: POST /api/public/otel/v1/traces, OTLP/HTTP JSON); basic auth, public key as user and secret key
  as password.  Langfuse v4 marks /ingestion legacy and asks direct OTLP exporters for the header
  ``x-langfuse-ingestion-version: 4`` (the v4 OpenAPI description, 2026), whose only real-time read is
  GET /api/public/v2/observations (observations-v2.yml, commit 5752e547: ``traceId`` filter, ``{data: [...]}``; the
  other read endpoints may lag by about ten minutes there); so ``ingest: auto`` sends OTLP to a v4 server (its
  /api/public/health ``version``) and reads it back there, and uses the batch and the trace read with anything
  older.  DELETE /api/public/traces/{traceId} removes the canary.
- LangSmith: docs.langchain.com/langsmith/smith-api (LangSmith OpenAPI 0.1.0): POST /runs queues one run (``id``,
  ``name``, ``run_type``, ``inputs``, ``start_time``, ``session_name``, ``extra.metadata``, ``tags``), auth header
  ``X-Api-Key``; GET /runs/{run_id}.  Self-hosted, the frontend serves the API under /api/v1 (LangSmith's
  self-hosting docs: LANGSMITH_ENDPOINT=https://<host>/api/v1); ``api_prefix`` changes it.  Its REST API deletes whole
  projects, not one run: the canary stays in a project of its own.
- LangSight: LangSight/langsight src/langsight/api/routers/traces.py (commit 0960c031) takes tool-call spans
  (POST /api/traces/spans) but has no read of one trace by id, so nothing can be read back: not applicable.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import time
import uuid
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

CANARY_NAME = "readiness-canary"
NO_READ_BACK = {
    "langsight": "LangSight's API takes spans (POST /api/traces/spans) but has no read of one trace by id "
                 "(LangSight/langsight src/langsight/api/routers/traces.py), so a canary cannot be read back",
}
DEFAULT_PREFIX = {"langfuse": "", "langsmith": "/api/v1"}
KEYS = {"langfuse": ("public_key", "secret_key"), "langsmith": ("api_key",)}


@dataclass(frozen=True)
class Canary:
    product: str
    ident: str  # the trace (Langfuse) or run (LangSmith) id the read API is asked for
    ingest_path: str
    read_path: str
    delete_path: str | None  # None: the API has no delete of one trace
    body: bytes
    headers: dict[str, str]
    transport: str  # batch | otel | runs
    event_id: str | None = None  # the batch event whose success or error the 207 carries
    listed: bool = False  # the read answers a list ({data: [...]}) of the trace's observations, not the object


def auth_headers(product: str, config: Any) -> dict[str, str]:
    if product == "langfuse":
        pair = f"{config.get('public_key')}:{config.get('secret_key')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    return {"X-Api-Key": str(config.get("api_key"))}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def langfuse_batch(prefix: str, item_id: str) -> Canary:
    trace_id, event_id, now = str(uuid.uuid4()), str(uuid.uuid4()), _now()
    body = {"batch": [{"id": event_id, "timestamp": now, "type": "trace-create", "metadata": {"source": "readiness"},
                       "body": {"id": trace_id, "timestamp": now, "name": CANARY_NAME, "tags": [CANARY_NAME],
                                "metadata": {"readiness": "canary", "item": item_id}}}]}
    return Canary("langfuse", trace_id, f"{prefix}/api/public/ingestion", f"{prefix}/api/public/traces/{trace_id}",
                  f"{prefix}/api/public/traces/{trace_id}", json.dumps(body).encode(), {}, "batch", event_id)


def _attr(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def langfuse_otel(prefix: str, item_id: str) -> Canary:
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    start = time.time_ns()
    span = {"traceId": trace_id, "spanId": span_id, "name": CANARY_NAME, "kind": 1,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 1_000_000),
            "attributes": [_attr("langfuse.trace.name", CANARY_NAME),
                           _attr("langfuse.trace.metadata.readiness", "canary"),
                           _attr("langfuse.trace.metadata.item", item_id)], "status": {}}
    body = {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "readiness")]},
                               "scopeSpans": [{"scope": {"name": "readiness"}, "spans": [span]}]}]}
    return Canary("langfuse", trace_id, f"{prefix}/api/public/otel/v1/traces",
                  f"{prefix}/api/public/v2/observations?traceId={trace_id}&limit=1",
                  f"{prefix}/api/public/traces/{trace_id}", json.dumps(body).encode(),
                  {"x-langfuse-ingestion-version": "4"}, "otel", listed=True)


def langsmith_run(prefix: str, item_id: str, project: str) -> Canary:
    run_id, now = str(uuid.uuid4()), _now()
    body = {"id": run_id, "name": CANARY_NAME, "run_type": "chain", "inputs": {"canary": True},
            "outputs": {"ok": True}, "start_time": now, "end_time": now, "session_name": project,
            "tags": [CANARY_NAME], "extra": {"metadata": {"readiness": "canary", "item": item_id}}}
    return Canary("langsmith", run_id, f"{prefix}/runs", f"{prefix}/runs/{run_id}", None, json.dumps(body).encode(),
                  {}, "runs")


def wants_otel(health: Any) -> bool:
    """A Langfuse /api/public/health answer naming version 4 or later (OTLP is then the ingestion path)."""
    version = health.get("version") if isinstance(health, dict) else None
    m = re.match(r"v?(\d+)\.", str(version or ""))
    return m is not None and int(m.group(1)) >= 4


def json_of(body: bytes) -> Any:
    """The decoded JSON body, or None when it is not JSON (NaN and Infinity are not JSON either)."""
    def refuse(word: str) -> Any:
        raise ValueError(word)

    try:
        return json.loads(body.decode("utf-8"), parse_constant=refuse)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def ingestion_problem(canary: Canary, status: int, body: bytes) -> str | None:
    """Why an accepted-looking ingestion answer does not accept the canary (None: it does)."""
    data = json_of(body)
    if canary.transport == "batch":
        if not isinstance(data, dict) or not isinstance(data.get("successes"), list) \
                or not isinstance(data.get("errors"), list):
            return f"HTTP {status} without the {{successes, errors}} body the API defines"
        for err in data["errors"]:
            if isinstance(err, dict) and err.get("id") == canary.event_id:
                what = str(err.get("message") or err.get("error") or "")[:200]
                return f"the event was refused inside the {status} answer (status {err.get('status')!r}: {what})"
        if not any(isinstance(s, dict) and s.get("id") == canary.event_id for s in data["successes"]):
            return f"HTTP {status} lists no success for the canary event"
        return None
    if canary.transport == "otel":
        if not isinstance(data, dict):
            return f"HTTP {status} without the OTLP JSON answer"
        partial = data.get("partialSuccess")
        if isinstance(partial, dict) and str(partial.get("rejectedSpans") or "0") not in ("0", ""):
            return f"the span was rejected ({str(partial.get('errorMessage') or '')[:200]})"
        return None
    return None if isinstance(data, dict) else f"HTTP {status} without a JSON body"


def shows_canary(canary: Canary, body: bytes) -> bool:
    """The read API's answer is the canary itself (its id), not a page or another object."""
    data = json_of(body)
    if canary.listed:
        rows = data.get("data") if isinstance(data, dict) else None
        return isinstance(rows, list) and any(isinstance(o, dict) and o.get("traceId") == canary.ident for o in rows)
    return isinstance(data, dict) and str(data.get("id", "")).replace("-", "") == canary.ident.replace("-", "")


def retry_after(value: str | None, default: float) -> float:
    """Seconds a 429 asks to wait (delta-seconds or an HTTP date); ``default`` when absent or unreadable."""
    if not value:
        return default
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - dt.datetime.now(dt.timezone.utc)).total_seconds()
        except (TypeError, ValueError, IndexError, OverflowError):
            return default
    return max(0.0, seconds) if math.isfinite(seconds) else default
