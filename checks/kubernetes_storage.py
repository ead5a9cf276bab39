"""Kubernetes storage probes: the EBS CSI driver, StorageClasses, and the datastores' volumes (one listing per kind,
shared through checks/_kubernetes_facts.py).

Over 400 lines: one probe per item of the checklist's storage section, nothing else (their facts: _k8s_storage.py).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from readiness.checks import _ebs
from readiness.checks import _kubernetes_facts as kf
from readiness.checks._common import human_bytes, listing

from readiness.probe import (
    Param,
    Verdict,
    failed,
    not_applicable,
    passed,
    probe,
    undecided,
    unobservable,
)

_DATASTORES = Param("str", "postgres|redis|clickhouse|zookeeper|keeper|(^|-)chi-|(^|-)chk-",
                    help="regex on StatefulSet/PVC names and their name/component labels that picks the datastores")
_CLICKHOUSE = Param("str", "clickhouse|(^|-)chi-", help="regex that picks ClickHouse's StatefulSets, PVCs and pods")
_AWS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs", "efs.csi.aws.com")
_ZONAL = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs", "pd.csi.storage.gke.io", "kubernetes.io/gce-pd",
          "disk.csi.azure.com", "kubernetes.io/azure-disk")


def _eks(ctx: Any) -> bool:
    if "-eks-" in kf.cluster(ctx).version:
        return True
    return any(sc.get("provisioner") in _AWS_PROVISIONERS for sc in kf.objects(ctx, "storageclasses"))


def _cluster_kind_missing(ctx: Any, kind: str) -> Verdict | None:
    """Offline, a cluster-level kind the manifests do not hold cannot be judged from them."""
    kinds = kf.manifest_kinds(ctx)
    if kinds is not None and kind not in kinds:
        return not_applicable(f"the manifests hold no {kind}: {kf.NEEDS_LIVE}")
    return None


def _classes(ctx: Any, pattern: str, within: bool, static_ok: bool = False) -> tuple[
        dict[str, list[str]], dict[str, dict[str, Any]], Verdict | None]:
    """({class name: [claims using it]}, {class name: StorageClass}, a verdict when the classes cannot be judged);
    claims with no class (storageClassName "") are such a verdict unless ``static_ok``."""
    found = kf.claims(ctx, pattern, within)
    if isinstance(found, Verdict):
        return {}, {}, found
    if not found:
        return {}, {}, kf.absent(ctx, "datastore volume claim")
    using: dict[str, list[str]] = {}
    unresolved, static = [], []
    for what, spec in found:
        cls, _ = kf.class_of(ctx, spec)
        if cls is None:
            unresolved.append(what)
        elif cls == "":
            static.append(what)
        else:
            using.setdefault(cls, []).append(what)
    if static and not static_ok:
        return using, {}, undecided(f"{listing(static)} sets storageClassName \"\" (a pre-provisioned volume, no "
                                    "StorageClass): its class cannot be judged; judge the PersistentVolume and attest",
                                    static=static)
    classes = kf.storage_classes(ctx)
    missing = [c for c in using if c not in classes]
    if unresolved or missing:
        gap = _cluster_kind_missing(ctx, "StorageClass")
        if gap is not None:
            return using, classes, gap
        if unresolved:
            return using, classes, undecided(f"{listing(unresolved)} name no storageClassName and the cluster has "
                                             "no single default StorageClass", claims=unresolved)
        return using, classes, undecided(f"StorageClass {listing(missing)} used by {listing(using[missing[0]])} "
                                         "does not exist", missing=missing)
    return using, classes, None


@probe("kubernetes.csi-driver", target="kubernetes", reads=("csidrivers", "storageclasses"), params={
    "driver": Param("str", "ebs.csi.aws.com", help="the CSIDriver that must exist"),
    "only_on_eks": Param("bool", True, help="not applicable on clusters that are not EKS"),
})
def csi_driver(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The CSIDriver `driver` exists (the in-tree EBS plugin needs it since Kubernetes 1.23)."""
    gap = _cluster_kind_missing(ctx, "CSIDriver")
    if gap is not None:
        return gap
    names = sorted(kf.name(d) for d in kf.objects(ctx, "csidrivers"))
    if p["driver"] in names:
        return passed(f"CSIDriver {p['driver']} is installed", csidrivers=names)
    if p["only_on_eks"] and not _eks(ctx):
        return not_applicable(f"not an EKS cluster (server {kf.cluster(ctx).version or 'version unknown'}, no AWS "
                              "provisioner in its StorageClasses)", csidrivers=names)
    return failed(f"CSIDriver {p['driver']} is not installed (drivers: {listing(names) or 'none'}): EBS volumes "
                  "cannot be provisioned or attached, so datastore PVCs stay Pending", csidrivers=names)


def _controller_reads(p: Any) -> tuple[str, ...]:
    return ("storageclasses", f"{p['namespace']}:deployments")


@probe("kubernetes.csi-controller-ready", target="kubernetes", reads=_controller_reads, params={
    "namespace": Param("str", "kube-system", help="namespace of the driver's controller"),
    "deployment": Param("str", "ebs-csi-controller", help="the controller Deployment"),
    "only_on_eks": Param("bool", True, help="not applicable on clusters that are not EKS"),
})
def csi_controller_ready(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every replica of the CSI driver's controller Deployment is Ready."""
    if not kf.live(ctx):
        return not_applicable(kf.NEEDS_LIVE)
    found = [d for d in kf.listing(ctx, "deployments", p["namespace"]) if kf.name(d) == p["deployment"]]
    if not found:
        if p["only_on_eks"] and not _eks(ctx):
            return not_applicable("not an EKS cluster")
        return failed(f"no Deployment {p['namespace']}/{p['deployment']}: the EBS CSI controller is not installed "
                      "(install the aws-ebs-csi-driver EKS add-on)")
    dep = found[0]
    want = kf.get(dep, "spec.replicas", 1)
    ready = kf.get(dep, "status.readyReplicas", 0)
    evidence = {"replicas": want, "ready": ready}
    if isinstance(want, int) and isinstance(ready, int) and want > 0 and ready >= want:
        return passed(f"{kf.ref(dep)}: {ready}/{want} replicas Ready", **evidence)
    return failed(f"{kf.ref(dep)}: {ready}/{want} replicas Ready: volumes are not provisioned or attached while "
                  "the controller is down", **evidence)


@probe("kubernetes.default-storageclass", target="kubernetes", reads=("storageclasses",), params={
    "provisioners": Param("str-list", ["ebs.csi.aws.com", "pd.csi.storage.gke.io", "disk.csi.azure.com"],
                          help="acceptable provisioners of the default StorageClass"),
})
def default_storageclass(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Exactly one default StorageClass, on one of `provisioners` (not EKS's in-tree gp2)."""
    gap = _cluster_kind_missing(ctx, "StorageClass")
    if gap is not None:
        return gap
    classes = kf.storage_classes(ctx)
    defaults = sorted(n for n, sc in classes.items() if kf.is_default_class(sc))
    evidence = {"defaults": defaults, "classes": {n: sc.get("provisioner") for n, sc in classes.items()}}
    if not defaults:
        return failed("no default StorageClass: a PVC without storageClassName stays Pending", **evidence)
    if len(defaults) > 1:
        return failed(f"{len(defaults)} default StorageClasses ({listing(defaults)}): which one a PVC gets is "
                      "undefined", **evidence)
    prov = classes[defaults[0]].get("provisioner")
    if prov in p["provisioners"]:
        return passed(f"default StorageClass {defaults[0]} uses {prov}", **evidence)
    in_tree = prov == "kubernetes.io/aws-ebs"
    hint = " (the in-tree EBS plugin: it needs the EBS CSI driver since 1.23)" if in_tree else ""
    return failed(f"default StorageClass {defaults[0]} uses {prov}{hint}, expected one of "
                  f"{listing(p['provisioners'])}", **evidence)


@probe("kubernetes.volume-expansion", target="kubernetes", reads=kf.CLAIMS,
       params={"datastores": _DATASTORES, "within_release": kf.WITHIN_RELEASE})
def volume_expansion(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The StorageClasses of the datastores' volumes set allowVolumeExpansion: true."""
    found = kf.claims(ctx, p["datastores"], p["within_release"])
    if isinstance(found, Verdict):
        return found
    static = [what for what, spec in found if kf.class_of(ctx, spec)[0] == ""]
    if static:  # only a claim whose class allows it can be resized
        return failed(f"{listing(static)} sets storageClassName \"\" (no StorageClass): the claim cannot be "
                      "expanded; a full disk means a migration instead of a resize", static=static)
    using, classes, gap = _classes(ctx, p["datastores"], p["within_release"])
    if gap is not None:
        return gap
    fixed = sorted(c for c in using if classes[c].get("allowVolumeExpansion") is not True)
    evidence = {"classes": {c: classes[c].get("allowVolumeExpansion") for c in using}}
    if fixed:
        return failed(f"StorageClass {listing(fixed)} (used by {listing(using[fixed[0]])}) does not allow volume "
                      "expansion: a full disk means a migration instead of a resize", **evidence)
    return passed(f"StorageClass {listing(sorted(using))} allows volume expansion", **evidence)


@probe("kubernetes.ssd-storageclass", target="kubernetes", reads=kf.CLAIMS, params={
    "datastores": _DATASTORES,
    "ssd_types": Param("str-list", list(kf.SSD_TYPES),
                       help="volume types (StorageClass parameters type / skuName) that count as SSD"),
    "within_release": kf.WITHIN_RELEASE,
})
def ssd_storageclass(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The datastores' StorageClasses provision SSD volumes (gp3, io1, io2 or the provider's SSD types)."""
    using, classes, gap = _classes(ctx, p["datastores"], p["within_release"])
    if gap is not None:
        return gap
    types = {c: kf.volume_type(classes[c]) for c in using}
    evidence = {"types": types, "provisioners": {c: classes[c].get("provisioner") for c in using}}
    slow = sorted(c for c, t in types.items() if t is not None and t not in p["ssd_types"])
    if slow:
        return failed(f"StorageClass {slow[0]} provisions {types[slow[0]]} volumes (used by "
                      f"{listing(using[slow[0]])}), expected one of {listing(p['ssd_types'])}", **evidence)
    unknown = sorted(c for c, t in types.items() if t is None)
    if unknown:
        return unobservable(f"cannot tell the medium of StorageClass {unknown[0]} (provisioner "
                            f"{classes[unknown[0]].get('provisioner')}, no type parameter): attest it", **evidence)
    return passed(f"datastore volumes are SSD ({', '.join(f'{c}: {t}' for c, t in types.items())})", **evidence)


@probe("kubernetes.storage-performance", target="kubernetes", reads=kf.CLAIMS, params={
    "match": _CLICKHOUSE,
    "volume": Param("str", "^(data|clickhouse-storage-volume)",
                    help="regex on the volumeClaimTemplate/PVC name that picks the data volumes"),
    "min_iops": Param("int", 7000, help="IOPS each data volume must get (LangSmith asks ~7000 for ClickHouse)"),
    "min_throughput_mibps": Param("int", 1000, help="MiB/s each data volume must get (LangSmith asks ~1000)"),
    "within_release": kf.WITHIN_RELEASE,
})
def storage_performance(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The data volumes' EBS StorageClass gives at least `min_iops` and `min_throughput_mibps` (gp3 gives 3,000 IOPS
    and 125 MiB/s unless the class sets the EBS CSI parameters iops and throughput)."""
    found = kf.claims(ctx, p["match"], p["within_release"])
    if isinstance(found, Verdict):
        return found
    rx = re.compile(p["volume"])
    data = [(what, spec) for what, spec in found if rx.search(what.rsplit(" ", 1)[-1].split("/")[-1])]
    if found and not data:  # ClickHouse's volumes are there under another name: not "not deployed"
        return undecided(f"no claim of {listing([w for w, _ in found])} matches volume /{p['volume']}/: set volume "
                         "to the data volume's name")
    if not data:
        return kf.absent(ctx, f"data volume claim matching /{p['match']}/")
    figures: dict[str, dict[str, Any]] = {}
    short: list[str] = []
    broken: dict[str, str] = {}     # the class is refused or on hard disks: a failure
    unresolved: dict[str, str] = {}  # cannot be worked out: an error
    foreign: dict[str, str] = {}     # not EBS: its figures are not in the StorageClass
    for what, spec in data:
        cls, sc = kf.class_of(ctx, spec)
        if cls == "":
            unresolved[what] = "storageClassName \"\" (a pre-provisioned volume: judge the PersistentVolume)"
            continue
        if cls is None or sc is None:
            gap = _cluster_kind_missing(ctx, "StorageClass")
            if gap is not None:
                return gap
            unresolved[what] = (f"StorageClass {cls} does not exist" if cls else
                                "no storageClassName and no single default StorageClass")
            continue
        prov = str(sc.get("provisioner"))
        if prov not in _ebs.PROVISIONERS:
            foreign[what] = f"StorageClass {cls} ({prov})"
            continue
        try:
            perf = _ebs.performance(sc, kf.quantity(kf.get(spec, "resources.requests.storage")))
        except _ebs.NotJudged as exc:
            (broken if exc.fails else unresolved)[what] = f"StorageClass {cls}: {exc}"
            continue
        figures[what] = {"class": cls, "iops": round(perf.iops), "throughput_mibps": round(perf.throughput),
                         "from": perf.how}
        if perf.iops < p["min_iops"] or perf.throughput < p["min_throughput_mibps"]:
            short.append(what)
    want = f"{p['min_iops']} IOPS and {p['min_throughput_mibps']} MiB/s"
    evidence = {"volumes": figures, "min_iops": p["min_iops"], "min_throughput_mibps": p["min_throughput_mibps"]}
    if short:
        f = figures[short[0]]
        return failed(f"{listing(short)} gets {f['iops']} IOPS and {f['throughput_mibps']} MiB/s from StorageClass "
                      f"{f['class']} ({f['from']}), below {want}: set the EBS CSI parameters iops and throughput "
                      "(gp3), or iopsPerGB (io1/io2), on its StorageClass", **evidence)
    if broken:
        first = sorted(broken)[0]
        return failed(f"{first}: {broken[first]}", **evidence, refused=broken)
    if unresolved:
        first = sorted(unresolved)[0]
        return undecided(f"{first}: {unresolved[first]}", **evidence, unresolved=unresolved)
    if foreign:
        first = sorted(foreign)[0]
        return unobservable(f"{first} is on {foreign[first]}, not EBS: its IOPS and throughput are not in the "
                            f"StorageClass; measure them (fio) against {want} and attest", **evidence, other=foreign)
    return passed(f"{len(figures)} data volume(s) get at least {want} "
                  f"({', '.join(sorted({v['class'] for v in figures.values()}))})", **evidence)


def _picked_live(ctx: Any, p: dict[str, Any], plural: str, what: str) -> list[dict[str, Any]] | Verdict:
    """The matched datastore's objects of a kind on a live cluster, or the verdict when there are none to judge."""
    if not kf.live(ctx):
        return not_applicable(kf.NEEDS_LIVE)
    found = kf.picked(ctx, plural, p["match"], p["within_release"])
    if isinstance(found, Verdict):
        return found
    return found or kf.absent(ctx, f"{what} matching /{p['match']}/")


@probe("kubernetes.pvcs-bound", target="kubernetes", reads=("persistentvolumeclaims", "statefulsets", "deployments"),
       params={"match": _CLICKHOUSE, "within_release": kf.WITHIN_RELEASE})
def pvcs_bound(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every PVC of the matched datastore is Bound (live clusters only)."""
    pvcs = _picked_live(ctx, p, "persistentvolumeclaims", "PVC")
    if isinstance(pvcs, Verdict):
        return pvcs
    phases = {kf.ref(c): kf.get(c, "status.phase", "unknown") for c in pvcs}
    unbound = sorted(n for n, ph in phases.items() if ph != "Bound")
    if unbound:
        return failed(f"PVC {listing(unbound)} is {phases[unbound[0]]}, not Bound: the pod cannot start",
                      phases=phases)
    return passed(f"{len(pvcs)} PVCs Bound", phases=phases)


def _missing_pods(ctx: Any, p: dict[str, Any]) -> list[str] | Verdict:
    """The pods the matched StatefulSets want that do not exist: <name>-<ordinal> for ``spec.replicas`` ordinals
    from ``spec.ordinals.start`` (0 unless set)."""
    sets = kf.picked(ctx, "statefulsets", p["match"], p["within_release"])
    if isinstance(sets, Verdict):
        return sets
    pods = [(kf.get(x, "metadata.namespace"), kf.name(x)) for x in kf.objects(ctx, "pods")]
    out: list[str] = []
    for sts in sets:
        want, start = kf.get(sts, "spec.replicas", 1), kf.get(sts, "spec.ordinals.start", 0)
        for what, n in (("spec.replicas", want), ("spec.ordinals.start", start)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                return undecided(f"StatefulSet {kf.ref(sts)}: {what} {n!r} is not a count")
        ns, prefix = kf.get(sts, "metadata.namespace"), f"{kf.name(sts)}-"
        ordinals = [name[len(prefix):] for pns, name in pods if pns == ns and name.startswith(prefix)]
        present = {int(o) for o in ordinals if o.isascii() and o.isdigit() and start <= int(o) < start + want}
        if len(present) < want:
            first = next(o for o in range(start, start + want) if o not in present)
            more = want - len(present) - 1
            out.append(kf.ref({"metadata": {"namespace": ns, "name": f"{prefix}{first}"}})
                       + (f" (and {more} more)" if more else ""))
    return out


@probe("kubernetes.pods-ready", target="kubernetes", reads=("pods", "statefulsets", "deployments"),
       params={"match": _CLICKHOUSE, "within_release": kf.WITHIN_RELEASE})
def pods_ready(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every pod of the matched datastore has the Ready condition True (live clusters only), and every pod its
    StatefulSets want exists (a replica the controller could not create is no Ready pod)."""
    missing = _missing_pods(ctx, p) if kf.live(ctx) else []
    if isinstance(missing, Verdict):
        return missing
    if missing:
        return failed(f"pod {listing(missing)} does not exist: its StatefulSet wants it (spec.replicas) but it was "
                      "not created", missing=missing)
    pods = _picked_live(ctx, p, "pods", "pod")
    if isinstance(pods, Verdict):
        return pods
    ready = {kf.ref(x): kf.is_true(kf.condition(x, "Ready")) for x in pods}
    waiting = sorted(n for n, ok in ready.items() if not ok)
    if waiting:
        pod = next(x for x in pods if kf.ref(x) == waiting[0])
        why = kf.get(pod, "status.phase", "no status")
        cond = kf.condition(pod, "PodScheduled") or {}
        detail = f": {cond.get('message')}" if cond.get("status") == "False" and cond.get("message") else ""
        return failed(f"pod {listing(waiting)} is not Ready ({why}{detail})", ready=ready)
    return passed(f"{len(pods)} pods Ready", ready=ready)


@probe("kubernetes.no-network-filesystem", target="kubernetes", reads=(*kf.CLAIMS, "persistentvolumes"), params={
    "match": Param("str", "clickhouse|(^|-)chi-|zookeeper|keeper|(^|-)chk-",
                   help="regex that picks ClickHouse and Keeper/ZooKeeper"),
    "network_provisioners": Param("str-list", list(kf.NETWORK_FS), help="provisioners/drivers (substrings) that are "
                                                                "network filesystems"),
    "within_release": kf.WITHIN_RELEASE,
})
def no_network_filesystem(ctx: Any, p: dict[str, Any]) -> Verdict:
    """ClickHouse and Keeper/ZooKeeper volumes are not on a network filesystem (EFS, NFS, Azure Files, CephFS)."""
    def networked(driver: Any) -> bool:
        return any(n.lower() in str(driver or "").lower() for n in p["network_provisioners"])

    sets = kf.picked(ctx, "statefulsets", p["match"], p["within_release"])
    if isinstance(sets, Verdict):
        return sets
    bad: dict[str, str] = {}
    for sts in sets:
        for vol in kf.dicts(kf.pod_spec(sts), "volumes"):
            kinds = [k for k in ("nfs", "cephfs", "azureFile", "glusterfs") if k in vol]
            driver = kf.get(vol, "csi.driver")
            if kinds or networked(driver):
                bad[f"{kf.ref(sts)} volume {vol.get('name')}"] = kinds[0] if kinds else str(driver)
    using, classes, gap = _classes(ctx, p["match"], p["within_release"])
    if gap is not None and not bad:
        return gap
    for cls, users in using.items():
        prov = classes.get(cls, {}).get("provisioner")
        if networked(prov):
            for what in users:
                bad[what] = f"StorageClass {cls} ({prov})"
    if kf.live(ctx):
        for pv in kf.objects(ctx, "persistentvolumes"):
            claim = f"PVC {kf.get(pv, 'spec.claimRef.namespace')}/{kf.get(pv, 'spec.claimRef.name')}"
            kinds = [k for k in ("nfs", "cephfs", "azureFile", "glusterfs") if k in kf.mapping(pv, "spec")]
            if any(claim in users for users in using.values()) and (kinds or networked(kf.get(pv, "spec.csi.driver"))):
                bad[claim] = f"PersistentVolume {kf.name(pv)} ({kinds[0] if kinds else kf.get(pv, 'spec.csi.driver')})"
    if bad:
        first = sorted(bad)[0]
        return failed(f"{first} is on a network filesystem ({bad[first]}): ClickHouse parts and Keeper logs need "
                      "local block storage (fsync latency, file locks)", network_volumes=bad)
    return passed(f"volumes on StorageClass {listing(sorted(using))}, none a network filesystem",
                  classes={c: classes[c].get("provisioner") for c in using})


def _age(stamp: Any, now: dt.datetime) -> float | None:
    try:
        when = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        return (now - when).total_seconds() if when.tzinfo else None
    except ValueError:
        return None


@probe("kubernetes.no-pending-pvcs", target="kubernetes", reads=kf.CLAIMS, params={
    "datastores": _DATASTORES,
    "max_pending_seconds": Param("int", 120, help="how long a PVC may stay Pending"),
    "within_release": kf.WITHIN_RELEASE,
})
def no_pending_pvcs(ctx: Any, p: dict[str, Any]) -> Verdict:
    """No datastore PVC Pending longer than `max_pending_seconds`; zonal volumes bind with WaitForFirstConsumer."""
    if not kf.live(ctx):
        return not_applicable(kf.NEEDS_LIVE)
    now = dt.datetime.now(dt.timezone.utc)
    pvcs = kf.picked(ctx, "persistentvolumeclaims", p["datastores"], p["within_release"])
    if isinstance(pvcs, Verdict):
        return pvcs
    if not pvcs:
        return kf.absent(ctx, "datastore PVC")
    pending = {}
    for pvc in pvcs:
        if kf.get(pvc, "status.phase") == "Pending":
            age = _age(kf.get(pvc, "metadata.creationTimestamp"), now)
            if age is None or age > p["max_pending_seconds"]:
                pending[kf.ref(pvc)] = None if age is None else int(age)
    if pending:
        first = sorted(pending)[0]
        age = pending[first]
        return failed(f"PVC {listing(sorted(pending))} Pending for {'an unknown time' if age is None else f'{age} s'}"
                      f" (limit {p['max_pending_seconds']} s)", pending=pending)
    # a bound static volume has no zone race
    using, classes, gap = _classes(ctx, p["datastores"], p["within_release"], static_ok=True)
    if gap is not None and gap.status == "error":
        return gap
    immediate = sorted(c for c in using if classes.get(c, {}).get("provisioner") in _ZONAL
                       and classes[c].get("volumeBindingMode", "Immediate") != "WaitForFirstConsumer")
    if immediate:
        return failed(f"StorageClass {listing(immediate)} provisions zonal volumes with volumeBindingMode "
                      "Immediate: a volume made in a zone with no schedulable node leaves its pod Pending (volume "
                      "node affinity conflict)", classes=immediate)
    return passed(f"no datastore PVC Pending beyond {p['max_pending_seconds']} s ({len(pvcs)} PVCs); zonal classes "
                  "bind with WaitForFirstConsumer", pvcs=len(pvcs))


@probe("kubernetes.volume-size", target="kubernetes",
       reads=("statefulsets", "persistentvolumeclaims", "deployments"), params={
    "match": _CLICKHOUSE,
    # the Langfuse 2.0.0 chart's ClickHouse operator names its claim clickhouse-storage-volume
    "volume": Param("str", "^(data|clickhouse-storage-volume)",
                    help="regex on the volumeClaimTemplate/PVC name that picks the data volumes"),
    "min_size": Param("str", "100Gi", help="smallest acceptable request"),
    "within_release": kf.WITHIN_RELEASE,
})
def volume_size(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The matched datastore's data volumes request at least `min_size`."""
    want = kf.quantity(p["min_size"])
    if want is None:
        return undecided(f"min_size {p['min_size']!r} is not a Kubernetes quantity (e.g. 100Gi)")
    rx = re.compile(p["volume"])
    sizes: dict[str, Any] = {}
    found = kf.claims(ctx, p["match"], p["within_release"])
    if isinstance(found, Verdict):
        return found
    for what, spec in found:
        claim = what.rsplit(" ", 1)[-1].split("/")[-1]
        if rx.search(claim):
            sizes[what] = kf.get(spec, "resources.requests.storage")
    if not sizes:
        return kf.absent(ctx, f"data volume claim matching /{p['match']}/")
    values = {w: kf.quantity(s) for w, s in sizes.items()}
    unknown = sorted(w for w, v in values.items() if v is None)
    small = sorted(w for w, v in values.items() if v is not None and v < want)
    if small:
        return failed(f"{small[0]} requests {sizes[small[0]]} (< {p['min_size']}): a small volume fills within days "
                      "(NOT_ENOUGH_SPACE)", sizes=sizes)
    if unknown:
        return undecided(f"{unknown[0]} requests no readable size ({sizes[unknown[0]]!r})", sizes=sizes)
    smallest = min((v for v in values.values() if v is not None), default=0)
    return passed(f"data volumes request >= {p['min_size']} (smallest {human_bytes(smallest)})",
                  sizes=sizes)
