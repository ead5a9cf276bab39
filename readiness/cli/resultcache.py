"""What a plain `validate` or `list` printed when it succeeded, kept (readiness.cachefile: ours alone, 0600, no
symlinks, READINESS_NO_CACHE=1) under a key of everything those lines depend on: the checklist's bytes (sha256, not
its mtime), the arguments, the installed probe plugins (the schema index's fingerprint), this readiness (version and
code files), the YAML parser, sys.path and Python.  Loading and validating the checklist costs more than a bare
interpreter's start-up; reading this file does not.  Any doubt is a miss: the command runs and says the truth."""

from __future__ import annotations

import os
import sys

from readiness import __version__, cachefile

FORMAT = 1
PROBE_GROUP = "readiness.probes"  # readiness.registry.PROBE_GROUP, without importing the registry
# the libraries the loader's verdicts depend on: the YAML parser, and packaging's versions (min/max matchers)
_LIBRARIES = ("yaml", "packaging")
_MAX_CHECKLIST = 4 * 1024 * 1024  # bigger checklists are never kept (and the loader refuses far smaller ones)


class Slot:
    """Where one command's lines are kept, and the key they must have been kept for."""

    def __init__(self, where: str, key: str, sha256: str) -> None:
        self.where, self.key, self.sha256 = where, key, sha256

    def read(self) -> list[str] | None:
        kept = cachefile.read(self.where, FORMAT, self.key)
        if isinstance(kept, list) and all(isinstance(line, str) for line in kept):
            return kept
        return None

    def write(self, lines: list[str], sha256: str) -> None:
        """Keep ``lines``, made from a checklist of ``sha256``: unless the file changed after the key was made."""
        if sha256 == self.sha256:
            cachefile.write(self.where, FORMAT, self.key, lines)


def slot(command: str, checklist: str | None, profile: str) -> Slot | None:
    """The slot for these arguments; None when caching is off or anything the key needs cannot be read."""
    import zlib

    # one file per environment and command: a new checklist or profile writes over it, nothing piles up
    where = cachefile.path(f"result-{FORMAT}-{zlib.crc32(repr((sys.prefix, command)).encode()):08x}.json")
    if where is None:
        return None
    try:
        made = _key(command, checklist, profile)
    except Exception:  # noqa: BLE001 - a key that cannot be made is a miss, never a guess
        return None
    return Slot(where, *made) if made else None


def _key(command: str, checklist: str | None, profile: str) -> tuple[str, str] | None:
    """The key and the sha256 of the checklist's bytes it was made with."""
    from importlib.util import find_spec

    from readiness import schemaindex
    from readiness.entrypoints import entry_points

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = _content(checklist or os.path.join(here, "checklist.yaml"))  # checklist.default_path()
    if data is None:
        return None
    eps = sorted(entry_points(group=PROBE_GROUP), key=lambda e: e.name)
    code = [os.path.join(d, n) for d in (here, os.path.join(here, "cli")) for n in sorted(os.listdir(d))
            if n.endswith(".py")]
    for lib in _LIBRARIES:  # found, not imported: their package file changes with every install
        spec = find_spec(lib)
        code.append(spec.origin if spec is not None and spec.origin else f"<no {lib}>")
    digest = cachefile.sha256(data).hexdigest()
    parts = [str(FORMAT), __version__, sys.version, *sys.path, command, repr(checklist), profile, digest,
             schemaindex.fingerprint(eps), cachefile.stamp(code)]
    return cachefile.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest(), digest


def _content(path: str) -> bytes | None:
    """The file's bytes when it is a regular file of a sane size; None (the command reads it and says why) else."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not hang the key
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_CHECKLIST:
            return None
        chunks, left = [], _MAX_CHECKLIST + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= _MAX_CHECKLIST else None
    except OSError:
        return None
    finally:
        os.close(fd)
