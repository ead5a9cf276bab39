"""Command line.  Only click is imported at start-up; everything else is imported by the command that needs it,
so ``readiness --help`` and ``readiness validate`` never load a database client.  One module per role: base (the
group, shared options, failure handling), items (validate, list, explain, probes), run (audit, render, diff), ops
(demo, rbac, check-files, fleet, init); helpcache (`--help` without click), plain (`validate` and `list` in their
plain forms without click) and resultcache (what those printed, kept)."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing's import is a third of a cached `--help`; mypy reads this name as True
if TYPE_CHECKING:
    from typing import Any, NoReturn

__all__ = ["cli", "main"]


def _group() -> Any:
    """The click group with every command registered (click is imported here: `--help` from the cache skips it)."""
    from readiness.cli import items, ops, run  # noqa: F401 - each registers its commands on the group
    from readiness.cli.base import cli

    return cli


def __getattr__(name: str) -> Any:
    if name == "cli":
        return _group()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _debug_first(args: list[str]) -> list[str]:
    """--debug is a group option; accept it after the sub-command too, as the error messages suggest."""
    cut = args.index("--") if "--" in args else len(args)
    if "--debug" in args[1:cut]:
        args = ["--debug", *[a for i, a in enumerate(args) if not (a == "--debug" and i < cut)]]
    return args


class _ScrubLogs:
    """A logging filter: a library's log line is masked like every result before it reaches stderr."""

    def filter(self, record: Any) -> bool:
        from readiness.cli.base import _SCRUBBERS, _scrub

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


def main(argv: list[str] | None = None, prog_name: str = "readiness", fast: bool = True) -> None:
    """The console script; the kubectl plugin (readiness.kubectl) calls it with its own arguments and name.
    ``fast=False``: the plain `validate` and `list` through click too (the tests compare the two paths)."""
    args = _debug_first(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args if not a.startswith("-")), None)
    if command in _TALKS_TO_TARGETS:  # only these load client libraries; the others stay free of logging's import
        _quiet_libraries("--debug" in args or bool(os.environ.get("READINESS_DEBUG")))
    from readiness.cli import helpcache

    asks_help = helpcache.asks_help(args)
    try:
        if asks_help and helpcache.show(args, prog_name):
            sys.exit(0)
    except BrokenPipeError:  # `readiness --help | head`, as below
        _reader_left()
    if fast:
        from readiness.cli import plain

        try:
            code = plain.run(args)
        except BrokenPipeError:  # as below
            _reader_left()
        if code is not None:
            sys.exit(code)
    import click

    from readiness.cli.base import EXIT_CONFIG, EXIT_INTERRUPTED, _fail
    from readiness.cli.plain import interrupted_message

    cli = _group()
    try:
        if asks_help:
            helpcache.render(cli, args, prog_name)
        else:
            cli.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:  # click turns Ctrl-C into Abort: keep what the runner said about cleanup
        cause = exc.__cause__
        _fail(interrupted_message(cause if isinstance(cause, KeyboardInterrupt) else None), EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_CONFIG)
    except KeyboardInterrupt as exc:  # the runner's Interrupted says what became of the writes it undid
        _fail(f"interrupted: {exc}" if str(exc) else "interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:  # `readiness list | head`: the reader left; say nothing more
        _reader_left()


def _reader_left() -> NoReturn:
    """Exit 1 (blocked: the output did not all arrive) saying nothing more: stdout goes to /dev/null so the flush
    at exit cannot raise BrokenPipeError again."""
    from readiness.cli.plain import EXIT_BLOCKED

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(EXIT_BLOCKED)
