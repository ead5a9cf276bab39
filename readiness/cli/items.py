"""Commands that read the checklist and the inputs without probing: `validate`, `list`, `explain`, `probes`."""

from __future__ import annotations

from typing import Any

import click

from readiness.cli import plain
from readiness.cli.base import _attest_opt, _checklist_opt, _fail, _guard, _targets_opt, _waivers_opt, cli


@cli.command()
@_checklist_opt
@_targets_opt
@_waivers_opt
@_attest_opt
@_guard
def validate(checklist: str | None, targets: str | None, waivers: str | None, attestations: str | None) -> None:
    """Check the checklist, targets, waivers and attestations without probing anything."""
    from readiness.audit import load_inputs, notices_for_inputs

    inputs = load_inputs(checklist, targets, waivers, attestations)
    for notice in notices_for_inputs(inputs):
        click.echo(f"note: {notice}", err=True)
    click.echo(plain.summary(inputs.checklist))
    if targets:
        from readiness.audit import deployment_of

        kind = deployment_of(inputs.targets, inputs.targets.preset)
        chart = inputs.targets.configs.get("kubernetes", {}).get("chart")
        if chart and kind.kind != "compose":  # the audit would make every Kubernetes item an error: say it now
            from readiness.clients.chart import RenderError, render

            try:
                render(inputs.targets.configs["kubernetes"])
            except RenderError as exc:
                _fail(f"{targets}: kubernetes: {inputs.targets.scrubber()(str(exc))}")
        click.echo(f"{targets}: valid: {', '.join(inputs.targets.configs) or 'no backends'}")
        click.echo(f"{targets}: deployment: {kind.kind or 'unknown'} ({kind.why})")
        for ignored in kind.conflicts:
            click.echo(f"note: {targets}: deployment: {kind.kind} is said outright, so {ignored}", err=True)
    for path, records in ((waivers, inputs.waivers), (attestations, inputs.attestations)):
        if path:
            click.echo(f"{path}: valid: {len(records)} records")


@cli.command("list")
@_checklist_opt
@click.option("--profile", type=click.Choice(plain.PROFILES), default="production", show_default=True)
@_guard
def list_items(checklist: str | None, profile: str) -> None:
    """Every item: id, level, and its probe (or 'manual')."""
    from readiness.checklist import load_checklist

    for line in plain.list_lines(load_checklist(checklist), profile):
        click.echo(line)


@cli.command()
@click.argument("item_id", metavar="ID")
@_checklist_opt
@_guard
def explain(item_id: str, checklist: str | None) -> None:
    """Why an item matters, how it is probed, and how to fix it."""
    from readiness.checklist import load_checklist
    from readiness.errors import ConfigError, did_you_mean

    cl = load_checklist(checklist)
    item = cl.find(item_id)
    if item is None:
        raise ConfigError(f"no item {item_id!r} in {cl.path}" + did_you_mean(item_id, [i.id for i in cl.items]))
    level = item.level if isinstance(item.level, str) else ", ".join(f"{k}: {v}" for k, v in item.level.items())
    click.echo(f"{item.id}: {item.title}\n")
    click.echo(f"  section      {item.section}\n  level        {level}")
    if item.presets:
        click.echo(f"  presets      {', '.join(item.presets)}")
    if item.except_presets:
        click.echo(f"  not for      {', '.join(item.except_presets)}")
    if item.deployments:
        click.echo(f"  deployments  {', '.join(item.deployments)}")
    if item.manual:
        click.echo("  probe        none: manual, satisfied by an attestation")
    else:
        click.echo(f"  probe        {item.probe}")
        for key, value in item.params.items():
            click.echo(f"    {key}: {_show(value)}")
        for preset, values in item.preset_params.items():
            click.echo(f"    for {preset}: " + ", ".join(f"{k}={_show(v)}" for k, v in values.items()))
    click.echo(f"\nWhy:\n  {item.rationale}")
    if item.remediation:
        click.echo(f"\nFix:\n  {item.remediation}")
    if item.source:
        click.echo(f"\nSource:\n  {item.source}")


def _show(value: Any) -> str:
    from readiness.matchers import Expect

    return value.describe() if isinstance(value, Expect) else repr(value)


@cli.command()
@click.option("--formats", is_flag=True, help="List report formats instead.")
@_guard
def probes(formats: bool) -> None:
    """Every registered probe kind and its parameters."""
    from readiness.registry import probes as registered
    from readiness.registry import reporter_names

    if formats:
        for name in reporter_names():
            click.echo(name)
        return
    reg = registered()
    for kind in sorted(reg.probes):
        p = reg.probes[kind]
        click.echo(f"{kind}  (target: {p.target or 'none'})")
        if p.summary:
            click.echo(f"    {p.summary}")
        for name, param in p.params.items():
            default = "required" if param.required else f"default {param.default!r}"
            hint = f": {param.help}" if param.help else ""
            click.echo(f"    {name} ({param.type}, {default}){hint}")
    from readiness.clients import KINDS

    len(KINDS)  # loads the target kinds' entry points, so broken ones are reported too
    for where, why in {**reg.broken, **getattr(KINDS, "broken", {})}.items():
        click.echo(f"broken plugin {where}: {why}", err=True)
