"""What a plain `validate` or `list` printed when it succeeded, kept (readiness.cachefile: ours alone, 0600, no
symlinks, READINESS_NO_CACHE=1) under a key of everything those lines depend on: the checklist's bytes (sha256, not
its mtime), the arguments, the installed probe plugins and this readiness (the schema index's fingerprint, which
stamps readiness/*.py and names the version and Python), the schema index file itself, the CLI's code, the YAML
parser and packaging, and sys.path.  Loading and validating the checklist costs more than a bare interpreter's
start-up; reading this file does not.  Any doubt is a miss: the command runs and says the truth."""

from __future__ import annotations

import os
import sys

from readiness import cachefile

TYPE_CHECKING = False  # typing's import is a tenth of this path; mypy reads this name as True
if TYPE_CHECKING:
    from readiness.registry import Registry

FORMAT = 3  # 3: the lines as text (no json import); 2: the index file's stamp in the key
# the libraries the loader's verdicts depend on: the YAML parser, and packaging's versions (min/max matchers)
_LIBRARIES = ("yaml", "packaging")


class Slot:
    """Where one command's lines are kept, the key they must have been kept for, and what the key was made of that
    the command's own run must still see: the checklist's bytes and the probe plugins' fingerprint."""

    def __init__(self, where: str, parts: list[str], data: bytes, digest: str, fingerprint: str, index: str) -> None:
        self.where, self.parts, self.data, self.digest = where, parts, data, digest
        self.fingerprint, self.index = fingerprint, index
        self.key = _hashed(parts, index)

    def read(self) -> list[str] | None:
        kept = cachefile.read(self.where, FORMAT, self.key)
        if isinstance(kept, str) and (kept == "" or kept.endswith("\n")):
            return kept.split("\n")[:-1]  # a line holding a newline (a path) comes back as two: printed the same
        return None

    def write(self, lines: list[str], reg: Registry) -> None:
        """Keep ``lines``, made with ``reg``: only when it is the schema index of this key's fingerprint, read as
        this key stamped it, or written by this run (then under the index's new stamp).  A registry imported each
        run depends on whatever its modules import, which no key sees; an index rebuilt or deleted since the key
        was made (an audit that found it stale) is not the one the lines were made from."""
        from readiness import schemaindex

        where = schemaindex.cache_path()
        if not (where and reg.index and reg.fingerprint == self.fingerprint):
            return
        now, text = cachefile.stamp([where]), "".join(f"{line}\n" for line in lines)
        if reg.index == "written":
            cachefile.write(self.where, FORMAT, _hashed(self.parts, now), text)
        elif now == self.index:
            cachefile.write(self.where, FORMAT, self.key, text)


def slot(command: str, checklist: str, profile: str, given: str | None) -> Slot | None:
    """The slot for these arguments (``checklist`` the file, ``given`` what the user said); None when caching is off
    or anything the key needs cannot be read."""
    where = cachefile.named("result", FORMAT, command)  # one per command: a new checklist writes over it
    if where is None:
        return None
    try:
        return _slot(where, command, checklist, profile, given)
    except Exception:  # noqa: BLE001 - a key that cannot be made is a miss, never a guess
        return None


def _slot(where: str, command: str, checklist: str, profile: str, given: str | None) -> Slot | None:
    from importlib.util import find_spec

    from readiness import schemaindex

    data = _content(checklist)
    index = schemaindex.cache_path()
    if data is None or index is None:
        return None
    eps, fingerprint = schemaindex.current()
    code = cachefile.sources(os.path.dirname(os.path.abspath(__file__)))  # readiness/*.py: in the fingerprint
    for lib in _LIBRARIES:  # found, not imported: their package file changes with every install
        spec = find_spec(lib)
        code.append(spec.origin if spec is not None and spec.origin else f"<no {lib}>")
    digest = cachefile.sha256(data).hexdigest()
    parts = [str(FORMAT), *sys.path, command, repr(given), checklist, profile, digest, fingerprint,
             cachefile.stamp(code)]
    schemaindex.give(eps, fingerprint)  # a miss loads the registry next: it need not stamp every plugin again
    return Slot(where, parts, data, digest, fingerprint, cachefile.stamp([index]))


def _hashed(parts: list[str], index: str) -> str:
    """The key: ``parts`` and the schema index file's stamp (a deleted or rebuilt index is another key)."""
    return cachefile.sha256("\0".join([*parts, index]).encode("utf-8", "surrogateescape")).hexdigest()


def _content(path: str) -> bytes | None:
    """The file's bytes when it is a regular file the loader would read; None (the command reads it and says why)."""
    import stat

    from readiness.locations import MAX_BYTES

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not hang the key
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
            return None
        data = cachefile.read_bounded(fd, MAX_BYTES)
        return data if len(data) <= MAX_BYTES else None
    except OSError:
        return None
    finally:
        os.close(fd)
