"""Helm values of the LangSmith and Langfuse charts, statically: any key judged by ``expect`` (with the chart's
default where the values file leaves it out), the ClickHouse resource requests, every service autoscaled (HPA or
KEDA), and keys of another chart version that the chart in use ignores.  Key names and defaults per chart version
come from checks/_chart_values.py (``fact:``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from readiness.checks import _chart_values as cv
from readiness.checks._files_facts import evidence, files, findings_text, locations, needs
from readiness.checks._kubernetes_facts import quantity

from readiness.clients.files import Files, Loc
from readiness.clients.secret_names import is_secret_key
from readiness.matchers import MISSING
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided
from readiness.redact import redact_text

_OPT = None
_SKIP_WHEN = Param("str", _OPT, help="a dotted key: when it is true in the values (clickhouse.external.enabled), "
                                     "or false for !key (!clickhouse.deploy), the item does not apply")


_FACT = Param("str", _OPT, help="a fact of checks/_chart_values.py (clickhouse.replicas): its key and default "
                                 "are those of the product's chart version in use, instead of keys/chart_default")


def _chart(ctx: Any, f: Files) -> cv.InUse | Verdict:
    use = cv.in_use(f, ctx.preset)
    if use is None:
        return undecided(f"no chart values are known for preset {ctx.preset!r}: give keys and chart_default",
                         locations=[])
    return use


def _values_in_use(ctx: Any) -> tuple[Files, cv.InUse] | Verdict:
    """The Helm values and the chart version whose names they are judged by (or why they cannot be)."""
    f = files(ctx)
    missing = needs(f, "helm_values")
    if missing:
        return missing
    use = _chart(ctx, f)
    return use if isinstance(use, Verdict) else (f, use)


def _versioned(v: Verdict, use: cv.InUse) -> Verdict:
    """The verdict saying which chart version's names it judged, and why that one."""
    return replace(v, message=f"{v.message} [{use.why}]",
                   evidence={**v.evidence, "chart": f"{use.chart.product} v{use.chart.major}",
                             "chart_assumed": use.assumed})


def _fact(ctx: Any, f: Files, name: str) -> tuple[cv.InUse, cv.Fact] | Verdict:
    use = _chart(ctx, f)
    if isinstance(use, Verdict):
        return use
    fact = use.chart.facts.get(name)
    if fact is None:
        return _versioned(not_applicable(f"chart v{use.chart.major} of {use.chart.product} has no {name} setting",
                                          locations=[]), use)
    return use, fact


def _skipped(f: Files, key: str | None) -> Verdict | None:
    if not key:
        return None
    negated = key.startswith("!")
    name = key.lstrip("!")
    value, loc, present = f.values_get(name)
    where = f" at {loc.file}:{loc.line}" if loc else ""
    if present and not isinstance(value, bool):
        # Helm only warns on a non-boolean subchart condition, and the chart's templates read the same value as
        # text: whether the item applies (is the bundled datastore deployed?) is not known, so nothing is judged.
        return undecided(f"{name} is {redact_text(repr(value))}{where}, neither true nor false: whether this item "
                         "applies cannot be told; set it to true or false", locations=locations([loc]))
    if present and value is (not negated):
        return not_applicable(f"{name} is {str(value).lower()}{where}", locations=locations([loc]))
    return None


@probe("files.values", target="files", params={
    "keys": Param("str-list", [], help="dotted keys of the values file, e.g. backend.autoscaling.hpa.enabled; "
                                       "every one must satisfy expect"),
    "expect": Param("expect", help="matchers each value must satisfy"),
    "chart_default": Param("any", _OPT, help="the chart's default, judged where the values file leaves a key out "
                                             "(left unset, a missing key is an error)"),
    "skip_when": _SKIP_WHEN,
    "fact": _FACT,
})
def values(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Keys of the Helm values judged by `expect`; a key the file leaves out gets the chart's default
    (`chart_default`, or the `fact`'s of the chart version in use), and the finding points at the nearest parent
    the file does have."""
    return _values(ctx, p)


def _prelude(ctx: Any, p: dict[str, Any], judge: Any, key: str, as_list: bool) -> tuple[Files, Verdict | None]:
    """The values files, or the verdict that ends the item here: no helm_values, skipped, or a ``fact`` resolved to
    the chart version in use (``judge`` runs again on its key, given as ``p[key]``, and its default)."""
    f = files(ctx)
    done = needs(f, "helm_values") or _skipped(f, p["skip_when"])
    if done or not p["fact"]:
        return f, done
    found = _fact(ctx, f, p["fact"])
    if isinstance(found, Verdict):
        return f, found
    use, fact = found
    again = {**p, "fact": None, key: [fact.key] if as_list else fact.key, "chart_default": fact.default}
    return f, _versioned(judge(ctx, again), use)


def _values(ctx: Any, p: dict[str, Any]) -> Verdict:
    f, done = _prelude(ctx, p, _values, "keys", as_list=True)
    if done is not None:
        return done
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
    "requests": Param("str", _OPT, help="dotted key of the resources.requests mapping, e.g. "
                                        "clickhouse.statefulSet.resources.requests"),
    "min_cpu": Param("number", 8, help="cores the requests must reach"),
    "min_memory": Param("str", "32Gi", help="memory the requests must reach"),
    "chart_default": Param("dict", _OPT, help="the chart's requests where the file leaves them out"),
    "skip_when": _SKIP_WHEN,
    "fact": _FACT,
})
def values_resources(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The bundled ClickHouse requests at least `min_cpu` cores and `min_memory` (below that it is starved under
    production ingestion: inserts fail on memory limits, merges fall behind)."""
    return _resources(ctx, p)


def _resources(ctx: Any, p: dict[str, Any]) -> Verdict:
    f, done = _prelude(ctx, p, _resources, "requests", as_list=False)
    if done is not None:
        return done
    if not p["requests"]:
        return undecided("no requests key to judge: give requests or fact", locations=[])
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


def _flag(f: Files, key: str) -> tuple[bool | None, Loc | None, bool]:
    """A switch as the chart reads it: absent is its default (false); anything but a YAML boolean is no answer."""
    value, loc, present = f.values_get(key)
    if not present:
        return False, loc, False
    return (value if isinstance(value, bool) else None), loc, True


@probe("files.values-autoscaling", target="files", params={
    "services": Param("str-list", [], help="values prefixes of the services to judge (langfuse.web); empty: every "
                                           "service of the chart version in use"),
})
def values_autoscaling(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every service of the chart is autoscaled, by its HPA or by KEDA (the chart's alternative); both on for one
    service is a finding too (the charts refuse to render it, or with validation skipped the two fight)."""
    found = _values_in_use(ctx)
    if isinstance(found, Verdict):
        return found
    f, use = found
    scaling = [s for s in use.chart.scaling if not p["services"] or s.service in p["services"]]
    if not scaling:
        return _versioned(undecided(f"no service of {', '.join(p['services'])} is known in the chart",
                                    locations=[]), use)
    bad: list[tuple[Loc, str]] = []
    odd: list[tuple[Loc, str]] = []
    good: dict[str, str] = {}
    spots: list[Loc | None] = []
    for s in scaling:
        hpa, hloc, hset = _flag(f, s.hpa)
        keda, kloc, kset = _flag(f, s.keda)
        at = hloc if hset or not kset else kloc
        assert at is not None
        spots += [hloc, kloc]
        if hpa is None or keda is None:
            key = s.hpa if hpa is None else s.keda
            odd.append(((hloc if hpa is None else kloc) or at, f"{key} is not true or false"))
        elif hpa and keda:
            bad.append((kloc or at, f"{s.hpa} and {s.keda} are both true: the chart refuses to render both "
                                    "(with validation skipped, the HPA and KEDA's HPA fight over the replicas)"))
        elif not hpa and not keda:
            said = "false" if hset or kset else "not set (the chart's default: false)"
            bad.append((at, f"{s.service}: neither {s.hpa} nor {s.keda} is true ({said})"))
        else:
            good[s.service] = "hpa" if hpa else "keda"
    if bad:
        return _versioned(failed(findings_text(bad), **evidence(bad, scaled=good)), use)
    if odd:
        return _versioned(undecided(findings_text(odd), **evidence(odd)), use)
    how = ", ".join(f"{k} by {v.upper()}" for k, v in good.items())
    return _versioned(passed(f"every service is autoscaled: {how}", scaled=good, locations=locations(spots)), use)


@probe("files.values-chart-keys", target="files")
def values_chart_keys(ctx: Any, p: dict[str, Any]) -> Verdict:
    """No key of another major version of the chart in the values file: the chart in use ignores unknown keys
    without a word (clickhouse.replicaCount in a Langfuse v2 file leaves ClickHouse at one replica)."""
    found = _values_in_use(ctx)
    if isinstance(found, Verdict):
        return found
    f, use = found
    if not isinstance(f.values, Mapping):
        return undecided(f"{f.values_file} is not a mapping of keys", locations=[])
    if len([c for c in cv.CHARTS if c.product == use.chart.product]) < 2:
        return _versioned(not_applicable(f"one version of the {use.chart.product} chart is known: no renamed keys",
                                         locations=[]), use)
    dead = cv.dead_keys(f, use)
    if dead:
        return _versioned(failed(f"{len(dead)} key(s) the chart ignores: " + findings_text(dead),
                                 **evidence(dead)), use)
    return _versioned(passed(f"no key of another chart version in {f.values_file}", locations=[]), use)
