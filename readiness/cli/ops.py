"""Commands beside the audit: `demo`, `rbac`, `check-files` (the pre-commit hook), `fleet`, `init`."""

from __future__ import annotations

import os
import sys

import click

from readiness.cli.base import _SCRUBBERS, EXIT_BLOCKED, EXIT_READY, _checklist_opt, _fail, _guard, _targets_opt, cli
from readiness.cli.run import _outputs
from readiness.presets import PRESETS, PROFILES


@cli.command()
@click.option("--out", default="out", show_default=True, metavar="DIR", help="Where to write targets.yaml and the "
              "reports.")
@_guard
def demo(out: str) -> None:
    """Start a local Redis and PostgreSQL set up like a typical first deployment, audit them, write the reports,
    stop them. Exit 0 ready, 1 blocked (expected: the demo has findings), 2 could not start the demo."""
    from pathlib import Path

    from readiness.demo.run import run_demo

    try:
        code = run_demo(Path(out), echo=click.echo)
    except (OSError, RuntimeError, TimeoutError) as exc:
        _fail(f"demo: could not start the demo stack: {exc}")
    sys.exit(code)


@cli.command()
@_checklist_opt
@_targets_opt
@click.option("--profile", type=click.Choice(PROFILES), default=None)
@click.option("--preset", type=click.Choice(PRESETS), default=None)
@click.option("--only", multiple=True, metavar="ID|SECTION")
@click.option("--skip", multiple=True, metavar="ID|SECTION")
@click.option("--service-account", default="readiness", show_default=True, help="ServiceAccount the audit runs as.")
@click.option("--namespace", "sa_namespace", default="readiness", show_default=True,
              help="Namespace of that ServiceAccount.")
@_guard
def rbac(checklist: str | None, targets: str | None, profile: str | None, preset: str | None,
         only: tuple[str, ...], skip: tuple[str, ...], service_account: str, sa_namespace: str) -> None:
    """The minimal Kubernetes RBAC (get/list only) for the items that would run, derived from what each probe
    declares it reads: a Role in each namespace the kubernetes target names. Reads only that target, so the
    datastores' ${VARS} need not be set here."""
    from readiness import rbac as rbac_rules
    from readiness.audit import load_inputs
    from readiness.runner import Options

    # only the kubernetes target is read: the datastores' credentials live in the cluster's Secret, not here
    inputs = load_inputs(checklist, targets, target_sections=("kubernetes",))
    options = Options(profile=profile or inputs.targets.profile or "production",
                      preset=preset or inputs.targets.preset, only=only, skip=skip)
    docs = rbac_rules.manifests(inputs.checklist, inputs.targets, options, name=service_account,
                                namespace=sa_namespace)
    click.echo(rbac_rules.render(docs), nl=False)


@cli.command("check-files")
@click.argument("paths", nargs=-1, metavar="FILE...")
@_checklist_opt
@click.option("--preset", type=click.Choice(PRESETS),
              help="Product preset (its items and names); without it, product-specific items are skipped.")
@click.option("--profile", type=click.Choice(PROFILES), default="production",
              show_default=True)
@click.option("--fail-on", type=click.Choice(["required", "recommended", "optional"]), default="required",
              show_default=True, help="Lowest level whose findings block.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True, help="Seconds per item.")
@_guard
def check_files(paths: tuple[str, ...], checklist: str | None, preset: str | None, profile: str, fail_on: str,
                timeout: float) -> None:
    """The static items on compose, env and Helm values files (a pre-commit hook's files); other files are ignored.
    No targets file, no network. Exit 0 nothing blocks, 1 blocking findings, 2 bad input."""
    from readiness import checkfiles
    from readiness.checklist import load_checklist

    blocking = 0
    found = checkfiles.groups(paths)
    loaded = load_checklist(checklist) if found else None
    for group in found:
        assert loaded is not None
        outcome = checkfiles.check(group, loaded, preset, profile, fail_on, timeout)
        _SCRUBBERS.clear()
        if outcome.lines:
            click.echo(f"readiness: {', '.join(outcome.files)}:")
            for line in outcome.lines:
                click.echo(line)
        blocking += outcome.blocking
    checked = sum(len(g) for g in found)
    if blocking:
        click.echo(f"readiness: {blocking} blocking finding(s) in {checked} file(s) (--fail-on {fail_on})")
        sys.exit(EXIT_BLOCKED)
    click.echo(f"readiness: {checked} file(s) checked, nothing blocks (--fail-on {fail_on})")


@cli.command()
@click.argument("source", metavar="DIR|s3://BUCKET/PREFIX/")
@click.option("-o", "--html", "html_out", default="fleet.html", show_default=True, metavar="FILE",
              help="Where to write the overview ('-' for stdout).")
@click.option("--stale-hours", type=click.FloatRange(min=0), default=36.0, show_default=True,
              help="Flag clusters whose latest report is older than this.")
@click.option("--max-clusters", type=click.IntRange(min=1), default=25_000, show_default=True,
              help="Clusters on the page at most (the page says when some were left out).")
@_guard
def fleet(source: str, html_out: str, stale_hours: float, max_clusters: int) -> None:
    """One HTML overview of the latest report of every cluster (JSON reports in a directory, or uploaded with
    --upload). Exit 1 when a cluster is not ready or its latest report is unreadable."""
    from readiness import fleet as fleet_view
    from readiness import fsio

    _outputs({"html": html_out}, (), inputs=())
    page_dir = os.path.dirname(os.path.abspath(html_out)) if html_out != "-" else os.getcwd()
    found = fleet_view.collect(source, page_dir, max_clusters=max_clusters)
    if not found.rows:
        from readiness.errors import ConfigError

        notices = found.notices
        raise ConfigError(f"{source}: no readiness report found" + (f" ({notices[-1]})" if notices else ""))
    page = fleet_view.render(found, source, stale_hours=stale_hours)
    if html_out == "-":
        click.echo(page, nl=False)
    else:
        fsio.write_text(html_out, page)
    for notice in found.notices:
        click.echo(f"note: {notice}", err=True)
    not_ready = sum(r.verdict != "ready" for r in found.rows)
    unreadable = sum(r.verdict == fleet_view.UNREADABLE for r in found.rows)
    click.echo(f"{len(found.rows)} clusters, {not_ready} not ready"
               + (f" ({unreadable} unreadable)" if unreadable else "")
               + (f": {html_out}" if html_out != "-" else ""), err=True)
    sys.exit(EXIT_BLOCKED if not_ready else EXIT_READY)


@cli.command("init")
@click.option("--preset", required=True, type=click.Choice(PRESETS))
@click.option("--from-env", "env_file", required=True, metavar="FILE", help="The application's env file.")
@click.option("--from-values", "values_file", metavar="FILE", help="Its Helm values file.")
@click.option("--from-compose", "compose_file", metavar="FILE", help="Its docker compose file.")
@click.option("-o", "--output", default="targets.yaml", show_default=True, metavar="FILE", help="'-' for stdout.")
@_guard
def init_targets(preset: str, env_file: str, values_file: str | None, compose_file: str | None, output: str) -> None:
    """Write a targets file for the stack the application is configured to use (secrets as ${VAR} references)."""
    from readiness import init

    exports = init.write(preset, env_file, output, values_file, compose_file)
    if output != "-":
        click.echo(f"wrote {output}" + (f"; export {', '.join(exports)} before `readiness audit -t {output}`"
                                        if exports else ""))
