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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from readiness.context import Context

# Parameter types a checklist may give; "expect" is a matcher (readiness.matchers); "path" is a file path,
# relative to the file that gives it ("path-list": several); "url-path" is a path on a target's URL, never a URL
# of another host.
PARAM_TYPES = ("str", "int", "number", "bool", "list", "str-list", "int-list", "dict", "date", "path", "path-list",
               "url-path", "expect", "any")

_REQUIRED: Any = object()


@dataclass(frozen=True)
class Param:
    type: str
    default: Any = _REQUIRED
    help: str = ""
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"unknown parameter type {self.type!r}")

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


VERDICT_STATUSES = ("pass", "fail", "error", "skipped")


@dataclass(frozen=True)
class Verdict:
    """What a probe concluded. ``skipped`` means "not applicable here" and always carries the reason."""

    status: str
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    # True only on an ``error`` the probe declares beyond its sight (disk usage that SQL cannot see): the one kind of
    # probed item an attestation may cover.  Never set for an unreachable target, a timeout or a denied permission.
    attestable: bool = False

    def __post_init__(self) -> None:
        if self.status not in VERDICT_STATUSES:
            raise ValueError(f"unknown verdict status {self.status!r}")


def passed(message: str, **evidence: Any) -> Verdict:
    return Verdict("pass", message, evidence)


def failed(message: str, **evidence: Any) -> Verdict:
    return Verdict("fail", message, evidence)


def undecided(message: str, **evidence: Any) -> Verdict:
    """The probe could not decide (no permission, unsupported version, missing data): an ``error`` result."""
    return Verdict("error", message, evidence)


def unobservable(message: str, **evidence: Any) -> Verdict:
    """The fact is invisible to this probe by its nature (not a fault): an ``error`` that an attestation may cover."""
    return Verdict("error", message, evidence, attestable=True)


def not_applicable(message: str, **evidence: Any) -> Verdict:
    return Verdict("skipped", message, evidence)


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
