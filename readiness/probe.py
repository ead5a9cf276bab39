"""The probe contract: parameters a probe declares, the verdict it returns, and the decorator that registers it.

A probe module in ``checks/`` holds only probes:

    from readiness.probe import Param, probe, passed, failed

    @probe("redis.info", target="redis", params={"field": Param("str"), "expect": Param("expect")})
    def info(ctx, p):
        value = ctx.fact("info", lambda client: client.info("all")).get(p["field"])
        return p["expect"].judge(p["field"], value)

The module is registered with one entry-point line in the ``readiness.probes`` group; every ``Probe`` object found
in it is a probe kind.  Exceptions raised by a probe become ``error`` results in the runner: probes never need to
catch them just to report them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# The contract's names live in the layers below (params: declared parameters; verdict: what a probe concludes) so
# that matchers, clients and loaders import them without importing the probe registry; plugins import them here.
from readiness.params import PARAM_TYPES, Param
from readiness.verdict import (
    VERDICT_STATUSES,
    Verdict,
    failed,
    not_applicable,
    passed,
    undecided,
    unobservable,
)

if TYPE_CHECKING:
    from readiness.context import Context

__all__ = [
    "PARAM_TYPES", "VERDICT_STATUSES", "Param", "Probe", "Verdict", "failed", "not_applicable", "passed", "probe",
    "undecided", "unobservable",
]

ProbeFunc = Callable[["Context", dict[str, Any]], Verdict]


@dataclass(frozen=True)
class Probe:
    kind: str
    target: str | None  # the backend whose configuration the probe needs; None for none
    params: Mapping[str, Param]
    func: ProbeFunc
    summary: str
    module: str = ""
    # What the probe reads from Kubernetes, as resource plurals ("storageclasses", "keda.sh/scaledobjects"), or a
    # function of its parameters (a generic probe reads the kind it is given).  `readiness rbac` derives the audit
    # identity's rules from these, and the Kubernetes facts refuse any read a probe did not declare.
    reads: tuple[str, ...] | Callable[[Mapping[str, Any]], tuple[str, ...]] = ()
    # The probe writes to its target (a canary trace, a test object): it runs only for items the targets file opts
    # in (``opt_in: [ids]``, seen as ``ctx.opted_in``) and on a target with allow_writes: true.
    writes: bool = False

    def declared_reads(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(self.reads(params)) if callable(self.reads) else tuple(self.reads)

    def __call__(self, ctx: Context, params: dict[str, Any]) -> Verdict:
        return self.func(ctx, params)


def probe(
    kind: str, *, target: str | None, params: Mapping[str, Param] | None = None, summary: str | None = None,
    reads: tuple[str, ...] | Callable[[Mapping[str, Any]], tuple[str, ...]] = (), writes: bool = False,
) -> Callable[[ProbeFunc], Probe]:
    """Declare a probe kind. The summary defaults to the first line of the function's docstring."""

    def register(func: ProbeFunc) -> Probe:
        doc = summary or (inspect.getdoc(func) or "").split("\n\n")[0].replace("\n", " ")
        return Probe(kind, target, dict(params or {}), func, doc, func.__module__, reads, writes)

    return register
