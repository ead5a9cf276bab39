"""Helm values of the LangSmith and Langfuse charts, statically: any key judged by ``expect`` (with the chart's
default where the values file leaves it out), and the ClickHouse resource requests."""

from __future__ import annotations

from typing import Any

from readiness.checks._files_facts import evidence, files, findings_text, locations, needs
from readiness.checks._kubernetes_facts import quantity

from readiness.clients.files import Files, Loc, is_secret_key
from readiness.matchers import MISSING
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided
from readiness.redact import redact_text

_OPT = None
_SKIP_WHEN = Param("str", _OPT, help="a dotted key: when it is true in the values (clickhouse.external.enabled), "
                                     "or false for !key (!clickhouse.deploy), the item does not apply")


def _skipped(f: Files, key: str | None) -> Verdict | None:
    if not key:
        return None
    negated = key.startswith("!")
    name = key.lstrip("!")
    value, loc, present = f.values_get(name)
    if present and value is (not negated):
        said = f"{name} is {str(value).lower()}"
        return not_applicable(f"{said} at {loc.file}:{loc.line}" if loc else said, locations=locations([loc]))
    return None


@probe("files.values", target="files", params={
    "keys": Param("str-list", help="dotted keys of the values file, e.g. backend.autoscaling.hpa.enabled; every "
                                   "one must satisfy expect"),
    "expect": Param("expect", help="matchers each value must satisfy"),
    "chart_default": Param("any", _OPT, help="the chart's default, judged where the values file leaves a key out "
                                             "(left unset, a missing key is an error)"),
    "skip_when": _SKIP_WHEN,
})
def values(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Keys of the Helm values judged by `expect`; a key the file leaves out gets the chart's default
    (`chart_default`), and the finding points at the nearest parent the file does have."""
    f = files(ctx)
    missing = needs(f, "helm_values")
    if missing:
        return missing
    skip = _skipped(f, p["skip_when"])
    if skip:
        return skip
    if not p["keys"]:
        return undecided("no keys to judge: give keys: [...]", locations=[])
    bad: list[tuple[Loc, str]] = []
    odd: list[tuple[Loc, str]] = []
    good: list[Loc] = []
    for key in p["keys"]:
        value, loc, present = f.values_get(key)
        assert loc is not None
        if not present:
            unknown = f.not_in_chart(key)
            if unknown:
                odd.append((loc, unknown))
                continue
            if p["chart_default"] is None:
                odd.append((loc, f"{key} is not in the values file and no chart default is given"))
                continue
            value = p["chart_default"]
        ok = p["expect"].test(value if value is not None or present else MISSING)
        secret = is_secret_key(key) and isinstance(value, str) and value
        said = "set (not shown)" if secret else redact_text(repr(value))
        shown = f"{key} is {said}" + ("" if present else " (the chart's default: not set in the file)") + (
            f" (the chart's default, {loc.file}:{loc.line})" if present and f.is_default(loc) else "")
        if ok is False:
            bad.append((loc, f"{shown}, expected {p['expect'].describe()}"))
        elif ok is None:
            odd.append((loc, f"{shown}, which cannot be compared with {p['expect'].describe()}"))
        else:
            good.append(loc)
    if bad:
        return failed(findings_text(bad), **evidence(bad))
    if odd:
        return undecided(findings_text(odd), **evidence(odd))
    return passed(f"{', '.join(p['keys'][:6])}{' ...' if len(p['keys']) > 6 else ''} satisfy "
                  f"{p['expect'].describe()}", locations=locations(good))


@probe("files.values-resources", target="files", params={
    "requests": Param("str", help="dotted key of the resources.requests mapping, e.g. "
                                  "clickhouse.statefulSet.resources.requests"),
    "min_cpu": Param("number", 8, help="cores the requests must reach"),
    "min_memory": Param("str", "32Gi", help="memory the requests must reach"),
    "chart_default": Param("dict", _OPT, help="the chart's requests where the file leaves them out"),
    "skip_when": _SKIP_WHEN,
})
def values_resources(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The bundled ClickHouse requests at least `min_cpu` cores and `min_memory` (below that it is starved under
    production ingestion: inserts fail on memory limits, merges fall behind)."""
    f = files(ctx)
    missing = needs(f, "helm_values")
    if missing:
        return missing
    skip = _skipped(f, p["skip_when"])
    if skip:
        return skip
    node, loc, present = f.values_get(p["requests"])
    assert loc is not None
    if not present:
        unknown = f.not_in_chart(p["requests"])
        if unknown:
            return undecided(unknown, locations=locations([loc]))
        node = p["chart_default"]
        if node is None:
            return undecided(f"{p['requests']} is not in the values file and no chart default is given",
                             locations=locations([loc]))
    if not isinstance(node, dict):
        return undecided(f"{loc.file}:{loc.line}: {p['requests']} is not a mapping", locations=locations([loc]))
    want_mem = quantity(p["min_memory"])
    bad: list[tuple[Loc, str]] = []
    spots: list[Loc] = []
    origin = "" if present else " (the chart's default)"
    if present and f.is_default(loc):
        origin = f" (the chart's default, {loc.file}:{loc.line})"
    for field, want in (("cpu", float(p["min_cpu"])), ("memory", want_mem)):
        raw = node.get(field)
        at = f.values_get(f"{p['requests']}.{field}")[1] or loc
        spots.append(at)
        have = quantity(raw)
        if have is None or want is None:
            bad.append((at, f"{p['requests']}.{field} is {raw!r}{origin}: no request, or not a quantity"))
        elif have < want:
            bad.append((at, f"{p['requests']}.{field} is {raw}{origin}, below {p['min_' + field]}"))
    if bad:
        return failed(findings_text(bad), **evidence(bad))
    return passed(f"{p['requests']} requests {node.get('cpu')} CPU and {node.get('memory')}{origin}",
                  cpu=node.get("cpu"), memory=node.get("memory"), locations=locations(spots))
