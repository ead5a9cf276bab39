"""HTTP probes of the public endpoint and the application's own endpoints: security headers, the plain-HTTP redirect,
the body-size limit, health/readiness and the metrics endpoint.  Requests (bounded, no redirect followed) live in
readiness.clients.http."""

from __future__ import annotations

import json
from typing import Any

from readiness.checks._common import human_bytes, parse_size

from readiness.clients.http_hsts import parse_hsts
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

_OPT = None
_BAD_STATUS = ("error", "unhealthy", "down", "fail", "failed", "failing", "not ready", "not_ready", "degraded",
               "starting", "unavailable")


_HOPS = 5  # redirects followed on the same host


def _get(ctx: Any, url: str, **kw: Any) -> Any:
    return ctx.client.get(url, timeout=max(0.2, min(ctx.timeout, ctx.remaining() * 0.8)), **kw)


@probe("http.headers", target="http", params={
    "path": Param("url-path", "/", help="path of the base URL whose response is judged"),
    "hsts_min_age": Param("int", 31536000, help="Strict-Transport-Security max-age at least (seconds)"),
    "hsts_subdomains": Param("bool", True, help="Strict-Transport-Security must carry includeSubDomains"),
    "headers": Param("dict", {"x-content-type-options": ["nosniff"], "x-frame-options": ["DENY"],
                              "referrer-policy": ["strict-origin-when-cross-origin", "no-referrer", "same-origin",
                                                  "strict-origin"]},
                     help="header name -> accepted values (case-insensitive)"),
})
def headers(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The HTTPS endpoint sends HSTS (long max-age, includeSubDomains) and the other security headers."""
    handle = ctx.client
    if not handle.origin.https:
        return undecided("base_url is plain http://: browsers ignore HSTS there; set base_url to the https:// "
                         "endpoint")
    r = _get(ctx, handle.url(p["path"]))
    got = {k: r.headers.get(k) for k in ["strict-transport-security", *[str(n).lower() for n in p["headers"]]]}
    evidence = {"url": r.url, "status": r.status, "headers": got}
    problems = []
    hsts = r.headers.get("strict-transport-security")
    if not hsts:
        problems.append("no Strict-Transport-Security")
    else:
        sts = parse_hsts(hsts)  # the first header only, as browsers read it
        if sts.max_age is None:
            problems.append(f"browsers ignore Strict-Transport-Security {hsts!r}: {sts.problem}")
        elif sts.max_age < int(p["hsts_min_age"]):
            problems.append(f"HSTS max-age {sts.max_age} is below {p['hsts_min_age']}")
        if sts.max_age is not None and p["hsts_subdomains"] and not sts.include_subdomains:
            problems.append("HSTS lacks includeSubDomains")
    for name, accepted in p["headers"].items():
        allowed = [str(a).lower() for a in (accepted if isinstance(accepted, list) else [accepted])]
        value = r.headers.get(str(name).lower())
        if value is None:
            problems.append(f"no {name}")
        elif any(v.strip().lower() not in allowed for v in value.split(",")):  # conflicting repeats fail too
            problems.append(f"{name} is {value!r} (expected {' or '.join(allowed)})")
    if problems:
        return failed(f"{r.url} (HTTP {r.status}): " + "; ".join(problems), **evidence)
    return passed(f"{r.url} sends HSTS ({hsts}) and " + ", ".join(str(n) for n in p["headers"]), **evidence)


@probe("http.redirect", target="http", params={
    "statuses": Param("int-list", [301, 308], help="redirect statuses accepted (permanent ones)"),
    "path": Param("url-path", "/"),
})
def redirect(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Plain HTTP answers a permanent redirect to https://."""
    if not p["statuses"] or any(not 300 <= int(x) < 400 for x in p["statuses"]):
        return undecided(f"statuses must be redirect statuses (3xx), not {p['statuses']}")
    handle = ctx.client
    plain = handle.setting("http_url")
    if not plain:
        o = handle.origin
        host = f"[{o.host}]" if ":" in o.host else o.host
        plain = f"http://{host}/"
    url = handle.url(p["path"], base=plain)
    if not url.lower().startswith("http://"):
        return undecided("http_url must be a plain http:// URL")
    r = _get(ctx, url)
    location = r.location or ""
    evidence = {"url": r.url, "status": r.status, "location": handle.shown(location) if location else None}
    if r.status in p["statuses"] and location.lower().startswith("https://"):
        return passed(f"{r.url} answers {r.status} to {handle.shown(location)}", **evidence)
    if 300 <= r.status < 400 and location.lower().startswith("https://"):
        return failed(f"{r.url} redirects to https with {r.status}, a temporary redirect: use "
                      f"{' or '.join(map(str, p['statuses']))} so clients and caches remember it", **evidence)
    if 300 <= r.status < 400:
        return failed(f"{r.url} answers {r.status} to {handle.shown(location) if location else 'nowhere'}, not to "
                      "https://", **evidence)
    return failed(f"{r.url} answers {r.status} over plain HTTP instead of redirecting to https://", **evidence)


@probe("http.body-size", target="http", params={
    "size": Param("str", "25Mi", help="the largest request the product must accept (e.g. 25Mi)"),
    "path": Param("url-path", "/", help="where to POST it (a path the application accepts POSTs on)"),
    "content_type": Param("str", "application/json"),
    "send_body": Param("bool", False, help="really POST the body (a write to the production endpoint: also needs "
                                           "allow_writes: true in the http target); by default only the headers "
                                           "are sent, with Expect: 100-continue"),
})
def body_size(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The public endpoint accepts a request of the product's maximum payload (no 413 from the proxy), asked with
    the headers alone unless the item opts in to sending the body."""
    size = parse_size(p["size"])
    if size <= 0:
        return undecided(f"size must be above 0 bytes, not {p['size']!r}")
    handle = ctx.client
    shown = handle.shown(handle.url(p["path"]))
    if p["send_body"] and ctx.config().get("allow_writes") is not True:
        return not_applicable("the item opts in to sending the body but the http target does not allow writes "
                              "(allow_writes: true)")
    budget = max(0.5, ctx.remaining() * 0.9)
    if not p["send_body"]:
        answer = handle.ask_body(p["path"], size, min(ctx.timeout, budget), p["content_type"])
        evidence = {"url": shown, "bytes": size, "status": answer.status, "sent": 0, "asked": "Expect: 100-continue",
                    "seconds": round(answer.elapsed, 3)}
        if answer.continued is True:
            return passed(f"{shown} answers 100 Continue to the headers of a {human_bytes(size)} POST: the size is "
                          "accepted (no body was sent)", **evidence)
        if answer.status == 413:
            return failed(f"{shown} refuses the headers of a {human_bytes(size)} POST with 413 Request Entity Too "
                          "Large: raise the proxy's body limit (client_max_body_size / proxy-body-size) to at least "
                          "that", **evidence)
        return undecided(f"{shown} answered {answer.status} to the headers of a {human_bytes(size)} POST, neither "
                         "100 Continue nor 413, so the limit was not read: choose a path that accepts POSTs (or opt "
                         "in to send_body)", **evidence)
    with handle.writes():
        answer = handle.send_body(p["path"], size, budget, p["content_type"])
    evidence = {"url": shown, "bytes": size, "status": answer.status, "sent": answer.sent,
                "seconds": round(answer.elapsed, 3)}
    if not isinstance(answer.status, int) or isinstance(answer.status, bool):
        return undecided(f"POST of {human_bytes(size)} to {shown} got no readable status ({answer.status!r})",
                         **evidence)
    if answer.status == 413:
        return failed(f"POST of {human_bytes(size)} to {shown} is refused with 413 Request Entity Too Large after "
                      f"{human_bytes(answer.sent)}: raise the proxy's body limit (client_max_body_size / "
                      "proxy-body-size) to at least that", **evidence)
    if answer.complete is not True:
        return undecided(f"{shown} answered {answer.status} before the {human_bytes(size)} body was sent "
                         f"({human_bytes(answer.sent)} sent), so the limit was not tested: choose a path that "
                         "accepts POSTs", **evidence)
    if answer.status >= 500:
        return undecided(f"POST of {human_bytes(size)} to {shown} went through but the answer is {answer.status}: "
                         "a server error says nothing about the limit", **evidence)
    return passed(f"POST of {human_bytes(size)} to {shown} went through (answered {answer.status}, not 413)",
                  **evidence)


def _judge_health(ctx: Any, url: str, p: dict[str, Any]) -> tuple[bool, str, dict[str, Any]]:
    r = _get(ctx, url)
    ms = r.elapsed * 1000
    evidence = {"url": r.url, "status": r.status, "ms": round(ms, 1), "body": r.text(200)}
    if r.status != int(p["status"]):
        what = f" to {ctx.client.shown(r.location)}" if r.location else ""
        return False, f"{r.url} answered {r.status}{what} (expected {p['status']}): {r.text(120)!r}", evidence
    if p.get("body_contains") and str(p["body_contains"]) not in r.body.decode("utf-8", "replace"):
        return False, f"{r.url} answered {r.status} but its body lacks {p['body_contains']!r}: {r.text(120)!r}", \
            evidence
    status = _json_status(r.body)
    if status is not None and status.lower() in _BAD_STATUS:
        return False, f"{r.url} answered {r.status} with status {status!r}", evidence
    if ms > float(p["max_latency_ms"]):
        return False, f"{r.url} took {ms:.0f} ms (more than {p['max_latency_ms']:g} ms)", evidence
    return True, f"{r.url} {r.status} in {ms:.0f} ms", evidence


def _json_status(body: bytes) -> str | None:
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    value = data.get("status") if isinstance(data, dict) else None
    return str(value) if isinstance(value, (str, bool)) else None


@probe("http.endpoint", target="http", params={
    "path": Param("url-path", help="path of the endpoint on base_url (e.g. /api/public/health)"),
    "worker_path": Param("url-path", _OPT, help="also this path on worker_url (Langfuse's worker :3030/api/health); "
                                           "skipped when no worker_url is set"),
    "status": Param("int", 200),
    "body_contains": Param("str", _OPT, help="text the body must contain"),
    "max_latency_ms": Param("number", 2000, help="slower than this fails"),
})
def endpoint(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The application's health/readiness endpoint answers the expected status, body and within the latency."""
    if not 200 <= int(p["status"]) < 300:
        return undecided(f"status must be a success status (2xx): a health check expecting {p['status']} would "
                         "pass a failing endpoint")
    handle = ctx.client
    checks = [handle.url(p["path"])]
    worker = handle.setting("worker_url")
    if p.get("worker_path") and worker:
        checks.append(handle.url(p["worker_path"], base=worker))
    results = [_judge_health(ctx, url, p) for url in checks]
    evidence = {"checked": [e for _, _, e in results]}
    bad = [m for ok, m, _ in results if not ok]
    if bad:
        return failed("; ".join(bad), **evidence)
    note = "" if not p.get("worker_path") or worker else f" (the worker's {p['worker_path']} was not checked: " \
                                                         "set worker_url in the http target)"
    return passed("; ".join(m for _, m, _ in results) + note, **evidence)


@probe("http.metrics-protected", target="http", params={
    "path": Param("url-path", "/metrics"),
    "token_header": Param("str", "Authorization", help="header that carries metrics_token"),
    "token_prefix": Param("str", "Bearer ", help="text before the token in that header"),
})
def metrics_protected(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The metrics endpoint refuses a request without a token (401/403, or 404: not served there), after redirects
    on the same host; with metrics_token set, it serves metrics with it."""
    handle = ctx.client
    url = handle.url(p["path"])
    r = _get(ctx, url, follow=_HOPS)
    evidence: dict[str, Any] = {"url": r.url, "status_without_token": r.status}
    if r.redirects:
        evidence["redirects"] = list(r.redirects)
    if r.status == 200:
        looks = r.body.lstrip().startswith(b"#") or b"# TYPE" in r.body or b"_total" in r.body
        what = "serves Prometheus metrics" if looks else "answers 200 (the body does not look like metrics: a " \
                                                        "catch-all page? point `path` at the real endpoint)"
        return failed(f"{r.url} {what} to anyone, without a token: set LANGSIGHT_METRICS_TOKEN (or the product's "
                      "equivalent) or block the path at the proxy", **evidence)
    unsure = _not_a_refusal(handle, r)
    if unsure:
        return undecided(unsure, **evidence)
    token = ctx.config().get("metrics_token")
    refusal = f"refuses a request without a token ({r.status})" if r.status != 404 else \
        "is not served without a token (404)"
    if not token:
        return passed(f"{r.url} {refusal}; no metrics_token configured, so a scrape with it was not tried",
                      **evidence)
    with_token = _get(ctx, url, headers={str(p["token_header"]): f"{p['token_prefix']}{token}"}, follow=_HOPS)
    evidence["status_with_token"] = with_token.status
    if with_token.status == 200:
        return passed(f"{r.url} {refusal} and serves metrics with metrics_token", **evidence)
    if with_token.status >= 500 or 300 <= with_token.status < 400:
        return undecided(f"{r.url} {refusal}, but with metrics_token it answers " + _answer(handle, with_token)
                         + ": whether the scraper is served cannot be told", **evidence)
    return failed(f"{r.url} {refusal} but also the configured metrics_token ({with_token.status}): Prometheus "
                  "cannot scrape it", **evidence)


def _answer(handle: Any, r: Any) -> str:
    where = f" to {handle.shown(r.location)}" if r.location and 300 <= r.status < 400 else ""
    return f"{r.status}{where}"


def _not_a_refusal(handle: Any, r: Any) -> str | None:
    """Why an answer without the token is no proof that the endpoint is closed (None when it is proof)."""
    if r.status in (401, 403, 404):
        return None
    if 300 <= r.status < 400:
        return (f"{r.url} redirects ({_answer(handle, r)}) somewhere this audit does not follow (another host, or "
                "too many hops; a token is never sent off the host): check that endpoint, or point `path` at it")
    if r.status >= 500:
        return (f"{r.url} answers {r.status} without a token: a server error (a dead backend, or no token "
                "configured in the application) says nothing about whether the endpoint is protected")
    return (f"{r.url} answers {r.status} without a token: only 401/403 (refused) or 404 (not served) show the "
            "endpoint is closed")
