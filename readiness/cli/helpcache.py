"""`readiness --help` and `readiness COMMAND --help` from a cache: importing click alone is several times a bare
interpreter's start-up, and the help text changes only with the CLI's code, click, the program name and the
terminal width.  The text is what click printed, captured on the first run; any doubt means asking click again."""

from __future__ import annotations

import io
import os
import sys

from readiness import __version__, cachefile

TYPE_CHECKING = False  # typing's import is a third of a cached `--help`; mypy reads this name as True
if TYPE_CHECKING:
    from typing import Any

FORMAT = 1
_HELP = ("--help", "-h")


def asks_help(args: list[str]) -> bool:
    """Only the plain forms: `--help`, or one command name then `--help` (nothing else that click would parse)."""
    return (len(args) == 1 and args[0] in _HELP) or (len(args) == 2 and args[1] in _HELP
                                                     and not args[0].startswith("-"))


def _same(args: list[str]) -> list[str]:
    """-h and --help print the same text: one file and one key for both (not two keys writing over each other)."""
    return ["--help" if a == "-h" else a for a in args]


def _key(args: list[str], prog_name: str) -> str | None:
    from importlib.util import find_spec

    args = _same(args)

    try:
        click = find_spec("click")
    except (ImportError, ValueError):
        return None
    if click is None or not click.origin:
        return None
    files = [*cachefile.sources(os.path.dirname(os.path.abspath(__file__))), click.origin]
    width = _columns()
    return "\0".join([__version__, sys.version, prog_name, *args, str(width), cachefile.stamp(files)])


def _where(args: list[str], prog_name: str) -> str | None:
    """One file per environment, program name and command (the key inside says exactly what it was for)."""
    return cachefile.named("help", FORMAT, prog_name, _same(args)[0])


def _columns() -> int:
    """shutil.get_terminal_size().columns, which click's formatter reads (shutil's import loads bz2 and lzma)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def show(args: list[str], prog_name: str) -> bool:
    """Print the kept help text for these arguments; False when there is none for this exact key."""
    try:
        key = _key(args, prog_name)
    except OSError:
        return False
    where = _where(args, prog_name)
    if key is None or where is None:
        return False
    kept = cachefile.read(where, FORMAT, key)
    if not isinstance(kept, str):
        return False
    sys.stdout.write(kept)
    sys.stdout.flush()
    return True


def render(cli: Any, args: list[str], prog_name: str) -> None:
    """Let click print the help (and end as it does), keeping the text for next time when it ended with 0."""
    out, real = io.StringIO(), sys.stdout
    sys.stdout = out
    try:
        code = cli.main(args=args, prog_name=prog_name, standalone_mode=False)  # click returns --help's exit code
    finally:
        sys.stdout = real
        real.write(out.getvalue())
        real.flush()
    if code == 0:
        _keep(args, prog_name, out.getvalue())


def _keep(args: list[str], prog_name: str, text: str) -> None:
    try:
        key = _key(args, prog_name)
    except OSError:
        return
    where = _where(args, prog_name)
    if key is not None and where is not None and text:
        cachefile.write(where, FORMAT, key, text)
