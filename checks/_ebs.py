"""What an EBS volume delivers (IOPS, MiB/s), as the EBS CSI driver provisions it from a StorageClass's parameters.

Sources: kubernetes-sigs/aws-ebs-csi-driver docs/parameters.md (commit 038816d): parameters are case-insensitive;
`type` defaults to gp3; `iops` or `iopsPerGB` (x the volume's GiB), not both (an invalid StorageClass); IOPS above
the type's maximum are capped there; `throughput` (MiB/s) is effective for gp3 only, default 125; `blockExpress`
raises io2's cap.  gp3's baseline of 3,000 IOPS and its 0.25 MiB/s per IOPS ceiling, gp2's 3 IOPS per GiB (100 to
16,000) and 128/250 MiB/s, io1's throughput (256 KiB per I/O up to 500 MiB/s at 32,000 IOPS, then 16 KiB per
IOPS up to 1,000 MiB/s at 64,000) and io2's growing with IOPS (up to 256 KiB per I/O) are from the AWS EBS user
guide (volume types, Provisioned IOPS SSD).  The driver parses iops, iopsPerGB and throughput as integers
(strconv) and compares `type` as written: anything else is a class it refuses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")
GIB = 1024 ** 3


@dataclass(frozen=True)
class VolumeType:
    min_iops: int
    max_iops: int
    max_iops_per_gib: int
    base_iops: int | None        # what a class that sets no iops gets (gp3); None: per GiB (gp2) or required
    base_throughput: float       # MiB/s when the class sets none
    max_throughput: float
    throughput_settable: bool    # the `throughput` parameter is honoured (gp3 only)


# docs/parameters.md's table (min, max, max per GiB); gp2 and throughput figures from the AWS EBS user guide.
TYPES: Mapping[str, VolumeType] = {
    "gp3": VolumeType(3000, 16000, 500, 3000, 125, 1000, True),
    "gp2": VolumeType(100, 16000, 3, None, 128, 250, False),
    "io1": VolumeType(100, 64000, 50, None, 0, 1000, False),
    "io2": VolumeType(100, 64000, 500, None, 0, 1000, False),
    "io2-block-express": VolumeType(100, 256000, 500, None, 0, 4000, False),
}
HDD = ("st1", "sc1", "standard")  # throughput-optimized and cold HDD, magnetic: no IOPS figure worth the name


@dataclass(frozen=True)
class Performance:
    iops: float
    throughput: float  # MiB/s
    how: str           # how the figures were reached, for the message


class NotJudged(ValueError):
    """The class's figures cannot be worked out (the message says why); ``fails`` when that is itself a finding
    (hard disks, a class the driver refuses)."""

    def __init__(self, message: str, fails: bool = False):
        super().__init__(message)
        self.fails = fails


def _params(sc: Mapping[str, Any]) -> dict[str, str]:
    raw = sc.get("parameters")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise NotJudged("its parameters are not a mapping")
    return {str(k).lower(): str(v) for k, v in raw.items()}  # keys case-insensitive, values as written


def _number(params: Mapping[str, str], key: str) -> float | None:
    if key not in params:
        return None
    value = params[key]
    if re.fullmatch(r"[0-9]+", value) and int(value) > 0:
        return float(value)
    try:  # "NaN", "7000.9", "7_000", "７０００": Python reads them, the driver's strconv does not
        float(value)
    except ValueError:
        raise NotJudged(f"{key} {value!r} is not a number") from None
    raise NotJudged(f"{key} {value!r} is not a positive number the driver accepts (a whole number, ASCII digits)")


def performance(sc: Mapping[str, Any], size_bytes: float | None) -> Performance:
    """The IOPS and throughput a volume of ``size_bytes`` gets from StorageClass ``sc`` (raises NotJudged)."""
    params = _params(sc)
    name = params.get("type", "gp3")
    if name.lower() != name and name.lower() in TYPES:
        raise NotJudged(f"type {name!r}: the driver knows {name.lower()!r} only (the PVC is never provisioned)",
                        fails=True)
    if name in HDD:
        raise NotJudged(f"type {name} is a hard-disk volume", fails=True)
    if name == "io2" and params.get("blockexpress", "").lower() == "true":
        name = "io2-block-express"
    vt = TYPES.get(name)
    if vt is None:
        raise NotJudged(f"type {name!r} is not an EBS volume type the audit knows")
    iops, per_gib = _number(params, "iops"), _number(params, "iopspergb")
    if iops is not None and per_gib is not None:
        raise NotJudged("it sets both iops and iopsPerGB, which the driver refuses (the PVC is never provisioned)",
                        fails=True)
    gib = size_bytes / GIB if size_bytes else None
    if per_gib is not None:
        if gib is None:
            raise NotJudged("it sets iopsPerGB but the claim's size is not readable")
        how = f"iopsPerGB {per_gib:g} x {gib:g} GiB"
        iops = per_gib * gib
    elif iops is not None:
        how = f"iops {iops:g}"
    elif vt.base_iops is not None:
        iops, how = float(vt.base_iops), f"{name}'s baseline (no iops parameter)"
    elif name == "gp2":
        if gib is None:
            raise NotJudged("gp2's IOPS follow the volume's size, which is not readable")
        iops, how = max(vt.min_iops, 3 * gib), f"gp2's 3 IOPS per GiB x {gib:g} GiB"
    else:
        raise NotJudged(f"{name} needs iops or iopsPerGB, and the class sets neither")
    if per_gib is not None or "iops" in params:  # what the class asks for, capped per GiB of the volume
        if gib is None:
            raise NotJudged("it sets iops, capped per GiB of the volume, but the claim's size is not readable")
        if vt.max_iops_per_gib * gib < iops:
            iops, how = vt.max_iops_per_gib * gib, how + f", capped at {vt.max_iops_per_gib} per GiB x {gib:g} GiB"
    if iops > vt.max_iops:
        iops, how = float(vt.max_iops), how + f", capped at {name}'s {vt.max_iops}"
    throughput = _number(params, "throughput") if vt.throughput_settable else None
    if throughput is None:
        if vt.throughput_settable or name == "gp2":
            throughput = vt.base_throughput if name != "gp2" or (gib or 0) < 334 else vt.max_throughput
        elif name == "io1":  # 256 KiB per I/O up to 500 MiB/s (32,000 IOPS), then 16 KiB per IOPS
            throughput = min(iops * 0.25, 500) if iops <= 32000 else iops / 64
        else:  # io2: up to 256 KiB per I/O
            throughput = iops * 0.25
    elif vt.throughput_settable:  # gp3: at most 0.25 MiB/s per provisioned IOPS
        throughput = min(throughput, iops * 0.25)
    throughput = min(throughput, vt.max_throughput)
    return Performance(iops, throughput, how)
