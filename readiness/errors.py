"""Errors a user can cause, reported as ``file:line:col: message`` and exit code 2."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


MAX_SHOWN = 100  # a generated file can hold 100,000 mistakes; the first hundred say what is wrong


def _capped(lines: list[str]) -> str:
    if len(lines) <= MAX_SHOWN:
        return "\n".join(lines)
    return "\n".join([*lines[:MAX_SHOWN], f"... and {len(lines) - MAX_SHOWN} more problems"])


class ConfigError(Exception):
    """One or more problems in a user's file or command line; nothing was audited."""

    def __init__(self, problems: Iterable[Problem] | str):
        if isinstance(problems, str):
            self.problems: list[Problem] = []
            self.text = _capped(problems.split("\n"))
        else:
            self.problems = sorted(set(problems))
            self.text = _capped([str(p) for p in self.problems])
        super().__init__(self.text)


def did_you_mean(name: object, known: Iterable[str]) -> str:
    from difflib import get_close_matches  # only when there is a mistake to name

    near = get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


class TargetUnavailable(Exception):
    """The target could not be used (not configured, unreachable, timed out earlier); the message says why."""


class NotInDeployment(TargetUnavailable):
    """An item of another target reads this one on the side, and it does not exist in this kind of deployment
    (Kubernetes facts on compose: a container's memory limit, a volume's medium).  The item still applies, so this
    is an error an attestation may cover (or the item's own parameters give the figures), never a skip or a pass."""
