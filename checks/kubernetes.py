"""The generic Kubernetes probe: select objects (kind, namespace, label selector, name) and judge one field of each
with ``expect``, so a checklist author adds a policy in a few YAML lines.  It reads the same shared listings as the
purpose-built probes (one list per kind per audit; selectors are applied to it, not sent as extra requests)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

from readiness.checks import _kubernetes_facts as kf
from readiness.checks._common import listing

from readiness.matchers import MISSING, Expect
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

_TOKEN = re.compile(r"""\.?([^.\[\]"']+)|\[(\*|\d+)\]|\[["']([^"']+)["']\]""")
_REQ = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(!=|==|=|\s+notin\s+|\s+in\s+)?\s*(.*?)\s*$")


def _path(text: str) -> list[str | int]:
    """``spec.containers[*].resources.limits.memory``, ``metadata.annotations["a.b/c"]`` -> steps (``-1`` = every
    element)."""
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read the field path {text!r} at {text[pos:pos + 20]!r}")
        key, index, quoted = m.groups()
        steps.append(key if key is not None else quoted if quoted is not None else (-1 if index == "*" else int(index)))
        pos = m.end()
    if not steps:
        raise ValueError("the field path is empty")
    return steps


# A named step that meets a list (``containers.image``): not "absent", since the elements may well have the field.
INTO_LIST: Any = object()


def values_at(obj: Any, steps: list[str | int]) -> list[Any]:
    """Every value the path reaches (``[*]`` fans out); an element of a ``[*]`` list where the rest of the path
    reaches nothing gives ``MISSING`` (a sidecar without the field fails "every container has ..."), and so does a
    path that reaches nothing at all.  A named step into a list gives ``INTO_LIST``."""
    def walk(node: Any, at: int) -> list[Any]:
        if at == len(steps):
            return [node] if node is not None else [MISSING]
        step = steps[at]
        if isinstance(step, str) and isinstance(node, list):
            return [INTO_LIST]
        if step == -1:
            if not isinstance(node, list):
                return [MISSING]
            return [v for element in node for v in walk(element, at + 1)]
        if isinstance(step, int):
            return walk(node[step], at + 1) if isinstance(node, list) and step < len(node) else [MISSING]
        return walk(node[step], at + 1) if isinstance(node, Mapping) and step in node else [MISSING]

    return walk(obj, 0) or [MISSING]


def _unit_quantity(value: Any) -> bool:
    """A Kubernetes quantity written with its unit ("1Gi", "500m"), which only a quantity reader orders right."""
    return isinstance(value, str) and bool(value.strip()) and value.strip()[-1].isalpha() and kf.quantity(
        value) is not None


def _tester(expect: Expect) -> Any:
    """``expect.test``, but min/max/above/below with a quantity bound ("1Gi") compare quantities: as versions
    "512Mi" >= "1Gi" held (512 > 1).  A value that is no quantity stays as it is: not comparable, never a pass."""
    ordered = {k: v for k, v in expect.spec.items() if k in ("min", "max", "above", "below") and _unit_quantity(v)}
    if not ordered:
        return expect.test
    by_number = Expect({k: kf.quantity(v) for k, v in ordered.items()})
    rest = Expect({k: v for k, v in expect.spec.items() if k not in ordered})

    def test(value: Any) -> bool | None:
        amount = kf.quantity(value) if value is not MISSING else None
        results = [by_number.test(value if amount is None else amount)] + ([rest.test(value)] if rest.spec else [])
        return False if False in results else None if None in results else True

    return test


def _selector(text: str) -> list[tuple[str, str, set[str]]]:
    """Equality and set-based label selector terms: a=b, a!=b, a, !a, a in (x,y), a notin (x,y)."""
    terms: list[tuple[str, str, set[str]]] = []
    for part in re.split(r",(?![^(]*\))", text):
        part = part.strip()
        if not part:
            continue
        if part.startswith("!"):
            terms.append((part[1:].strip(), "absent", set()))
            continue
        m = _REQ.match(part)
        if not m:
            raise ValueError(f"cannot read the label selector term {part!r}")
        key, op, rest = m.group(1), (m.group(2) or "").strip(), m.group(3)
        if not op:
            terms.append((key, "exists", set()))
        elif op in ("in", "notin"):
            terms.append((key, op, {v.strip() for v in rest.strip("()").split(",") if v.strip()}))
        else:
            terms.append((key, "!=" if op == "!=" else "=", {rest}))
    return terms


def _selected(labels: Mapping[str, str], terms: list[tuple[str, str, set[str]]]) -> bool:
    for key, op, values in terms:
        have = labels.get(key)
        ok = {"exists": have is not None, "absent": have is None, "=": have in values, "!=": have not in values,
              "in": have in values, "notin": have not in values}[op]
        if not ok:
            return False
    return True


def _reads(p: Mapping[str, Any]) -> tuple[str, ...]:
    """The one kind the item names, for readiness rbac: ``group/plural`` in the target's namespaces,
    ``ns:group/plural`` in the namespace the item names, ``:group/plural`` cluster-scoped (rbac has no discovery:
    for a kind outside the table, ``cluster_scoped`` is all it knows of the scope)."""
    from readiness.clients.kubernetes import KubernetesError, resolve_kind

    try:
        kind = resolve_kind(str(p.get("kind") or ""), p.get("api_version"), p.get("plural"),
                            namespaced=not p.get("cluster_scoped"))
    except KubernetesError:
        return ()
    if kind.plural == "secrets" and not kind.group:
        return ()
    where = (p.get("namespace") or "") if kind.namespaced else ""
    return (f"{where}:{kind.group}/{kind.plural}" if where or not kind.namespaced else f"{kind.group}/{kind.plural}",)


@probe("kubernetes.object", target="kubernetes", reads=_reads, params={
    "kind": Param("k8s-kind", help="Deployment, StatefulSet, Service, Ingress, ... (or a CRD's kind with "
                                   "api_version)"),
    "field": Param("str", help="path of the field, e.g. spec.template.spec.securityContext.runAsNonRoot; [*] for "
                               "every element of a list, [\"a.b/c\"] for keys with dots"),
    "expect": Param("expect", help="matchers the field must satisfy"),
    "match": Param("str", "every", choices=("every", "any"), help="every selected object must satisfy it, or any"),
    "namespace": Param("k8s-name", None, help="only this namespace (default: the target's)"),
    "selector": Param("str", None, help="label selector, e.g. app.kubernetes.io/instance=langsmith,tier!=batch"),
    "name": Param("str", None, help="object name or glob, e.g. langsmith-*"),
    "api_version": Param("k8s-api-version", None, help="apiVersion of a kind the tool does not know (e.g. "
                                                       "keda.sh/v1alpha1)"),
    "cluster_scoped": Param("bool", False, help="the unknown kind is cluster-scoped (readiness rbac grants it "
                                                "cluster-wide; live, discovery must agree)"),
    "plural": Param("k8s-name", None, help="the resource name of a kind the tool does not know, where it is not "
                                           "the plural Kubernetes guesses (kubectl api-resources lists it)"),
})
def k8s_object(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Judge one field of every (or any) selected Kubernetes object with `expect`.

    Example item (every Deployment of the release runs as non-root):

        probe: kubernetes.object
        with: {kind: Deployment, selector: app.kubernetes.io/instance=langsmith,
               field: spec.template.spec.securityContext.runAsNonRoot, expect: {equals: true}}

    No selected object is an error, never a pass."""
    from readiness.clients.kubernetes import KNOWN

    try:
        steps = _path(p["field"])
        terms = _selector(p["selector"]) if p["selector"] else []
    except ValueError as exc:
        return undecided(str(exc))
    kind = kf.resolve(ctx, p["kind"], p["api_version"], p["plural"], namespaced=not p["cluster_scoped"])
    if kind.plural == "secrets" and kind.group == "":
        return undecided("kubernetes.object does not read Secrets: their values would reach the report (judge "
                         "the workloads that mount them instead)")
    if str(steps[0]) == "status" and not kf.live(ctx):
        return not_applicable(f"{p['field']} is live state: {kf.NEEDS_LIVE}")
    spaces = [p["namespace"]] if p["namespace"] and kind.namespaced else (kf.namespaces(ctx) if kind.namespaced
                                                                          else [None])
    found: list[dict[str, Any]] = []
    for ns in spaces:
        if KNOWN.get(kind.plural) == kind:
            found.extend(kf.listing(ctx, kind.plural, ns))  # the listing the other items share (declared there)
        else:
            kf.check_declared(ctx, kind, ns)
            kf.ensure_served(ctx, kind)
            found.extend(kf.shaped(kind.plural, ctx.fact(f"k8s:{kind.plural}:{kind.api_version}:{ns or '*'}",
                                                         lambda c, ns=ns: c.list(kind, ns), kind="kubernetes")))
    chosen = [o for o in found if _selected(kf.labels(o), terms)
              and (not p["name"] or fnmatch.fnmatchcase(kf.name(o), p["name"]))]
    what = f"{kind.kind}" + (f" matching {p['selector']}" if p["selector"] else "") + (
        f" named {p['name']}" if p["name"] else "")
    if not chosen:
        where = ", ".join(n or "every namespace" for n in spaces)
        return undecided(f"no {what} in {where}: nothing to judge (check the kind, selector and namespace)")
    expect = p["expect"]
    test = _tester(expect)
    good, bad, odd = [], [], []
    for obj in chosen:
        values = values_at(obj, steps)
        if INTO_LIST in values:
            return undecided(f"{kf.ref(obj)}: {p['field']} names a field of a list: write [*] for every element "
                             "or [0] for one (spec.containers[*].image)")
        results = [test(v) for v in values]
        shown = [None if v is MISSING else v for v in values]
        entry = (kf.ref(obj), shown[0] if len(shown) == 1 else shown)
        if any(r is None for r in results):
            odd.append(entry)
        elif all(results):
            good.append(entry)
        else:
            bad.append(entry)
    evidence = {"field": p["field"], "expected": expect.describe(), "objects": len(chosen),
                "failing": dict(bad[:20]), "matching": [r for r, _ in good[:20]]}
    if p["match"] == "any":
        if good:
            return passed(f"{good[0][0]}: {p['field']} is {good[0][1]} ({len(good)} of {len(chosen)} {what})",
                          **evidence)
        if odd:
            return undecided(f"{odd[0][0]}: {p['field']} is {odd[0][1]}, which cannot be compared with "
                             f"{expect.describe()}", **evidence)
        return failed(f"no {what} has {p['field']} {expect.describe()} (e.g. {bad[0][0]}: {bad[0][1]})", **evidence)
    if bad:
        value = "not present" if bad[0][1] is None else f"is {bad[0][1]}"
        return failed(f"{bad[0][0]}: {p['field']} {value}, expected {expect.describe()}"
                      + (f" ({len(bad)} of {len(chosen)} {what} fail)" if len(bad) > 1 else ""), **evidence)
    if odd:
        return undecided(f"{odd[0][0]}: {p['field']} is {odd[0][1]}, which cannot be compared with "
                         f"{expect.describe()}", **evidence)
    return passed(f"{p['field']} {expect.describe()} on all {len(chosen)} {what} ({listing(r for r, _ in good)})",
                  **evidence)
