"""The command line as a user meets it: exit codes, files written, lazy imports, the default checklist end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from helpers import write_yaml

from readiness.checklist import load_checklist

BIN = str(Path(sys.executable).parent / "readiness")
SCHEMA = json.loads((Path(__file__).parent.parent / "readiness" / "schema" / "report-v1.json").read_text())
HEAVY = ("kubernetes", "boto3", "botocore", "psycopg", "clickhouse_driver", "redis", "httpx", "jinja2")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def manual_ids() -> list[str]:
    return [i.id for i in load_checklist().items if i.manual]


def test_default_audit_leaves_manual_items_manual_and_blocks(tmp_path):
    out = tmp_path / "out.json"
    targets = write_yaml(tmp_path / "targets.yaml", {"preset": "langfuse"})
    proc = cli("audit", "-t", str(targets), "--only", "ops", "--only", "*.recovery-rehearsed",
               "--only", "*.migrations-tested",
               "--only", "k8s.hpa-tested-under-load", "--json", str(out), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    by_id = {r["id"]: r for r in report["results"]}
    assert {by_id[i]["status"] for i in manual_ids()} == {"manual"}
    assert report["summary"]["verdict"] == "not-ready"
    assert "NOT READY" in proc.stdout and "Blocking sign-off:" in proc.stdout
    assert "\nOperational safeguards, diagnostics, awareness\n" in proc.stdout  # sections by title
    assert {"id": "ops", "title": "Operational safeguards, diagnostics, awareness"} in report["sections"]
    assert "\x1b[" not in proc.stdout  # plain text when piped


@pytest.mark.parametrize("args, why", [
    (["--skip", "*"], "every item is skipped"),
    ([], "no targets file was given"),
    (["--only", "redis"], "no targets file was given"),
])
def test_a_run_that_would_judge_nothing_is_bad_input_not_ready(tmp_path, args, why):
    proc = cli("audit", *args, "--json", str(tmp_path / "r.json"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"nothing was audited: {why}" in proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_a_targets_file_that_matches_no_selected_item_audits_nothing(tmp_path):
    targets = write_yaml(tmp_path / "targets.yaml", {"s3": {"bucket": "traces-1"}})
    proc = cli("audit", "-t", str(targets), "--only", "redis", cwd=tmp_path)
    assert proc.returncode == 2 and "no selected item's target is configured" in proc.stderr, proc.stderr
    assert "(they need: redis)" in proc.stderr


def test_attestations_covering_every_manual_item_make_the_gate_pass(tmp_path):
    attest = write_yaml(tmp_path / "attest.yaml", [
        {"id": i, "by": "ops-lead", "date": "2026-11-01", "evidence": f"https://wiki.example/{i}"}
        for i in manual_ids()])
    out = tmp_path / "out.json"
    only = [arg for i in manual_ids() for arg in ("--only", i)]
    proc = cli("audit", "--attestations", str(attest), "--json", str(out), *only, "--skip", "postgres.*")
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    attested = [r for r in report["results"] if r["attestation"]]
    assert len(attested) == len(manual_ids()) - 2  # postgres.* is skipped by the --skip glob
    assert all(r["status"] == "pass" for r in attested)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["summary"]["verdict"] == "ready"


def test_json_to_stdout_keeps_the_terminal_summary_on_stderr(tmp_path):
    targets = write_yaml(tmp_path / "targets.yaml", {"preset": "langfuse"})
    proc = cli("audit", "-t", str(targets), "--only", "ops.alerts", "--json", "-", "-q")
    report = json.loads(proc.stdout)
    assert report["schema"] == "readiness.report/v1" and "NOT READY" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (("audit", "--only", "nosuch"), "--only nosuch: matches no item id or section"),
    (("audit", "--targets", "/nonexistent.yaml"), "/nonexistent.yaml: targets file not found"),
    (("audit", "--report", "pdf=x.pdf"), "unknown report format 'pdf'"),
    (("audit", "--fail-on", "sometimes"), "Invalid value for '--fail-on'"),
    (("explain", "ops.alert"), "no item 'ops.alert' in"),
])
def test_usage_errors_exit_2_with_one_sentence(args, message):
    proc = cli(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_problems_in_several_files_are_reported_together(tmp_path):
    targets = tmp_path / "t.yaml"
    targets.write_text("redis: {url: '${NOPE_NOT_SET}'}\n")
    waivers = write_yaml(tmp_path / "w.yaml", [{"id": "ops.alerts", "expires": "2027-01-01"}])
    proc = cli("validate", "-t", str(targets), "--waivers", str(waivers))
    assert proc.returncode == 2
    assert f"{targets}:1:14: ${{NOPE_NOT_SET}} is not set" in proc.stderr
    assert f"{waivers}:1:3: waiver 1 is missing 'justification'" in proc.stderr


def test_validate_list_explain_and_probes(tmp_path):
    proc = cli("validate")
    assert proc.returncode == 0 and "valid:" in proc.stdout
    listing = cli("list").stdout
    assert "ops.monitoring" in listing and "manual" in listing
    explained = cli("explain", "ops.backup-restore-tested").stdout
    assert "Why:" in explained and "Fix:" in explained and "manual" in explained
    probes = cli("probes")
    assert probes.returncode == 0
    assert "--formats" in cli("probes", "--help").stdout
    assert {"json", "text"} <= set(cli("probes", "--formats").stdout.split())


@pytest.mark.parametrize("argv", [["--help"], ["validate"], ["list"], ["audit", "--help"]])
def test_help_and_validate_import_no_heavy_client(argv):
    code = (f"import sys\nfrom readiness.cli import main\nsys.argv = ['readiness', *{argv!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY:", proc.stdout + proc.stderr


def test_waiver_notices_appear_in_validate(tmp_path):
    waivers = write_yaml(tmp_path / "w.yaml", [{"id": "ops.nope", "justification": "j", "expires": "2027-01-01"}])
    proc = cli("validate", "--waivers", str(waivers))
    assert proc.returncode == 0
    assert f"note: {waivers}:1: waiver for unknown item id 'ops.nope'" in proc.stderr


def test_the_default_checklist_is_yaml_a_user_can_read():
    data = yaml.safe_load((Path(__file__).parent.parent / "checklist.yaml").read_text())
    assert data["version"] == 1 and data["sections"]


@pytest.mark.parametrize("make_args, message", [
    (lambda d: ["--json", str(d / "targets.yaml")], "that is an input of this run; refusing to overwrite it"),
    (lambda d: ["--html", str(d / "nodir" / "r.html")], "does not exist"),
    (lambda d: ["--junit", str(d)], "is a directory"),
    (lambda d: ["--json", str(d / "r.out"), "--html", str(d / "r.out")], "is written there already"),
])
def test_report_paths_are_checked_before_anything_is_audited(tmp_path, make_args, message):
    targets = write_yaml(tmp_path / "targets.yaml", {"redis": {"url": "redis://127.0.0.1:1/0"}})
    before = targets.read_text()
    proc = cli("audit", "-t", str(targets), "--only", "redis.reachable", *make_args(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "redis.reachable" not in proc.stdout  # nothing was audited
    assert targets.read_text() == before


def test_debug_is_accepted_after_the_sub_command_and_library_logs_stay_quiet(tmp_path):
    # Port 1 refuses: clients that log their failures must not print tracebacks unless --debug is given.
    targets = write_yaml(tmp_path / "targets.yaml", {"clickhouse": {"url": "clickhouse://127.0.0.1:1/default"}})
    quiet = cli("audit", "-t", str(targets), "--only", "clickhouse.reachable", cwd=tmp_path)
    assert quiet.returncode == 1 and quiet.stderr == "", quiet.stderr
    loud = cli("audit", "-t", str(targets), "--only", "clickhouse.reachable", "--debug", cwd=tmp_path)
    assert loud.returncode == 1, loud.stderr
    assert "No such option: --debug" not in loud.stderr


def test_only_prints_the_asked_item_and_one_line_for_the_rest_while_the_json_keeps_every_item(tmp_path):
    targets = write_yaml(tmp_path / "targets.yaml", {"preset": "langfuse"})
    out = tmp_path / "r.json"
    proc = cli("audit", "-t", str(targets), "--only", "ops.alerts", "--json", str(out), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    total = len(load_checklist().items)
    assert f"{total - 1} items not selected (--only ops.alerts): not shown" in lines
    assert not [line for line in lines if "not selected (--only" in line and "not shown" not in line]
    assert [line for line in lines if "ops.alerts" in line and line.startswith("  ")]
    assert len(lines) < 20, proc.stdout
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    assert len(report["results"]) == total
    assert sum(r["message"] == "not selected (--only ops.alerts)" for r in report["results"]) == total - 1


def test_the_progress_line_counts_only_the_asked_items(tmp_path):
    import os
    import pty

    targets = write_yaml(tmp_path / "targets.yaml", {"preset": "langfuse"})
    master, slave = pty.openpty()  # the progress line is drawn only on a terminal
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.run([BIN, "audit", "-t", str(targets), "--only", "ops.alerts", "--only", "ops.monitoring"],
                          stdout=subprocess.PIPE, stderr=slave, text=True, cwd=tmp_path, env=env, timeout=120)
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    assert proc.returncode == 1
    progress = drawn.decode()
    assert "] 2/2 ops." in progress and "1/2 ops." in progress, progress
    assert f"/{len(load_checklist().items)} " not in progress
