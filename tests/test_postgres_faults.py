"""A PostgreSQL that freezes (SIGSTOP), dies or is black-holed after the session is open costs about one timeout: the
statement is cancelled and its socket shut when the time is up, the session is then marked broken so every later
statement fails at once naming the first cause, and no thread is left behind.  Each test has its own server."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml
from checklists import generic_item
from forwarder import Forwarder
from helpers import write_yaml

from readiness.audit import execute, load_inputs
from readiness.checklist import default_path
from readiness.clients import postgres
from readiness.context import TargetUnavailable
from readiness.demo.postgres import PgSpec, PostgresServer, start_postgres
from readiness.runner import Options

MARGIN = 1.5  # seconds above the timeout a frozen target may cost (grace for the cancel, the runner's own polling)


@pytest.fixture
def server(server_root: Path) -> Iterator[PostgresServer]:
    import tempfile

    setup = ["CREATE ROLE app LOGIN PASSWORD 'app-pw' IN ROLE pg_monitor", "CREATE DATABASE app OWNER app"]
    srv = start_postgres(Path(tempfile.mkdtemp(prefix="faults-", dir=server_root)), PgSpec(setup=setup), name="faulty")
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        try:
            signal_all(srv, signal.SIGCONT)
        except (OSError, ValueError):
            pass
    srv.stop()


def dsn(port: int) -> str:
    return f"postgresql://app:app-pw@127.0.0.1:{port}/app"


def settle(before: int) -> int:
    """Threads alive once the short-lived ones (watchdog timers, probe workers) had a bounded chance to end."""
    end = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < end:
        time.sleep(0.05)
    return threading.active_count()


def backend_pid(server: PostgresServer) -> int:
    end = time.monotonic() + 10
    while time.monotonic() < end:
        rows = server.execute("SELECT pid FROM pg_stat_activity WHERE application_name = 'readiness' "
                              "AND state = 'active' AND query LIKE '%pg_sleep%'")[0]
        if rows:
            return int(rows[0][0])
        time.sleep(0.02)
    raise TimeoutError("the audit's statement never showed in pg_stat_activity")


def postmaster_pid(server: PostgresServer) -> int:
    return int((server.workdir / "data" / "postmaster.pid").read_text().split()[0])


def server_pids(server: PostgresServer) -> list[int]:
    """The postmaster and its children (each backend is a session leader of its own, so killpg misses them)."""
    master = postmaster_pid(server)
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                children.append(int(entry.name))
    return [master, *children]


def signal_all(server: PostgresServer, sig: int) -> None:
    # runuser stops itself when its child stops: it must be continued too, or it never passes the shutdown on
    extra = [server.proc.pid] if server.proc is not None and sig == signal.SIGCONT else []
    for pid in [*server_pids(server), *extra]:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("fault", ["sigstop-backend", "black-hole"])
def test_a_statement_never_outlives_its_timeout(server: PostgresServer, fault: str) -> None:
    threads = threading.active_count()
    forwarder = Forwarder(server.port) if fault == "black-hole" else None
    handle = postgres.connect({"dsn": dsn(forwarder.port if forwarder else server.port)}, 1.0)
    try:
        assert handle.query("SELECT 1") == [(1,)]
        if forwarder:
            forwarder.black_hole()
        else:
            os.kill(handle.identity["backend_pid"], signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(TargetUnavailable, match="did not answer a statement within 1s"):
            handle.query("SELECT count(*) FROM pg_class")
        assert time.monotonic() - started < 1.0 + MARGIN
        started = time.monotonic()
        with pytest.raises(TargetUnavailable, match="did not answer a statement within 1s"):
            handle.columns("SELECT 1 AS one")  # the session is known broken: at once, with the first cause
        assert time.monotonic() - started < 0.2
    finally:
        if not forwarder:
            os.kill(handle.identity["backend_pid"], signal.SIGCONT)
        postgres.close(handle)
        if forwarder:
            forwarder.close()
    assert settle(threads) <= threads


def test_a_statement_the_server_runs_too_long_is_cancelled_by_the_server(server: PostgresServer) -> None:
    handle = postgres.connect({"dsn": dsn(server.port)}, 0.5)
    try:
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            handle.query("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 0.5 + MARGIN
        assert handle.query("SELECT 2") == [(2,)]  # a live server: the session goes on
    finally:
        postgres.close(handle)


def run_section(tmp_path: Path, port: int, timeout: float, fault: object) -> tuple[dict, float]:
    """The postgres section (langfuse) with a sleeping first item, while ``fault()`` strikes during the sleep."""
    data = yaml.safe_load(Path(default_path()).read_text())
    section = next(s for s in data["sections"] if s["id"] == "postgres")
    section["items"].insert(0, generic_item("postgres.x-sleep", "postgres.query", sql="SELECT 1 FROM pg_sleep(0.8)",
                                            expect={"equals": 1}))
    checklist = write_yaml(tmp_path / "checklist.yaml", data)
    targets = write_yaml(tmp_path / "targets.yaml", {"postgres": {"dsn": dsn(port)}})
    inputs = load_inputs(str(checklist), str(targets))
    striker = threading.Thread(target=fault, daemon=True)
    striker.start()
    started = time.monotonic()
    _, results = execute(inputs, Options(only=("postgres",), preset="langfuse", timeout=timeout, concurrency=4),
                         "required")
    elapsed = time.monotonic() - started
    striker.join(10)
    return {r.id: r for r in results}, elapsed


@pytest.mark.parametrize("fault", ["freeze-server", "kill-postmaster", "kill-backend"])
def test_a_server_that_freezes_or_dies_mid_audit_costs_one_timeout(server: PostgresServer, tmp_path: Path,
                                                                    fault: str) -> None:
    threads = threading.active_count()

    def strike() -> None:
        pid = backend_pid(server)
        if fault == "freeze-server":
            signal_all(server, signal.SIGSTOP)  # the postmaster and every backend
        elif fault == "kill-postmaster":
            os.kill(postmaster_pid(server), signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)

    results, elapsed = run_section(tmp_path, server.port, 2.0, strike)
    probed = {i: r for i, r in results.items() if r.section == "postgres" and r.probe and r.status != "skipped"}
    assert probed["postgres.x-sleep"].status == "error"  # the fault struck while it ran
    assert len(probed) >= 12
    assert elapsed < 2.0 + MARGIN, (fault, elapsed, {i: (r.status, r.duration_s) for i, r in probed.items()})
    late = {i: r for i, r in probed.items() if i != "postgres.reachable"}
    assert {r.status for r in late.values()} == {"error"}, {i: (r.status, r.message) for i, r in late.items()}
    cause = "did not answer" if fault == "freeze-server" else "dropped the session"
    # disk usage and the connection budget need no statement: their messages say what they need instead
    named = [i for i, r in late.items() if cause in r.message or "timed out" in r.message
             or "cannot be seen from SQL" in r.message or "needs the kubernetes target" in r.message]
    assert len(named) == len(late), {i: r.message for i, r in late.items() if i not in named}
    assert settle(threads) <= threads + 1, [t.name for t in threading.enumerate()]


def test_a_server_frozen_before_the_session_opens_costs_libpqs_connect_timeout(server: PostgresServer) -> None:
    threads = threading.active_count()
    signal_all(server, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(TargetUnavailable, match="did not answer in time"):
            postgres.connect({"dsn": dsn(server.port)}, 1.0)
        assert time.monotonic() - started < 2.0 + MARGIN  # libpq's connect_timeout cannot go below 2 s
    finally:
        signal_all(server, signal.SIGCONT)
    assert settle(threads) <= threads
