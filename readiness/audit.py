"""One audit, end to end: load and validate every input, run the probes, apply waivers and attestations, build
the report.  The CLI is a thin shell around this."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from readiness.checklist import Checklist, load_checklist
from readiness.deployment import Deployment, infer
from readiness.errors import ConfigError, Problem
from readiness.targets import Targets, load_targets
from readiness.waivers import Attestation, Waiver, apply, load_attestations, load_waivers

if TYPE_CHECKING:  # the runner (threads, clients' plumbing) is imported when an audit runs, not to validate
    from readiness.models import Result
    from readiness.runner import Options, Planned


@dataclass
class Inputs:
    checklist: Checklist
    targets: Targets
    waivers: list[Waiver] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)
    waivers_path: str = ""
    attestations_path: str = ""


def load_inputs(checklist: str | None, targets: str | None, waivers: str | None = None,
                attestations: str | None = None, target_sections: Collection[str] | None = None) -> Inputs:
    """Validate every file before anything runs; problems in all of them are reported together.
    ``target_sections``: only these targets are judged (``load_targets``); None, all of them."""
    problems: list[Problem] = []
    texts: list[str] = []
    loaded: dict[str, object] = {}
    steps: list[tuple[str, Callable[[], object]]] = [
        ("checklist", lambda: load_checklist(checklist)),
        ("targets", lambda: load_targets(targets, sections=target_sections) if targets else Targets()),
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
    if not problems and not texts:
        problems.extend(opt_in_problems(loaded["checklist"], loaded["targets"]))  # type: ignore[arg-type]
    if problems or texts:
        raise ConfigError("\n".join([*texts, *(str(p) for p in sorted(set(problems)))]))
    return Inputs(loaded["checklist"], loaded["targets"], loaded["waivers"], loaded["attestations"],  # type: ignore[arg-type]
                  waivers or "", attestations or "")


def opt_in_problems(checklist: Checklist, targets: Targets) -> list[Problem]:
    """The targets file's ``opt_in:`` names items of this checklist whose probe writes (and only those)."""
    if not targets.opt_in:
        return []
    from readiness.errors import did_you_mean
    from readiness.registry import probes

    items = {i.id: i for i in checklist.items}
    registry = probes()
    writers = sorted(i.id for i in checklist.items if i.probe and getattr(registry.probes.get(i.probe), "writes",
                                                                            False))
    out = []
    for item_id, (line, col) in targets.opt_in.items():
        item = items.get(item_id)
        if item is None:
            out.append(Problem(targets.path or "targets", line, col, f"opt_in: {item_id!r} is not an item of "
                               f"{checklist.path}" + (did_you_mean(item_id, writers) or
                                                      f" (items that write: {', '.join(writers) or 'none'})")))
        elif item_id not in writers:
            out.append(Problem(targets.path or "targets", line, col, f"opt_in: {item_id} does not write, so there "
                               f"is nothing to opt in to (items that write: {', '.join(writers) or 'none'})"))
    return out


def notices_for_inputs(inputs: Inputs) -> list[str]:
    """What ``validate`` can say about waivers and attestations before running anything."""
    from readiness.waivers import unknown_ids

    ids = [i.id for i in inputs.checklist.items]
    return (unknown_ids(ids, inputs.waivers, inputs.waivers_path, "waiver")
            + unknown_ids(ids, inputs.attestations, inputs.attestations_path, "attestation"))


def deployment_of(targets: Targets, preset: str | None) -> Deployment:
    """Compose or Kubernetes, as the targets file says it or its targets and the preset imply it."""
    return infer(targets.deployment, targets.configs, preset)


def resolved(options: Options, targets: Targets) -> Options:
    """The options with the deployment kind filled in (unless the caller gave one)."""
    return options if options.deployment else replace(options, deployment=deployment_of(targets, options.preset))


def _something_to_audit(inputs: Inputs, planned: list[Planned]) -> None:
    """A run that would judge nothing is bad input, never READY: every item skipped, or no target to probe."""
    from readiness.registry import probes

    registry = probes()
    probed = [p for p in planned if not p.status]
    runnable = [p for p in probed if registry.probes[p.item.probe or ""].target in (None, *inputs.targets.configs)]
    needs_targets = any(registry.probes[p.item.probe or ""].target for p in probed)
    attested = {a.id for a in inputs.attestations} & {p.item.id for p in planned if p.status == "manual"}
    manual = any(p.status == "manual" for p in planned)
    if inputs.targets.path is None and needs_targets and not attested:
        why = "no targets file was given (-t FILE or $READINESS_TARGETS), so no probe can run"
    elif runnable or attested or (manual and inputs.targets.path is not None):
        return  # something is observed, attested, or (with a targets file) awaiting attestation
    elif all(p.status == "skipped" for p in planned):
        why = "every item is skipped (--only/--skip, presets, profiles, deployment kind)"
    elif inputs.targets.path is None:
        why = "no targets file was given (-t FILE or $READINESS_TARGETS)"
    else:
        wanted = sorted({registry.probes[p.item.probe or ""].target or "" for p in probed} - {""})
        why = f"no selected item's target is configured in {inputs.targets.path} (they need: {', '.join(wanted)})"
    raise ConfigError(f"nothing was audited: {why}")


def _in_the_products_words(results: list[Result], preset: str | None) -> None:
    """Where the product documents the knob, the remediation says it in its own terms first (the Helm values key,
    the env var, the compose line, with a snippet to paste); the checklist's generic fix follows."""
    from readiness.remediation import for_item

    for result in results:
        entry = for_item(result.id, preset) if result.status not in ("pass", "skipped") else None
        if entry is None:
            continue
        where = ", ".join(f"{kind} {name}" for kind, name in entry["where"].items())
        text = f"{preset}: {entry['text']} ({where})"
        if entry.get("snippet"):
            text += "\n" + entry["snippet"].rstrip("\n")
        result.remediation = f"{text}\nGenerally: {result.remediation}" if result.remediation else text


def execute(inputs: Inputs, options: Options, fail_on: str, on_result: Callable[[Result], None] | None = None,
            today: dt.date | None = None) -> tuple[dict, list[Result]]:
    from readiness import report
    from readiness.runner import close_sessions, plan, run

    started = dt.datetime.now(dt.timezone.utc)
    options = resolved(options, inputs.targets)
    planned = plan(inputs.checklist, options)
    _something_to_audit(inputs, planned)
    results, sessions = run(planned, inputs.targets, options, on_result=on_result)
    close_sessions(sessions)
    _in_the_products_words(results, options.preset)
    notices = apply(results, inputs.waivers, inputs.attestations, today or started.date(),
                    inputs.waivers_path, inputs.attestations_path)
    finished = dt.datetime.now(dt.timezone.utc)
    built = report.build(inputs.checklist, inputs.targets, results, profile=options.profile, preset=options.preset,
                         fail_on=fail_on, started=started, finished=finished, notices=notices,
                         deployment=options.deployment)
    return built, results
