"""Command line.  Only click is imported at start-up; everything else is imported by the command that needs it,
so ``readiness --help`` and ``readiness validate`` never load a database client."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from readiness import __version__

EXIT_READY, EXIT_BLOCKED, EXIT_CONFIG, EXIT_INTERNAL = 0, 1, 2, 3
FORMATS = ("json", "html", "junit", "markdown")

_checklist_opt = click.option("-c", "--checklist", "checklist", envvar="READINESS_CHECKLIST", metavar="FILE",
                              help="Checklist YAML (default: the packaged checklist.yaml).")
_targets_opt = click.option("-t", "--targets", "targets", envvar="READINESS_TARGETS", metavar="FILE",
                            help="Targets YAML: where the stack is.")
_waivers_opt = click.option("--waivers", metavar="FILE", help="Waivers YAML (a list of records).")
_attest_opt = click.option("--attestations", metavar="FILE", help="Attestations YAML (a list of records).")


def _fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    click.echo(f"readiness: {message}", err=True)
    sys.exit(code)


def _guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """User mistakes exit 2 with their own message; anything else is a bug: exit 3, traceback only with --debug."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from readiness.errors import ConfigError

        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            _fail(f"configuration error:\n{exc.text}" if "\n" in exc.text else f"configuration error: {exc.text}")
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as exc:
            if os.environ.get("READINESS_DEBUG") or click.get_current_context().find_root().params.get("debug"):
                import traceback

                click.echo(_scrub("".join(traceback.format_exc())), err=True, nl=False)
            _fail(_scrub(f"internal error: {type(exc).__name__}: {exc} (a bug; run with --debug for the traceback)"),
                  EXIT_INTERNAL)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="readiness")
@click.option("--debug", is_flag=True, help="Show tracebacks of probe errors and internal errors.")
def cli(debug: bool) -> None:
    """Audit a self-hosted LLM-observability stack against a production-readiness checklist."""


@cli.command()
@_checklist_opt
@_targets_opt
@click.option("--profile", type=click.Choice(["production", "non-production"]),
              help="Levels to apply (default: the targets file's, else production).")
@click.option("--preset", type=click.Choice(["langsmith", "langfuse", "langsight"]),
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
    items = inputs.checklist.items
    manual = sum(i.manual for i in items)
    click.echo(f"{inputs.checklist.path}: valid: {len(items)} items in {len(inputs.checklist.sections)} sections "
               f"({len(items) - manual} probed, {manual} manual)")
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
@click.option("--profile", type=click.Choice(["production", "non-production"]), default="production",
              show_default=True)
@_guard
def list_items(checklist: str | None, profile: str) -> None:
    """Every item: id, level, and its probe (or 'manual')."""
    from readiness.checklist import load_checklist

    cl = load_checklist(checklist)
    width = max((len(i.id) for i in cl.items), default=10)
    for section in cl.sections:
        click.echo(f"{section.id}: {section.title}")
        for item in section.items:
            presets = f"  [{', '.join(item.presets)}]" if item.presets else ""
            click.echo(f"  {item.id:<{width}}  {item.level_for(profile):<11}  {item.probe or 'manual'}{presets}")


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
@click.option("--profile", type=click.Choice(["production", "non-production"]), default=None)
@click.option("--preset", type=click.Choice(["langsmith", "langfuse", "langsight"]), default=None)
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
@click.option("--preset", type=click.Choice(["langsmith", "langfuse", "langsight"]),
              help="Product preset (its items and names); without it, product-specific items are skipped.")
@click.option("--profile", type=click.Choice(["production", "non-production"]), default="production",
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


def _debug_first(args: list[str]) -> list[str]:
    """--debug is a group option; accept it after the sub-command too, as the error messages suggest."""
    cut = args.index("--") if "--" in args else len(args)
    if "--debug" in args[1:cut]:
        args = ["--debug", *[a for i, a in enumerate(args) if not (a == "--debug" and i < cut)]]
    return args


# The run's scrubber, once its targets are loaded: tracebacks and library logs shown with --debug pass through it.
_SCRUBBERS: list[Any] = []


def _scrub(text: str) -> str:
    for scrubber in _SCRUBBERS:
        text = scrubber.text(text)
    return text


class _ScrubLogs:
    """A logging filter: a library's log line is masked like every result before it reaches stderr."""

    def filter(self, record: Any) -> bool:
        if _SCRUBBERS:
            record.msg, record.args = _scrub(record.getMessage()), ()
        return True


_TALKS_TO_TARGETS = ("audit", "demo", "fleet")


def _quiet_libraries(debug: bool) -> None:
    """Client libraries log connection failures with tracebacks (clickhouse-driver: "Failed to connect"); the
    results already say it in one sentence.  Their logs reach stderr with --debug only."""
    import logging

    root = logging.getLogger()
    if debug:
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(levelname)s: %(message)s")
        for handler in root.handlers:
            handler.addFilter(_ScrubLogs())
    else:
        root.addHandler(logging.NullHandler())  # no last-resort printing to stderr
        root.setLevel(logging.CRITICAL + 1)


def main(argv: list[str] | None = None, prog_name: str = "readiness") -> None:
    """The console script; the kubectl plugin (readiness.kubectl) calls it with its own arguments and name."""
    args = _debug_first(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args if not a.startswith("-")), None)
    if command in _TALKS_TO_TARGETS:  # only these load client libraries; the others stay free of logging's import
        _quiet_libraries("--debug" in args or bool(os.environ.get("READINESS_DEBUG")))
    try:
        cli.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:  # click turns Ctrl-C into Abort: keep what the runner said about cleanup
        cause = exc.__cause__
        _fail(f"interrupted: {cause}" if isinstance(cause, KeyboardInterrupt) and str(cause) else "aborted", 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_CONFIG)
    except KeyboardInterrupt as exc:  # the runner's Interrupted says what became of the writes it undid
        _fail(f"interrupted: {exc}" if str(exc) else "interrupted", 130)
    except BrokenPipeError:  # `readiness list | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BLOCKED)


@cli.command("init")
@click.option("--preset", required=True, type=click.Choice(["langsmith", "langfuse", "langsight"]))
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
