"""app.end-to-end-canary against a stand-in of each product's public API over real HTTP on 127.0.0.1.

The stand-in (readiness/demo/product_api.py) is written from the vendors' published API definitions (Langfuse's
fern ingestion.yml, trace.yml and opentelemetry.yml; LangSmith's OpenAPI for POST /runs and GET /runs/{run_id}), as
the project's rule on stand-ins allows: it is not the product, it answers as those documents say the product does.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import audit, write_yaml

from readiness.checklist import default_path
from readiness.clients.http import HttpHandle, WriteRefused
from readiness.demo.product_api import ProductApi
from readiness.errors import ConfigError

ITEM = "app.end-to-end-canary"
PK, SK, AK = "pk-lf-Pl4ntedPublic9", "sk-lf-Pl4ntedSecret7", "lsv2_pt_Pl4ntedApiKey5"
PRODUCTS = ("langfuse", "langsmith")


def stand_in(product: str, behaviour: str = "ok", **kw: Any) -> ProductApi:
    return ProductApi(product, behaviour, public_key=PK, secret_key=SK, api_key=AK, **kw).start()


def targets_for(api: ProductApi, opt_in: bool = True, allow_writes: bool = True, **http: Any) -> dict[str, Any]:
    keys = {"public_key": PK, "secret_key": SK} if api.product == "langfuse" else {"api_key": AK}
    out: dict[str, Any] = {"preset": api.product,
                           "http": {"base_url": api.url, "allow_writes": allow_writes, **keys, **http}}
    if opt_in:
        out["opt_in"] = [ITEM]
    return out


def checklist(tmp_path: Path, timeout: float = 20, **params: Any) -> str:
    data = yaml.safe_load(Path(default_path()).read_text())
    for sec in data["sections"]:
        for item in sec["items"]:
            if item["id"] == ITEM:
                item["with"] = {**item.get("with", {}), "poll_interval": 0.1, **params}
                item["timeout"] = timeout
    return str(write_yaml(tmp_path / "checklist.yaml", data))


def run(tmp_path: Path, api: ProductApi, cl: str | None = None, **targets: Any) -> Any:
    results, _ = audit(tmp_path, targets_for(api, **targets), [ITEM], checklist=cl or checklist(tmp_path))
    return results[ITEM]


def timed(tmp_path: Path, api: ProductApi, **params: Any) -> tuple[Any, float]:
    """The item's result with these checklist parameters, and the seconds the audit took."""
    started = time.monotonic()
    r = run(tmp_path, api, checklist(tmp_path, **params))
    return r, time.monotonic() - started


def no_secret(r: Any) -> None:
    shown = f"{r.message} {r.evidence}"
    for key in (PK, SK, AK):
        assert key not in shown


# --- the two yeses ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("opt_in, allow_writes", [(False, True), (True, False), (False, False)])
def test_without_both_yeses_nothing_is_sent(tmp_path: Path, product: str, opt_in: bool, allow_writes: bool) -> None:
    with stand_in(product) as api:
        r = run(tmp_path, api, opt_in=opt_in, allow_writes=allow_writes)
        assert r.status == "skipped", r.message
        assert f"opt_in: [{ITEM}]" in r.message and "allow_writes: true" in r.message
        assert api.requests == []  # not one request, not even a GET


def test_the_client_refuses_writes_outside_the_guard() -> None:
    with stand_in("langfuse") as api:
        handle = HttpHandle({"base_url": api.url, "allow_writes": True}, 2.0)
        with pytest.raises(WriteRefused):
            handle.send("POST", handle.url("/api/public/ingestion"), b"{}")
        with pytest.raises(WriteRefused):
            with HttpHandle({"base_url": api.url}, 2.0).writes():
                pass
        assert api.requests == []
        with handle.writes():
            assert handle.send("DELETE", handle.url("/api/public/traces/x")).status == 401


# --- behaviours, each product -------------------------------------------------------------------------------------

@pytest.mark.parametrize("product", PRODUCTS)
def test_the_canary_passes_once_the_worker_shows_it_and_reports_its_timings(tmp_path: Path, product: str) -> None:
    with stand_in(product, visible_after=0.6) as api:
        r = run(tmp_path, api)
        assert r.status == "pass", r.message
        assert r.evidence["visible_s"] >= 0.5 and r.evidence["accept_s"] >= 0, r.evidence
        assert f"accepted the canary in {r.evidence['accept_s']:.2f}s" in r.message
        assert f"readable {r.evidence['visible_s']:.2f}s later" in r.message
        assert r.evidence["polls"] > 1  # it was not readable at once
        body = api.bodies[0]
        if product == "langfuse":
            event = body["batch"][0]
            assert event["type"] == "trace-create" and event["body"]["name"] == "readiness-canary"
            assert event["body"]["metadata"]["readiness"] == "canary"
            assert api.deleted == [r.evidence["canary_id"]] and r.evidence["cleanup"] == "deleted"
        else:
            assert body["session_name"] == "readiness-canary" and body["name"] == "readiness-canary"
            assert body["extra"]["metadata"]["readiness"] == "canary"
            assert ("POST", "/api/v1/runs") in api.requests and "kept in the LangSmith project" in r.message
        no_secret(r)


@pytest.mark.parametrize("product", PRODUCTS)
def test_wrong_keys_are_an_auth_error_that_repeats_no_key(tmp_path: Path, product: str) -> None:
    with ProductApi(product, public_key="pk-other", secret_key="sk-other", api_key="other").start() as api:
        r = run(tmp_path, api)
        assert r.status == "error" and r.evidence["step"] == "auth", r.message
        assert "refused the credentials (401)" in r.message
        no_secret(r)  # the stand-in's 401 body echoes the keys it was sent


@pytest.mark.parametrize("product", PRODUCTS)
def test_an_event_refused_inside_the_answer_fails_at_ingestion(tmp_path: Path, product: str) -> None:
    with stand_in(product, "partial") as api:
        r = run(tmp_path, api)
        assert r.status == "fail" and r.evidence["step"] == "ingest", r.message
        if product == "langfuse":
            assert "refused inside the 207 answer (status 400: Invalid request data)" in r.message
        else:
            assert "POST /api/v1/runs answered 422" in r.message
        assert not [p for m, p in api.requests if m == "GET" and "health" not in p]  # nothing to read back


@pytest.mark.parametrize("product", PRODUCTS)
def test_a_429_is_honoured_within_the_budget(tmp_path: Path, product: str) -> None:
    with stand_in(product, "throttle", retry_after="1", throttles=1) as api:
        r, took = timed(tmp_path, api)
        assert r.status == "pass", r.message
        assert r.evidence["throttled"] == 1 and r.evidence["accept_s"] >= 0.9
        assert took >= 1.0
        assert [m for m, _ in api.requests].count("POST") == 2


@pytest.mark.parametrize("product", PRODUCTS)
def test_a_retry_after_beyond_the_budget_is_undecided_at_once(tmp_path: Path, product: str) -> None:
    with stand_in(product, "throttle", retry_after="3600", throttles=5) as api:
        r, took = timed(tmp_path, api, budget=5)
        assert r.status == "error" and "throttled (429, Retry-After 3600s) beyond the budget" in r.message
        assert took < 4


@pytest.mark.parametrize("product", PRODUCTS)
def test_accepted_but_never_visible_fails_after_the_budget(tmp_path: Path, product: str) -> None:
    with stand_in(product, "never") as api:
        r, took = timed(tmp_path, api, timeout=4, budget=1.5)
        assert r.status == "fail" and r.evidence["step"] == "visible", r.message
        assert "still not readable" in r.message and "(budget 1.5s): queued but never visible" in r.message
        assert 2.5 <= took < 9, took  # read on past the budget until the item's timeout less its reserve
        assert r.evidence["polls"] >= 5 and "accept_s" in r.evidence


@pytest.mark.parametrize("product", PRODUCTS)
def test_a_frozen_server_costs_one_timeout_and_the_deadline_holds(tmp_path: Path, product: str) -> None:
    with stand_in(product, "freeze") as api:
        r, took = timed(tmp_path, api, timeout=3, budget=60)
        assert r.status == "error", r.message
        assert took < 8, took  # the item's 3 s (and the audit's start-up on a busy machine), not the 60 s budget
        assert [m for m, _ in api.requests].count("POST") == 1  # one timeout, no retry
        if product == "langfuse":  # the POST may have landed: the session's close deletes what it may have written
            end = time.monotonic() + 10
            while not any(m == "DELETE" and p.startswith("/api/public/traces/") for m, p in api.requests):
                assert time.monotonic() < end, api.requests
                time.sleep(0.05)


def test_a_budget_beyond_the_items_timeout_is_clipped_and_says_so(tmp_path: Path) -> None:
    with stand_in("langfuse", "never") as api:
        r = run(tmp_path, api, checklist(tmp_path, timeout=3, budget=60))
        assert r.status == "fail" and "clipped to 2.0s by the item's timeout" in r.message, r.message


@pytest.mark.parametrize("product", PRODUCTS)
def test_readable_after_the_budget_fails_as_slow_not_as_never(tmp_path: Path, product: str) -> None:
    with stand_in(product, visible_after=1.5) as api:
        r = run(tmp_path, api, checklist(tmp_path, timeout=5, budget=0.8))
        assert r.status == "fail" and r.evidence["step"] == "slow", r.message
        assert r.message.startswith(f"slow: {product} accepted the canary in")
        assert "over the budget of 0.8s" in r.message
        assert r.evidence["visible_s"] >= 1.4


def test_a_failed_delete_is_reported_not_hidden(tmp_path: Path) -> None:
    with stand_in("langfuse", "delete-fails", visible_after=0.1) as api:
        r = run(tmp_path, api)
        assert r.status == "pass", r.message
        assert "cleanup FAILED: DELETE /api/public/traces/" in r.message and "answered 500" in r.message
        assert r.evidence["cleanup"].startswith("cleanup FAILED")
        assert r.evidence["canary_id"] in r.message  # what to remove by hand


def test_a_delete_that_hangs_is_reported_and_the_visibility_verdict_stands(tmp_path: Path) -> None:
    with stand_in("langfuse", "delete-hangs", visible_after=0.1) as api:
        r, took = timed(tmp_path, api, timeout=4)
        assert r.status == "pass", r.message
        assert "cleanup FAILED: DELETE /api/public/traces/" in r.message and "remove trace" in r.message
        assert took < 9


def test_langfuse_v4_gets_the_canary_over_otlp(tmp_path: Path) -> None:
    with stand_in("langfuse", version="4.2.0", visible_after=0.2) as api:
        r = run(tmp_path, api)
        assert r.status == "pass", r.message
        assert r.evidence["transport"] == "otel"
        assert ("POST", "/api/public/otel/v1/traces") in api.requests
        assert any(p == "/api/public/v2/observations" for m, p in api.requests)  # v4's real-time read
        span = api.bodies[0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        assert span["name"] == "readiness-canary" and len(span["traceId"]) == 32
    with stand_in("langfuse", "partial", version="4.2.0") as api:
        r = run(tmp_path, api)
        assert r.status == "fail" and "the span was rejected (invalid span)" in r.message


def test_langsight_is_not_applicable_and_sends_nothing(tmp_path: Path) -> None:
    with stand_in("langfuse") as api:
        targets = targets_for(api)
        targets["preset"] = "langsight"
        results, _ = audit(tmp_path, targets, [ITEM], checklist=checklist(tmp_path))
        r = results[ITEM]
        assert r.status == "skipped" and "no read of one trace by id" in r.message
        assert api.requests == []


# --- the targets file's opt_in ------------------------------------------------------------------------------------

def test_opt_in_names_must_be_items_that_write(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "targets.yaml", {"opt_in": ["app.end-to-end-canery", "redis.eviction-policy"],
                                                  "http": {"base_url": "http://127.0.0.1:9"}})
    from readiness.audit import load_inputs

    with pytest.raises(ConfigError) as err:
        load_inputs(None, str(path))
    text = str(err.value)
    assert f"{path}:2:" in text and "'app.end-to-end-canery' is not an item" in text
    assert "did you mean 'app.end-to-end-canary'" in text
    assert f"{path}:3:" in text and "redis.eviction-policy does not write" in text
    done = subprocess.run([sys.executable, "-m", "readiness", "validate", "-t", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "is not an item" in done.stderr + done.stdout


def test_opt_in_must_be_a_list_of_ids(tmp_path: Path) -> None:
    from readiness.targets import load_targets

    for bad in ("app.end-to-end-canary", [1]):
        with pytest.raises(ConfigError) as err:
            load_targets(write_yaml(tmp_path / "t.yaml", {"opt_in": bad}))
        assert "opt_in" in str(err.value)


# --- reports ------------------------------------------------------------------------------------------------------

def test_the_timings_show_in_every_report_format(tmp_path: Path) -> None:
    """SARIF is left out: it carries static findings with a file location, and the canary has none."""
    from readiness.registry import reporter

    with stand_in("langfuse", visible_after=0.2) as api:
        results, report = audit(tmp_path, targets_for(api), [ITEM], checklist=checklist(tmp_path))
    r = results[ITEM]
    assert r.status == "pass", r.message
    accept, visible = f"{r.evidence['accept_s']:.2f}s", f"{r.evidence['visible_s']:.2f}s"
    rendered = {name: reporter(name).render(report) for name in ("json", "html", "junit", "markdown")}
    rendered["text"] = reporter("text").module.render(report, color=False)
    for name, text in rendered.items():
        assert f"accepted the canary in {accept}" in text and f"readable {visible} later" in text, name
    prom = reporter("prometheus").render(report)
    assert f'id="{ITEM}",step="visible"}} {r.evidence["visible_s"]:g}\n' in prom
    assert f'id="{ITEM}",step="accept"}} {r.evidence["accept_s"]:g}\n' in prom
    for text in (*rendered.values(), prom):
        assert SK not in text and PK not in text


def test_the_keys_and_their_basic_auth_form_are_masked(tmp_path: Path) -> None:
    import base64

    from readiness.targets import load_targets

    targets = load_targets(write_yaml(tmp_path / "t.yaml", {"http": {"base_url": "https://h", "public_key": PK,
                                                                     "secret_key": SK, "api_key": AK}}))
    basic = base64.b64encode(f"{PK}:{SK}".encode()).decode()
    assert targets.scrubber().text(f"{PK} {SK} {AK} Basic {basic}") == "*** *** *** Basic ***"
    assert PK not in str(targets.redacted()) and SK not in str(targets.redacted())


def test_the_readmes_canary_settings_work_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("**The end-to-end canary**", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    settings = yaml.safe_load(block)
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", PK)
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", SK)
    with stand_in("langfuse", visible_after=0.1) as api:
        settings["http"]["base_url"] = api.url
        path = tmp_path / "targets.yaml"
        path.write_text(yaml.safe_dump({"preset": "langfuse", **settings}))
        results, _ = audit(tmp_path, yaml.safe_load(path.read_text()), [ITEM], checklist=checklist(tmp_path))
    assert results[ITEM].status == "pass", results[ITEM].message


def test_a_retry_after_of_zero_is_not_a_loop(tmp_path: Path) -> None:
    with stand_in("langsmith", "throttle", retry_after="0", throttles=10_000) as api:
        r = run(tmp_path, api, checklist(tmp_path, budget=1.0, poll_interval=0.25))
        assert r.status == "error" and "beyond the budget" in r.message, r.message
        assert [m for m, _ in api.requests].count("POST") <= 5, len(api.requests)
