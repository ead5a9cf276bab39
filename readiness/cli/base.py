"""The command group, its shared options, and how a command fails: user mistakes exit 2 with their message,
anything else exits 3 as a bug (traceback only with --debug), scrubbed of the run's secrets."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from readiness import __version__
from readiness.cli.plain import EXIT_BLOCKED, EXIT_CONFIG, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_READY

__all__ = ["EXIT_BLOCKED", "EXIT_CONFIG", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_READY", "cli"]

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
        from readiness.cli.plain import config_message, internal_message  # light: plain imports no click
        from readiness.errors import ConfigError

        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            _fail(config_message(exc.text))
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as exc:
            if os.environ.get("READINESS_DEBUG") or click.get_current_context().find_root().params.get("debug"):
                import traceback

                click.echo(_scrub("".join(traceback.format_exc())), err=True, nl=False)
            _fail(_scrub(internal_message(exc)), EXIT_INTERNAL)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="readiness")
@click.option("--debug", is_flag=True, help="Show tracebacks of probe errors and internal errors.")
def cli(debug: bool) -> None:
    """Audit a self-hosted LLM-observability stack against a production-readiness checklist."""


# The run's scrubber, once its targets are loaded: tracebacks and library logs shown with --debug pass through it.
_SCRUBBERS: list[Any] = []


def _scrub(text: str) -> str:
    for scrubber in _SCRUBBERS:
        text = scrubber.text(text)
    return text
