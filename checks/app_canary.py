"""The end-to-end canary: one trace sent through the product's public ingestion API (as its SDKs send it), read back
through its read API within a budget, then deleted where the API allows it.  It writes, so it runs only with two
yeses: the targets file's ``opt_in: [item id]`` and the http target's ``allow_writes: true``; without both it is
skipped and sends nothing.  The product's API shapes live in checks/_canary_products.py; requests in
readiness.clients.http (its ``writes()`` guard refuses any other write).

Budget and timeout: the item's timeout bounds everything; the budget (from sending to readable) is clipped to it
(less a reserve for the delete) and the message says so.  Reads go on past the budget while the timeout allows, to
tell a slow product (readable after the budget: fails as slow) from one that never shows the trace.  One request
that does not answer is one timeout: the item ends as an error there, and the runner (or the session's close)
removes the canary through the registered cleanup.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from readiness.checks import _canary_products as api

from readiness.clients.http import HttpHandle, Response
from readiness.errors import TargetUnavailable
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

_PRODUCTS = ("langfuse", "langsmith", "langsight")
_RESERVE = 0.15  # share of the item's time kept for the delete and the answer


class _Stop(Exception):
    """A step that ends the canary: its verdict."""

    def __init__(self, verdict: Verdict):
        super().__init__(verdict.message)
        self.verdict = verdict


@probe("http.canary", target="http", writes=True, params={
    "product": Param("str", None, choices=(None, *_PRODUCTS), help="langfuse | langsmith | langsight (default: "
                                                                    "the preset)"),
    "budget": Param("number", 60, help="seconds the canary may take from sending to readable (reads go on past it, "
                                       "within the item's timeout, to tell slow from never)"),
    "poll_interval": Param("number", 1.0, help="seconds between reads"),
    "project": Param("str", "readiness-canary", help="LangSmith project (session_name) the canary goes to"),
    "api_prefix": Param("url-path", None, help="path before the API (default: Langfuse none, LangSmith /api/v1)"),
    "ingest": Param("str", "auto", choices=("auto", "batch", "otel"),
                    help="Langfuse: batch (/api/public/ingestion), otel (/api/public/otel/v1/traces) or auto "
                         "(otel from version 4, as /api/public/health reports it)"),
})
def canary(ctx: Any, p: dict[str, Any]) -> Verdict:
    """(Opt-in, writes) a canary trace sent through the product's public API is readable within the budget."""
    product = p["product"] or ctx.preset
    if product in api.NO_READ_BACK:
        return not_applicable(api.NO_READ_BACK[product])
    if product not in api.KEYS:
        return undecided("which product's API to send the canary to is unknown: set preset: (langfuse or "
                         "langsmith) in the targets file, or product: on the item")
    how = (f"add opt_in: [{ctx.item_id}] to the targets file and allow_writes: true to the http target, with "
           f"{' and '.join(api.KEYS[product])}")
    config = ctx.config()
    if not ctx.opted_in:
        return not_applicable(f"the canary writes a trace, so it is opt-in: {how}")
    if config.get("allow_writes") is not True:
        return not_applicable(f"the targets file opts in, but the http target does not allow writes: {how}")
    missing = [k for k in api.KEYS[product] if not config.get(k)]
    if missing:
        return undecided(f"the {product} canary needs {' and '.join(missing)} in the http target")
    budget, interval = float(p["budget"]), float(p["poll_interval"])
    if not (budget > 0 and interval > 0) or budget != budget or budget == float("inf"):
        return undecided(f"budget and poll_interval must be positive numbers of seconds, not {p['budget']!r} and "
                         f"{p['poll_interval']!r}")
    return _Run(ctx, product, p, budget, interval).verdict()


class _Run:
    """One canary: send, poll, delete; the timings and the step that failed."""

    def __init__(self, ctx: Any, product: str, p: dict[str, Any], budget: float, interval: float):
        self.ctx, self.product, self.p, self.interval = ctx, product, p, interval
        self.handle: HttpHandle = ctx.client
        self.auth = api.auth_headers(product, ctx.config())
        self.started = time.monotonic()
        reserve = max(1.0, ctx.timeout * _RESERVE)
        self.last = ctx.deadline - reserve  # reads go on until here
        self.end = min(self.started + budget, self.last)  # the budget, clipped to the item's timeout
        self.clipped = self.started + budget > self.end
        self.budget = budget
        prefix = p["api_prefix"] if p["api_prefix"] is not None else api.DEFAULT_PREFIX[product]
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.evidence: dict[str, Any] = {"product": product, "budget_s": budget}

    # -- requests ---------------------------------------------------------------------------------------------------
    def _send(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
              until: float | None = None) -> Response:
        left = (until or self.ctx.deadline) - time.monotonic()
        timeout = max(0.2, min(left, self.ctx.remaining() * 0.9))
        sent = {**self.auth, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        return self.handle.send(method, self.handle.url(path), body, sent, timeout=timeout)

    def _wait(self, r: Response, what: str) -> None:
        """Honour a 429's Retry-After when it fits the budget; else stop."""
        # Retry-After: 0 (or one in the past) still waits a poll interval: a throttled API is not asked in a loop
        pause = max(api.retry_after(r.headers.get("retry-after"), self.interval), min(self.interval, 1.0))
        if time.monotonic() + pause >= self.end:
            raise _Stop(undecided(f"{what} throttled (429, Retry-After {pause:g}s) beyond the budget "
                                  f"({self._budget_text()}): nothing was decided", **self.evidence))
        self.evidence["throttled"] = self.evidence.get("throttled", 0) + 1
        time.sleep(pause)

    def _auth_refused(self, r: Response, what: str) -> _Stop:
        keys = " and ".join(api.KEYS[self.product])
        self.evidence["step"] = "auth"
        return _Stop(undecided(f"{what} refused the credentials ({r.status}): check {keys} in the http target "
                               "(a project's keys, with write access)", **self.evidence))

    # -- steps -----------------------------------------------------------------------------------------------------
    def _canary(self) -> api.Canary:
        if self.product == "langsmith":
            return api.langsmith_run(self.prefix, self.ctx.item_id, str(self.p["project"]))
        ingest = self.p["ingest"]
        if ingest == "auto":
            r = self._send("GET", f"{self.prefix}/api/public/health", until=self.end)
            ingest = "otel" if r.status == 200 and api.wants_otel(api.json_of(r.body)) else "batch"
        return api.langfuse_otel(self.prefix, self.ctx.item_id) if ingest == "otel" \
            else api.langfuse_batch(self.prefix, self.ctx.item_id)

    def _accept(self, canary: api.Canary) -> float:
        while True:
            r = self._send("POST", canary.ingest_path, canary.body, canary.headers, until=self.end)
            if r.status == 429:
                self._wait(r, f"POST {canary.ingest_path}")
                continue
            if r.status in (401, 403):
                raise self._auth_refused(r, f"POST {canary.ingest_path}")
            self.evidence["ingest_status"] = r.status
            if not 200 <= r.status < 300:
                self.evidence["step"] = "ingest"
                raise _Stop(failed(f"the ingestion API refused the canary: POST {canary.ingest_path} answered "
                                   f"{r.status}", **self.evidence))
            problem = api.ingestion_problem(canary, r.status, r.body)
            if problem:
                self.evidence["step"] = "ingest"
                raise _Stop(failed(f"the ingestion API did not accept the canary: {problem}", **self.evidence))
            return time.monotonic() - self.started

    def _visible(self, canary: api.Canary, accepted: float) -> float | None:
        polls = 0
        while True:
            polls += 1
            self.evidence["polls"] = polls
            r = self._send("GET", canary.read_path, until=max(self.last, time.monotonic() + 0.2))
            if r.status == 200 and api.shows_canary(canary, r.body):
                return time.monotonic() - accepted
            if r.status in (401, 403):
                raise self._auth_refused(r, f"GET {canary.read_path}")
            if r.status == 429:
                self._wait(r, f"GET {canary.read_path}")
                continue
            if r.status != 404:
                self.evidence["last_read_status"] = r.status
            if time.monotonic() + self.interval >= self.last:
                return None
            time.sleep(self.interval)

    def _delete(self, canary: api.Canary) -> str:
        if canary.delete_path is None:
            return f"kept in the LangSmith project {self.p['project']!r} (its API deletes projects, not one run)"
        try:
            r = self._send("DELETE", canary.delete_path)
        except TargetUnavailable as exc:  # the verdict on visibility stands; the leftover is reported
            return f"cleanup FAILED: DELETE {canary.delete_path}: {exc}; remove trace {canary.ident} by hand"
        if isinstance(r.status, int) and 200 <= r.status < 300:
            return "deleted"
        return f"cleanup FAILED: DELETE {canary.delete_path} answered {r.status}; remove trace {canary.ident} by hand"

    def _budget_text(self) -> str:
        clipped = self.end - self.started
        return f"{self.budget:g}s" + (f", clipped to {clipped:.1f}s by the item's timeout" if self.clipped else "")

    def verdict(self) -> Verdict:
        canary = self._canary()
        self.evidence.update(canary_id=canary.ident, transport=canary.transport, ingest_path=canary.ingest_path)
        # registered before the write: if this thread is abandoned or raises, the runner (or the session's close)
        # deletes the canary; claim() takes the cleanup back when the probe ends normally
        claim = self.ctx.register_cleanup(f"canary trace {canary.ident}", lambda wait: self._undo(canary, wait))
        with self.handle.writes():
            try:
                accepted = round(self._accept(canary), 3)  # rounded once: message and evidence agree
                self.evidence["accept_s"] = accepted
                visible = self._visible(canary, time.monotonic())
            except _Stop as stop:
                if claim() and 200 <= self.evidence.get("ingest_status", 0) < 300:
                    cleanup = self._delete(canary)  # accepted, then the reads stopped: it may exist
                    self.evidence["cleanup"] = cleanup
                    note = "" if cleanup == "deleted" else f"; {cleanup}"
                    return replace(stop.verdict, message=stop.verdict.message + note, evidence=dict(self.evidence))
                return stop.verdict
            cleanup = self._delete(canary) if claim() else "left to the runner's cleanup"
        self.evidence["cleanup"] = cleanup
        note = "" if cleanup == "deleted" else f"; {cleanup}"
        if visible is None:
            self.evidence["step"] = "visible"
            last = self.evidence.get("last_read_status")
            reads = f"; the read API last answered {last}" if last is not None else ""
            waited = time.monotonic() - self.started
            return failed(f"{self.product} accepted the canary in {accepted:.2f}s but it was still not readable "
                          f"{waited:.1f}s after sending (budget {self._budget_text()}): queued but never visible"
                          f"{reads}{note}", **self.evidence)
        visible = round(visible, 3)
        self.evidence["visible_s"] = visible
        total = accepted + visible
        if total > self.end - self.started:
            self.evidence["step"] = "slow"
            return failed(f"slow: {self.product} accepted the canary in {accepted:.2f}s and showed it {visible:.2f}s "
                          f"later, {total:.2f}s in all, over the budget of {self._budget_text()}{note}",
                          **self.evidence)
        return passed(f"{self.product} accepted the canary in {accepted:.2f}s; readable {visible:.2f}s later "
                      f"(budget {self._budget_text()}){note}", **self.evidence)

    def _undo(self, canary: api.Canary, wait: float) -> str:
        if canary.delete_path is None:
            return "nothing to delete"
        with self.handle.writes():
            r = self.handle.send("DELETE", self.handle.url(canary.delete_path), None, self.auth, timeout=wait)
        if not 200 <= r.status < 300:
            raise RuntimeError(f"DELETE answered {r.status}")
        return "deleted"
