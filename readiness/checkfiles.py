"""``readiness check-files FILE...``: the static items on the compose, env and Helm values files given (the files of
a commit, as a pre-commit hook passes them), with no targets file and no network.

Each file's kind comes from its name (``docker-compose*.yml``/``compose*.yaml``, ``.env``/``.env.*``/``*.env``,
``values*.yaml``); other files are ignored, and so are ``*.example``/``.sample``/``.template`` copies, which are
not deployed.  Files of one directory are audited together (a compose file resolves its variables from the
``.env`` beside it), one of each kind per audit.  Only items read by the ``files`` target run; an item on a kind
of file that was not given, or on a live target, does not apply (``Files.partial``), so a hook that sees one file
judges that file.  Secrets are masked as in every audit: the same runner and scrubber.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from readiness.errors import ConfigError

if TYPE_CHECKING:
    from readiness.checklist import Checklist

PATTERNS = {
    "compose": ("docker-compose*.yml", "docker-compose*.yaml", "compose*.yml", "compose*.yaml"),
    "env": (".env", ".env.*", "*.env"),
    "helm_values": ("values*.yaml", "values*.yml"),
}
NOT_DEPLOYED = ("*.example", "*.sample", "*.template", "*.dist")


def kind_of(path: str) -> str | None:
    name = os.path.basename(path)
    if any(fnmatch.fnmatchcase(name, p) for p in NOT_DEPLOYED):
        return None
    for kind, patterns in PATTERNS.items():
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            return kind
    return None


def groups(paths: Sequence[str]) -> list[dict[str, str]]:
    """The files by directory, one of each kind per group (a second compose file of a directory starts another)."""
    out: list[tuple[str, dict[str, str]]] = []
    for path in paths:
        kind = kind_of(path)
        if kind is None:
            continue
        directory = os.path.dirname(os.path.abspath(path))
        group = next((g for d, g in out if d == directory and kind not in g), None)
        if group is None:
            group = {}
            out.append((directory, group))
        group[kind] = path
    return [g for _, g in out]


@dataclass(frozen=True)
class Outcome:
    files: list[str]
    lines: list[str]
    blocking: int


def check(group: dict[str, str], checklist: Checklist, preset: str | None, profile: str, fail_on: str,
          timeout: float) -> Outcome:
    """One audit of one group's files by the items of the files target; the lines to print for what blocks."""
    from readiness.audit import Inputs, execute
    from readiness.clients import KINDS
    from readiness.params import validate
    from readiness.registry import probes
    from readiness.runner import Options
    from readiness.targets import Targets

    cfg, problems = validate(KINDS["files"].fields, {k: os.path.abspath(v) for k, v in group.items()},
                             "check-files", "files", (1, 1))
    if problems:
        raise ConfigError(problems)
    cfg["root"] = os.getcwd()  # findings name files as the commit does (pre-commit runs at the repository root)
    cfg["partial"] = True
    from readiness.clients.files import load

    load(cfg)  # a file that does not parse is bad input (exit 2, at its line), not an error in every item
    registry = probes()
    static = tuple(i.id for i in checklist.items if not i.manual and registry.probes[i.probe or ""].target == "files")
    if not static:
        raise ConfigError(f"{checklist.path}: no item reads the files target")
    targets = Targets({"files": cfg}, preset, profile, path=next(iter(group.values())))
    options = Options(profile=profile, preset=preset, only=static, timeout=timeout, deadline=max(timeout * 3, 30))
    report, _ = execute(Inputs(checklist, targets), options, fail_on)
    from readiness.reports import text
    from readiness.reports.view import printable

    lines = []
    for r in report["results"]:
        if r["blocking"]:
            lines += text.result_lines(r, color=False, verbose=False)
            if r["status"] == "fail" and r.get("remediation"):
                lines.append(f"            fix: {printable(r['remediation'].splitlines()[0])[:200]}")
    return Outcome(list(group.values()), lines, report["summary"]["blocking"])
