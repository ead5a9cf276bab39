"""Kubernetes autoscaling probes: HPA/KEDA coverage and health, resources of the scaled containers, bundled
datastores and their disruption protection (listings shared through checks/_kubernetes_facts.py).

Over 400 lines: one probe per item of the checklist's autoscaling section, nothing else (their facts:
_k8s_products.py, _k8s_env.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from readiness.checks import _kubernetes_facts as kf
from readiness.checks._common import listing

from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

_DEPLOYMENTS = Param("str-list", kf.SERVICES["langsmith"],
                     help="the product's service Deployments (chart components; the preset gives them)")
_DATASTORES = Param("str", "postgres|redis|clickhouse|zookeeper|keeper|(^|-)chi-|(^|-)chk-",
                    help="regex on StatefulSet names and their name/component labels that picks the datastores")


def _keda_owned(hpa: Any) -> bool:
    return kf.label(hpa, "scaledobject.keda.sh/name") is not None or any(
        o.get("kind") == "ScaledObject" for o in kf.dicts(hpa, "metadata.ownerReferences"))


# What an HPA or ScaledObject may scale (apps/v1, v1, argoproj.io/v1alpha1); another kind reads as unreadable.
EVIDENCE_SAMPLE = 50  # objects named in the evidence, besides their count
_SCALABLE = ("Deployment", "Rollout", "StatefulSet", "ReplicaSet", "ReplicationController")


def _target(obj: Any) -> tuple[str, str, str] | None:
    """(namespace, kind, name) of the Deployment or Argo Rollout an HPA or ScaledObject scales; None for other
    kinds.  The kind is part of it: an HPA of Rollout x scales no Deployment x (its scale subresource is another)."""
    ref = kf.mapping(obj, "spec.scaleTargetRef")
    kind = ref.get("kind", "Deployment")
    if kind not in ("Deployment", "Rollout") or not ref.get("name"):
        return None
    return str(kf.get(obj, "metadata.namespace", "")), str(kind), str(ref["name"])


def _unreadable_targets(objs: list[Any]) -> list[str]:
    """HPAs/ScaledObjects whose scaleTargetRef cannot be read (no mapping, a name or kind that is not text): what
    they scale is unknown, so they may be in conflict."""
    out = []
    for obj in objs:
        ref = kf.get(obj, "spec.scaleTargetRef")
        name, kind = (ref.get("name"), ref.get("kind", "Deployment")) if isinstance(ref, dict) else (None, None)
        if not (isinstance(name, str) and name and kind in _SCALABLE):
            out.append(kf.name(obj) or "?")
    return out


def _key(obj: Any) -> tuple[str, str]:
    return str(kf.get(obj, "metadata.namespace", "")), kf.name(obj)


def _scaled_key(workload: Any) -> tuple[str, str, str]:
    """A Deployment's or Rollout's key among the scalers' targets (``_target``)."""
    return str(kf.get(workload, "metadata.namespace", "")), str(kf.get(workload, "kind", "Deployment")), \
        kf.name(workload)


def _shown(key: tuple[str, str, str]) -> str:
    return f"{key[0]}/{key[2]}" if key[1] == "Deployment" else f"{key[0]}/{key[2]} ({key[1]})"


def _hpa_targets(ctx: Any) -> dict[tuple[str, str, str], list[str]]:
    """{(namespace, Deployment): [HPA]} of the HPAs KEDA does not own; built once per audit (three items ask).
    Shared: never changed in place."""
    hpas = kf.objects(ctx, "horizontalpodautoscalers")
    return kf.derived(ctx, ("hpa-targets",), [hpas], lambda: _hpa_index(hpas))  # type: ignore[no-any-return]


def _hpa_index(hpas: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[str]]:
    out: dict[tuple[str, str, str], list[str]] = {}
    for hpa in hpas:
        t = _target(hpa)
        if t and not _keda_owned(hpa):
            out.setdefault(t, []).append(kf.name(hpa))
    return out


def _so_targets(ctx: Any) -> dict[tuple[str, str, str], list[str]] | None:
    found = kf.scaled_objects(ctx)
    if found is None:
        return None
    out: dict[tuple[str, str, str], list[str]] = {}
    for so in found:
        t = _target(so)
        if t:
            out.setdefault(t, []).append(kf.name(so))
    return out


def _span(obj: Any) -> tuple[int, int] | None:
    """(least, most) replicas an HPA or ScaledObject allows (their API defaults: HPA min 1, KEDA 0..100)."""
    keda = kf.get(obj, "kind") == "ScaledObject"
    least = kf.get(obj, "spec.minReplicaCount" if keda else "spec.minReplicas", 0 if keda else 1)
    most = kf.get(obj, "spec.maxReplicaCount" if keda else "spec.maxReplicas", 100 if keda else None)
    ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (least, most))
    return (least, most) if ok else None


def _pinned(ctx: Any, deployments: list[dict[str, Any]], keda: bool) -> tuple[dict[str, str], dict[str, str]]:
    """({Deployment: why} whose every scaler pins its replicas (min >= max), {Deployment: why} whose scalers'
    bounds cannot be read); a Deployment with one scaler that can move is in neither."""
    scalers = [h for h in kf.objects(ctx, "horizontalpodautoscalers") if not _keda_owned(h)]
    scalers += (kf.scaled_objects(ctx) or []) if keda else []
    pinned, odd = {}, {}
    for dep in deployments:
        key = _scaled_key(dep)
        spans = {f"{kf.get(s, 'kind', 'HPA')} {kf.name(s)}": _span(s) for s in scalers if _target(s) == key}
        if any(sp is not None and sp[0] < sp[1] for sp in spans.values()):
            continue
        bad = [n for n, sp in spans.items() if sp is None]
        if bad:
            odd[kf.ref(dep)] = f"{bad[0]} has no integer min/max replicas"
        elif spans:
            name, (least, most) = next(iter(spans.items()))  # type: ignore[misc]
            pinned[kf.ref(dep)] = f"{name} allows {least}..{most} replicas"
    return pinned, odd


def _services(ctx: Any, components: list[str]) -> tuple[list[dict[str, Any]], list[str], Verdict | None]:
    ident = kf.identify(ctx)
    if not isinstance(ident, kf.Identity):
        return [], list(components), undecided(ident)
    found, missing = kf.service_deployments(ctx, components)
    if not found:
        where = ", ".join(n or "every namespace" for n in ident.where)
        return found, missing, undecided(f"none of the product's Deployments ({listing(components)}) of release "
                                         f"{ident.release} found in {where}: check the target's namespace and "
                                         "release")
    return found, missing, None


@probe("kubernetes.hpa-coverage", target="kubernetes", reads=kf.SCALERS, params={"deployments": _DEPLOYMENTS})
def hpa_coverage(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every service Deployment of the product is scaled by an HPA or a KEDA ScaledObject, and every service the
    chart deploys is there (one the chart's values switch off is `not_deployed`)."""
    found, missing, gap = _services(ctx, p["deployments"])
    if gap is not None:
        return gap
    off, absent = kf.not_deployed(ctx, missing)
    hpas = _hpa_targets(ctx)
    uncovered = [d for d in found if _scaled_key(d) not in hpas]
    scaled = _so_targets(ctx) if uncovered else {}  # ScaledObjects only read when some Deployment needs them
    keda = {_scaled_key(d): scaled[_scaled_key(d)] for d in uncovered if scaled and _scaled_key(d) in scaled}
    bare = sorted(kf.ref(d) for d in uncovered if _scaled_key(d) not in keda)
    by_hpa = {kf.ref(d): hpas[_scaled_key(d)] for d in found if _scaled_key(d) in hpas}
    evidence = {"hpa": by_hpa, "scaledobject": {_shown(k): v for k, v in keda.items()}, "not_deployed": list(off),
                "not_deployed_because": off, "missing": absent,
                "keda_installed": None if not uncovered else scaled is not None}
    gone = (f"no Deployment for {listing(absent)}, which the chart deploys unless its values switch it off: "
            "an unscaled or missing service" if absent else "")
    if bare:
        return failed(f"Deployment {listing(bare)} has no HPA or ScaledObject: it cannot scale with load"
                      + (f"; {gone}" if gone else ""), **evidence)
    if absent:
        return failed(gone[0].upper() + gone[1:], **evidence)
    pinned, odd = _pinned(ctx, found, bool(keda))
    if pinned:
        first = sorted(pinned)[0]
        return failed(f"Deployment {first} is pinned: {pinned[first]}: its autoscaler can never add a pod"
                      + (f" (and {len(pinned) - 1} more)" if len(pinned) > 1 else ""), pinned=pinned, **evidence)
    if odd:
        first = sorted(odd)[0]
        return undecided(f"Deployment {first}: {odd[first]}", unreadable=odd, **evidence)
    plural = "s" if len(found) != 1 else ""
    return passed(f"{len(found)} service Deployment{plural} scaled ({len(by_hpa)} by HPA, {len(keda)} by KEDA)",
                  **evidence)


@probe("kubernetes.hpa-healthy", target="kubernetes", reads=("horizontalpodautoscalers",))
def hpa_healthy(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every HPA reports AbleToScale=True and ScalingActive=True (False means its metrics are broken)."""
    if not kf.live(ctx):
        return not_applicable(kf.NEEDS_LIVE)
    hpas = kf.objects(ctx, "horizontalpodautoscalers")
    if not hpas:
        return not_applicable("no HorizontalPodAutoscaler here (k8s.hpa-coverage judges whether there should be)")
    state = {}
    bad = []
    for hpa in hpas:
        able, active = kf.condition(hpa, "AbleToScale"), kf.condition(hpa, "ScalingActive")
        state[kf.ref(hpa)] = {"AbleToScale": (able or {}).get("status"), "ScalingActive": (active or {}).get("status")}
        if able is None and active is None:
            bad.append(f"{kf.ref(hpa)} reports no conditions (the HPA controller has not acted on it)")
        else:
            for cond, kind in ((able, "AbleToScale"), (active, "ScalingActive")):
                if not kf.is_true(cond):
                    why = (cond or {}).get("message") or (cond or {}).get("reason") or "not reported"
                    bad.append(f"{kf.ref(hpa)} {kind}={(cond or {}).get('status', 'missing')}: {why}")
    # the failing HPAs first, and a sample of the rest: the report keeps only so many (a namespace of thousands of
    # HPAs would otherwise be redacted whole before it is cut)
    failing = {r for r, s in state.items() if s["AbleToScale"] != "True" or s["ScalingActive"] != "True"}
    order = [r for r in state if r in failing] + [r for r in state if r not in failing]
    shown = {r: state[r] for r in order[:EVIDENCE_SAMPLE]}
    if bad:
        return failed(bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""), hpas=shown,
                      count=len(hpas))
    return passed(f"{len(hpas)} HPAs able to scale with working metrics", hpas=shown, count=len(hpas))


@probe("kubernetes.resource-requests", target="kubernetes", reads=kf.SCALERS, params={
    "deployments": _DEPLOYMENTS,
    "requests": Param("str-list", ["cpu", "memory"], help="resources every container must request"),
    "limits": Param("str-list", ["cpu", "memory"], help="resources every container must limit"),
})
def resource_requests(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Containers of the scaled Deployments (and the product's services) set the requests and limits named."""
    found, _, gap = _services(ctx, p["deployments"])
    ident = kf.identify(ctx)
    if gap is not None or not isinstance(ident, kf.Identity):  # another app's scaled Deployments prove nothing
        return gap or undecided(str(ident))
    scaled = set(_hpa_targets(ctx))
    so = _so_targets(ctx)
    scaled |= set(so or {})
    judged = {_key(d): d for d in found}
    for dep in kf.workloads(ctx, "deployments"):
        if _scaled_key(dep) in scaled and ident.holds(dep):  # the release's namespaces, not the whole cluster
            judged[_key(dep)] = dep
    hollow = sorted(kf.ref(d) for d in judged.values() if not kf.containers(d))
    if hollow:
        return undecided(f"Deployment {listing(hollow)} has no containers in its pod template: nothing to judge")
    gaps: dict[str, list[str]] = {}
    for dep in judged.values():
        for c in kf.containers(dep):
            requests, limits = kf.mapping(c, "resources.requests"), kf.mapping(c, "resources.limits")
            # a value that is not a quantity sets nothing the HPA or the scheduler can use
            lack = [f"requests.{r}" for r in p["requests"] if kf.quantity(requests.get(r)) is None]
            lack += [f"limits.{r}" for r in p["limits"] if kf.quantity(limits.get(r)) is None]
            if lack:
                gaps[f"{kf.ref(dep)} container {c.get('name')}"] = lack
    if gaps:
        first = sorted(gaps)[0]
        return failed(f"{first} sets no {', '.join(gaps[first])}" + (f" (and {len(gaps) - 1} more containers)"
                      if len(gaps) > 1 else "") + ": the HPA cannot compute utilization and pods can starve or "
                      "be OOM-killed", missing=gaps)
    return passed(f"every container of {len(judged)} Deployments sets requests ({', '.join(p['requests'])}) and "
                  f"limits ({', '.join(p['limits'])})", deployments=sorted(kf.ref(d) for d in judged.values()))


@probe("kubernetes.hpa-keda-conflict", target="kubernetes",
       reads=("horizontalpodautoscalers", "keda.sh/scaledobjects", "deployments"))
def hpa_keda_conflict(ctx: Any, p: dict[str, Any]) -> Verdict:
    """No Deployment is the target of both an HPA and a KEDA ScaledObject (KEDA's own HPAs excepted)."""
    hpas = _hpa_targets(ctx)
    so = _so_targets(ctx)
    if not hpas and not so and not kf.product_seen(ctx, kf.services(ctx)):
        return kf.absent(ctx, "HPA or ScaledObject")  # nothing observed at all: the namespace may be wrong
    unreadable = _unreadable_targets([h for h in kf.objects(ctx, "horizontalpodautoscalers") if not _keda_owned(h)]
                                     + (kf.scaled_objects(ctx) or []))
    keys = sorted(set(hpas) & set(so or {}))
    both = [_shown(k) for k in keys]
    if keys and so is not None:
        return failed(f"Deployment {both[0]} is scaled by HPA {listing(hpas[keys[0]])} and ScaledObject "
                      f"{listing(so[keys[0]])}: they fight over its replica count", conflicts=both)
    if unreadable:
        return undecided(f"cannot read what {listing(unreadable)} scale(s) (spec.scaleTargetRef): a conflict cannot "
                         "be ruled out", unreadable=unreadable)
    if so is None:
        return passed("KEDA is not installed (keda.sh is not served): no ScaledObject can compete with the HPAs",
                      hpas=len(hpas))
    return passed(f"no Deployment has both ({len(hpas)} HPA targets, {len(so)} ScaledObject targets)")


@probe("kubernetes.keda-ready", target="kubernetes", reads=("keda.sh/scaledobjects",))
def keda_ready(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every KEDA ScaledObject reports Ready=True."""
    if not kf.live(ctx):
        return not_applicable(kf.NEEDS_LIVE)
    found = kf.scaled_objects(ctx)
    if found is None:
        return not_applicable("KEDA is not installed (the cluster does not serve keda.sh)")
    if not found:
        return not_applicable("no ScaledObject here")
    bad = {kf.ref(s): kf.condition(s, "Ready") for s in found if not kf.is_true(kf.condition(s, "Ready"))}
    if bad:
        first = sorted(bad)[0]
        cond = bad[first] or {}
        why = cond.get("message") or cond.get("reason") or "no Ready condition"
        return failed(f"ScaledObject {first} is not Ready ({why})", not_ready=sorted(bad))
    return passed(f"{len(found)} ScaledObjects Ready")


@probe("kubernetes.bundled-datastores", target="kubernetes", reads=("statefulsets", "deployments"), params={
    "datastores": Param("str-list", ["postgres", "redis", "clickhouse"], help="datastores that should be external"),
})
def bundled_datastores(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The release runs none of `datastores` itself (the charts' StatefulSets and Deployments, checks/_products.py:
    <release>-postgresql, -redis-master, -redis-primary, Valkey's -redis Deployment, -clickhouse ...)."""
    ident = kf.identify(ctx)
    if not isinstance(ident, kf.Identity):
        return undecided(ident)
    bundled = kf.bundled_workloads(ctx, p["datastores"])
    if bundled:
        names = [f"{kf.ref(s)} ({store})" for store, s in bundled]
        return failed(f"bundled datastores: {listing(names)}: single pods without backups, failover or tuning; "
                      "production wants managed or separately operated ones", bundled=names)
    if not kf.product_seen(ctx, kf.services(ctx)):
        return kf.absent(ctx, "product Deployment")
    return passed(f"no bundled {'/'.join(p['datastores'])} workload of release {ident.release}")


@probe("kubernetes.metrics-api", target="kubernetes", reads=("apiservices",), params={
    "apiservice": Param("str", "v1beta1.metrics.k8s.io", help="the APIService of the resource metrics API"),
})
def metrics_api(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The resource metrics API (metrics-server) is registered and Available, so CPU/memory HPAs can act."""
    if not kf.live(ctx):
        return not_applicable(kf.NEEDS_LIVE)
    found = [a for a in kf.objects(ctx, "apiservices") if kf.name(a) == p["apiservice"]]
    if not found:
        return failed(f"APIService {p['apiservice']} is not registered (no metrics-server): CPU/memory HPAs report "
                      "'unable to get metrics' and never scale")
    cond = kf.condition(found[0], "Available")
    if kf.is_true(cond):
        return passed(f"APIService {p['apiservice']} is Available")
    return failed(f"APIService {p['apiservice']} is not Available "
                  f"({(cond or {}).get('message') or (cond or {}).get('reason') or 'no Available condition'})")


def _terminations(pod: Any) -> list[tuple[str, str, Any]]:
    out = []
    for status in kf.dicts(pod, "status.containerStatuses"):
        for where in ("state", "lastState"):
            term = kf.get(status, f"{where}.terminated")
            if isinstance(term, Mapping):
                out.append((str(status.get("name")), str(term.get("reason")), term.get("finishedAt")))
    return out


def _workloads(ctx: Any, components: list[str]) -> list[dict[str, Any]]:
    """The service Deployments, the bundled datastores and every workload labelled with the identified release
    (found from the chart's labels when the target names none)."""
    found, _ = kf.service_deployments(ctx, components)
    ident = kf.identify(ctx)
    if not isinstance(ident, kf.Identity):
        return found
    seen = {_key(d) for d in found}
    labelled = [o for kind in ("deployments", "statefulsets") for o in kf.workloads(ctx, kind)
                if ident.holds(o) and kf.label(o, kf.INSTANCE) == ident.release]
    for obj in [o for _, o in kf.bundled_workloads(ctx)] + labelled:
        if _key(obj) not in seen:
            found.append(obj)
            seen.add(_key(obj))
    return found


@probe("kubernetes.memory-limits", target="kubernetes", reads=("deployments", "statefulsets", "pods"), params={
    "deployments": _DEPLOYMENTS,
    "window_hours": Param("number", 24, help="how far back an OOMKilled container counts"),
})
def memory_limits(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every product container has a memory limit, and none was OOMKilled within `window_hours` (live)."""
    workloads = _workloads(ctx, p["deployments"])
    if not workloads:
        return kf.absent(ctx, "product workload")
    hollow = sorted(kf.ref(w) for w in workloads if not kf.containers(w))
    if hollow:
        return undecided(f"{listing(hollow)} has no containers in its pod template: nothing to judge")
    unlimited = sorted(f"{kf.ref(w)} container {c.get('name')}" for w in workloads for c in kf.containers(w)
                       if kf.mapping(c, "resources.limits").get("memory") is None)
    if unlimited:
        return failed(f"{listing(unlimited)} has no memory limit: a leak takes the node's memory and other pods "
                      "with it", unlimited=unlimited)
    count = sum(len(kf.containers(w)) for w in workloads)
    if not kf.live(ctx):
        return not_applicable(f"memory limits set on all {count} containers; OOMKilled history "
                              f"{kf.NEEDS_LIVE}")
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=p["window_hours"])
    # a pod of a workload by name within the workload's namespace (another namespace's langsmith-redis-0 is not it)
    prefixes: dict[Any, tuple[str, ...]] = {}
    for w in workloads:
        ns = kf.get(w, "metadata.namespace")
        prefixes[ns] = (*prefixes.get(ns, ()), kf.name(w) + "-")
    killed = []
    for pod in kf.objects(ctx, "pods"):
        if not kf.name(pod).startswith(prefixes.get(kf.get(pod, "metadata.namespace"), ())):
            continue
        for container, reason, finished in _terminations(pod):
            if reason != "OOMKilled":
                continue
            try:
                when = dt.datetime.fromisoformat(str(finished).replace("Z", "+00:00"))
            except ValueError:
                when = None
            if when is None or when.tzinfo is None or when >= since:
                killed.append(f"{kf.ref(pod)} container {container} (at {finished})")
    if killed:
        return failed(f"{listing(killed)} was OOMKilled within {p['window_hours']:g} h: its memory limit is too "
                      "small for its load", oomkilled=killed)
    return passed(f"memory limits on all {count} containers; no OOMKilled within {p['window_hours']:g} h")


def _selects(pdb: Any, pod_labels: Mapping[str, str]) -> bool:
    """policy/v1: an empty selector {} selects every pod of the namespace, a null or absent one none.  A selector
    that cannot be read selects nothing (so it never protects)."""
    sel = kf.get(pdb, "spec.selector")
    if not isinstance(sel, Mapping):
        return False
    match, exprs = sel.get("matchLabels") or {}, sel.get("matchExpressions") or []
    if not isinstance(match, Mapping) or not isinstance(exprs, list) or not all(isinstance(e, Mapping)
                                                                              for e in exprs):
        return False
    if any(pod_labels.get(k) != str(v) for k, v in match.items()):
        return False
    for expr in exprs:
        key, op = str(expr.get("key") or ""), str(expr.get("operator") or "")
        values = [str(v) for v in kf.seq(expr, "values")]
        ok = {"In": pod_labels.get(key) in values, "NotIn": pod_labels.get(key) not in values,
              "Exists": key in pod_labels, "DoesNotExist": key not in pod_labels}.get(op, False)
        if not ok:
            return False
    return True


def _scaled(value: Any, replicas: int) -> int | None:
    """An IntOrString budget as a pod count: an int, or "N%" of the replicas rounded up (as the disruption
    controller does for both fields); None when it is neither."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = str(value).strip() if isinstance(value, str) else ""
    if text.endswith("%") and text[:-1].isdigit():
        return -(-int(text[:-1]) * replicas // 100)
    return None


def _blocks_eviction(pdb: Any, replicas: int) -> bool | str:
    """True when the budget allows no voluntary eviction of a workload of ``replicas`` pods, False when it allows
    one (it protects nothing), or why it cannot be read."""
    spec = kf.mapping(pdb, "spec")
    has_min, has_max = spec.get("minAvailable") is not None, spec.get("maxUnavailable") is not None
    if has_min == has_max:
        return "sets " + ("both minAvailable and maxUnavailable" if has_min else "neither minAvailable nor "
                                                                              "maxUnavailable")
    field = "minAvailable" if has_min else "maxUnavailable"
    count = _scaled(spec[field], replicas)
    if count is None:
        return f"{field} {spec[field]!r} is not a count or a percentage"
    return count >= replicas if has_min else count == 0


@probe("kubernetes.single-replica-protected", target="kubernetes",
       reads=("statefulsets", "poddisruptionbudgets", "deployments"),
       params={"datastores": _DATASTORES, "within_release": kf.WITHIN_RELEASE})
def single_replica_protected(ctx: Any, p: dict[str, Any]) -> Verdict:
    """A single-replica datastore StatefulSet of the release has a PodDisruptionBudget or the OnDelete update
    strategy."""
    stores = kf.picked(ctx, "statefulsets", p["datastores"], p["within_release"])
    if isinstance(stores, Verdict):
        return stores
    if not stores:
        return kf.absent(ctx, "datastore StatefulSet")
    odd = sorted(kf.ref(s) for s in stores if not isinstance(kf.get(s, "spec.replicas", 1), int))
    if odd:
        return undecided(f"StatefulSet {listing(odd)}: spec.replicas is not a number")
    single = [s for s in stores if kf.get(s, "spec.replicas", 1) <= 1]
    if not single:
        return passed(f"no single-replica datastore ({len(stores)} StatefulSets with several replicas)")
    pdbs = kf.objects(ctx, "poddisruptionbudgets")
    exposed, hollow, unreadable = [], [], []
    for sts in single:
        if kf.get(sts, "spec.updateStrategy.type") == "OnDelete":
            continue
        pod_labels = kf.labels({"metadata": kf.get(sts, "spec.template.metadata", {})})
        mine = [pdb for pdb in pdbs if _key(pdb)[0] == _key(sts)[0] and _selects(pdb, pod_labels)]
        # A PDB protects the only pod only when it allows no eviction (maxUnavailable: 1 lets a drain take it).
        blocks = {kf.ref(pdb): _blocks_eviction(pdb, max(kf.get(sts, "spec.replicas", 1), 1)) for pdb in mine}
        if any(b is True for b in blocks.values()):
            continue
        why = [f"PodDisruptionBudget {r} {b}" for r, b in blocks.items() if isinstance(b, str)]
        if why:
            unreadable.append(f"{kf.ref(sts)}: {why[0]}")
        elif mine:
            hollow.append(f"{kf.ref(sts)} (PodDisruptionBudget {listing(sorted(blocks))} allows evicting its "
                          "only pod)")
        else:
            exposed.append(kf.ref(sts))
    if exposed or hollow:
        what = listing(sorted(exposed)) + " has no PodDisruptionBudget" if exposed else ""
        what += ("; " if exposed and hollow else "") + listing(sorted(hollow))
        return failed(f"single-replica datastore {what} and updates by RollingUpdate: a node drain or an upgrade "
                      "takes it down unannounced", exposed=exposed, unprotecting=hollow)
    if unreadable:
        return undecided(f"single-replica datastore {unreadable[0]}", unreadable=unreadable)
    return passed(f"{len(single)} single-replica datastores protected (a PodDisruptionBudget that allows no "
                  "eviction, or OnDelete)")
