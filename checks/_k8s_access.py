"""What the Kubernetes probes may read, and the reads themselves: one listing per kind (and namespace) per
audit through ``ctx.fact``, so all items share it (a 403 or a timeout is shared too, as the error it is).
A read a probe did not declare (``@probe(reads=...)``) is refused, so ``readiness rbac`` grants exactly what
runs; a group that discovery does not list is ``NotServed`` before any list is sent."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

NEEDS_LIVE = "needs a live cluster (rendered manifests carry no live state)"

# What the probes read (their @probe(reads=...)), for readiness rbac: the absence checks also read Deployments.
CLAIMS = ("statefulsets", "persistentvolumeclaims", "storageclasses", "deployments")
SCALERS = ("deployments", "horizontalpodautoscalers", "keda.sh/scaledobjects")
# The connection demand also reads the ConfigMaps the services take their env from (never Secrets).
DEMAND = (*SCALERS, "configmaps")


def _kind(plural: str) -> Any:
    from readiness.clients.kubernetes import KNOWN

    return KNOWN[plural]


def cluster(ctx: Any) -> Any:
    return ctx.session("kubernetes").client


def derived(ctx: Any, key: tuple[Any, ...], inputs: list[Any], compute: Callable[[], Any]) -> Any:
    """A value computed from listings already read (``inputs``), once per audit where the cluster keeps it."""
    keep = getattr(cluster(ctx), "derived", None)
    return keep(key, inputs, compute) if callable(keep) else compute()


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
    from readiness.clients.kubernetes import granted_namespaced, implied_reads

    declared = getattr(ctx, "reads", None)
    if declared is None:
        return
    declared = [s for d in declared for s in implied_reads(d)]
    plain = {kind.plural, f"{kind.group}/{kind.plural}"}
    if not kind.namespaced:  # ``:group/plural``, unless the built-in table says the scope (rbac has no discovery)
        plain = {f":{n}" for n in plain} | (plain if not granted_namespaced(kind.group, kind.plural, True) else set())
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


def not_served(groups: Mapping[str, set[str]], group: str, version: str, what: str) -> None:
    """NotServed only when discovery does not list the group at all (the one positive "not installed"); a group
    served at other versions is installed, so listing it at this one is an error that names what it serves."""
    from readiness.clients.kubernetes import KubernetesError, NotServed

    if group not in groups:
        raise NotServed(f"the cluster does not serve {group}/{version} {what} (not installed)")
    if version not in groups[group]:
        raise KubernetesError(f"the cluster serves {group} at {', '.join(sorted(groups[group]))}, not {version}: "
                              f"cannot list {what} (set the apiVersion the cluster serves)")


def ensure_served(ctx: Any, kind: Any) -> None:
    """Raise NotServed before listing a group discovery does not list: the API server authorizes before it routes,
    so listing an absent group (KEDA not installed) answers 403 to an identity without a grant on it, not 404."""
    if not kind.group:
        return
    groups = served_groups(ctx)
    if groups is not None:
        not_served(groups, kind.group, kind.version, kind.plural)


def listing(ctx: Any, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
    """Every object of a kind in one namespace (None: all) or, for a cluster-scoped kind, in the cluster."""
    kind = _kind(plural)
    check_declared(ctx, kind, namespace)
    read_ahead(ctx, f"k8s:{plural}:{(namespace if kind.namespaced else None) or '*'}")
    return shaped(plural, _read(ctx, kind, namespace))


def _read(ctx: Any, kind: Any, namespace: str | None) -> Any:
    """The listing through the session's facts (once per audit): NotServed first where discovery lacks its group."""
    ensure_served(ctx, kind)
    ns = namespace if kind.namespaced else None
    return ctx.fact(f"k8s:{kind.plural}:{ns or '*'}", lambda c: c.list(kind, ns), kind="kubernetes")


# Kinds never read ahead: a probe reads them only on some paths, and a listing nobody needed would be held all
# audit (cluster-wide without namespaces) and its 403 would land in the API server's audit log.  ConfigMaps are
# listed only when a workload names one (_k8s_env.container_env); pods by memory-limits only once every container
# has a limit (pods-ready reads them first, so it loses nothing).
LAZY = frozenset({"configmaps", "pods"})


def read_ahead(ctx: Any, now: str) -> None:
    """Live: queue the probe's other declared listings in the target's namespaces (built-in kinds, not ``LAZY``) on
    the cluster's background readers, through the same facts as ``listing``; ``now`` is the one the probe reads
    itself.  Worked out once per set of reads per audit: later listings only mark their own."""
    reads = getattr(ctx, "reads", None)
    if not reads:
        return
    ahead = getattr(cluster(ctx), "ahead", None)
    if ahead is None:
        return
    ahead.reading(now)
    if ahead.planned(frozenset(reads)):
        ahead.read_all(_ahead_of(ctx, sorted(reads)))


def _ahead_of(ctx: Any, reads: list[str]) -> list[tuple[str, Callable[[], object]]]:
    """(fact key, fetch) of each listing of ``reads`` that is read ahead.  The kinds a declared read implies (an
    Argo Rollout for Deployments) are not: only ``workloads`` reads them, and it asks for them itself."""
    from readiness.clients.kubernetes import KNOWN

    out: list[tuple[str, Callable[[], object]]] = []
    for spec in reads:
        group, _, plural = spec.rpartition("/")
        kind = KNOWN.get(plural)
        if kind is None or plural in LAZY or (group and group != kind.group):
            continue  # ns:plural or :group/plural (a namespace or scope of its own), or a kind the table lacks
        for ns in namespaces(ctx) if kind.namespaced else [None]:
            out.append((f"k8s:{plural}:{ns or '*'}", _reader(ctx, kind, ns)))
    return out


def _reader(ctx: Any, kind: Any, namespace: str | None) -> Callable[[], object]:
    return lambda: _read(ctx, kind, namespace)


def shaped(plural: str, found: Any) -> list[dict[str, Any]]:
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
    return joined(ctx, [listing(ctx, plural, ns) for ns in namespaces(ctx)])


def joined(ctx: Any, parts: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Listings as one list, the same list object every time in an audit: the indexes built from it (``derived``)
    are found again by its identity.  Shared: never changed in place."""
    if len(parts) == 1:
        return parts[0]
    return derived(ctx, ("joined",), parts, lambda: [o for part in parts for o in part])  # type: ignore[no-any-return]


def workloads(ctx: Any, plural: str) -> list[dict[str, Any]]:
    """Every object of a workload kind in the target's namespaces; Deployments with the Argo Rollouts that stand
    for them (read only where argoproj.io is served: a Rollout is a CRD)."""
    from readiness.clients.kubernetes import NotServed

    if plural == "deployments":
        _rollouts_ahead(ctx)
    found = objects(ctx, plural)
    if plural == "deployments":
        try:
            found = joined(ctx, [found, objects(ctx, "rollouts")])
        except NotServed:
            pass
    return found


def _rollouts_ahead(ctx: Any) -> None:
    """The Rollouts ``workloads`` reads after the Deployments, read ahead beside them (once per set of reads, and
    only where the probe declares them: an undeclared read is the probe's own read to refuse)."""
    reads = getattr(ctx, "reads", None)
    if not reads:
        return
    ahead = getattr(cluster(ctx), "ahead", None)
    if ahead is None or not ahead.planned(("rollouts", frozenset(reads))):
        return
    try:
        check_declared(ctx, _kind("rollouts"))
    except UndeclaredRead:
        return
    ahead.read_all(_ahead_of(ctx, ["argoproj.io/rollouts"]))


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


def rendered(ctx: Any, plural: str) -> list[dict[str, Any]]:
    """Offline only: the rendered objects of a kind in the target's namespaces.  Files need no grant, so this read
    is not declared (readiness rbac must not grant a live identity what it never lists)."""
    kind = _kind(plural)
    out: list[dict[str, Any]] = []
    for ns in namespaces(ctx):
        out += shaped(plural, ctx.fact(f"k8s:{plural}:{ns or '*'}", lambda c, n=ns: c.list(kind, n),
                                        kind="kubernetes"))
    return out


def resolve(ctx: Any, name: str, api_version: str | None, plural: str | None = None,
            namespaced: bool = True) -> Any:
    """The kind an item names.  The built-in table; offline, the kind as named (manifests are matched by Kind
    name); live, a kind outside the table through discovery, once per group version per audit and only when
    such a kind is asked for.  Discovery denied or failing is an error naming the kind, never "not installed"; a
    group discovery does not list is NotServed (the one positive "not installed")."""
    from readiness.clients.kubernetes import Kind, KubernetesError, granted_namespaced, known_kind, resolve_kind

    known = known_kind(name, api_version)
    if known is not None or not api_version or not live(ctx):
        return known or resolve_kind(name, api_version, plural, namespaced)
    group, _, version = api_version.rpartition("/")
    groups = served_groups(ctx)
    if groups is not None:
        not_served(groups, group, version, name)
    try:
        found = ctx.fact(f"k8s:api:{api_version}", lambda c: c.resources(api_version), kind="kubernetes")
    except KubernetesError as exc:
        raise KubernetesError(f"cannot resolve kind {name} of {api_version}: {exc}") from None
    if not isinstance(found, list) or not all(
            isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("kind"), str)
            and isinstance(r.get("namespaced"), bool) for r in found):
        raise KubernetesError(f"cannot resolve kind {name}: the discovery of {api_version} could not be read")
    match = [r for r in found if r["kind"] == name] or [r for r in found if name.lower() in (
        r["kind"].lower(), r["name"])]
    if not match:
        served = ", ".join(sorted(r["kind"] for r in found)) or "none"
        raise KubernetesError(f"cannot resolve kind {name}: {api_version} serves no such kind (it serves {served})")
    kind = Kind(match[0]["kind"], group, version, match[0]["name"], match[0]["namespaced"])
    declared = plural or resolve_kind(name, api_version).plural
    if kind.plural != declared:  # readiness rbac granted the declared name, which does not cover this one
        raise KubernetesError(f"{name} ({api_version}) is served as {kind.plural}, not {declared}: set plural: "
                              f"{kind.plural} on the item, so readiness rbac grants it")
    if kind.namespaced != granted_namespaced(group, kind.plural, namespaced):  # rbac granted the other scope
        scope = "namespaced" if kind.namespaced else "cluster-scoped"
        raise KubernetesError(f"{name} ({api_version}) is {scope} on this cluster, but the item says otherwise: set "
                              f"cluster_scoped: {str(not kind.namespaced).lower()} on it, so readiness rbac grants "
                              "the read where it is made")
    return kind
