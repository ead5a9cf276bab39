"""``chart:`` on the kubernetes target: charts of our own (tests/data/charts, shaped like the vendors') rendered in the
process with helm-python-sdk and audited by every Kubernetes item as ``manifests:`` are; the values items read the
chart's values files over its own defaults."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import audit, write_yaml

from readiness.clients import chart as charts
from readiness.clients import files as files_client
from readiness.targets import load_targets

CHARTS = Path(__file__).parent / "data" / "charts"
GOOD = CHARTS / "langfuse-values.yaml"
NO_HPA = CHARTS / "langfuse-no-hpa.yaml"
SALT = "a-long-random-salt-9f8e7d6c"  # in GOOD; the chart renders it into the Deployments' env
K8S_ITEMS = ["k8s.hpa-coverage", "k8s.resource-requests", "k8s.hpa-keda-conflict", "k8s.bundled-datastores"]
VALUES_ITEMS = ["files.values-hpa"]


@pytest.fixture(autouse=True)
def _no_helm_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests exercise the embedded engine; a helm on the machine's PATH must not take over."""
    monkeypatch.setattr(charts.shutil, "which", lambda name: None)
    charts._CACHE.clear()


def _chart_targets(chart: Path, *values: Path, release: str = "langfuse") -> dict[str, object]:
    return {"preset": "langfuse", "kubernetes": {"chart": str(chart), "values": [str(v) for v in values],
                                                 "release": release, "namespace": "langfuse"}}


def test_a_good_chart_passes_the_hpa_and_resources_items(tmp_path: Path) -> None:
    results, report = audit(tmp_path, _chart_targets(CHARTS / "langfuse", GOOD), K8S_ITEMS + VALUES_ITEMS)
    assert results["k8s.hpa-coverage"].status == "pass", results["k8s.hpa-coverage"].message
    assert "2 by HPA" in results["k8s.hpa-coverage"].message
    assert results["k8s.resource-requests"].status == "pass", results["k8s.resource-requests"].message
    # the subchart is on by its condition's default (clickhouse.deploy: true) and is seen as a bundled datastore
    assert results["k8s.bundled-datastores"].status == "fail"
    assert "langfuse-clickhouse" in results["k8s.bundled-datastores"].message
    # the values file leaves the HPAs out: the chart's own default (on) is judged, and said to be the default
    hpa = results["files.values-hpa"]
    assert hpa.status == "pass", hpa.message
    assert report["targets"]["kubernetes"]["chart"].endswith("langfuse")


def test_a_values_file_switching_hpa_off_fails_both_the_rendered_and_the_values_items(tmp_path: Path) -> None:
    results, _ = audit(tmp_path, _chart_targets(CHARTS / "langfuse", GOOD, NO_HPA), K8S_ITEMS + VALUES_ITEMS)
    assert results["k8s.hpa-coverage"].status == "fail", results["k8s.hpa-coverage"].message
    assert "langfuse-web" in results["k8s.hpa-coverage"].message
    values = results["files.values-hpa"]
    assert values.status == "fail"
    assert "langfuse-no-hpa.yaml:4" in values.message  # the later -f file wins, at its own line


def test_a_key_left_out_takes_the_charts_default_from_its_values_yaml(tmp_path: Path) -> None:
    results, _ = audit(tmp_path, _chart_targets(CHARTS / "langfuse", GOOD), ["files.values-clickhouse-replicas"],
                       checklist=_checklist(tmp_path, "clickhouse.cluster.replicas"))
    replicas = results["files.values-clickhouse-replicas"]
    assert replicas.status == "fail", replicas.message  # the chart renders 1 replica; no assumed 3
    assert "the chart's default" in replicas.message and "values.yaml" in replicas.message


def _checklist(tmp_path: Path, key: str) -> str:
    from checklists import checklist_with

    return checklist_with(tmp_path, {"files.values-clickhouse-replicas": {"keys": [key], "chart_default": 3,
                                                                        "fact": None}})


def test_files_know_the_chart_version_and_where_each_default_is(tmp_path: Path) -> None:
    targets = load_targets(write_yaml(tmp_path / "t.yaml", _chart_targets(CHARTS / "langfuse", NO_HPA)))
    f = files_client.load(targets.configs["files"])
    assert f.chart_version == "2.0.0"
    value, loc, present = f.values_get("langfuse.web.hpa.enabled")
    assert (value, present, f.is_default(loc)) == (False, True, False)
    value, loc, present = f.values_get("langfuse.web.hpa.maxReplicas")
    assert (value, present, f.is_default(loc)) == (6, True, True)
    assert loc is not None and loc.file.endswith("charts/langfuse/values.yaml") and loc.line > 1
    assert f.values_get("langfuse.nothere")[2] is False
    # a subchart's default sits under its name, from its own values.yaml; the parent's values.yaml wins over it
    value, loc, present = f.values_get("clickhouse.image")
    assert (value, present, f.is_default(loc)) == ("clickhouse/clickhouse-server:25.3", True, True)
    assert loc is not None and loc.file.endswith("charts/clickhouse/values.yaml")
    assert f.values_get("clickhouse.cluster.replicas")[1].file.endswith("langfuse/values.yaml")
    assert not any(loc.file.endswith("values.yaml") and "charts/langfuse" in loc.file for _, _, loc in
                   f.values_leaves())  # the team's files only: the chart's defaults are no finding of theirs


def test_helm_values_of_the_files_target_win_over_the_charts_values_files(tmp_path: Path) -> None:
    targets = _chart_targets(CHARTS / "langfuse", GOOD)
    targets["files"] = {"helm_values": str(NO_HPA)}
    loaded = load_targets(write_yaml(tmp_path / "t.yaml", targets))
    assert "chart_values" not in loaded.configs["files"]
    f = files_client.load(loaded.configs["files"])
    assert f.values_get("langfuse.web.hpa.enabled")[0] is False
    assert f.values_get("langfuse.web.hpa.minReplicas")[0] == 2  # still the chart's default beneath
    assert f.chart_version == "2.0.0"


def test_a_packaged_chart_renders_like_its_directory(tmp_path: Path) -> None:
    from helm_python import chart as sdk

    archive = sdk.package(CHARTS / "langfuse", destination=tmp_path)
    assert archive.endswith(".tgz")
    results, _ = audit(tmp_path, _chart_targets(Path(archive), GOOD, NO_HPA), K8S_ITEMS + VALUES_ITEMS)
    assert results["k8s.hpa-coverage"].status == "fail"
    assert results["k8s.resource-requests"].status == "pass"
    loaded = load_targets(write_yaml(tmp_path / "t.yaml", _chart_targets(Path(archive), GOOD)))
    assert files_client.load(loaded.configs["files"]).chart_version == "2.0.0"


def test_a_missing_subchart_is_an_error_with_helms_message(tmp_path: Path) -> None:
    results, _ = audit(tmp_path, _chart_targets(CHARTS / "missing-subchart", GOOD), K8S_ITEMS)
    for item in K8S_ITEMS:
        assert results[item].status == "error"
        assert "found in Chart.yaml, but missing in charts/ directory: clickhouse" in results[item].message


def test_a_failing_required_is_an_error_with_helms_message(tmp_path: Path) -> None:
    results, _ = audit(tmp_path, _chart_targets(CHARTS / "langfuse"), K8S_ITEMS)
    for item in K8S_ITEMS:
        assert results[item].status == "error"
        assert "langfuse.salt.value is required" in results[item].message
        assert "services.yaml" in results[item].message


@pytest.mark.parametrize("chart, why", [("looping", "(a template that loops?)"),
                                        ("spinning", "rendering the chart took longer than")])
def test_a_hostile_chart_is_bounded_in_time_and_memory(tmp_path: Path, chart: str, why: str) -> None:
    started = time.monotonic()
    results, _ = audit(tmp_path, _chart_targets(CHARTS / chart), ["k8s.hpa-coverage"], timeout=3)
    assert time.monotonic() - started < 20
    assert results["k8s.hpa-coverage"].status == "error"
    assert why in results["k8s.hpa-coverage"].message


@pytest.mark.parametrize("failure, kept", [(charts.RenderCutShort("rendering the chart took longer than 1s"), False),
                                           (charts.RenderError("Error: a template that does not parse"), True)])
def test_a_render_cut_short_is_not_kept_for_later_audits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          failure: charts.RenderError, kept: bool) -> None:
    """A timeout on a busy machine is not the chart's fault: the next audit in this process renders again (it used
    to get the same timeout back, whatever the machine did since).  Helm's own refusal is kept: it says the same."""
    calls: list[object] = []
    real = charts._render

    def failing_once(*args: object, **kwargs: object) -> charts.Rendered:
        calls.append(args)
        if len(calls) == 1:
            raise failure
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(charts, "_render", failing_once)
    monkeypatch.setattr(charts, "_CACHE", {})
    first, _ = audit(tmp_path, _chart_targets(CHARTS / "langfuse", GOOD), ["k8s.hpa-coverage"])
    assert first["k8s.hpa-coverage"].status == "error" and str(failure) in first["k8s.hpa-coverage"].message
    second, _ = audit(tmp_path, _chart_targets(CHARTS / "langfuse", GOOD), ["k8s.hpa-coverage"])
    if kept:
        assert second["k8s.hpa-coverage"].status == "error" and len(calls) == 1
    else:
        assert second["k8s.hpa-coverage"].status == "pass" and len(calls) == 2


def test_the_chart_renders_once_per_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = charts._render

    def counting(*args: object, **kwargs: object) -> charts.Rendered:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(charts, "_render", counting)
    results, _ = audit(tmp_path, _chart_targets(CHARTS / "langfuse", GOOD), K8S_ITEMS + VALUES_ITEMS)
    assert results["k8s.hpa-coverage"].status == "pass"
    assert len(calls) == 1


def test_secrets_in_values_never_appear_in_the_report(tmp_path: Path) -> None:
    results, report = audit(tmp_path, _chart_targets(CHARTS / "langfuse", GOOD),
                            K8S_ITEMS + VALUES_ITEMS + ["k8s.memory-limits", "files.values-external-datastores"])
    assert results["k8s.hpa-coverage"].status == "pass"
    assert SALT not in json.dumps(report, default=str)
    loaded = load_targets(write_yaml(tmp_path / "t.yaml", _chart_targets(CHARTS / "langfuse", GOOD)))
    assert SALT in loaded.scrubber().secrets


def test_validate_says_the_chart_does_not_render(tmp_path: Path) -> None:
    broken = write_yaml(tmp_path / "broken.yaml", _chart_targets(CHARTS / "langfuse"))
    good = write_yaml(tmp_path / "good.yaml", _chart_targets(CHARTS / "langfuse", GOOD))
    env = {**os.environ, "PATH": os.path.dirname(sys.executable)}  # no helm binary: the embedded engine
    cli = [str(Path(sys.executable).parent / "readiness"), "validate", "-t"]
    bad = subprocess.run([*cli, str(broken)], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2, bad.stderr
    assert "does not render" in bad.stderr and "langfuse.salt.value is required" in bad.stderr
    ok = subprocess.run([*cli, str(good)], capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "kubernetes" in ok.stdout


@pytest.mark.parametrize("settings, field, says", [
    ({"chart": "nothere/"}, "chart", "does not exist"),
    ({"values": ["v.yaml"]}, "values", "give chart: as well"),
    ({"chart": str(CHARTS / "langfuse"), "values": ["nothere.yaml"]}, "values", "does not exist"),
    ({"chart": str(CHARTS / "langfuse"), "manifests": str(CHARTS)}, "chart", "drop manifests"),
    ({"chart": str(CHARTS / "langfuse-values.yaml")}, "chart", "a directory or a .tgz"),
    ({"chart": str(CHARTS)}, "chart", "no readable Chart.yaml"),
    ({"chart": str(CHARTS / "langfuse"), "release": "Prod_1"}, "release", "a Helm release name is"),
    ({"chart": str(CHARTS / "langfuse"), "namespaces": ["a", "b"]}, "namespaces", "one namespace"),
    # one entry too: the chart would render into "default" while the items read "obs"
    ({"chart": str(CHARTS / "langfuse"), "namespaces": ["obs"]}, "namespaces", "one namespace"),
])
def test_chart_settings_that_can_never_work_are_refused(tmp_path: Path, settings: dict[str, object], field: str,
                                                        says: str) -> None:
    from readiness.errors import ConfigError

    path = write_yaml(tmp_path / "t.yaml", {"kubernetes": settings})
    with pytest.raises(ConfigError) as caught:
        load_targets(path)
    assert says in str(caught.value) and str(path) in str(caught.value)


def test_values_paths_are_relative_to_the_targets_file(tmp_path: Path) -> None:
    shutil.copytree(CHARTS / "langfuse", tmp_path / "chart")
    shutil.copy(GOOD, tmp_path / "prod.yaml")
    write_yaml(tmp_path / "t.yaml", {"kubernetes": {"chart": "chart", "values": ["prod.yaml"]}})
    loaded = load_targets(tmp_path / "t.yaml")
    assert loaded.configs["kubernetes"]["values"] == [str(tmp_path / "prod.yaml")]
    assert loaded.configs["files"]["chart_values"] == [str(tmp_path / "prod.yaml")]


def test_a_helm_binary_on_path_renders_with_helm_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """helm wins when it is there: its command line (release, chart, namespace, every -f in order) and its stderr
    message; a stand-in script records the call (no real helm on this machine) and answers as helm does."""
    log = tmp_path / "args"
    fake = tmp_path / "helm"
    rendered = ("---\n# Source: langfuse/templates/services.yaml\n"
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}")
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {log}\n"
                    "case \"$*\" in *broken*) echo 'Error: execution error at (x.yaml:1:2): nope' >&2; exit 1;; esac\n"
                    f"cat <<'EOF'\n{rendered}\nEOF\n")
    fake.chmod(0o755)
    monkeypatch.setattr(charts.shutil, "which", lambda name: str(fake) if name == "helm" else None)
    result = charts.render({"chart": str(CHARTS / "langfuse"), "values": [str(GOOD), str(NO_HPA)],
                            "release": "prod", "namespace": "obs"}, 10)
    assert result.engine == "helm"
    assert log.read_text().split("\n")[:9] == ["template", "prod", str(CHARTS / "langfuse"), "--namespace", "obs",
                                               "--values", str(GOOD), "--values", str(NO_HPA)]
    assert "kind: Deployment" in result.templates[0][1]
    with pytest.raises(charts.RenderError, match="does not render: execution error at"):
        charts.render({"chart": str(CHARTS / "broken"), "release": "x"}, 10)


def test_without_helm_or_the_engine_the_items_say_how_to_install_it(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    shadow = tmp_path / "shadow" / "helm_python"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('not installed')\n")
    monkeypatch.setenv("PYTHONPATH", str(shadow.parent))  # the renderer's child process finds no engine
    results, _ = audit(tmp_path, _chart_targets(CHARTS / "langfuse", GOOD), ["k8s.hpa-coverage"])
    assert results["k8s.hpa-coverage"].status == "error"
    assert "pip install 'readiness[chart]'" in results["k8s.hpa-coverage"].message


def test_the_audit_process_never_loads_the_helm_engine(tmp_path: Path) -> None:
    """The engine (a 244 MB native library) is loaded by the renderer's child process only, never by the audit."""
    targets = write_yaml(tmp_path / "t.yaml", _chart_targets(CHARTS / "langfuse", GOOD))
    code = ("import sys; from readiness.cli import main; sys.argv = ['readiness', 'audit', '-q', '--only', "
            f"'k8s.hpa-coverage', '-t', {str(targets)!r}]\ntry:\n    main()\nexcept SystemExit as e:\n"
            "    assert e.code == 0, e.code\nassert 'helm_python' not in sys.modules\nprint('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PATH": os.path.dirname(sys.executable)})
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr


def test_helms_message_never_shows_a_secret_of_the_values(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(CHARTS / "langfuse", chart)
    (chart / "templates" / "echo.yaml").write_text(
        '{{ fail (printf "refusing the salt %s" .Values.langfuse.salt.value) }}\n')
    results, report = audit(tmp_path, _chart_targets(chart, GOOD), ["k8s.hpa-coverage", "files.values-hpa"])
    assert results["k8s.hpa-coverage"].status == "error"
    assert "refusing the salt" in results["k8s.hpa-coverage"].message
    assert SALT not in json.dumps(report, default=str)


def test_a_key_the_chart_does_not_have_is_no_remembered_default(tmp_path: Path) -> None:
    """The default checklist's Langfuse v1 key (clickhouse.replicaCount, remembered default 3) on a chart of the v2
    shape: the chart has no such key, so it decides nothing, instead of passing on the remembered 3."""
    results, _ = audit(tmp_path, _chart_targets(CHARTS / "langfuse", GOOD), ["files.values-clickhouse-replicas"],
                       checklist=_checklist(tmp_path, "clickhouse.replicaCount"))
    replicas = results["files.values-clickhouse-replicas"]
    assert replicas.status == "error", replicas.message
    assert "not a key of the chart 2.0.0" in replicas.message and "values.yaml" in replicas.message


def test_a_keda_switch_renders_a_scaled_object_that_covers_the_service(tmp_path: Path) -> None:
    results, _ = audit(tmp_path, _chart_targets(CHARTS / "langfuse", GOOD, CHARTS / "langfuse-keda.yaml"),
                       ["k8s.hpa-coverage", "k8s.hpa-keda-conflict"])
    coverage = results["k8s.hpa-coverage"]
    assert coverage.status == "pass", coverage.message
    assert "1 by HPA, 1 by KEDA" in coverage.message
    assert results["k8s.hpa-keda-conflict"].status == "pass"


@pytest.mark.parametrize("release", ["langsmith", "prod"])
def test_a_langsmith_shaped_chart_is_judged_on_its_hpa_and_keda_switches(tmp_path: Path, release: str) -> None:
    def targets(*values: Path) -> dict[str, object]:
        return {"preset": "langsmith", "kubernetes": {"chart": str(CHARTS / "langsmith"), "release": release,
                                                      "namespace": "langsmith", "values": [str(v) for v in values]}}

    shipped, _ = audit(tmp_path, targets(), ["k8s.hpa-coverage"])
    assert shipped["k8s.hpa-coverage"].status == "fail"  # the chart ships every HPA off
    scaled, _ = audit(tmp_path, targets(CHARTS / "langsmith-autoscaled.yaml"),
                      ["k8s.hpa-coverage", "k8s.resource-requests"])
    assert scaled["k8s.hpa-coverage"].status == "pass", scaled["k8s.hpa-coverage"].message
    assert "7 service Deployments scaled (5 by HPA, 2 by KEDA)" in scaled["k8s.hpa-coverage"].message
    assert scaled["k8s.resource-requests"].status == "pass"


def test_output_at_the_cap_is_counted_in_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """helm ignores the failed write at the output cap and exits 0: a stream of multibyte characters cut there
    has fewer characters than bytes, and must still be refused, never parsed as if whole."""
    fake = tmp_path / "helm"
    fake.write_text("#!/bin/sh\nprintf 'kind: ConfigMap\\n# '\ni=0\nwhile [ $i -lt 1000 ]; do printf '\\303\\251'; "
                    "i=$((i+1)); done\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setattr(charts.shutil, "which", lambda name: str(fake) if name == "helm" else None)
    monkeypatch.setattr(charts, "MAX_OUTPUT", 1250)
    with pytest.raises(charts.RenderError, match="renders more than"):
        charts.render({"chart": str(CHARTS / "langfuse"), "release": "bytes", "namespace": "obs"}, 10)
