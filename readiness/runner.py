"""Plan which items run, then run their probes concurrently with per-item timeouts and a global deadline.

Fail-closed: the runner, not the probe, turns exceptions, timeouts and missing targets into ``error`` results;
only a probe's explicit ``pass`` verdict becomes ``pass``.  Worker threads are daemons, so a probe stuck in a
C call can neither stall the run past its deadline nor keep the process alive after it.
"""

from __future__ import annotations

import fnmatch
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from readiness.checklist import Checklist, Item
from readiness.context import Context, NotInDeployment, Session, TargetUnavailable
from readiness.deployment import Deployment
from readiness.errors import ConfigError
from readiness.models import EXCLUDED, NOT_SELECTED, Result, bounded, jsonable, shorten
from readiness.probe import Probe, Verdict
from readiness.registry import Registry, StaleIndex, probes, resolved
from readiness.targets import Targets


@dataclass(frozen=True)
class Options:
    profile: str = "production"
    preset: str | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    timeout: float = 10.0
    deadline: float = 300.0
    concurrency: int = 16
    deployment: Deployment | None = None  # None: not resolved (readiness.audit resolves it from the targets)


@dataclass
class Planned:
    item: Item
    level: str
    status: str | None = None  # decided without running: skipped or manual
    message: str = ""
    params: dict[str, Any] = field(default_factory=dict)


def _selected(item: Item, patterns: Iterable[str]) -> bool:
    return any(item.id == p or item.section == p or fnmatch.fnmatchcase(item.id, p) for p in patterns)


def asked(item: Item, options: Options) -> bool:
    """Whether --only/--skip leave the item in the run (the rest is not reported item by item)."""
    return (not options.only or _selected(item, options.only)) and not _selected(item, options.skip)


def _deployment_kinds(item: Item, reg: Registry) -> tuple[str, ...] | None:
    """The deployment kinds an item applies to: its own (or its section's) declaration, else its probe's target's."""
    if item.deployments or item.manual:
        return item.deployments
    probe = reg.probes.get(item.probe or "")
    if probe is None or not probe.target:
        return None
    from readiness.clients import KINDS

    kind = KINDS.get(probe.target)
    return kind.deployments if kind is not None else None


def plan(checklist: Checklist, options: Options, registry: Registry | None = None) -> list[Planned]:
    reg = registry or (probes() if options.deployment else None)
    for flag, patterns in (("--only", options.only), ("--skip", options.skip)):
        for pattern in patterns:
            if not any(_selected(item, [pattern]) for item in checklist.items):
                raise ConfigError(f"{flag} {pattern}: matches no item id or section of {checklist.path}")
    out = []
    for item in checklist.items:
        p = Planned(item, item.level_for(options.profile))
        if options.only and not _selected(item, options.only):
            p.status, p.message = "skipped", f"{NOT_SELECTED}{' '.join(options.only)})"
        elif _selected(item, options.skip):
            p.status, p.message = "skipped", f"{EXCLUDED}{' '.join(options.skip)}"
        elif item.presets and options.preset not in item.presets:
            only = ", ".join(item.presets)
            p.status = "skipped"
            p.message = (f"applies to {only} only (preset is {options.preset})" if options.preset
                         else f"applies to {only} only; no preset set (preset: in the targets file, or --preset)")
        elif item.except_presets and options.preset in item.except_presets:
            p.status, p.message = "skipped", f"does not apply to the {options.preset} preset"
        elif options.deployment and reg and (why := options.deployment.skips(_deployment_kinds(item, reg))):
            p.status, p.message = "skipped", why
        elif item.profiles and options.profile not in item.profiles:
            p.status, p.message = "skipped", f"applies to the {', '.join(item.profiles)} profile only"
        elif item.manual:
            p.status, p.message = "manual", "awaiting attestation"
        else:
            p.params = item.params_for(options.preset)
        out.append(p)
    return out


def set_aside_targets(deployment: Deployment | None) -> dict[str, str]:
    """Target kinds that do not exist in this deployment, and why (the kubernetes target on compose)."""
    if deployment is None or deployment.kind is None:
        return {}
    from readiness.clients import KINDS

    out = {}
    for name in list(KINDS):
        if deployment.skips(KINDS[name].deployments):
            out[name] = f"{deployment.kind} deployment ({deployment.why}): the {name} target does not apply"
    return out


def is_timeout(exc: BaseException) -> bool:
    """A timeout of any client library (they rarely derive from TimeoutError), or one it wrapped."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, TimeoutError) or any("Timeout" in c.__name__ for c in type(current).__mro__):
            return True
        if "timed out" in str(current).lower():
            return True
        current, seen = current.__cause__ or current.__context__, seen + 1
    return False


def describe_exception(exc: BaseException) -> str:
    if isinstance(exc, (TargetUnavailable, ConfigError)):
        return str(exc)
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(exc, TimeoutError) and not first:
        return "timed out"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _result(p: Planned, status: str, message: str, evidence: Mapping[str, Any] | None = None,
            duration: float = 0.0, tb: str | None = None) -> Result:
    item = p.item
    return Result(item.id, item.section, item.title, p.level, status, item.probe, message,
                  dict(evidence or {}), item.rationale, item.remediation, duration, traceback=tb)


class _Job:
    def __init__(self, index: int, planned: Planned, probe: Probe, timeout: float):
        self.index, self.planned, self.probe, self.timeout = index, planned, probe, timeout
        self.started: float | None = None


def run(planned: list[Planned], targets: Targets, options: Options, registry: Registry | None = None,
        on_result: Callable[[Result], None] | None = None) -> tuple[list[Result], dict[str, Session]]:
    """Run every planned item; results in checklist order, and the sessions used (for round-trip counts)."""
    reg = registry or probes()
    scrub = targets.scrubber()
    started_at = time.monotonic()
    hard_deadline = started_at + options.deadline
    results: list[Result | None] = [None] * len(planned)

    def finish(index: int, result: Result) -> None:
        result.message = shorten(scrub.text(result.message))
        result.evidence = bounded(scrub(jsonable(result.evidence)))
        result.traceback = scrub.text(result.traceback) if result.traceback else None
        results[index] = result
        if on_result:
            on_result(result)

    # Targets of a kind the deployment is not (a kubernetes target beside an explicit `deployment: compose`) are not
    # read: an item that asks for one is skipped with the reason, like the items planned away.
    set_aside = set_aside_targets(options.deployment)
    configs = {kind: cfg for kind, cfg in targets.configs.items() if kind not in set_aside}

    jobs: list[_Job] = []
    for index, p in enumerate(planned):
        if p.status:
            finish(index, _result(p, p.status, p.message))
            continue
        probe = reg.probes[p.item.probe or ""]
        if probe.target in set_aside:
            finish(index, _result(p, "skipped", set_aside[probe.target]))
            continue
        if probe.target and probe.target not in configs:
            finish(index, _result(p, "error", f"no {probe.target} target configured (add '{probe.target}:' to the "
                                              f"targets file, or --skip {p.item.section})"))
            continue
        try:
            probe = resolved(probe)  # its module is imported here, outside the item's timeout
        except StaleIndex as exc:  # planned with the index's defaults, not the probe's: never run, never a pass
            finish(index, _result(p, "error", str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - a plugin that no longer imports: this item's error, not the run's
            finish(index, _result(p, "error", f"probe {probe.kind} could not be loaded: {type(exc).__name__}: {exc}"))
            continue
        jobs.append(_Job(index, p, probe, p.item.timeout or options.timeout))

    # A client's own timeouts follow the longest item timeout of its target (an item's `timeout:` raises them),
    # a little under it, so the client gives up before the runner reports the item.
    longest = {kind: options.timeout for kind in configs}
    for job in jobs:
        if job.probe.target in longest:
            longest[job.probe.target] = max(longest[job.probe.target], job.timeout)
    sessions = {kind: Session(kind, cfg, max(0.2, longest[kind] * 0.8)) for kind, cfg in configs.items()}

    done: queue.Queue[tuple[_Job, Verdict | None, BaseException | None, str | None, float]] = queue.Queue()
    todo: queue.Queue[_Job | None] = queue.Queue()
    for job in jobs:
        todo.put(job)

    def work() -> None:
        while True:
            job = todo.get()
            if job is None:
                return
            job.started = time.monotonic()
            verdict: Verdict | None = None
            error: BaseException | None = None
            tb = None
            try:
                ctx = Context(job.planned.item.id, job.probe.target, sessions, configs, options.preset,
                              options.profile, job.timeout, min(job.started + job.timeout, hard_deadline),
                              frozenset(job.probe.declared_reads(job.planned.params)), set_aside,
                              opted_in=job.planned.item.id in targets.opt_in)
                verdict = job.probe(ctx, dict(job.planned.params))
            except BaseException as exc:  # noqa: BLE001 - every failure of a probe becomes an error result
                error, tb = exc, traceback.format_exc()
            done.put((job, verdict, error, tb, time.monotonic() - job.started))

    def spawn() -> None:
        threading.Thread(target=work, daemon=True, name="readiness-probe").start()

    for _ in range(min(max(1, options.concurrency), len(jobs))):
        spawn()

    pending = {job.index: job for job in jobs}
    try:
        _wait_for(pending, done, hard_deadline, todo, options, sessions, finish, spawn)
    except KeyboardInterrupt:
        # the items' threads die with the process: undo their writes now, and say what became of them
        undone = _cleanups(sessions, None)
        raise Interrupted("; ".join(undone)) from None
    for _ in range(options.concurrency + len(jobs)):
        todo.put(None)
    return [r for r in results if r is not None], sessions


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run; the message says what became of the writes the run had to undo (if any)."""


def _cleanups(sessions: Mapping[str, Session], item_id: str | None) -> list[str]:
    return [note for s in sessions.values() for note in s.run_cleanups(item_id)]


def _wait_for(pending: dict[int, _Job], done: queue.Queue[Any], hard_deadline: float,
              todo: queue.Queue[_Job | None], options: Options, sessions: dict[str, Session],
              finish: Callable[[int, Result], None], spawn: Callable[[], None]) -> None:
    """Collect verdicts as they come; report items past their timeout (or the run's deadline) as errors."""
    while pending:
        now = time.monotonic()
        expiries = [j.started + j.timeout for j in pending.values() if j.started is not None]
        wake = min([hard_deadline, *expiries]) - now
        try:
            job, verdict, error, tb, duration = done.get(timeout=max(0.0, wake))
        except queue.Empty:
            now = time.monotonic()
            if now >= hard_deadline:
                _drain(todo)  # nothing new starts once the deadline has passed
            for j in list(pending.values()):
                if now >= hard_deadline:
                    why = (f"timed out: the run's deadline of {options.deadline:g}s was reached" if j.started
                           else f"not run: the run's deadline of {options.deadline:g}s was reached")
                elif j.started is not None and now >= j.started + j.timeout:
                    why = f"timed out after {j.timeout:g}s"
                else:
                    continue
                session = sessions.get(j.probe.target or "")
                if session is not None and j.started is not None:
                    if session.failed is not None and not session.connecting:
                        why = describe_exception(session.failed)
                    else:
                        where = " while connecting to it" if session.connecting else ""
                        why += f" while connecting to the {session.kind} target" if session.connecting else ""
                        # The first timeout is final for the target: its waiting and later items end at once.
                        session.fail(f"the {session.kind} target did not answer: item {j.planned.item.id} timed "
                                     f"out{where} after {j.timeout:g}s")
                del pending[j.index]
                undone = _cleanups(sessions, j.planned.item.id) if j.started is not None else []
                if undone:
                    why += "; " + "; ".join(undone)
                finish(j.index, _result(j.planned, "error", why, {"cleanup": undone} if undone else None,
                                        duration=now - (j.started or now)))
                if j.started is not None and now < hard_deadline:
                    spawn()  # the stuck worker is lost to the pool; keep the concurrency
            continue
        session = sessions.get(job.probe.target or "")
        if session is not None and error is not None and is_timeout(error):
            # The client's own timeout fired first: as final for the target as the runner's would be.
            session.fail(f"the {session.kind} target did not answer: item {job.planned.item.id} timed out "
                         f"({describe_exception(error)})")
        if job.index not in pending:
            continue  # finished after its timeout was already reported
        del pending[job.index]
        finish(job.index, _judged(job.planned, verdict, error, tb, duration))


def _drain(q: queue.Queue[_Job | None]) -> None:
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        pass


def _judged(p: Planned, verdict: Verdict | None, error: BaseException | None, tb: str | None,
            duration: float) -> Result:
    if error is not None:
        if isinstance(error, NotInDeployment):  # beyond the probe's sight by the deployment's nature
            result = _result(p, "error", str(error), duration=duration)
            result.attestable = True
            return result
        if isinstance(error, TargetUnavailable):
            tb = None
        return _result(p, "error", describe_exception(error), duration=duration, tb=tb)
    if not isinstance(verdict, Verdict):
        return _result(p, "error", f"probe {p.item.probe} returned {type(verdict).__name__}, not a verdict",
                       duration=duration)
    if verdict.status == "skipped" and not verdict.message:
        return _result(p, "error", "probe skipped the item without a reason", duration=duration)
    result = _result(p, verdict.status, verdict.message or verdict.status, verdict.evidence, duration)
    result.attestable = verdict.status == "error" and verdict.attestable
    return result


def close_sessions(sessions: Mapping[str, Session], wait: float = 2.0) -> None:
    """Close clients in the background (every item is done or abandoned by now): a hung close must not hold the exit."""
    threads = [threading.Thread(target=s.close, daemon=True) for s in sessions.values()]
    for t in threads:
        t.start()
    end = time.monotonic() + wait
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
