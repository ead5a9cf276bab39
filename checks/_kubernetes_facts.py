"""Facts shared by the Kubernetes probes: one listing per kind (and namespace) per audit, and the product's objects.

Every listing goes through ``ctx.fact`` so all items share it (a 403 or a timeout is shared too, as the error it
is).  The product's release is identified (``identify``) by the target's release and namespace, or by the chart's
labels; its Deployments and StatefulSets are then found by the chart's labels and names (checks/_products.py holds
what each chart deploys).  Other backends' probes use ``container_resources`` and ``bundled_workloads`` for the
facts that only Kubernetes knows.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from readiness.checks import _products as products

from readiness.probe import Param, Verdict, not_applicable, undecided

INSTANCE, COMPONENT, NAME = products.INSTANCE, products.COMPONENT, products.NAME
DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")
NEEDS_LIVE = "needs a live cluster (rendered manifests carry no live state)"
DATASTORES = ("postgres", "redis", "clickhouse")
# The service Deployments of each product (the items that judge them take these as parameters, per preset).
SERVICES = {preset: prod.components() for preset, prod in products.PRODUCTS.items()}


def services(ctx: Any) -> list[str]:
    return SERVICES.get(ctx.preset or "", sorted({s for v in SERVICES.values() for s in v}))


# The datastore items' patterns pick among the release's objects; false: among every object of the target's
# namespaces (a datastore run outside the chart, e.g. by an operator in another namespace).
WITHIN_RELEASE = Param("bool", True, help="the pattern picks among the release's objects only (false: among all of "
                                          "the target's namespaces, for a datastore run outside the chart)")

# What the probes read (their @probe(reads=...)), for readiness rbac: the absence checks also read Deployments.
CLAIMS = ("statefulsets", "persistentvolumeclaims", "storageclasses", "deployments")
SCALERS = ("deployments", "horizontalpodautoscalers", "keda.sh/scaledobjects")
# The connection demand also reads the ConfigMaps the services take their env from (never Secrets).
DEMAND = (*SCALERS, "configmaps")


# --- listings ----------------------------------------------------------------------------------------------------

def _kind(plural: str) -> Any:
    from readiness.clients.kubernetes import KNOWN

    return KNOWN[plural]


def cluster(ctx: Any) -> Any:
    return ctx.session("kubernetes").client


def live(ctx: Any) -> bool:
    return bool(cluster(ctx).live)


def namespaces(ctx: Any) -> list[str | None]:
    from readiness.clients.kubernetes import namespaces as configured

    return configured(ctx.config("kubernetes"))


class UndeclaredRead(Exception):
    """A probe read a kind it did not declare in ``@probe(reads=...)`` (so ``readiness rbac`` would not grant it)."""


def check_declared(ctx: Any, kind: Any, namespace: str | None = None) -> None:
    """A read must be declared: ``plural`` (or ``group/plural``) in the target's namespaces, ``ns:plural`` in a
    namespace of its own (the EBS CSI controller in kube-system), so that ``readiness rbac`` grants exactly it."""
    from readiness.clients.kubernetes import implied_reads

    declared = getattr(ctx, "reads", None)
    if declared is None:
        return
    declared = [s for d in declared for s in implied_reads(d)]
    plain = {kind.plural, f"{kind.group}/{kind.plural}"}
    qualified = {f"{namespace}:{n}" for n in plain} if namespace is not None else set()
    elsewhere = (kind.namespaced and namespace is not None and ctx.has("kubernetes")
                 and namespace not in namespaces(ctx) and None not in namespaces(ctx))
    if not (qualified if elsewhere else plain | qualified) & set(declared):
        what = f"{kind.plural} in namespace {namespace}" if elsewhere else kind.plural
        raise UndeclaredRead(f"item {getattr(ctx, 'item_id', '?')} reads {what} but its probe does not declare "
                             "it (reads=...): readiness rbac would not grant it")


def served_groups(ctx: Any) -> dict[str, Any] | None:
    """{API group: versions} the live cluster serves, from discovery once per audit; None offline."""
    from readiness.clients.kubernetes import KubernetesError

    if not live(ctx):
        return None
    groups = ctx.fact("k8s:discovery", lambda c: c.served(), kind="kubernetes")
    if not isinstance(groups, Mapping) or not all(isinstance(v, (set, frozenset, list, tuple))
                                                  for v in groups.values()):
        raise KubernetesError("the served API groups (GET /apis) could not be read")
    return dict(groups)


def ensure_served(ctx: Any, kind: Any) -> None:
    """Raise NotServed before listing a group discovery does not list: the API server authorizes before it routes,
    so listing an absent group (KEDA not installed) answers 403 to an identity without a grant on it, not 404."""
    from readiness.clients.kubernetes import NotServed

    if not kind.group:
        return
    groups = served_groups(ctx)
    if groups is not None and kind.version not in groups.get(kind.group, ()):
        raise NotServed(f"the cluster does not serve {kind.api_version} {kind.plural} (not installed)")


def listing(ctx: Any, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
    """Every object of a kind in one namespace (None: all) or, for a cluster-scoped kind, in the cluster."""
    kind = _kind(plural)
    check_declared(ctx, kind, namespace)
    ensure_served(ctx, kind)
    ns = namespace if kind.namespaced else None
    return _shaped(plural, ctx.fact(f"k8s:{plural}:{ns or '*'}", lambda c: c.list(kind, ns), kind="kubernetes"))


def _shaped(plural: str, found: Any) -> list[dict[str, Any]]:
    """A listing as a list of objects; anything else is an error, never "none of them" (a junk answer for an
    optional kind such as rollouts would otherwise read as an empty one)."""
    from readiness.clients.kubernetes import KubernetesError

    if not isinstance(found, list) or not all(isinstance(o, dict) for o in found):
        raise KubernetesError(f"the {plural} listing is not a list of objects")
    return found


def objects(ctx: Any, plural: str) -> list[dict[str, Any]]:
    """Every object of a kind in the target's namespaces (cluster-scoped kinds: the cluster's)."""
    if not _kind(plural).namespaced:
        return listing(ctx, plural)
    out: list[dict[str, Any]] = []
    for ns in namespaces(ctx):
        out.extend(listing(ctx, plural, ns))
    return out


def workloads(ctx: Any, plural: str) -> list[dict[str, Any]]:
    """Every object of a workload kind in the target's namespaces; Deployments with the Argo Rollouts that stand
    for them (read only where argoproj.io is served: a Rollout is a CRD)."""
    from readiness.clients.kubernetes import NotServed

    found = objects(ctx, plural)
    if plural == "deployments":
        try:
            found = found + objects(ctx, "rollouts")
        except NotServed:
            pass
    return found


def scaled_objects(ctx: Any) -> list[dict[str, Any]] | None:
    """KEDA ScaledObjects; None when the cluster does not serve keda.sh (KEDA not installed)."""
    from readiness.clients.kubernetes import NotServed

    try:
        return objects(ctx, "scaledobjects")
    except NotServed:
        return None


def manifest_kinds(ctx: Any) -> set[str] | None:
    """Offline: the kinds the manifests hold (a missing kind there means "not rendered", not "absent")."""
    kinds = getattr(cluster(ctx), "kinds", None)
    return kinds() if callable(kinds) else None


# --- object fields -----------------------------------------------------------------------------------------------

def get(obj: Any, path: str, default: Any = None) -> Any:
    """A dotted field (``spec.template.spec``); ``default`` where any step is missing or not a mapping."""
    node = obj
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node if node is not None else default


def seq(obj: Any, path: str) -> list[Any]:
    """The list at ``path``; empty when it is missing or not a list."""
    value = get(obj, path)
    return value if isinstance(value, list) else []


def dicts(obj: Any, path: str) -> list[dict[str, Any]]:
    """The mappings of the list at ``path`` (other members are ignored)."""
    return [v for v in seq(obj, path) if isinstance(v, dict)]


def mapping(obj: Any, path: str) -> dict[str, Any]:
    """The mapping at ``path``; empty when it is missing or not a mapping."""
    value = get(obj, path)
    return value if isinstance(value, dict) else {}


def name(obj: Any) -> str:
    return str(get(obj, "metadata.name", "?"))


def ref(obj: Any) -> str:
    ns = get(obj, "metadata.namespace")
    return f"{ns}/{name(obj)}" if ns else name(obj)


def labels(obj: Any) -> dict[str, str]:
    value = get(obj, "metadata.labels", {})
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def annotations_of(obj: Any) -> dict[str, str]:
    value = get(obj, "metadata.annotations", {})
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def condition(obj: Any, kind: str) -> dict[str, Any] | None:
    for cond in dicts(obj, "status.conditions"):
        if cond.get("type") == kind:
            return dict(cond)
    return None


def is_true(cond: Mapping[str, Any] | None) -> bool:
    return cond is not None and str(cond.get("status")) == "True"


def pod_spec(workload: Any) -> dict[str, Any]:
    spec = get(workload, "spec.template.spec") if get(workload, "kind") != "Pod" else get(workload, "spec")
    return spec if isinstance(spec, dict) else {}


def containers(workload: Any) -> list[dict[str, Any]]:
    return dicts(pod_spec(workload), "containers")


_QUANTITY = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?")


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity as a number (bytes, or cores: "500m" and "0.5" are 0.5; E, P, Ei ...); None when it is
    not one.  The client's own parser, loaded when first needed and without the rest of the client."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, str) and not _QUANTITY.fullmatch(value.strip()):
        return None  # Decimal would also take "1_000", "NaN" and "Infinity"
    try:
        number = float(_parse_quantity()(value.strip() if isinstance(value, str) else value))
    except (ValueError, ArithmeticError):
        return None
    return number if math.isfinite(number) else None


@functools.cache
def _parse_quantity() -> Callable[[Any], Any]:
    """The client's parser, kubernetes/utils/quantity.py (it needs only decimal), loaded by itself: through its
    package it costs the whole client's import first (0.7 s here), which a pre-commit hook judging a values file
    would pay on every commit."""
    import importlib.util
    import os
    import sys

    loaded = sys.modules.get("kubernetes.utils.quantity")
    spec = importlib.util.find_spec("kubernetes") if loaded is None else None  # finds, does not import
    for where in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(where, "utils", "quantity.py")
        alone = importlib.util.spec_from_file_location("readiness.checks._kubernetes_quantity", path)
        if alone is not None and alone.loader is not None and os.path.isfile(path):
            module = importlib.util.module_from_spec(alone)
            alone.loader.exec_module(module)
            return module.parse_quantity  # type: ignore[no-any-return]
    if loaded is not None:
        return loaded.parse_quantity  # type: ignore[no-any-return]
    from kubernetes.utils.quantity import parse_quantity

    return parse_quantity  # type: ignore[no-any-return]


# --- the product's objects ---------------------------------------------------------------------------------------
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
        inst, ns = labels(obj).get(INSTANCE), get(obj, "metadata.namespace")
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
    seen: dict[str, set[str | None]] = {}
    for dep in workloads(ctx, "deployments"):
        inst = labels(dep).get(INSTANCE)
        if inst and _chart_labelled(dep, charts):
            seen.setdefault(inst, set()).add(get(dep, "metadata.namespace"))
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


def is_component(obj: Any, component: str, ident: Identity) -> bool:
    """A workload of the release is ``component`` by its chart labels (metadata, selector or pod template:
    component = <component> or <fullname>-<component>, Langfuse 1.x app=<component>) or its name
    <fullname>-<component>; an unlabelled one by its name alone."""
    if not ident.holds(obj):
        return False
    names = {f"{f}-{component}" for f in ident.fullnames}
    if name(obj) in names:
        return True
    if labels(obj).get(INSTANCE) != ident.release:
        return False
    wanted = names | {component}
    tpl = labels({"metadata": get(obj, "spec.template.metadata", {})})
    sel = mapping(obj, "spec.selector.matchLabels")
    return (any(lab.get(COMPONENT) in wanted for lab in (labels(obj), tpl, sel))
            or tpl.get("app") == component)


def find_components(ctx: Any, plural: str, components: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """{component: the release's Deployment/StatefulSet, or None when it is not there (or the release cannot be
    identified: ``identify`` says why)}."""
    ident = identify(ctx)
    if not isinstance(ident, Identity):
        return dict.fromkeys(components)
    found = workloads(ctx, plural)
    return {comp: next((o for o in found if is_component(o, comp, ident)), None) for comp in components}


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
    out = []
    for plural, kind in (("statefulsets", "StatefulSet"), ("deployments", "Deployment")):
        for obj in objects(ctx, plural):
            if not ident.holds(obj):
                continue
            store = products.workload_store(kind, name(obj), ident.release, ident.fullnames)
            lab = labels(obj)
            if store is None and lab.get(INSTANCE) == ident.release:
                store = products.labelled_store(lab) or products.labelled_store({NAME: lab.get(COMPONENT, "")})
            if store in wanted:
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
    if plural not in ("pods", "persistentvolumeclaims"):
        return [o for o in objects(ctx, plural) if _ours(ident, home, o)]
    owners: dict[tuple[Any, str], tuple[re.Pattern[str], bool]] = {}
    for sts in objects(ctx, "statefulsets"):
        stem = re.escape(name(sts))
        if plural == "persistentvolumeclaims":
            tpls = [re.escape(str(get(t, "metadata.name", ""))) for t in dicts(sts, "spec.volumeClaimTemplates")]
            stem = f"({'|'.join(tpls) or '(?!)'})-{stem}"
        key = (get(sts, "metadata.namespace"), name(sts))
        owners[key] = (re.compile(rf"{stem}-\d+"), _ours(ident, home, sts))
    out = []
    for obj in objects(ctx, plural):
        ns = get(obj, "metadata.namespace")
        refs = [str(r.get("name")) for r in dicts(obj, "metadata.ownerReferences") if r.get("kind") == "StatefulSet"]
        owner = [owners[(ns, r)][1] for r in refs if (ns, r) in owners] or [
            ours for (sns, _), (rx, ours) in owners.items() if sns == ns and rx.fullmatch(name(obj))]
        if (ident.holds(obj) and owner[0]) if owner else _ours(ident, home, obj):
            out.append(obj)
    return out


def _ours(ident: Identity, home: set[Any], obj: Any) -> bool:
    if not ident.holds(obj):
        return False
    if labels(obj).get(INSTANCE) == ident.release or any(name(obj).startswith(f"{f}-") for f in ident.fullnames):
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


def _rendered(ctx: Any, plural: str) -> list[dict[str, Any]]:
    """Offline only: the rendered objects of a kind in the target's namespaces.  Files need no grant, so this read
    is not declared (readiness rbac must not grant a live identity what it never lists)."""
    kind = _kind(plural)
    out: list[dict[str, Any]] = []
    for ns in namespaces(ctx):
        out += _shaped(plural, ctx.fact(f"k8s:{plural}:{ns or '*'}", lambda c, n=ns: c.list(kind, n),
                                        kind="kubernetes"))
    return out


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
        for obj in _rendered(ctx, plural):
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


def service_scale(ctx: Any, components: Iterable[str]) -> list[dict[str, Any]]:
    """Per deployed service: {"component", "workload", "replicas", "max_replicas" (the HPA's or ScaledObject's, else
    the replicas), "env": {name: literal value} of its containers (valueFrom entries are left out)}."""
    found = find_components(ctx, "deployments", components)
    scalers: dict[tuple[str, str], int] = {}
    keda = scaled_objects(ctx) or []
    for obj, field in [(h, "spec.maxReplicas") for h in objects(ctx, "horizontalpodautoscalers")] + [
            (s, "spec.maxReplicaCount") for s in keda]:
        target = get(obj, "spec.scaleTargetRef.name")
        most = get(obj, field, 100 if field == "spec.maxReplicaCount" else None)
        if target and isinstance(most, int):
            key = (str(get(obj, "metadata.namespace", "")), str(target))
            scalers[key] = max(scalers.get(key, 0), most)
    out = []
    for comp, dep in found.items():
        if dep is None:
            continue
        replicas = get(dep, "spec.replicas", 1)
        env, hidden = container_env(ctx, dep)
        env_names = sorted(set(env) | {n for n in hidden if not n.endswith("*")})
        key = (str(get(dep, "metadata.namespace", "")), name(dep))
        out.append({"component": comp, "workload": ref(dep), "replicas": replicas,
                    "max_replicas": scalers.get(key, replicas), "env": env, "env_names": env_names,
                    "hidden": hidden})
    return out


def container_env(ctx: Any, workload: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The env of a workload's containers as far as the audit may read it: ({name: value} from literal entries and
    the ConfigMaps that envFrom and configMapKeyRef name, env over envFrom as the kubelet does}, {name: why it is
    unreadable}); a whole envFrom source that cannot be read is keyed "<prefix>*".  Secrets are never read."""
    ns = str(get(workload, "metadata.namespace", ""))
    maps: dict[tuple[str, str], dict[str, Any]] = {}

    def configmap(ref: Any) -> dict[str, Any] | None:
        if not maps:  # listed only when a workload names one (the listing itself is shared)
            maps.update({(str(get(c, "metadata.namespace", "")), name(c)): mapping(c, "data")
                         for c in objects(ctx, "configmaps")})
        return maps.get((ns, str(get(ref, "name", ""))))

    env: dict[str, str] = {}
    hidden: dict[str, str] = {}
    for cont in containers(workload):
        for src in dicts(cont, "envFrom"):
            prefix = str(src.get("prefix") or "")
            if "secretRef" in src:
                hidden[prefix + "*"] = f"envFrom Secret {get(src, 'secretRef.name', '?')}, never read"
            elif "configMapRef" in src:
                data = configmap(src["configMapRef"])
                if data is not None:
                    env.update({prefix + str(k): str(v) for k, v in data.items()})
                elif get(src, "configMapRef.optional") is not True:
                    hidden[prefix + "*"] = f"envFrom ConfigMap {get(src, 'configMapRef.name', '?')} (not found)"
        for entry in dicts(cont, "env"):
            var = str(entry.get("name"))
            if "value" in entry or "valueFrom" not in entry:  # a name alone is the empty string
                env[var] = "" if entry.get("value") is None else str(entry["value"])
            elif get(entry, "valueFrom.secretKeyRef") is not None:
                hidden[var] = f"{var} from Secret {get(entry, 'valueFrom.secretKeyRef.name', '?')}, never read"
            elif get(entry, "valueFrom.configMapKeyRef") is not None:
                keyref = get(entry, "valueFrom.configMapKeyRef")
                data = configmap(keyref)
                if data is not None and get(keyref, "key") in data:
                    env[var] = str(data[get(keyref, "key")])
                elif get(keyref, "optional") is not True:
                    hidden[var] = f"{var} from ConfigMap {get(keyref, 'name', '?')} (not found)"
            else:  # fieldRef / resourceFieldRef: known only to the running pod
                hidden[var] = f"{var} from the pod's own fields"
    return env, hidden


# ASYNCPG_POOL_MAX_SIZE: LangSmith's queue, ingest-queue and listener (langchain-ai/helm charts/langsmith 0.17,
# templates/queue/deployment.yaml; the compose .env.example)
POOL_ENV = ("POSTGRES_POOL_SIZE", "DATABASE_POOL_SIZE", "DB_POOL_SIZE", "PG_POOL_SIZE", "POOL_SIZE",
            "POSTGRES_MAX_CONNECTIONS", "DATABASE_CONNECTION_LIMIT", "ASYNCPG_POOL_MAX_SIZE")
URL_ENV = ("DATABASE_URL", "POSTGRES_URL", "POSTGRES_URI", "DATABASE_URI")


def pool_size(env: Mapping[str, str]) -> int | None:
    """The connections one pod's pool opens, from its env: a pool-size variable, or connection_limit= in the
    database URL (Prisma); None when the env does not say (the pool's own default then depends on the node)."""
    for var in POOL_ENV:
        if str(env.get(var, "")).strip().isdigit():
            return int(env[var])
    for var in URL_ENV:
        m = re.search(r"[?&]connection_limit=(\d+)", str(env.get(var, "")))
        if m:
            return int(m.group(1))
    return None


def counted_pool(env: Mapping[str, str], hidden: Mapping[str, str]) -> tuple[int | None, str | None]:
    """(the pool size ``pool_size`` reads, why it cannot be read): a variable it would consult that comes from a
    Secret (never read), or a whole envFrom source that cannot be read, leaves the demand uncounted."""
    wild = [why for var, why in hidden.items() if var.endswith("*")]
    if wild:
        return None, wild[0]
    for var in POOL_ENV + URL_ENV:
        if var in hidden:
            return None, hidden[var]
        size = pool_size({var: env[var]}) if var in env else None
        if size is not None:
            return size, None
    return None, None


def connection_demand(ctx: Any, components: Iterable[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """([{name, replicas (max), pool_size}] of the services whose env gives their pool size], [services with database
    settings but no readable pool size: "ns/name", or "ns/name (why)" where a Secret or a missing ConfigMap hides
    it]).  ConfigMaps named by envFrom / configMapKeyRef are read; Secrets never are."""
    known, unknown = [], []
    for svc in service_scale(ctx, components):
        hidden = svc.get("hidden", {})
        if not any(re.search(r"POSTGRES|DATABASE|^PG|^DB_", n) for n in svc["env_names"]) and not any(
                n.endswith("*") for n in hidden):
            continue  # no database setting at all: a service that does not talk to PostgreSQL (the frontend)
        size, why = counted_pool(svc["env"], hidden)
        if size is None:
            unknown.append(f"{svc['workload']} ({why})" if why else svc["workload"])
        else:
            known.append({"name": svc["workload"], "replicas": svc["max_replicas"], "pool_size": size})
    return known, unknown


# --- storage -----------------------------------------------------------------------------------------------------

# Where a class gives no type, the provisioner's own default.
_DEFAULT_TYPE = {"ebs.csi.aws.com": "gp3", "kubernetes.io/aws-ebs": "gp2", "pd.csi.storage.gke.io": "pd-standard",
                 "kubernetes.io/gce-pd": "pd-standard", "disk.csi.azure.com": "StandardSSD_LRS",
                 "kubernetes.io/azure-disk": "StandardSSD_LRS"}
_TYPE_KEYS = ("type", "skuName", "skuname", "storageaccounttype")
NETWORK_FS = ("efs.csi.aws.com", "nfs", "file.csi.azure.com", "kubernetes.io/azure-file", "cephfs",
              "filestore.csi.storage.gke.io", "fsx.csi.aws.com", "glusterfs")
SSD_TYPES = ("gp3", "io1", "io2", "pd-ssd", "pd-balanced", "pd-extreme", "hyperdisk-balanced", "hyperdisk-extreme",
             "Premium_LRS", "Premium_ZRS", "PremiumV2_LRS", "UltraSSD_LRS")


def volume_type(sc: Mapping[str, Any]) -> str | None:
    """The volume type a StorageClass provisions (its type/skuName parameter, else its provisioner's default)."""
    params = sc.get("parameters") or {}
    for key in _TYPE_KEYS:
        if isinstance(params, Mapping) and params.get(key):
            return str(params[key])
    return _DEFAULT_TYPE.get(str(sc.get("provisioner")))


def volume_classes(ctx: Any, pattern: str, within_release: bool = True) -> dict[str, dict[str, Any]] | Verdict:
    """{claim: {"class", "provisioner", "type"}} for the volumes of the datastores matching ``pattern`` (class None
    where it cannot be resolved, "" where the claim asks for none); an error verdict as ``claims`` gives one."""
    found = claims(ctx, pattern, within_release)
    if isinstance(found, Verdict):
        return found
    classes = storage_classes(ctx)
    out = {}
    for what, spec in found:
        cls, sc = class_of(ctx, spec)
        sc = sc or classes.get(cls or "")
        out[what] = {"class": cls, "provisioner": (sc or {}).get("provisioner"),
                     "type": volume_type(sc) if sc else None}
    return out


def storage_classes(ctx: Any) -> dict[str, dict[str, Any]]:
    return {name(sc): sc for sc in objects(ctx, "storageclasses")}


def is_default_class(sc: Any) -> bool:
    ann = annotations_of(sc)
    return any(ann.get(a) == "true" for a in DEFAULT_CLASS)


def class_of(ctx: Any, claim_spec: Any) -> tuple[str | None, dict[str, Any] | None]:
    """The StorageClass a claim uses: its storageClassName, else the cluster's single default class.  ``""`` is
    "no class" (a statically bound PersistentVolume), not the default: returned as ("", None)."""
    wanted = get(claim_spec, "storageClassName")
    if wanted == "":
        return "", None
    classes = storage_classes(ctx)
    if wanted is not None:
        return str(wanted), classes.get(str(wanted))
    defaults = [sc for sc in classes.values() if is_default_class(sc)]
    return (name(defaults[0]), defaults[0]) if len(defaults) == 1 else (None, None)


def claims(ctx: Any, pattern: str, within_release: bool = True) -> list[tuple[str, dict[str, Any]]] | Verdict:
    """(what, claim spec) of the datastores matching ``pattern`` (``picked``): their StatefulSets'
    volumeClaimTemplates, and, on a live cluster, their PVCs; an error verdict when the release is not identified."""
    sets = picked(ctx, "statefulsets", pattern, within_release)
    if isinstance(sets, Verdict):
        return sets
    out: list[tuple[str, dict[str, Any]]] = []
    for sts in sets:
        for tpl in dicts(sts, "spec.volumeClaimTemplates"):
            out.append((f"{ref(sts)} volumeClaimTemplate {get(tpl, 'metadata.name', '?')}", mapping(tpl, "spec")))
    if live(ctx):
        pvcs = picked(ctx, "persistentvolumeclaims", pattern, within_release)
        if isinstance(pvcs, Verdict):
            return pvcs
        out += [(f"PVC {ref(pvc)}", mapping(pvc, "spec")) for pvc in pvcs]
    operated = operator_clusters(ctx, pattern, within_release)
    if isinstance(operated, Verdict):
        return operated
    out += [(f"{get(o, 'kind')} {ref(o)} dataVolumeClaimSpec {OPERATOR_CLAIM}", mapping(o, "spec.dataVolumeClaimSpec"))
            for o in operated]
    return out


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
