"""What a probe concludes: the verdict and the helpers that build one.  The lowest layer a probe, a matcher or a
client needs; it imports nothing of readiness."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
