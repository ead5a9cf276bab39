"""`readiness validate` and `readiness list` in their plain forms without click: importing click alone is more than
a bare interpreter's start-up.  The plain forms are `validate [-c FILE]` and `list [-c FILE] [--profile P]` (long
spellings too, and READINESS_CHECKLIST as click reads it); anything else goes to click.  The lines and the failure
messages come from the functions below on both paths, so the two print the same bytes."""

from __future__ import annotations

import os
import sys

from readiness.presets import PROFILES

TYPE_CHECKING = False  # typing's import is a tenth of this path; mypy reads this name as True
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from readiness.checklist import Checklist

# every command's exit codes (readiness.cli.base imports them from here: that module imports click)
EXIT_READY, EXIT_BLOCKED, EXIT_CONFIG, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


# The lines, for both paths.

def summary(cl: Checklist) -> str:
    """validate's line for a valid checklist."""
    items = cl.items
    manual = sum(i.manual for i in items)
    return (f"{cl.path}: valid: {len(items)} items in {len(cl.sections)} sections "
            f"({len(items) - manual} probed, {manual} manual)")


def list_lines(cl: Checklist, profile: str) -> Iterator[str]:
    """list's lines: every section, then its items with their level for ``profile`` and their probe."""
    width = max((len(i.id) for i in cl.items), default=10)
    for section in cl.sections:
        yield f"{section.id}: {section.title}"
        for item in section.items:
            presets = f"  [{', '.join(item.presets)}]" if item.presets else ""
            yield f"  {item.id:<{width}}  {item.level_for(profile):<11}  {item.probe or 'manual'}{presets}"


def config_message(text: str) -> str:
    """A user's mistake, as every command says it (exit 2)."""
    return f"configuration error:\n{text}" if "\n" in text else f"configuration error: {text}"


def interrupted_message(exc: BaseException | None) -> str:
    """Ctrl-C in a command, as click says it (Abort, "aborted") unless the runner said what it undid (exit 130)."""
    return f"interrupted: {exc}" if exc is not None and str(exc) else "aborted"


def internal_message(exc: BaseException) -> str:
    """Anything else is a bug (exit 3); the caller scrubs it of the run's secrets."""
    return f"internal error: {type(exc).__name__}: {exc} (a bug; run with --debug for the traceback)"


# The click-free path.

def parse(args: list[str]) -> tuple[str, dict[str, str]] | None:
    """The command and its options when ``args`` is a plain form, else None (click decides)."""
    if not args or args[0] not in ("validate", "list"):
        return None
    command, opts = args[0], {}
    rest = iter(args[1:])
    for arg in rest:
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        key = {"-c": "checklist", "--checklist": "checklist"}.get(name)
        if command == "list" and name == "--profile":
            key = "profile"
        if key is None or key in opts:  # anything else, or an option twice: click's rules
            return None
        if not eq:
            value = next(rest, "-")
        if value.startswith("-") or (key == "profile" and value not in PROFILES):
            return None
        opts[key] = value
    return command, opts


def _for_click(command: str) -> bool:
    """What the environment asks of click: shell completion (_<PROG>_COMPLETE), a traceback through its frames
    (READINESS_DEBUG), or a targets file for validate (READINESS_TARGETS, its -t as click reads it)."""
    if os.environ.get("READINESS_DEBUG") or (command == "validate" and os.environ.get("READINESS_TARGETS")):
        return True
    return any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ)


def _plain_streams() -> bool:
    """click.echo writes as these do only to UTF-8 text streams (it re-wraps an ASCII one)."""
    import codecs

    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is None or codecs.lookup(stream.encoding).name != "utf-8":
                return False
        except (AttributeError, LookupError, TypeError):
            return False
    return True


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:  # noqa: BLE001 - as click: a stream that cannot say is not a terminal
        return False


def echo(text: str, err: bool = False, nl: bool = True) -> None:
    """click.echo for a str: ANSI codes stripped unless the stream is a terminal, flushed."""
    stream = sys.stderr if err else sys.stdout
    text += "\n" if nl else ""
    if not _isatty(stream) and "\x1b" in text:
        import re

        text = re.sub(r"\033\[[0-?]*[ -/]*[@-~]", "", text)  # click's _ansi_re
    stream.write(text)
    stream.flush()


def run(args: list[str]) -> int | None:
    """The exit code of a plain form, run here; None when click must run it."""
    parsed = parse(args)
    if parsed is None or not _plain_streams() or _for_click(parsed[0]):
        return None
    command, opts = parsed
    # click: the option when given (even empty), else the variable unless it is empty
    checklist = opts["checklist"] if "checklist" in opts else os.environ.get("READINESS_CHECKLIST") or None
    return guarded(lambda: _command(command, checklist, opts.get("profile", "production")))


def _command(command: str, checklist: str | None, profile: str) -> None:
    """The lines kept for exactly these arguments and inputs, else made (and kept when all went well)."""
    from readiness import schemaindex
    from readiness.cli import resultcache
    from readiness.locations import default_path

    kept = resultcache.slot(command, checklist or default_path(), profile, checklist)
    lines = kept.read() if kept else None
    if lines is None:
        from readiness.checklist import load_checklist
        from readiness.registry import probes

        try:
            # the bytes and digest the key was made of: read and hashed once, and the lines are made from exactly them
            cl = load_checklist(checklist, source=(kept.data, kept.digest) if kept else None)
        finally:
            schemaindex.give(None)  # unused when the load failed first: never a later command's fingerprint
        lines = [summary(cl)] if command == "validate" else list(list_lines(cl, profile))
        reg = probes()
        if kept and not reg.broken:  # a broken plugin is tried again every run, as the schema index does
            kept.write(lines, reg)
    for line in lines:
        echo(line)


def guarded(call: Callable[[], None]) -> int:
    """click's command path around ``call``: user mistakes exit 2, anything else 3; Ctrl-C as click says it."""
    try:
        call()
    except BrokenPipeError:  # main says nothing more, as after click
        raise
    except KeyboardInterrupt as exc:  # click: a blank line, then Abort, which main says as "aborted"
        echo("", err=True)
        echo(f"readiness: {interrupted_message(exc)}", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:
        from readiness.errors import ConfigError  # here: a kept answer imports none of the loader's modules

        if isinstance(exc, ConfigError):
            echo(f"readiness: {config_message(exc.text)}", err=True)
            return EXIT_CONFIG
        echo(f"readiness: {internal_message(exc)}", err=True)
        return EXIT_INTERNAL
    return 0
