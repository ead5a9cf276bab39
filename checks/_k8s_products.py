"""The product's objects in the cluster: its release is identified (``identify``) by the target's release
and namespace, or by the chart's labels; its Deployments and StatefulSets are then found by the chart's
labels and names (checks/_products.py holds what each chart deploys).  Other backends' probes use
``container_resources`` and ``bundled_workloads`` for the facts that only Kubernetes knows.

Over 400 lines: one role (which objects are the product's), with the one-pass indexes that keep it linear."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from readiness.checks import _products as products
from readiness.checks._k8s_access import derived, live, namespaces, objects, rendered, workloads
from readiness.checks._k8s_fields import containers, dicts, get, label, labels, mapping, name, ref

from readiness.probe import Param, Verdict, not_applicable, undecided

INSTANCE, COMPONENT, NAME = products.INSTANCE, products.COMPONENT, products.NAME
DATASTORES = ("postgres", "redis", "clickhouse")
# The service Deployments of each product (the items that judge them take these as parameters, per preset).
SERVICES = {preset: prod.components() for preset, prod in products.PRODUCTS.items()}


def services(ctx: Any) -> list[str]:
    return SERVICES.get(ctx.preset or "", sorted({s for v in SERVICES.values() for s in v}))


# The datastore items' patterns pick among the release's objects; false: among every object of the target's
# namespaces (a datastore run outside the chart, e.g. by an operator in another namespace).
WITHIN_RELEASE = Param("bool", True, help="the pattern picks among the release's objects only (false: among all of "
                                          "the target's namespaces, for a datastore run outside the chart)")


# Identified by the chart's labels (app.kubernetes.io/instance = release, app.kubernetes.io/name / helm.sh/chart =
# the chart), the release and the namespace; never by a name suffix across the cluster.  What each chart deploys
# is data in checks/_products.py.

def release(ctx: Any) -> str | None:
    return ctx.config("kubernetes").get("release") or None


@dataclass(frozen=True)
class Identity:
    """The product's release as found in the cluster: its objects are in ``where`` (None: any namespace)."""

    release: str
    fullnames: tuple[str, ...]  # <fullname> of the chart(s) it may be (the release, or <release>-<chart>)
    where: tuple[str | None, ...]
    how: str

    def holds(self, obj: Any) -> bool:
        """In the release's namespaces and not labelled as another release's."""
        inst, ns = label(obj, INSTANCE), get(obj, "metadata.namespace")
        in_ns = None in self.where or ns is None or ns in self.where  # no namespace: helm template output
        return in_ns and inst in (None, self.release)


def _charts(ctx: Any) -> list[str]:
    prod = products.product(ctx.preset)
    if prod is not None:
        return [prod.chart] if prod.chart else []
    return [p.chart for p in products.PRODUCTS.values() if p.chart]


def _chart_labelled(obj: Any, charts: Iterable[str]) -> bool:
    lab = labels(obj)
    return any(lab.get(NAME) == c or lab.get(products.CHART, "").startswith(f"{c}-") for c in charts)


def _where_text(ctx: Any) -> str:
    return ", ".join(n or "every namespace" for n in namespaces(ctx))


def identify(ctx: Any) -> Identity | str:
    """The product's release (from the target, else from the chart's labels), or why it cannot be identified."""
    charts = _charts(ctx)
    rel = release(ctx)
    where = tuple(namespaces(ctx))
    if rel:
        fulls = [products.fullname(rel, c) for c in charts] + [rel]
        return Identity(rel, tuple(dict.fromkeys(fulls)), where, "release from the kubernetes target")
    what = f"the {ctx.preset} product" if ctx.preset else "the product"
    if not charts:
        return (f"cannot identify {what}'s workloads: it has no chart whose labels name it; set release (and "
                "namespace) in the kubernetes target")
    deps = workloads(ctx, "deployments")
    seen: dict[str, set[str | None]] = derived(ctx, ("releases", tuple(charts)), [deps],
                                               lambda: _releases(deps, charts))
    labelled = " or ".join(f"{NAME}={c}" for c in charts)
    if not seen:
        return (f"cannot identify {what}: no Deployment labelled {labelled} in {_where_text(ctx)}; set release "
                "and namespace in the kubernetes target")
    if len(seen) > 1:
        found = "; ".join(f"{r} in {', '.join(sorted(str(n) for n in ns))}" for r, ns in sorted(seen.items()))
        return f"several releases of {what} ({found}): set release and namespace in the kubernetes target"
    rel, spaces = next(iter(seen.items()))
    where = where if None not in where else tuple(sorted(spaces, key=str))
    fulls = [products.fullname(rel, c) for c in charts] + [rel]
    return Identity(rel, tuple(dict.fromkeys(fulls)), where, f"release {rel} from the labels {labelled}")


def _releases(deps: list[dict[str, Any]], charts: list[str]) -> dict[str, set[str | None]]:
    """{release: its namespaces} of the Deployments labelled as one of ``charts``."""
    seen: dict[str, set[str | None]] = {}
    for dep in deps:
        inst = label(dep, INSTANCE)
        if inst and _chart_labelled(dep, charts):
            seen.setdefault(inst, set()).add(get(dep, "metadata.namespace"))
    return seen


def find_components(ctx: Any, plural: str, components: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """{component: the release's Deployment/StatefulSet, or None when it is not there (or the release cannot be
    identified: ``identify`` says why)}."""
    ident = identify(ctx)
    if not isinstance(ident, Identity):
        return dict.fromkeys(components)
    found = workloads(ctx, plural)
    index = derived(ctx, ("components", plural, ident), [found], lambda: _component_index(found, ident))
    return {comp: index.get(comp) for comp in components}


def _component_index(found: list[dict[str, Any]], ident: Identity) -> dict[str, dict[str, Any]]:
    """{component: the first workload ``_component_names`` takes for it}, in one pass: a lookup per component, not a
    pass over thousands of workloads per component and item."""
    index: dict[str, dict[str, Any]] = {}
    for obj in found:
        for comp in _component_names(obj, ident):
            index.setdefault(comp, obj)
    return index


def _component_names(obj: Any, ident: Identity) -> set[str]:
    """Every component ``obj`` is, for the release: by its chart labels (metadata, selector or pod template:
    component = <component> or <fullname>-<component>, Langfuse 1.x app=<component>) or by its name
    <fullname>-<component>; an unlabelled one by its name alone."""
    if not ident.holds(obj):
        return set()

    def bare(text: str) -> set[str]:  # <component>, or <fullname>-<component>
        return {text[len(f) + 1:] for f in ident.fullnames if text.startswith(f"{f}-")}

    out = bare(name(obj))
    if label(obj, INSTANCE) == ident.release:
        tpl = labels({"metadata": get(obj, "spec.template.metadata", {})})
        for lab in (labels(obj), tpl, mapping(obj, "spec.selector.matchLabels")):
            value = lab.get(COMPONENT)
            if isinstance(value, str):
                out |= {value} | bare(value)
        if "app" in tpl:
            out.add(tpl["app"])
    return out


def service_deployments(ctx: Any, components: Iterable[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The product's service Deployments that exist, and the components that are not there."""
    found = find_components(ctx, "deployments", components)
    return [o for o in found.values() if o is not None], [c for c, o in found.items() if o is None]


def product_seen(ctx: Any, components: Iterable[str]) -> bool:
    return bool(service_deployments(ctx, components)[0])


def not_deployed(ctx: Any, components: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Of components with no Deployment: ({component: why the chart does not deploy it}, [the others]).  Only the
    chart's own switches count (products.Service.enabled_by): one of them off, by false in the files target's Helm
    values or left at a default of off (every key of an "a|b" switch so)."""
    prod = products.product(ctx.preset)
    off: dict[str, str] = {}
    missing: list[str] = []
    for comp in components:
        svc = prod.service(comp) if prod else None
        why = _switched_off(ctx, prod, svc) if prod and svc else None
        if why:
            off[comp] = why
        else:
            missing.append(comp)
    return off, missing


def _switched_off(ctx: Any, prod: products.Product, svc: products.Service) -> str | None:
    for switch in svc.enabled_by:
        reasons = []
        for key in switch.split("|"):
            value, loc, present = _values_get(ctx, key)
            if present and value is False:
                reasons.append(f"{key}: false ({loc})")
            elif not present and not prod.default(key):
                reasons.append(f"{key} is off by default in the chart")
            else:
                break  # on, or not a plain false: the chart may render it
        else:
            return " and ".join(reasons)
    return None


def _values_get(ctx: Any, key: str) -> tuple[Any, Any, bool]:
    """A key of the files target's Helm values (or a rendered chart's values over its defaults): (value, where,
    present); absent when neither is given."""
    config = ctx.config("files") if ctx.has("files") else {}
    if not (config.get("helm_values") or config.get("chart")):
        return None, None, False
    from readiness.checks._files_facts import files

    return files(ctx).values_get(key)


def bundled_workloads(ctx: Any, datastores: Iterable[str] = DATASTORES) -> list[tuple[str, dict[str, Any]]]:
    """(datastore, StatefulSet or Deployment) for each datastore the release runs itself: named as the charts name
    them (checks/_products.py), or a subchart's workload labelled with the release and a datastore's name.  Empty
    when the release cannot be identified (``identify`` says why)."""
    ident = identify(ctx)
    if not isinstance(ident, Identity):
        return []
    wanted = set(datastores)
    sets, deps = objects(ctx, "statefulsets"), objects(ctx, "deployments")
    stores = derived(ctx, ("stores", ident), [sets, deps], lambda: _stores(ident, sets, deps))
    return [(store, obj) for store, obj in stores if store in wanted]


def _stores(ident: Identity, sets: list[dict[str, Any]], deps: list[dict[str, Any]]
            ) -> list[tuple[str, dict[str, Any]]]:
    """(the datastore it is; workload) of the release's StatefulSets and Deployments that are one."""
    out = []
    for objs, kind in ((sets, "StatefulSet"), (deps, "Deployment")):
        for obj in objs:
            if not ident.holds(obj):
                continue
            store = products.workload_store(kind, name(obj), ident.release, ident.fullnames)
            lab = labels(obj)
            if store is None and lab.get(INSTANCE) == ident.release:
                store = products.labelled_store(lab) or products.labelled_store({NAME: lab.get(COMPONENT, "")})
            if store is not None:
                out.append((store, obj))
    return out



def of_release(ctx: Any, plural: str) -> list[dict[str, Any]] | str:
    """The objects of a kind that are the release's, or why the release cannot be identified: a pod or PVC of a
    StatefulSet (its ownerReference, or named <sts>-<ordinal> / <template>-<sts>-<ordinal>) is the release's when
    that StatefulSet is; anything else when labelled with its instance, named <fullname>-..., or unlabelled in a
    namespace where the product's Deployments run (an operator's ClickHouse beside it).  Another release's object,
    or an unlabelled one in any other namespace, never is."""
    ident = identify(ctx)
    if not isinstance(ident, Identity):
        return ident
    home = {get(d, "metadata.namespace") for d in service_deployments(ctx, services(ctx))[0]}
    objs = objects(ctx, plural)
    key = ("of_release", plural, ident, tuple(sorted(home, key=str)))
    if plural not in ("pods", "persistentvolumeclaims"):
        return derived(ctx, key, [objs], lambda: [o for o in objs if _ours(ident, home, o)])  # type: ignore[no-any-return]
    sets = objects(ctx, "statefulsets")
    return derived(ctx, key, [objs, sets], lambda: _owned(ident, home, plural, objs, sets))  # type: ignore[no-any-return]


def _owned(ident: Identity, home: set[Any], plural: str, objs: list[dict[str, Any]], sets: list[dict[str, Any]]
           ) -> list[dict[str, Any]]:
    """``of_release`` for pods and PVCs: each one's StatefulSet found by a lookup of the names it may have (a
    pass over every StatefulSet per object grows with their product)."""
    owners: dict[tuple[Any, str], tuple[set[str] | None, bool]] = {}  # (ns, name) -> (claim templates, ours)
    for sts in sets:
        tpls = {str(get(t, "metadata.name", "")) for t in dicts(sts, "spec.volumeClaimTemplates")}
        owners[(get(sts, "metadata.namespace"), name(sts))] = (
            tpls if plural == "persistentvolumeclaims" else None, _ours(ident, home, sts))
    order = {key: i for i, key in enumerate(owners)}
    out = []
    for obj in objs:
        ns = get(obj, "metadata.namespace")
        refs = [str(r.get("name")) for r in dicts(obj, "metadata.ownerReferences") if r.get("kind") == "StatefulSet"]
        owner = [owners[(ns, r)][1] for r in refs if (ns, r) in owners] or _owner_by_name(owners, order, ns, name(obj))
        if (ident.holds(obj) and owner[0]) if owner else _ours(ident, home, obj):
            out.append(obj)
    return out


def _owner_by_name(owners: dict[tuple[Any, str], tuple[set[str] | None, bool]], order: dict[Any, int], ns: Any,
                   text: str) -> list[bool]:
    """Whether each StatefulSet a pod (<sts>-<ordinal>) or claim (<template>-<sts>-<ordinal>) is named after is
    the release's, in the StatefulSets' order."""
    stem, dash, ordinal = text.rpartition("-")
    if not dash or not re.fullmatch(r"\d+", ordinal) or not isinstance(ns, (str, type(None))):
        return []
    found = []
    if (ns, stem) in owners and owners[(ns, stem)][0] is None:  # a pod: <sts>-<ordinal>
        found.append((ns, stem))
    for i, char in enumerate(stem):  # a claim: <template>-<sts>-<ordinal>, split at each dash
        tpls = owners.get((ns, stem[i + 1:]), (None, False))[0] if char == "-" else None
        if tpls and stem[:i] in tpls:
            found.append((ns, stem[i + 1:]))
    return [owners[key][1] for key in sorted(set(found), key=order.__getitem__)]


def _ours(ident: Identity, home: set[Any], obj: Any) -> bool:
    if not ident.holds(obj):
        return False
    if label(obj, INSTANCE) == ident.release or any(name(obj).startswith(f"{f}-") for f in ident.fullnames):
        return True
    return get(obj, "metadata.namespace") in home  # unlabelled, beside the product's Deployments


def picked(ctx: Any, plural: str, pattern: str, within_release: bool = True) -> list[dict[str, Any]] | Verdict:
    """The objects of a kind ``pattern`` picks (``matching``): among the release's (``of_release``), or, with
    ``within_release`` false, among all of the target's namespaces (a datastore run outside the chart).  An error
    verdict when the release cannot be identified."""
    if not within_release:
        return matching(objects(ctx, plural), pattern)
    found = of_release(ctx, plural)
    if isinstance(found, str):
        return undecided(f"cannot tell the product's {plural} from others': {found} (or set within_release: "
                         "false on the item to judge every match in the target's namespaces)")
    return matching(found, pattern)


# The ClickHouse operator's resources (clickhouse.com/v1alpha1), as the Langfuse chart 2.0.0 renders them
# (templates/clickhouse/{cluster,keeper}.yaml, named <fullname>).  The operator (ClickHouse/clickhouse-operator
# api/v1alpha1, internal/controller/*/templates.go) runs each replica as a StatefulSet <name>-clickhouse-<shard>-
# <replica> (Keeper: <name>-keeper-<n>) whose claim clickhouse-storage-volume is spec.dataVolumeClaimSpec, and adds a
# PodDisruptionBudget (ClickHouse: minAvailable 1 per shard; Keeper: maxUnavailable replicas/2).  Live, those
# StatefulSets are judged; offline, where only the resources are rendered, the resources stand for them.
OPERATOR = {"clickhouseclusters": "clickhouse", "keeperclusters": "keeper"}
OPERATOR_CLAIM = "clickhouse-storage-volume"


def operator_clusters(ctx: Any, pattern: str, within_release: bool = True) -> list[dict[str, Any]] | Verdict:
    """Offline: the ClickHouseCluster/KeeperCluster resources ``pattern`` picks (by the names their StatefulSets
    take, <name>-clickhouse / <name>-keeper, or their own), among the release's (``picked``); live: none."""
    if live(ctx):
        return []
    rx = re.compile(pattern, re.I)
    ident = identify(ctx) if within_release else None
    if isinstance(ident, str):
        return undecided(f"cannot tell the product's ClickHouse resources from others': {ident}")
    home = {get(d, "metadata.namespace") for d in service_deployments(ctx, services(ctx))[0]} if ident else set()
    out = []
    for plural, role in OPERATOR.items():
        for obj in rendered(ctx, plural):
            if ident is not None and not _ours(ident, home, obj):
                continue
            if rx.search(f"{name(obj)}-{role}") or matching([obj], pattern):
                out.append(obj)
    return out


def matching(objs: Iterable[dict[str, Any]], pattern: str) -> list[dict[str, Any]]:
    """Objects whose name or name/component label matches ``pattern`` (a regex, case-insensitive)."""
    rx = re.compile(pattern, re.I)
    out = []
    for obj in objs:
        lab = labels(obj)
        texts = [name(obj), lab.get(NAME, ""), lab.get(COMPONENT, "")]
        if any(t and rx.search(t) for t in texts):
            out.append(obj)
    return out


def container_resources(ctx: Any, component: str, plural: str = "statefulsets") -> dict[str, Any] | None:
    """{"requests": {...}, "limits": {...}, "container": name, "workload": ns/name} of the main container of the
    product's ``component`` (a datastore: the release's bundled one; else its StatefulSet, else its Deployment,
    else one named so in the release's namespaces); None when it is not there or the release is not identified."""
    ident = identify(ctx)
    if not isinstance(ident, Identity):
        return None  # not any Redis of the cluster: only the product's
    candidates: list[dict[str, Any]] = []
    if component in products.STORES:
        # the chart's own (<fullname>-redis) before the agent features' (<fullname>-standalone-polly-redis), which
        # helm template renders first (templates/agent-features/ sorts before templates/redis/)
        own = {f"{f}-{component}" for f in ident.fullnames}
        stores = [o for store, o in bundled_workloads(ctx, [component]) if store == component]
        candidates += sorted(stores, key=lambda o: name(o) not in own)
    for kind in (plural, "deployments" if plural == "statefulsets" else "statefulsets"):
        found = find_components(ctx, kind, [component])[component]
        candidates += [found] if found is not None else []
        # one of the release named otherwise, or an unlabelled one beside its Deployments (an operator's)
        near = of_release(ctx, kind)
        candidates += matching(near if isinstance(near, list) else [], rf"(^|-){re.escape(component)}($|-)")
    for found in candidates:
        conts = containers(found)
        main = next((c for c in conts if component in str(c.get("name", ""))), conts[0] if conts else None)
        if main is None:
            continue
        return {"requests": mapping(main, "resources.requests"), "limits": mapping(main, "resources.limits"),
                "container": main.get("name"), "workload": ref(found), "replicas": get(found, "spec.replicas", 1)}
    if component == "clickhouse":  # offline, the operator's resource: its container template and replicas
        operated = operator_clusters(ctx, "clickhouse")
        for obj in operated if isinstance(operated, list) else []:
            if get(obj, "kind") == "ClickHouseCluster":
                return {"requests": mapping(obj, "spec.containerTemplate.resources.requests"),
                        "limits": mapping(obj, "spec.containerTemplate.resources.limits"), "container": "clickhouse",
                        "workload": f"ClickHouseCluster {ref(obj)}", "replicas": get(obj, "spec.replicas")}
    return None


def absent(ctx: Any, what: str, components: Iterable[str] | None = None) -> Verdict:
    """Nothing to judge: not applicable when the product is seen there (so the namespace is right), else an error
    that says what to set."""
    ident = identify(ctx)
    if not isinstance(ident, Identity):
        return undecided(f"no {what} to judge, and {ident}")
    where = ", ".join(n or "every namespace" for n in ident.where)
    if product_seen(ctx, services(ctx) if components is None else components):
        return not_applicable(f"no {what} in {where} (the product's Deployments are there): not run in this cluster")
    return undecided(f"no {what} and none of release {ident.release}'s Deployments in {where}: check the target's "
                     "namespace and release")
