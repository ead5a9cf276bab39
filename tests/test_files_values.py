"""The values items name the keys and defaults of the chart version in use: Langfuse chart v1 (Bitnami subcharts) and
v2 (the ClickHouse operator, Valkey), told apart from the values or the chart's version; KEDA counts as autoscaling;
a key of the other Langfuse version is dead in the chart; LangSmith's existing Secret holds its API key salt.

Fixtures (tests/data/files/langfuse-v1, langfuse-v2, langsmith-keda) are modelled on the charts' values files
(langfuse/langfuse-k8s charts/langfuse 1.5.41 and 2.0.0, langchain-ai/helm charts/langsmith 0.17).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import audit
from readiness.checks import _chart_values as cv

from readiness.clients import files as files_client

DATA = Path(__file__).parent / "data" / "files"


def _values(tmp_path: Path, name: str) -> tuple[dict[str, Any], Path]:
    """A files target holding a copy of the fixture's values file (the test may edit the copy)."""
    dest = tmp_path / name
    shutil.copytree(DATA / name, dest)
    path = dest / "values.yaml"
    return {"files": {"helm_values": f"{name}/values.yaml"}}, path


def _line(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _at(result: Any, line: int) -> bool:
    return any(loc["line"] == line for loc in result.evidence["locations"])


def test_langfuse_v2_file_without_replicas_fails_on_the_v2_default_of_one(tmp_path: Path) -> None:
    targets, _ = _values(tmp_path, "langfuse-v2")
    r = audit(tmp_path, targets, ["files.values-clickhouse-replicas"], preset="langfuse")[0]
    item = r["files.values-clickhouse-replicas"]
    assert item.status == "fail", item.message
    assert "clickhouse.cluster.replicas is 1 (the chart's default" in item.message
    assert "chart v2 keys in the file" in item.message and item.evidence["chart"] == "langfuse v2"
    assert item.evidence["chart_assumed"] is False


def test_langfuse_v1_and_v2_replicas_judged_on_their_own_keys(tmp_path: Path) -> None:
    targets, path = _values(tmp_path, "langfuse-v1")
    item = audit(tmp_path, targets, ["files.values-clickhouse-replicas"], preset="langfuse")[0][
        "files.values-clickhouse-replicas"]
    assert item.status == "pass" and "clickhouse.replicaCount" in item.message, item.message
    assert _at(item, _line(path, "replicaCount: 3"))
    (tmp_path / "v2").mkdir()
    targets, path = _values(tmp_path / "v2", "langfuse-v2")
    path.write_text(path.read_text().replace("  cluster:\n    enabled: true\n",
                                             "  cluster:\n    enabled: true\n    replicas: 3\n"))
    item = audit(tmp_path / "v2", targets, ["files.values-clickhouse-replicas"], preset="langfuse")[0][
        "files.values-clickhouse-replicas"]
    assert item.status == "pass" and "clickhouse.cluster.replicas satisfy" in item.message, item.message


def test_v1_keys_in_a_v2_file_are_reported_dead(tmp_path: Path) -> None:
    targets, path = _values(tmp_path, "langfuse-v2")
    text = path.read_text().replace("  crdCheck: false\n", "  crdCheck: false\n  replicaCount: 3\n")
    text = text.replace("  valkeyConfig: |\n    maxmemory-policy noeviction\n",
                        "  valkeyConfig: |\n    maxmemory-policy noeviction\n  primary:\n    extraFlags:\n"
                        "      - \"--maxmemory-policy noeviction\"\n")
    path.write_text(text)
    r = audit(tmp_path, targets, ["files.values-chart-keys", "files.values-clickhouse-replicas"],
              preset="langfuse")[0]
    dead = r["files.values-chart-keys"]
    assert dead.status == "fail", dead.message
    assert "clickhouse.replicaCount is a chart v1 key: chart v2 ignores it; v2 reads clickhouse.cluster.replicas" \
        in dead.message
    assert "redis.primary is a chart v1 key" in dead.message
    assert _at(dead, _line(path, "replicaCount: 3")) and _at(dead, _line(path, "extraFlags:"))
    # the dead key does not count: ClickHouse runs the v2 default of one replica
    assert r["files.values-clickhouse-replicas"].status == "fail"


def test_v2_keys_in_a_v1_file_are_dead_and_a_clean_file_passes(tmp_path: Path) -> None:
    targets, path = _values(tmp_path, "langfuse-v1")
    clean = audit(tmp_path, targets, ["files.values-chart-keys"], preset="langfuse")[0]["files.values-chart-keys"]
    assert clean.status == "pass" and "chart v1 keys in the file" in clean.message, clean.message
    path.write_text(path.read_text().replace("  resourcesPreset: 2xlarge\n",
                                             "  resourcesPreset: 2xlarge\n  keeper:\n    replicas: 3\n"))
    dead = audit(tmp_path, targets, ["files.values-chart-keys"], preset="langfuse")[0]["files.values-chart-keys"]
    assert dead.status == "fail" and "clickhouse.keeper.replicas is a chart v2 key: chart v1 ignores it" \
        in dead.message, dead.message


def test_clickhouse_resource_defaults_per_chart_version(tmp_path: Path) -> None:
    targets, _ = _values(tmp_path, "langfuse-v1")
    v1 = audit(tmp_path, targets, ["files.values-clickhouse-resources"], preset="langfuse")[0][
        "files.values-clickhouse-resources"]
    # Bitnami resourcesPreset 2xlarge through bitnami/common 2.30: 1.0 CPU / 3072Mi (no 2 CPU / 8Gi default)
    assert v1.status == "fail" and "clickhouse.resources.requests.cpu is 1.0 (the chart's default)" in v1.message
    assert "3072Mi" in v1.message and "8Gi" not in v1.message, v1.message
    (tmp_path / "v2").mkdir()
    targets, _ = _values(tmp_path / "v2", "langfuse-v2")
    v2 = audit(tmp_path / "v2", targets, ["files.values-clickhouse-resources"], preset="langfuse")[0][
        "files.values-clickhouse-resources"]
    assert v2.status == "fail" and "clickhouse.cluster.resources.requests.cpu is 1 (the chart's default)" \
        in v2.message and "2Gi" in v2.message, v2.message


def test_a_file_that_says_nothing_decisive_says_v2_was_assumed(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("clickhouse:\n  deploy: true\n")
    item = audit(tmp_path, {"files": {"helm_values": "values.yaml"}}, ["files.values-clickhouse-replicas"],
                 preset="langfuse")[0]["files.values-clickhouse-replicas"]
    assert item.status == "fail" and "chart v2 assumed (the current one)" in item.message, item.message
    assert item.evidence["chart_assumed"] is True


def test_the_chart_version_wins_over_the_keys(tmp_path: Path) -> None:
    targets, path = _values(tmp_path, "langfuse-v2")
    f = files_client.load({"helm_values": str(path)})
    assert cv.in_use(f, "langfuse").chart.major == 2  # type: ignore[union-attr]
    f.chart_version = "1.5.41"
    use = cv.in_use(f, "langfuse")
    assert use is not None and use.chart.major == 1 and use.why == "chart 1.5.41" and not use.assumed
    assert any("clickhouse.cluster is a chart v2 key: chart v1 ignores it" in why for _, why in cv.dead_keys(f, use))
    f.chart_version = "9.0.0"  # a release this table does not know: the file's keys decide, and that is said
    use = cv.in_use(f, "langfuse")
    assert use is not None and use.chart.major == 2 and use.assumed
    assert use.why.startswith("chart '9.0.0' is no version known here; chart v2 keys in the file")


def test_keda_counts_as_autoscaled_in_both_charts(tmp_path: Path) -> None:
    for name, preset in (("langsmith-keda", "langsmith"), ("langfuse-v1", "langfuse"), ("langfuse-v2", "langfuse")):
        (tmp_path / name).mkdir()
        targets, _ = _values(tmp_path / name, name)
        item = audit(tmp_path / name, targets, ["files.values-hpa"], preset=preset)[0]["files.values-hpa"]
        assert item.status == "pass", (name, item.message)
        assert "KEDA" in item.message and "HPA" in item.message, item.message
    assert item.evidence["scaled"] == {"langfuse.web": "hpa", "langfuse.worker": "keda"}


def test_hpa_and_keda_both_on_is_a_finding(tmp_path: Path) -> None:
    targets, path = _values(tmp_path, "langsmith-keda")
    path.write_text(path.read_text().replace("{hpa: {enabled: false}, keda: {enabled: true}}",
                                             "{hpa: {enabled: true}, keda: {enabled: true}}"))
    item = audit(tmp_path, targets, ["files.values-hpa"], preset="langsmith")[0]["files.values-hpa"]
    assert item.status == "fail", item.message
    assert "playground.autoscaling.hpa.enabled and playground.autoscaling.keda.enabled are both true" in item.message
    assert _at(item, _line(path, "playground:") + 1)


def test_a_service_with_neither_or_a_non_boolean_switch_never_passes(tmp_path: Path) -> None:
    targets, path = _values(tmp_path, "langsmith-keda")
    path.write_text(path.read_text().replace("aceBackend:\n  autoscaling: {hpa: {enabled: true}}\n", ""))
    item = audit(tmp_path, targets, ["files.values-hpa"], preset="langsmith")[0]["files.values-hpa"]
    assert item.status == "fail" and "aceBackend: neither" in item.message, item.message
    path.write_text(path.read_text() + "aceBackend:\n  autoscaling: {hpa: {enabled: \"yes please\"}}\n")
    item = audit(tmp_path, targets, ["files.values-hpa"], preset="langsmith")[0]["files.values-hpa"]
    assert item.status == "error" and "aceBackend.autoscaling.hpa.enabled is not true or false" in item.message


def test_langsmith_api_key_salt_may_be_empty_with_an_existing_secret(tmp_path: Path) -> None:
    targets, path = _values(tmp_path, "langsmith-keda")
    item = audit(tmp_path, targets, ["app.placeholder-secrets"], preset="langsmith")[0]["app.placeholder-secrets"]
    assert "apiKeySalt" not in item.message, item.message
    path.write_text(path.read_text().replace("existingSecretName: langsmith-secrets", "existingSecretName: \"\""))
    item = audit(tmp_path, targets, ["app.placeholder-secrets"], preset="langsmith")[0]["app.placeholder-secrets"]
    assert item.status == "fail" and "config.apiKeySalt is empty" in item.message, item.message
    assert json.dumps(item.evidence)  # serialisable evidence


def test_a_key_in_the_charts_own_defaults_is_not_the_teams_dead_key(tmp_path: Path) -> None:
    # a v2 chart whose subchart defaults hold a v1-looking key (redis.primary): the team wrote nothing dead
    (tmp_path / "values.yaml").write_text("clickhouse:\n  cluster:\n    replicas: 3\n")
    defaults = tmp_path / "chart-values.yaml"
    defaults.write_text("redis:\n  primary:\n    extraFlags: []\n")
    f = files_client.load({"helm_values": str(tmp_path / "values.yaml")})
    f.values_layers = [("chart/charts/redis/values.yaml", files_client.load_file(str(defaults), "values"))]
    f.default_files = ("chart/charts/redis/values.yaml",)
    f.chart_version = "2.0.0"
    use = cv.in_use(f, "langfuse")
    assert use is not None and cv.dead_keys(f, use) == []


def _judged_at_chart(path: Path, version: str, item_id: str = "files.values-clickhouse-replicas") -> Any:
    """The item's verdict on a values file rendered by chart ``version`` (as the chart target hands it over)."""
    import time

    from readiness.checklist import load_checklist
    from readiness.context import Context
    from readiness.registry import probes

    f = files_client.load({"helm_values": str(path)})
    f.chart_version = version

    class Session:
        kind, config, timeout, failed, connecting = "files", {}, 1.0, None, False

        def get_client(self, deadline: float | None = None) -> Any:
            return f

        def fact(self, name: str, fetch: Any, deadline: float | None = None) -> Any:
            return fetch(f)

    item = next(i for i in load_checklist().items if i.id == item_id)
    ctx = Context(item.id, "files", {"files": Session()}, {"files": {}}, "langfuse", "production",  # type: ignore[dict-item]
                  1.0, time.monotonic() + 60)
    return probes().probes[item.probe or ""](ctx, item.params_for("langfuse"))


@pytest.mark.parametrize("deploy", ['""', "~", '"NaN"', ".nan", '"maybe"', "1", "[]"])
def test_a_deploy_switch_neither_true_nor_false_never_lets_the_chart_default_pass(tmp_path: Path,
                                                                                   deploy: str) -> None:
    """Langfuse v2 values rendered by chart 1.5.41: clickhouse.replicaCount is left out, so v1's default of 3 would
    pass, but only a deployed ClickHouse has replicas, and Helm merely warns on a non-boolean condition."""
    _, path = _values(tmp_path, "langfuse-v2")
    path.write_text(path.read_text().replace("clickhouse:\n  deploy: true\n", f"clickhouse:\n  deploy: {deploy}\n"))
    verdict = _judged_at_chart(path, "1.5.41")
    assert verdict.status == "error", verdict.message
    assert "clickhouse.deploy is" in verdict.message and "neither true nor false" in verdict.message


def test_the_v1_chart_default_of_three_replicas_applies_when_clickhouse_is_deployed(tmp_path: Path) -> None:
    """langfuse/langfuse-k8s 1.5.41 values.yaml: clickhouse.deploy true, clickhouse.replicaCount 3."""
    _, path = _values(tmp_path, "langfuse-v2")
    verdict = _judged_at_chart(path, "1.5.41")
    assert verdict.status == "pass", verdict.message
    assert verdict.evidence["chart"] == "langfuse v1" and "clickhouse.replicaCount" in verdict.message
    path.write_text(path.read_text().replace("clickhouse:\n  deploy: true\n", "clickhouse:\n  deploy: false\n"))
    assert _judged_at_chart(path, "1.5.41").status == "skipped"
