"""One audit, end to end: load and validate every input, run the probes, apply waivers and attestations, build
the report.  The CLI is a thin shell around this."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from readiness.checklist import Checklist, load_checklist
from readiness.errors import ConfigError, Problem
from readiness.models import Result
from readiness.runner import Options, close_sessions, plan, run
from readiness.targets import Targets, load_targets
from readiness.waivers import Attestation, Waiver, apply, load_attestations, load_waivers


@dataclass
class Inputs:
    checklist: Checklist
    targets: Targets
    waivers: list[Waiver] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)
    waivers_path: str = ""
    attestations_path: str = ""


def load_inputs(checklist: str | None, targets: str | None, waivers: str | None = None,
                attestations: str | None = None) -> Inputs:
    """Validate every file before anything runs; problems in all of them are reported together."""
    problems: list[Problem] = []
    texts: list[str] = []
    loaded: dict[str, object] = {}
    steps: list[tuple[str, Callable[[], object]]] = [
        ("checklist", lambda: load_checklist(checklist)),
        ("targets", lambda: load_targets(targets) if targets else Targets()),
        ("waivers", lambda: load_waivers(waivers) if waivers else []),
        ("attestations", lambda: load_attestations(attestations) if attestations else []),
    ]
    for name, step in steps:
        try:
            loaded[name] = step()
        except ConfigError as exc:
            problems.extend(exc.problems)
            if not exc.problems:
                texts.append(exc.text)
    if problems or texts:
        raise ConfigError("\n".join([*texts, *(str(p) for p in sorted(set(problems)))]))
    return Inputs(loaded["checklist"], loaded["targets"], loaded["waivers"], loaded["attestations"],  # type: ignore[arg-type]
                  waivers or "", attestations or "")


def notices_for_inputs(inputs: Inputs) -> list[str]:
    """What ``validate`` can say about waivers and attestations before running anything."""
    from readiness.waivers import unknown_ids

    ids = [i.id for i in inputs.checklist.items]
    return (unknown_ids(ids, inputs.waivers, inputs.waivers_path, "waiver")
            + unknown_ids(ids, inputs.attestations, inputs.attestations_path, "attestation"))


def execute(inputs: Inputs, options: Options, fail_on: str, on_result: Callable[[Result], None] | None = None,
            today: dt.date | None = None) -> tuple[dict, list[Result]]:
    from readiness import report

    started = dt.datetime.now(dt.timezone.utc)
    planned = plan(inputs.checklist, options)
    results, sessions = run(planned, inputs.targets, options, on_result=on_result)
    close_sessions(sessions)
    notices = apply(results, inputs.waivers, inputs.attestations, today or started.date(),
                    inputs.waivers_path, inputs.attestations_path)
    finished = dt.datetime.now(dt.timezone.utc)
    built = report.build(inputs.checklist, inputs.targets, results, profile=options.profile, preset=options.preset,
                         fail_on=fail_on, started=started, finished=finished, notices=notices)
    return built, results
