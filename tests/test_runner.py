"""The runner: fail-closed verdicts, timeouts, concurrency, one session per target, secrets blanked."""

from __future__ import annotations

import textwrap

import pytest
import readiness_testplugin as plugin
from helpers import audit
from servers import BlackHole
from testdb import LineDB


def checklist(tmp_path, items: str) -> str:
    path = tmp_path / "checklist.yaml"
    path.write_text("version: 1\nname: t\nsections:\n  - id: s\n    title: S\n    items:\n"
                    + textwrap.indent(textwrap.dedent(items), "      "))
    return str(path)


def item(item_id: str, probe: str, with_: str = "", level: str = "required", extra: str = "") -> str:
    w = f"  with: {with_}\n" if with_ else ""
    return f"- id: {item_id}\n  title: {item_id}\n  level: {level}\n  probe: {probe}\n{w}  rationale: r\n{extra}"


@pytest.fixture
def testdb():
    db = LineDB()
    yield db
    db.close()


def test_only_an_explicit_pass_verdict_passes(tmp_path):
    cl = checklist(tmp_path, item("s.ok", "test.constant", "{status: pass}") + item("s.raise", "test.raise")
                   + item("s.none", "test.returns-none") + item("s.skip", "test.constant", "{status: skipped}")
                   + item("s.err", "test.constant", "{status: error, message: cannot tell}"))
    results, report = audit(tmp_path, {}, [], checklist=cl)
    assert results["s.ok"].status == "pass"
    assert (results["s.raise"].status, results["s.raise"].message) == ("error", "RuntimeError: boom")
    assert "Traceback" in results["s.raise"].traceback and "traceback" not in report["results"][1]
    assert (results["s.none"].status, results["s.none"].message) == ("error", "probe test.returns-none returned "
                                                                               "NoneType, not a verdict")
    assert results["s.skip"].status == "skipped"
    assert (results["s.err"].status, results["s.err"].message) == ("error", "cannot tell")
    assert [r["id"] for r in report["results"]] == ["s.ok", "s.raise", "s.none", "s.skip", "s.err"]
    assert report["summary"]["verdict"] == "not-ready" and report["summary"]["blocking"] == 3


def test_a_slow_item_times_out_as_an_error_and_the_others_still_finish(tmp_path):
    cl = checklist(tmp_path, item("s.slow", "test.sleep", "{seconds: 30}", extra="  timeout: 0.5\n")
                   + item("s.fast", "test.constant", "{status: pass}"))
    results, _ = audit(tmp_path, {}, [], checklist=cl)
    assert (results["s.slow"].status, results["s.slow"].message) == ("error", "timed out after 0.5s")
    assert results["s.fast"].status == "pass"


def test_the_global_deadline_ends_the_run(tmp_path):
    from readiness.audit import execute, load_inputs
    from readiness.runner import Options

    cl = checklist(tmp_path, "".join(item(f"s.n{i}", "test.sleep", "{seconds: 30}") for i in range(4)))
    _, results = execute(load_inputs(cl, None), Options(timeout=60, deadline=1, concurrency=2), "required")
    messages = sorted(r.message for r in results)
    assert [r.status for r in results] == ["error"] * 4
    assert messages == ["not run: the run's deadline of 1s was reached"] * 2 + \
        ["timed out: the run's deadline of 1s was reached"] * 2


def test_items_run_concurrently(tmp_path):
    # Eight items that each wait until all eight are running at once: they can only pass if run concurrently.
    cl = checklist(tmp_path, "".join(item(f"s.b{i}", "test.barrier", "{parties: 8}") for i in range(8)))
    results, _ = audit(tmp_path, {}, [], checklist=cl, timeout=20)
    assert {r.status for r in results.values()} == {"pass"}


def test_one_connection_and_one_fetch_per_target(tmp_path, testdb):
    cl = checklist(tmp_path, "".join(item(f"s.e{i}", "test.echo", "{expect: {equals: 42}}") for i in range(10)))
    plugin.Client.connects = 0
    results, _ = audit(tmp_path, {"testdb": {"port": testdb.port}}, [], checklist=cl)
    assert {r.status for r in results.values()} == {"pass"}
    assert plugin.Client.connects == 1 and testdb.connections == 1
    assert testdb.requests == {"HELLO": 1, "VALUE": 1}


def test_a_black_holed_target_costs_one_timeout_not_one_per_item(tmp_path):
    hole = BlackHole()
    try:
        cl = checklist(tmp_path, "".join(item(f"s.e{i}", "test.echo", "{expect: {equals: 42}}") for i in range(12)))
        plugin.Client.connects = 0
        results, _ = audit(tmp_path, {"testdb": {"port": hole.port}}, [], checklist=cl, timeout=1)
    finally:
        hole.close()
    assert {r.status for r in results.values()} == {"error"}
    assert plugin.Client.connects == 1  # the first failure is remembered; no item dials again
    assert len(hole.accepted) == 1


def test_a_failed_item_match_is_judged_with_evidence(tmp_path, testdb):
    cl = checklist(tmp_path, item("s.e", "test.echo", "{expect: {min: 100}}"))
    results, _ = audit(tmp_path, {"testdb": {"port": testdb.port}}, [], checklist=cl)
    r = results["s.e"]
    assert (r.status, r.message) == ("fail", "value is 42, expected >= 100")
    assert r.evidence == {"value": "42", "expected": ">= 100"}


def test_a_missing_target_is_an_error_never_a_pass(tmp_path):
    cl = checklist(tmp_path, item("s.e", "test.echo", "{expect: {present: true}}")
                   + item("s.k", "test.needs-kubernetes"))
    results, _ = audit(tmp_path, {}, [], checklist=cl)
    assert (results["s.e"].status, results["s.e"].message) == (
        "error", "no testdb target configured (add 'testdb:' to the targets file, or --skip s)")
    assert (results["s.k"].status, results["s.k"].message) == (
        "error", "needs the kubernetes target (not configured in the targets file)")


def test_secrets_never_reach_results_or_reports(tmp_path, testdb):
    cl = checklist(tmp_path, item("s.leak", "test.secret"))
    results, report = audit(tmp_path, {"testdb": {"port": testdb.port, "password": "tops3cret-pw"}}, [],
                            checklist=cl)
    import json

    assert "tops3cret-pw" not in json.dumps(report)
    assert results["s.leak"].message == "password is ***"
    assert report["targets"]["testdb"]["password"] == "***"


def test_presets_profiles_only_and_skip_make_skipped_results_with_reasons(tmp_path):
    cl = checklist(tmp_path, item("s.a", "test.constant", "{status: pass}", extra="  presets: [langsight]\n")
                   + item("s.b", "test.constant", "{status: pass}", extra="  profiles: [production]\n")
                   + item("s.c", "test.constant", "{status: fail}"))
    results, _ = audit(tmp_path, {"preset": "langfuse"}, [], checklist=cl, profile="non-production")
    assert results["s.a"].message == "applies to langsight only (preset is langfuse)"
    assert results["s.b"].message == "applies to the production profile only"
    assert results["s.c"].status == "fail"
    results, _ = audit(tmp_path, {}, ["s.c"], checklist=cl)
    assert results["s.a"].message == "not selected (--only s.c)"
    assert results["s.a"].status == "skipped" and results["s.c"].status == "fail"


def test_per_preset_parameters_apply(tmp_path):
    cl = checklist(tmp_path, item("s.p", "test.constant", "{status: pass}",
                                  extra="  preset_with:\n    langfuse: {status: fail}\n"))
    assert audit(tmp_path, {"preset": "langsmith"}, [], checklist=cl)[0]["s.p"].status == "pass"
    assert audit(tmp_path, {"preset": "langfuse"}, [], checklist=cl)[0]["s.p"].status == "fail"


@pytest.mark.parametrize("fail_on, blocking", [("required", 1), ("recommended", 2), ("optional", 3), ("never", 0)])
def test_the_gate_blocks_at_and_above_the_chosen_level(tmp_path, fail_on, blocking):
    cl = checklist(tmp_path, item("s.r", "test.constant", "{status: fail}")
                   + item("s.c", "test.constant", "{status: error}", level="recommended")
                   + item("s.o", "test.constant", "{status: fail}", level="optional")
                   + item("s.ok", "test.constant", "{status: pass}"))
    _, report = audit(tmp_path, {}, [], checklist=cl, fail_on=fail_on)
    assert report["summary"]["blocking"] == blocking
    assert report["summary"]["verdict"] == ("ready" if blocking == 0 else "not-ready")


def _wait_for_threads(at_most: int, seconds: float = 10.0) -> int:
    import threading
    import time

    end = time.monotonic() + seconds
    while threading.active_count() > at_most and time.monotonic() < end:
        time.sleep(0.05)
    return threading.active_count()


def test_a_target_that_freezes_after_connecting_costs_one_timeout_and_no_piled_up_threads(tmp_path):
    import threading
    import time

    from readiness.audit import execute, load_inputs
    from readiness.runner import Options

    frozen = LineDB(freeze_after_hello=True)  # answers the greeting, then reads and never answers again
    try:
        cl = checklist(tmp_path, "".join(item(f"s.q{i}", "test.query", "{expect: {equals: 42}}") for i in range(12)))
        targets = tmp_path / "t.yaml"
        targets.write_text(f"testdb: {{port: {frozen.port}}}\n")
        before = threading.active_count()
        started = time.monotonic()
        _, results = execute(load_inputs(cl, str(targets)), Options(timeout=1, concurrency=4), "required")
        wall = time.monotonic() - started
    finally:
        frozen.close()
    assert [r.status for r in results] == ["error"] * 12
    messages = [r.message for r in results]
    # the items already talking to the server time out (on the client's socket timeout or the runner's), ...
    first = [m for m in messages if m in ("TimeoutError: timed out", "timed out after 1s")]
    # ... and every other item ends at once, naming the first cause
    rest = [m for m in messages if m.startswith("the testdb target did not answer: item s.q")]
    assert first and rest and len(first) + len(rest) == 12 and len(first) <= 4, messages
    assert wall < 1 + 1.5, f"12 items on a frozen target took {wall:.1f}s: more than one timeout"
    assert _wait_for_threads(before + 1) <= before + 1  # the stuck readers give up on their own socket timeouts


def test_the_first_timeout_makes_waiting_items_of_the_target_end_at_once(tmp_path):
    import time

    from readiness.context import Session, TargetUnavailable

    session = Session("testdb", {}, 5.0)
    session._fact_locks["f"] = held = __import__("threading").Lock()
    held.acquire()  # an item hangs on the target while holding the fact's lock
    session.fail("the testdb target did not answer: item a timed out after 1s")
    started = time.monotonic()
    with pytest.raises(TargetUnavailable, match="item a timed out"):
        session.fact("f", lambda c: 1, deadline=time.monotonic() + 5)
    assert time.monotonic() - started < 1


def test_broken_plugins_are_reported_and_never_fatal():
    import subprocess
    import sys
    from pathlib import Path

    env = {**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parent / "plugin")}
    proc = subprocess.run([str(Path(sys.executable).parent / "readiness"), "probes"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0 and "test.echo  (target: testdb)" in proc.stdout
    assert "broken plugin broken = readiness_testplugin_missing: ModuleNotFoundError" in proc.stderr
    assert "broken plugin brokenkind = readiness_testplugin:NOT_A_KIND: is not a TargetKind" in proc.stderr
