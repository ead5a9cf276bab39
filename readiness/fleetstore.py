"""Where ``readiness fleet`` finds reports (a directory or an S3 prefix), and the bounds on reading them: a cap per
report, enforced while reading, a parse-cost check (``checked_cost``, also what ``diff`` and ``render`` apply), and
a budget of report bytes held at once by the workers."""

from __future__ import annotations

import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from readiness.errors import ConfigError

WORKERS = 16  # reports fetched from S3 at once: round trips overlap
# One report at most.  Measured: the default checklist's 141 items each at the evidence limit (models.MAX_EVIDENCE)
# make 7.6 MB of JSON as object listings, 8.8 MB as long ASCII strings; an everyday report is ~150 KB.  16 MB keeps
# ~2x over the largest realistic one; a larger one was not written by a run, and is shown as unreadable.
MAX_REPORT_BYTES = 16 * 2**20
# What a report takes while parsed is bounded too: 16 MB of "[]," parse to ~340 MB of Python lists.  Measured: the
# realistic reports above cost (parse_cost) 27-31 MB (~50 MB for 10 MB of strings with escapes, counted at
# their widest buffer), 26 MB of CJK evidence 79 MB.
MAX_PARSE_BYTES = 96 * 2**20
IN_FLIGHT_BYTES = 64 * 2**20  # parse cost held at once over all workers: huge reports are read one or a few at a
# time instead of WORKERS at a time (16 x 16 MB, each held three times over while parsed)
_VALUE_BYTES = 36  # per "," "[" "{": measured 31-35 B per value for lists, dicts and short strings of a hostile file


@dataclass(frozen=True)
class Found:
    """A report file in the listing: its cluster folder ('' at the top), file name, location and (when the listing
    says it) size."""

    folder: str
    name: str
    where: str
    size: int | None = None


class Store(ABC):
    """Where reports live: lists them, reads one, and says how the page links to it."""

    @abstractmethod
    def listing(self) -> Iterator[Found]:
        """Every report file the store holds (names only: nothing is read)."""

    @abstractmethod
    def read(self, where: str) -> bytes:
        """One report's bytes, never more than the cap + 1."""

    @abstractmethod
    def link(self, where: str) -> str:
        """How the page links to the report."""

    def size(self, found: Found) -> int:
        """The report's size as far as known before reading it (the budget reserves three times it, the least a
        parse costs; unknown, the cap); the read enforces the cap whatever this says."""
        return MAX_REPORT_BYTES if found.size is None else found.size

    def wrap(self, exc: BaseException) -> ConfigError | None:
        """The store's own error as one sentence; None for what is not the store's (a bug)."""
        return ConfigError(str(exc)) if isinstance(exc, OSError) else None


def text_of(name: str) -> str:
    """A file or key name as text (a non-UTF-8 file name must not stop the page from being written)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class Directory(Store):
    def __init__(self, root: str, page_dir: str):
        if not os.path.isdir(root):
            raise ConfigError(f"{root}: not a directory (give a directory of JSON reports or s3://bucket/prefix/)")
        self.root, self.page_dir = root, page_dir

    def listing(self) -> Iterator[Found]:
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()  # clusters in name order, each folder's files together (the cap takes the first by name)
            rel = "" if folder == self.root else os.path.relpath(folder, self.root)
            for name in files:
                if name.endswith(".json"):
                    yield Found(rel, name, os.path.join(folder, name))

    def read(self, where: str) -> bytes:
        return read_local(where)

    def size(self, found: Found) -> int:
        try:
            return os.stat(found.where).st_size
        except OSError:
            return 0  # read() says why

    def link(self, where: str) -> str:
        html = where[:-5] + ".html"
        target = html if os.path.exists(html) else where
        return quote(text_of(os.path.relpath(target, self.page_dir)))  # a name like "javascript:x" stays a path


def read_local(path: str) -> bytes:
    """A report file's bytes, at most the cap (fleet's directories, diff and render)."""
    from readiness.fsio import read_bytes

    return read_bytes(path, "report", MAX_REPORT_BYTES, "a JSON report")


class Bucket(Store):
    def __init__(self, url: str, s3: Any = None):
        from readiness import upload

        self.url = url
        self.bucket, self.prefix = upload.parse(url)
        self.s3 = s3 or upload.client(pool=WORKERS)

    def listing(self) -> Iterator[Found]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                key = obj["Key"]
                folder, _, name = key[len(self.prefix):].rpartition("/")
                if name.endswith(".json"):
                    yield Found(folder, name, key, obj.get("Size"))

    def read(self, where: str) -> bytes:
        got = self.s3.get_object(Bucket=self.bucket, Key=where)
        body = got["Body"]
        try:  # the stated length refuses before reading; the bounded read holds when it is absent or wrong
            length = got.get("ContentLength")
            data: bytes = b"" if isinstance(length, int) and length > MAX_REPORT_BYTES else \
                body.read(MAX_REPORT_BYTES + 1)
        finally:
            body.close()
        if len(data) > MAX_REPORT_BYTES or not data and isinstance(length, int) and length > MAX_REPORT_BYTES:
            raise ConfigError(too_large(self.link(where), max(len(data), length or 0)))
        return data

    def link(self, where: str) -> str:
        return f"s3://{self.bucket}/{quote(where)}"

    def wrap(self, exc: BaseException) -> ConfigError | None:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            return ConfigError(f"{self.url}: {err.get('Code', 'error')}: {err.get('Message', '')} (the reader "
                               "needs s3:ListBucket and s3:GetObject on that prefix)")
        if isinstance(exc, BotoCoreError):
            return ConfigError(f"{self.url}: {exc}")
        return super().wrap(exc)


def too_large(source: str, size: int) -> str:
    return f"{source}: report is {size / 1e6:.1f} MB; reports over {MAX_REPORT_BYTES // 2**20} MB are not read"


def parse_cost(data: bytes) -> int:
    """About what ``data`` takes while parsed (its bytes, their text, the strings parsed from it, and an object per
    value), counted without parsing it.  Text and strings take 1, 2 or 4 bytes per character, as wide as their
    widest character (PEP 393): one emoji makes a whole report's text 4 bytes per character.  A string with an
    escape is built in a growing buffer, widened when an escape needs it: measured up to 1.25 x (width + 1)."""
    text = _width(max(data, default=0))
    strings = text
    if b"\\" in data:
        for m in _ESCAPE.finditer(data) if b"\\u" in data else ():
            strings = max(strings, _escaped(int(m[1], 16)))
            if strings == 4:
                break
        strings = 2 * strings + 1
    return (1 + text + strings) * len(data) + _VALUE_BYTES * (data.count(b",") + data.count(b"[") + data.count(b"{"))


_ESCAPE = re.compile(rb"\\u([0-9a-fA-F]{4})")  # an escaped backslash before u also matches: it only overcounts


def _width(byte: int) -> int:
    """Bytes per character of text decoded from UTF-8 whose largest byte is ``byte``: a lead byte from 0xF0 starts
    a character outside the BMP, from 0xC4 one over U+00FF (0xC2/0xC3 are Latin-1, still one byte)."""
    return 4 if byte >= 0xF0 else 2 if byte >= 0xC4 else 1


def _escaped(code: int) -> int:
    """Bytes per character a ``\\u`` escape (six characters) makes its string take (a surrogate half pairs outside
    the BMP)."""
    return 4 if 0xD800 <= code < 0xE000 else 2 if code > 0xFF else 1


def too_costly(source: str, cost: int) -> str:
    return (f"{source}: parsing this report would take about {cost / 1e6:.0f} MB (its values are tiny and many); "
            f"reports over {MAX_PARSE_BYTES // 2**20} MB parsed are not read")


def checked_cost(data: bytes, source: str) -> int:
    """``parse_cost(data)``; ConfigError (one sentence) when it is over MAX_PARSE_BYTES: the data is not parsed."""
    cost = parse_cost(data)
    if cost > MAX_PARSE_BYTES:
        raise ConfigError(too_costly(source, cost))
    return cost


class Budget:
    """Bytes of reports held at once by the workers: a report waits until its size fits (one larger than the whole
    budget waits until it is alone)."""

    def __init__(self, total: int):
        self.total, self.used = total, 0
        self.cond = threading.Condition()

    def hold(self, size: int) -> int:
        size = min(max(size, 0), self.total)
        with self.cond:
            self.cond.wait_for(lambda: self.used == 0 or self.used + size <= self.total)
            self.used += size
        return size

    def resize(self, held: int, size: int) -> int | None:
        """A reservation of ``held`` made ``size`` at once: the new reservation, or None when it does not fit now.
        It never waits: workers waiting to grow while holding could each wait for the others' room."""
        size = min(max(size, 0), self.total)
        with self.cond:
            if size > held and not (self.used == held or self.used - held + size <= self.total):
                return None
            self.used += size - held
            if size < held:
                self.cond.notify_all()
        return size

    def free(self, size: int) -> None:
        with self.cond:
            self.used -= size
            self.cond.notify_all()
