"""action.yml as GitHub's runner runs a composite action: its ``run:`` steps executed in order by bash (as the runner
does: ``bash --noprofile --norc -eo pipefail``), with the runner's files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
GITHUB_PATH, GITHUB_ENV, RUNNER_TEMP), against real audits of rendered manifests and a compose file (no network).

The ``uses:`` steps are not run (they are GitHub's or third parties' code): each is checked for a released version
and for inputs that exist once the run steps are done (the SARIF, JUnit and report paths).  The one exception is the
baseline download, which the test stands in for by copying the artifact an earlier run uploaded, as
dawidd6/action-download-artifact would.  Expressions are interpreted by a deliberately small evaluator: context
paths (``inputs.x``, ``steps.id.outputs.x``, ``github.action_path``, ``runner.temp`` ...), ``always()``, ``==``,
``!=`` and ``&&``; any other expression stops the test, so none can be skipped silently.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from helpers import source_copy

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
ACTION_TEXT = (ROOT / "action.yml").read_text()
ACTION = yaml.safe_load(ACTION_TEXT)
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_PATH = re.compile(r"[a-z]+(\.[A-Za-z0-9_-]+)+$")
_TERM = re.compile(r"([a-z]+(?:\.[A-Za-z0-9_-]+)+)\s*(==|!=)\s*'([^']*)'$")
_RELEASED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")
# The action runs others' code on its users' runners: a tag can be moved to other code, a commit cannot.
_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


class Refused(Exception):
    """An expression this interpreter does not know: the test must not pretend to have evaluated it."""


@dataclass
class Job:
    """One job's run of the action."""

    inputs: dict[str, str]
    context: dict[str, Any]
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: list[tuple[str, int | None]] = field(default_factory=list)  # (step name, exit code; None: skipped)
    uses: list[dict[str, Any]] = field(default_factory=list)  # the uses: steps that would run, `with:` evaluated
    summary: str = ""
    failed: bool = False

    def value(self, path: str) -> str:
        head, *rest = path.split(".")
        node: Any = {"inputs": self.inputs, "steps": self.steps, **self.context}.get(head)
        if node is None:
            raise Refused(f"unknown context {head!r} in {path!r}")
        if head == "inputs" and rest and rest[0] not in self.inputs:
            raise Refused(f"no input {rest[0]!r} (a typo would read as empty on GitHub)")
        for part in rest:
            if head in ("github", "runner") and not (isinstance(node, dict) and part in node):
                raise Refused(f"{path!r}: not given to this test's runner")
            node = node.get(part) if isinstance(node, dict) else None
        return "" if node is None else str(node)  # a step's missing output is null: '' in a string

    def substitute(self, text: str) -> str:
        def one(m: re.Match[str]) -> str:
            if not _PATH.match(m.group(1)):
                raise Refused(m.group(0))
            return self.value(m.group(1))

        return _EXPR.sub(one, str(text))

    def condition(self, cond: str | None) -> bool:
        """``if:``: terms joined by ``&&``; without always() the runner adds success()."""
        if cond is None:
            return not self.failed
        always, ok = False, True
        for term in (t.strip() for t in cond.split("&&")):
            if term == "always()":
                always = True
                continue
            m = _TERM.match(term)
            if not m:
                raise Refused(f"if: {cond!r} ({term!r})")
            equal = self.value(m.group(1)).lower() == m.group(3).lower()  # GitHub compares strings ignoring case
            ok = ok and (equal if m.group(2) == "==" else not equal)
        return ok and (always or not self.failed)


def _outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT's two forms: ``name=value`` and ``name<<DELIMITER`` ... ``DELIMITER``."""
    out: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            out[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        out[name] = value
        i += 1
    return out


def run_action(workspace: Path, temp: Path, inputs: dict[str, str], artifacts: dict[str, Path],
               action_path: Path) -> Job:
    given = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    unknown = set(inputs) - set(given)
    assert not unknown, f"inputs the action does not declare: {unknown}"
    given.update(inputs)
    job = Job(given, {"github": {"action_path": str(action_path), "workspace": str(workspace),
                                 "event": {"repository": {"default_branch": "main"}}},
                      "runner": {"temp": str(temp)}})
    path_dirs: list[str] = []
    extra_env: dict[str, str] = {}
    for n, step in enumerate(ACTION["runs"]["steps"]):
        name = step.get("name") or step.get("uses") or f"step {n}"
        if not job.condition(step.get("if")):
            job.log.append((name, None))
            continue
        if "uses" in step:
            with_ = {k: job.substitute(v) for k, v in (step.get("with") or {}).items()}
            job.uses.append({"uses": step["uses"], "with": with_})
            if step["uses"].startswith("dawidd6/action-download-artifact@") and with_["name"] in artifacts:
                shutil.copytree(artifacts[with_["name"]], with_["path"])  # stands in for the download
            job.log.append((name, 0))
            continue
        files = {k: temp / f"{k.lower()}-{n}" for k in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH",
                                                         "GITHUB_ENV")}
        for f in files.values():
            f.write_text("")
        env = {**os.environ, **extra_env, **{k: str(v) for k, v in files.items()},
               "PATH": os.pathsep.join([*path_dirs, "/usr/local/bin", "/usr/bin", "/bin"]), "CI": "true",
               "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(temp), "GITHUB_WORKSPACE": str(workspace),
               "GITHUB_ACTION_PATH": str(action_path),
               **{k: job.substitute(v) for k, v in (step.get("env") or {}).items()}}
        for k in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
            env.pop(k, None)
        assert step.get("shell") == "bash", f"{name}: a composite action's run step needs shell: bash"
        assert "${{" not in step["run"], f"{name}: an expression spliced into a script (pass it through env:)"
        script = temp / f"step-{n}.sh"
        script.write_text(step["run"])
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=workspace,
                              env=env, capture_output=True, text=True, timeout=900)
        job.log.append((name, proc.returncode))
        if "id" in step:
            job.steps[step["id"]] = {"outputs": _outputs(files["GITHUB_OUTPUT"])}
        job.summary += files["GITHUB_STEP_SUMMARY"].read_text()
        path_dirs = [*reversed(files["GITHUB_PATH"].read_text().split()), *path_dirs]
        extra_env.update(_outputs(files["GITHUB_ENV"]))
        if proc.returncode != 0 and not step.get("continue-on-error"):
            job.failed = True
            job.steps.setdefault("_failure", {"step": name, "stderr": proc.stderr,
                                              "stdout": proc.stdout})
    return job


def outputs(job: Job) -> dict[str, str]:
    return {name: job.substitute(spec["value"]) for name, spec in ACTION["outputs"].items()}


@pytest.fixture(scope="module")
def action_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action as the runner fetches it: a copy of the repository (building in the shared tree would write
    build/ and egg-info there)."""
    return source_copy(tmp_path_factory.mktemp("action") / "readiness", "action.yml", "pyproject.toml", "README.md")


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runner-temp")


def fresh_temp(temp: Path) -> Path:
    """A job's RUNNER_TEMP starts empty; the venv the install step made is kept to save minutes (the step still
    runs its pip install every time)."""
    for entry in temp.iterdir():
        if entry.name != "readiness-venv":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    return temp


def workspace(root: Path, manifests: str) -> Path:
    """A repository as checked out: a compose file with findings, rendered manifests, a targets file for both."""
    root.mkdir()
    shutil.copytree(DATA / "files" / "langfuse-default", root / "deploy")
    (root / "rendered").mkdir()
    shutil.copy(DATA / "k8s" / manifests, root / "rendered" / "all.yaml")
    (root / "targets.yaml").write_text(yaml.safe_dump({
        "preset": "langsmith", "profile": "production",
        "kubernetes": {"manifests": "rendered/", "namespace": "langsmith", "release": "langsmith"},
        "files": {"compose": "deploy/docker-compose.yml"}}))
    return root


ONLY = "--only storage --only autoscaling --only app.compose-loopback --only files.compose-redis"


def test_the_action_publishes_every_report_and_gates_on_new_blocking_items_only(tmp_path, action_copy, runner_temp):
    # the default branch, first run: no baseline yet, so every blocking item fails the gate
    main = workspace(tmp_path / "main", "good.yaml")
    job = run_action(main, fresh_temp(runner_temp), {"targets": "targets.yaml", "args": ONLY}, {}, action_copy)
    out = outputs(job)
    assert job.failed and job.steps["_failure"]["step"] == "Gate on new blocking items", job.steps.get("_failure")
    assert [code for name, code in job.log if name == "Audit"] == [0]
    assert out["verdict"] == "not-ready" and int(out["blocking"]) > 0 and out["new-blocking"] == out["blocking"]
    counts = json.loads(out["counts"])
    assert counts["fail"] >= 2 and counts["total"] > counts["skipped"]
    report = json.loads((main / out["json"]).read_text())
    assert report["summary"]["blocking"] == int(out["blocking"])
    assert {r["id"] for r in report["results"] if r["blocking"]} >= {"app.compose-loopback", "files.compose-redis"}

    # the job summary is the Markdown report
    assert job.summary == (main / out["markdown"]).read_text() and "app.compose-loopback" in job.summary

    # SARIF valid against the OASIS schema, its results at the compose file's lines, relative to the workspace
    sarif = json.loads((main / out["sarif"]).read_text())
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    assert not list(jsonschema.Draft4Validator(schema).iter_errors(sarif))
    located = {r["ruleId"]: r["locations"][0]["physicalLocation"] for r in sarif["runs"][0]["results"]}
    assert located["app.compose-loopback"]["artifactLocation"]["uri"] == "deploy/docker-compose.yml"

    # JUnit valid against the schema the report tests use
    etree = pytest.importorskip("lxml.etree")
    xsd = etree.XMLSchema(etree.parse(str(DATA / "junit.xsd")))
    assert xsd.validate(etree.parse(str(main / out["junit"]))), xsd.error_log

    # every uses: step pinned to a commit (its release named beside it), with inputs that exist now
    used = {u["uses"].split("@")[0]: u for u in job.uses}
    assert all(_PINNED.match(u["uses"]) for u in job.uses), [u["uses"] for u in job.uses]
    assert all(re.search(r"@[0-9a-f]{40}  # v\d", line) for line in ACTION_TEXT.splitlines() if "uses:" in line)
    assert set(used) == {"actions/setup-python", "github/codeql-action/upload-sarif", "mikepenz/action-junit-report",
                         "actions/upload-artifact"}  # no baseline artifact asked for: no download
    assert (main / used["github/codeql-action/upload-sarif"]["with"]["sarif_file"]).is_file()
    assert (main / used["mikepenz/action-junit-report"]["with"]["report_paths"]).is_file()
    kept = main / used["actions/upload-artifact"]["with"]["path"]
    assert sorted(p.name for p in kept.iterdir()) == ["readiness.html", "readiness.json", "readiness.md",
                                                      "readiness.sarif", "readiness.xml"]
    artifact = tmp_path / "artifact"
    shutil.copytree(kept, artifact)

    # a pull request that changes nothing: the same blocking items are known, the gate passes
    same = workspace(tmp_path / "same", "good.yaml")
    job = run_action(same, fresh_temp(runner_temp), {"targets": "targets.yaml", "args": ONLY,
                                                     "baseline-artifact": "readiness-report"},
                     {"readiness-report": artifact}, action_copy)
    out = outputs(job)
    assert not job.failed, job.steps.get("_failure")
    assert out["verdict"] == "not-ready" and int(out["blocking"]) > 0 and out["new-blocking"] == "0"
    download = next(u for u in job.uses if u["uses"].startswith("dawidd6/action-download-artifact@"))
    assert download["with"]["branch"] == "main" and download["with"]["workflow_conclusion"] == "completed"

    # a pull request whose manifests lose their HPAs and storage settings (manifests input, no targets file): the
    # new blocking items fail the gate, and the diff names them
    worse = workspace(tmp_path / "worse", "bad.yaml")
    job = run_action(worse, fresh_temp(runner_temp), {
        "manifests": "rendered/all.yaml", "preset": "langsmith", "release": "langsmith", "namespace": "langsmith",
        "args": "--only storage --only autoscaling", "baseline": str(artifact / "readiness.json")}, {}, action_copy)
    out = outputs(job)
    assert job.failed and job.steps["_failure"]["step"] == "Gate on new blocking items"
    assert int(out["new-blocking"]) > 0
    assert "New blocking" in job.steps["_failure"]["stdout"] and "k8s.hpa-coverage" in job.steps["_failure"]["stdout"]


def test_bad_input_stops_the_audit_step_with_exit_2(tmp_path, action_copy, runner_temp):
    ws = workspace(tmp_path / "ws", "good.yaml")
    job = run_action(ws, fresh_temp(runner_temp), {"targets": "targets.yaml", "manifests": "rendered/"}, {},
                     action_copy)
    assert job.failed and ("Audit", 2) in job.log and "not both" in job.steps["_failure"]["stdout"]
    assert all(code is None for name, code in job.log if name in ("Publish JUnit", "Gate on new blocking items"))


@pytest.mark.parametrize("expression", ["${{ github.token }}", "${{ format('{0}', inputs.targets) }}",
                                        "${{ inputs.no-such-input }}", "${{ secrets.X }}"])
def test_the_interpreter_refuses_what_it_does_not_know(expression):
    job = Job({"targets": "t"}, {"github": {"action_path": "/a"}})
    with pytest.raises(Refused):
        job.substitute(expression)
    with pytest.raises(Refused):
        job.condition("inputs.targets != '' || always()")


def test_the_readme_usage_gives_only_inputs_the_action_declares():
    text = (ROOT / "README.md").read_text().split("<!-- action-usage -->", 1)[1]
    steps = yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])["steps"]
    ours = [s for s in steps if "/readiness@" in s.get("uses", "")]
    assert len(ours) == 1 and set(ours[0]["with"]) <= set(ACTION["inputs"]), ours
    assert all(_RELEASED.match(s["uses"].replace("<owner>", "owner")) for s in steps)


def test_the_chart_input_is_rendered_by_the_audit_without_a_helm_binary(tmp_path, action_copy, runner_temp):
    """chart + values (no targets file, no helm on PATH): the install step adds the Helm engine ([chart])."""
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copytree(DATA / "charts" / "langfuse", ws / "charts" / "langfuse")
    shutil.copy(DATA / "charts" / "langfuse-values.yaml", ws / "values.yaml")
    shutil.copy(DATA / "charts" / "langfuse-no-hpa.yaml", ws / "no-hpa.yaml")
    assert shutil.which("helm", path="/usr/local/bin:/usr/bin:/bin") is None
    job = run_action(ws, fresh_temp(runner_temp), {
        "chart": "charts/langfuse", "values": "values.yaml\nno-hpa.yaml", "release": "langfuse",
        "namespace": "langfuse", "preset": "langfuse", "args": "--only autoscaling"}, {}, action_copy)
    out = outputs(job)
    assert ("Audit", 0) in job.log, job.steps.get("_failure")
    report = json.loads((ws / out["json"]).read_text())
    hpa = next(r for r in report["results"] if r["id"] == "k8s.hpa-coverage")
    assert hpa["status"] == "fail" and "langfuse-worker" in hpa["message"]  # the second values file switched it off
    assert job.failed and int(out["new-blocking"]) == int(out["blocking"]) > 0  # no baseline: every blocking item
