"""`audit` and the report files: `audit` probes and writes every report asked for, `render` and `diff` read
saved JSON reports."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from readiness.cli.base import (
    _SCRUBBERS,
    EXIT_BLOCKED,
    EXIT_CONFIG,
    EXIT_READY,
    _attest_opt,
    _checklist_opt,
    _fail,
    _guard,
    _scrub,
    _targets_opt,
    _waivers_opt,
    cli,
)
from readiness.presets import PRESETS, PROFILES


@cli.command()
@_checklist_opt
@_targets_opt
@click.option("--profile", type=click.Choice(PROFILES),
              help="Levels to apply (default: the targets file's, else production).")
@click.option("--preset", type=click.Choice(PRESETS),
              help="Product preset (default: the targets file's).")
@click.option("--only", multiple=True, metavar="ID|SECTION", help="Run only these items or sections (glob ok).")
@click.option("--skip", multiple=True, metavar="ID|SECTION", help="Skip these items or sections (glob ok).")
@_waivers_opt
@_attest_opt
@click.option("--fail-on", type=click.Choice(["required", "recommended", "optional", "never"]), default="required",
              show_default=True, help="Lowest level whose fail/error/manual items block the gate.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds per item (and for the --pushgateway push).")
@click.option("--deadline", type=click.FloatRange(min=1), default=300.0, show_default=True,
              help="Seconds for the whole run.")
@click.option("--concurrency", type=click.IntRange(min=1, max=256), default=16, show_default=True)
@click.option("--json", "json_out", metavar="FILE", help="Write the JSON report ('-' for stdout).")
@click.option("--html", "html_out", metavar="FILE", help="Write the HTML report.")
@click.option("--junit", "junit_out", metavar="FILE", help="Write JUnit XML.")
@click.option("--markdown", "markdown_out", metavar="FILE", help="Write Markdown.")
@click.option("--sarif", "sarif_out", metavar="FILE", help="Write SARIF 2.1.0 (static findings with file:line).")
@click.option("--prometheus", "prometheus_out", metavar="FILE",
              help="Write the Prometheus text format (for node_exporter's textfile collector).")
@click.option("--report", "extra_out", multiple=True, metavar="FORMAT=FILE",
              help="Write any registered format (see `readiness probes --formats`).")
@click.option("--upload", "upload_to", metavar="s3://BUCKET/PREFIX/",
              help="Also put the JSON report there, one key per cluster and run (for `readiness fleet`).")
@click.option("--pushgateway", "pushgateway_url", metavar="URL",
              help="Also push the Prometheus metrics to this Pushgateway, grouped by job=readiness and cluster "
                   "(bounded by --timeout; a failed push exits 2).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary and what blocks.")
@click.option("--color/--no-color", default=None, help="Colour the terminal output (default: on a TTY).")
@_guard
def audit(checklist: str | None, targets: str | None, profile: str | None, preset: str | None,
          only: tuple[str, ...], skip: tuple[str, ...], waivers: str | None, attestations: str | None,
          fail_on: str, timeout: float, deadline: float, concurrency: int, json_out: str | None,
          html_out: str | None, junit_out: str | None, markdown_out: str | None, sarif_out: str | None,
          prometheus_out: str | None, extra_out: tuple[str, ...], upload_to: str | None,
          pushgateway_url: str | None, quiet: bool, color: bool | None) -> None:
    """Probe the stack and judge every checklist item. Exit 0 ready, 1 blocked, 2 bad input or a result that
    could not be delivered (a report file, --upload, --pushgateway), 3 internal error."""
    from readiness.audit import execute, load_inputs
    from readiness.reports import text
    from readiness.runner import Options, asked

    outputs = _outputs({"json": json_out, "html": html_out, "junit": junit_out, "markdown": markdown_out,
                        "sarif": sarif_out, "prometheus": prometheus_out}, extra_out,
                       inputs=(checklist or _default_checklist(), targets, waivers, attestations))
    if upload_to:
        from readiness import upload

        upload.parse(upload_to)  # a malformed destination is found before the audit, not after it
    if pushgateway_url:
        from readiness import pushgateway

        pushgateway.parse(pushgateway_url)
    inputs = load_inputs(checklist, targets, waivers, attestations)
    _SCRUBBERS.append(inputs.targets.scrubber())
    options = Options(profile=profile or inputs.targets.profile or "production",
                      preset=preset or inputs.targets.preset, only=only, skip=skip, timeout=timeout,
                      deadline=deadline, concurrency=concurrency)
    to_stderr = "-" in outputs.values()
    tty = (sys.stderr if to_stderr else sys.stdout).isatty()
    color = tty if color is None else color
    wanted = sum(asked(item, options) for item in inputs.checklist.items)  # the progress counts what was asked
    progress = _Progress(wanted) if sys.stderr.isatty() and not os.environ.get("CI") else None
    report, results = execute(inputs, options, fail_on, on_result=progress.step if progress else None)
    if progress:
        progress.close()
    click.echo(text.render(report, color=color, quiet=quiet), nl=False, err=to_stderr, color=color)
    debug = click.get_current_context().find_root().params.get("debug")
    if debug:
        for r in results:
            if r.traceback:
                click.echo(f"--- {r.id}\n{r.traceback}", err=True)
    _write_outputs(report, outputs)
    pushed = _push(report, pushgateway_url, timeout) if pushgateway_url else True
    if upload_to:  # a failed push does not cost the upload
        from readiness import upload

        click.echo(f"uploaded the report to {upload.upload(report, upload_to)}", err=True)
    if not pushed:
        sys.exit(EXIT_CONFIG)
    sys.exit(EXIT_READY if report["summary"]["verdict"] == "ready" else EXIT_BLOCKED)


def _push(report: dict[str, Any], url: str, timeout: float) -> bool:
    """Push the metrics and say where, or in one line why not (the verdict is printed already)."""
    from readiness import pushgateway
    from readiness.errors import ConfigError

    try:
        click.echo(f"pushed the metrics to {pushgateway.push(report, url, timeout, scrub=_scrub)}", err=True)
    except ConfigError as exc:
        click.echo(f"readiness: {exc.text}", err=True)
        return False
    return True


def _outputs(fixed: dict[str, str | None], extra: tuple[str, ...],
             inputs: tuple[str | None, ...] = ()) -> dict[str, str]:
    from readiness.errors import ConfigError
    from readiness.registry import reporter_names

    outputs = {k: v for k, v in fixed.items() if v}
    for spec in extra:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            raise ConfigError(f"--report {spec}: expected FORMAT=FILE")
        outputs[name] = path
    known = reporter_names()
    for name in outputs:
        if name not in known:
            raise ConfigError(f"unknown report format {name!r} (known: {', '.join(known)})")
    if list(outputs.values()).count("-") > 1:
        raise ConfigError("only one report can be written to stdout ('-')")
    _check_writable(outputs, [p for p in inputs if p])
    return outputs


def _default_checklist() -> str:
    from readiness.checklist import default_path

    return default_path()


def _check_writable(outputs: dict[str, str], inputs: list[str]) -> None:
    """Every report path is checked before anything is audited: a run must not end by losing its verdict."""
    from readiness.errors import ConfigError

    seen: dict[str, str] = {}
    for name, path in outputs.items():
        if path == "-":
            continue
        real = os.path.realpath(path)
        for given in inputs:
            if os.path.exists(given) and os.path.realpath(given) == real:
                raise ConfigError(f"--{name} {path}: that is an input of this run; refusing to overwrite it")
        if real in seen:
            raise ConfigError(f"--{name} {path}: the {seen[real]} report is written there already")
        seen[real] = name
        parent = os.path.dirname(real) or "."
        if os.path.isdir(real):
            raise ConfigError(f"--{name} {path}: is a directory")
        if not os.path.isdir(parent):
            raise ConfigError(f"--{name} {path}: directory {os.path.dirname(path) or '.'} does not exist")
        if not os.access(real if os.path.exists(real) else parent, os.W_OK):
            raise ConfigError(f"--{name} {path}: not writable")


def _write_outputs(report: dict[str, Any], outputs: dict[str, str]) -> None:
    from readiness import fsio
    from readiness.registry import reporter

    for name, path in outputs.items():
        rendered = reporter(name).render(report)
        if path == "-":
            click.echo(rendered, nl=False)
            continue
        try:
            fsio.write_text(path, rendered)  # atomic: node_exporter or a CI step may read it at any moment
        except OSError as exc:  # checked before the audit, so this is the disk, not a bug: the verdict is printed
            _fail(f"cannot write the {name} report to {path}: {exc.strerror or exc}")


class _Progress:
    def __init__(self, total: int):
        self.total, self.done = total, 0

    def step(self, result: Any) -> None:
        from readiness.models import unselected

        if unselected(result.status, result.message):
            return
        self.done += 1
        width = 30
        filled = int(width * self.done / max(1, self.total))
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {result.id}"
        click.echo(f"{line[:100]:<100}", nl=False, err=True)

    def close(self) -> None:
        click.echo("\r" + " " * 100 + "\r", nl=False, err=True)


@cli.command()
@click.argument("report_path", metavar="REPORT.json")
@click.option("--html", "html_out", metavar="FILE", help="Write the HTML report ('-' for stdout).")
@click.option("--junit", "junit_out", metavar="FILE", help="Write JUnit XML.")
@click.option("--markdown", "markdown_out", metavar="FILE", help="Write Markdown.")
@click.option("--report", "extra_out", multiple=True, metavar="FORMAT=FILE", help="Write any registered format.")
@_guard
def render(report_path: str, html_out: str | None, junit_out: str | None, markdown_out: str | None,
           extra_out: tuple[str, ...]) -> None:
    """Render a saved JSON report to other formats, without probing anything."""
    from readiness.diffing import read_report
    from readiness.errors import ConfigError

    outputs = _outputs({"html": html_out, "junit": junit_out, "markdown": markdown_out}, extra_out,
                       inputs=(report_path,))
    if not outputs:
        raise ConfigError("nothing to render: give --html, --junit, --markdown or --report FORMAT=FILE")
    _write_outputs(read_report(report_path), outputs)


@cli.command()
@click.argument("old_path", metavar="OLD.json")
@click.argument("new_path", metavar="NEW.json")
@click.option("--json", "json_out", metavar="FILE", help="Write the comparison as JSON ('-' for stdout).")
@click.option("--fail-on", type=click.Choice(["required", "recommended", "optional"]), default=None,
              help="Judge blocking by this gate in both reports (default: the gate each report was run with).")
@_guard
def diff(old_path: str, new_path: str, json_out: str | None, fail_on: str | None) -> None:
    """New failures and fixes between two JSON reports. Exit 1 when an item blocks that did not block before."""
    import json

    from readiness import diffing, fsio

    result = diffing.compare(diffing.read_report(old_path), diffing.read_report(new_path), fail_on)
    click.echo(diffing.render_text(result), nl=False, err=json_out == "-")
    if json_out == "-":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    elif json_out:
        try:
            fsio.write_text(json_out, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            _fail(f"cannot write the diff to {json_out}: {exc.strerror or exc}")
    sys.exit(diffing.exit_code(result))
