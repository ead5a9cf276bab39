"""Storage classification: which StorageClass a datastore's volumes use, what volume type it provisions, and
whether it is the default, an SSD or a network file system."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from readiness.checks._k8s_access import live, objects
from readiness.checks._k8s_fields import annotations_of, dicts, get, mapping, name, ref
from readiness.checks._k8s_products import OPERATOR_CLAIM, operator_clusters, picked

from readiness.probe import Verdict

DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")

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
