"""``readiness fleet``: the latest report of every cluster, from a directory or an S3 prefix, as one HTML page.

No results server: the reports stay where the runs put them (``--upload s3://...`` keys, or a copy of them in a
directory).  The names say which cluster and when (``<cluster>/<time>.json``, as ``upload.key_for`` writes them), so
one listing picks each cluster's newest report and only that one is read, concurrently.  Of each, only what the
overview shows is kept (verdict, counts, blocking and failing ids, age): 10,000 clusters fit in little memory.
Files whose names do not follow the scheme are read (a bounded number) to learn their cluster and time, and the page
says so.  A newest report that cannot be read is shown as unreadable for its cluster, never replaced by an older one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from readiness import fleetstore
from readiness.diffing import parse_report
from readiness.errors import ConfigError
from readiness.fleetstore import IN_FLIGHT_BYTES, WORKERS, Bucket, Budget, Directory, Found, Store, text_of

MAX_CLUSTERS = 25_000  # clusters on one page at most (stated on the page)
MAX_UNNAMED = 1_000  # files whose name does not say cluster and time: each must be read whole to know
DIR_WORKERS = 4  # from a directory the work is JSON parsing under the GIL: a few threads overlap the reads (measured:
# 2,000 reports of 150 KB take 4.6 s with 1 thread, 2.1 s with 4, 2.5 s with 16)
MAX_IDS = 50  # blocking/failing ids kept per cluster
_STAMP = re.compile(r"(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(?:-(\d{1,9}))?Z\.json")  # upload.key_for's file name
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Row:
    """What the overview shows of one cluster's newest report."""

    cluster: str
    source: str  # where the JSON was read
    link: str  # what the page links to: the HTML beside the JSON when there is one, else the JSON
    verdict: str  # ready | not-ready | unreadable
    finished_at: str
    blocking: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    blocking_ids: tuple[str, ...] = ()
    failing_ids: tuple[str, ...] = ()  # fail or error: for "failing most often"
    preset: str = ""
    profile: str = ""
    problem: str = ""  # why an unreadable report could not be read


def stamp_time(name: str) -> str | None:
    """upload.key_for's <time>.json back to the report's finished_at form; None for other names."""
    m = _STAMP.fullmatch(name)
    if m is None:
        return None
    y, mo, d, h, mi, s, frac = m.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}.{(frac or '0').ljust(6, '0')[:6]}Z"


def summarize(report: dict[str, Any], cluster: str, source: str, link: str) -> Row:
    """The overview's facts of one (shape-checked) report; the report itself is dropped by the caller."""
    summary = report["summary"]
    counts = {k: summary[k] if isinstance(summary[k], int) else 0 for k in ("pass", "fail", "error", "manual",
                                                                              "waived")}
    blocking = [str(r["id"]) for r in report["results"] if r.get("blocking")]
    failing = [str(r["id"]) for r in report["results"] if r["status"] in ("fail", "error")]
    count = summary["blocking"] if type(summary["blocking"]) is int else len(blocking)
    verdict, problem = summary["verdict"], ""
    if verdict not in ("ready", "not-ready"):
        verdict, problem = UNREADABLE, f"its verdict is {summary['verdict']!r}"
    elif verdict == "ready" and (summary["blocking"] != 0 or blocking):  # a ready verdict must agree with itself
        verdict, problem = UNREADABLE, f"it says ready with {summary['blocking']!r} blocking"
    return Row(cluster, source, link, verdict, str(report.get("finished_at") or ""), count, counts,
               tuple(blocking[:MAX_IDS]), tuple(failing[:MAX_IDS]), str(report.get("preset") or ""),
               str(report.get("profile") or ""), problem)


def _read(store: Store, found: Found, cluster: str | None, budget: Budget) -> Row | ConfigError:
    """One report as a Row, read and summarized while its size is held in the budget.  A report that cannot be read
    is a Row of its own when its name said the cluster, else a ConfigError (its cluster is unknown).  A FIFO or
    device among the reports is bad input (exit 2): it propagates."""
    source = text_of(store.link(found.where) if isinstance(store, Bucket) else found.where)
    link = store.link(found.where)
    size = store.size(found)  # one over the cap is refused before a byte is read: it holds nothing
    held = [budget.hold(3 * size if size <= fleetstore.MAX_REPORT_BYTES else 0)]

    def load() -> bytes:
        for attempt in range(3):
            data = store.read(found.where)
            cost = fleetstore.checked_cost(data, source)
            grown = budget.resize(held[0], cost)  # the read's reservation becomes the parse's (bytes included)
            if grown is not None:
                held[0] = grown
                return data
            if attempt == 2:
                break  # no read follows: waiting for room now would only delay the error
            # No room now: wait for it holding nothing, rather than holding bytes the budget no longer counts
            # (the budget overshot by a report per waiting worker), and read the report again.
            del data
            budget.free(held[0])
            held[0] = 0
            held[0] = budget.hold(cost)
        raise ConfigError(f"{source}: the report grew each time it was read")

    try:
        return _summarize(store, load, found, cluster, source, link)
    finally:
        budget.free(held[0])


def _summarize(store: Store, load: Callable[[], bytes], found: Found, cluster: str | None, source: str,
               link: str) -> Row | ConfigError:
    from readiness.fsio import NotAFile

    try:
        report = parse_report(load(), source)
    except NotAFile:
        raise
    except Exception as exc:  # a corrupt file, or the store's own error (AccessDenied, a reset)
        wrapped = exc if isinstance(exc, ConfigError) else store.wrap(exc)
        if wrapped is None:
            raise
        # Keep its text only: the exception's frames hold the report's bytes, and a local holding the exception
        # made a cycle that kept them until the next garbage collection (12 MB per unreadable report, measured).
        problem, own = str(wrapped), wrapped is exc
        wrapped = None
        if cluster is None:
            return ConfigError(problem if own else f"{source}: {problem}")
        return Row(cluster, source, link, UNREADABLE, stamp_time(found.name) or "", problem=problem)
    if cluster is None:  # the name did not say: the report does, else its folder
        cluster = text_of(str(report.get("cluster") or os.path.basename(found.folder) or "default"))
    return summarize(report, cluster, source, link)


@dataclass
class Fleet:
    rows: list[Row]
    notices: list[str]
    max_clusters: int
    left_out: int = 0  # clusters over the cap


def collect(source: str, page_dir: str, max_clusters: int = MAX_CLUSTERS, workers: int | None = None,
            s3: Any = None) -> Fleet:
    store: Store = Bucket(source, s3) if source.startswith("s3://") else Directory(source, page_dir)
    try:
        return _collect(store, max_clusters, workers or (WORKERS if isinstance(store, Bucket) else DIR_WORKERS))
    except ConfigError:
        raise
    except Exception as exc:  # the listing failed (denied, unreachable)
        wrapped = store.wrap(exc)
        if wrapped is None:
            raise
        raise wrapped from None


def _collect(store: Store, max_clusters: int, workers: int) -> Fleet:
    """One pass over the listing.  It comes in name order (S3 lists keys sorted; the directory walk is sorted), so
    a cluster's newest report is known when the listing moves past its folder: it is fetched then, while the
    listing goes on."""
    notices: list[str] = []
    unnamed: list[Found] = []
    unread = left_out = 0
    taken: set[str] = set()  # cluster folders whose newest was sent for
    jobs: list[tuple[Future[Row | ConfigError], Found, str | None]] = []
    budget = Budget(IN_FLIGHT_BYTES)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:

        def fetch(found: Found) -> None:
            nonlocal left_out
            if found.folder not in taken and len(taken) >= max_clusters:
                left_out += 1
                return
            taken.add(found.folder)  # seen again (a listing out of order): the newer name wins below
            jobs.append((pool.submit(_read, store, found, text_of(found.folder), budget), found, found.folder))

        current: Found | None = None
        for found in store.listing():
            if found.folder and _STAMP.fullmatch(found.name):
                if current is not None and found.folder == current.folder:
                    current = found if found.name > current.name else current
                    continue
                if current is not None:
                    fetch(current)
                current = found
            elif len(unnamed) < MAX_UNNAMED:
                unnamed.append(found)
            else:
                unread += 1
        if current is not None:
            fetch(current)
        jobs += [(pool.submit(_read, store, f, None, budget), f, None) for f in unnamed]
        rows, dropped = _merge(jobs, notices, max_clusters)
    left_out += dropped
    if left_out:
        notices.insert(0, f"{len(taken) + left_out} clusters found; this page shows the first {max_clusters} by "
                          f"name, the other {left_out} were not read (raise --max-clusters)")
    if unnamed:
        notices.append(f"{len(unnamed)} JSON files are not named <cluster>/<time>.json as --upload names them: "
                       "each was read whole to learn its cluster and time")
    if unread:
        notices.append(f"{unread} more such files were not read (at most {MAX_UNNAMED} are)")
    return Fleet(list(rows.values()), notices, max_clusters, left_out)


def _merge(jobs: list[tuple[Future[Row | ConfigError], Found, str | None]], notices: list[str],
           max_clusters: int) -> tuple[dict[str, Row], int]:
    """Rows by cluster: per named folder the newest name's; an unnamed report replaces a readable one only when it
    is newer by its own (parsed) time; unnamed clusters over the cap are counted, not shown.  A FIFO among the
    reports (NotAFile) propagates from result()."""
    rows: dict[str, Row] = {}
    dropped = 0
    names: dict[str, str] = {}  # cluster -> the file name its row was read from (named reports)
    for future, found, folder in jobs:
        got = future.result()
        if isinstance(got, ConfigError):
            notices.append(f"skipped {got}")
            continue
        if folder is not None:
            if names.get(got.cluster, "") < found.name:
                rows[got.cluster], names[got.cluster] = got, found.name
            continue
        old = rows.get(got.cluster)
        if old is None and len(rows) >= max_clusters:
            dropped += 1
            continue
        # An unreadable newest report stays (whatever a stray file claims); else newer by parsed time, never by
        # text ("zz-not-a-time" sorted after every real time and turned an unreadable cluster ready).
        if old is None or (old.verdict != UNREADABLE and _when(got.finished_at) > _when(old.finished_at)):
            rows[got.cluster] = got
    return rows, dropped


_OLDEST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def _when(finished: str) -> dt.datetime:
    """A report's finished_at as a time; one that does not parse is the oldest (it never wins)."""
    try:
        return dt.datetime.strptime(finished, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    except (ValueError, TypeError):
        return _OLDEST


def _age(finished: str, now: dt.datetime) -> tuple[str, float]:
    when = _when(finished)
    if when == _OLDEST:
        return "unknown", float("inf")
    hours = max(0.0, (now - when).total_seconds() / 3600)
    text = f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"
    return text, hours


_RANK = {UNREADABLE: 0, "not-ready": 1, "ready": 2}
TOP_ITEMS, TOP_NAMES = 15, 10


def context(fleet: Fleet, source: str, now: dt.datetime | None = None, stale_hours: float = 36.0) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.timezone.utc)
    rows = []
    failing: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    for r in sorted(fleet.rows, key=lambda r: (_RANK[r.verdict], -r.blocking, r.cluster)):  # worst first
        age, hours = _age(r.finished_at, now)
        rows.append({"row": r, "age": age, "hours": hours if hours != float("inf") else -1,
                     "stale": hours > stale_hours, "rank": _RANK[r.verdict]})
        for item in r.failing_ids:
            failing[item] += 1
            names = where.setdefault(item, [])
            if len(names) <= TOP_NAMES:
                names.append(r.cluster)
    top = []
    for item, count in failing.most_common(TOP_ITEMS):
        names = where[item][:TOP_NAMES]
        more = f" and {count - len(names)} more" if count > len(names) else ""
        top.append({"id": item, "clusters": count, "names": ", ".join(names) + more})
    return {"rows": rows, "top": top, "notices": fleet.notices, "source": source, "stale_hours": stale_hours,
            "generated": now.strftime("%Y-%m-%d %H:%M UTC"), "total": len(rows), "cap": fleet.max_clusters,
            "left_out": fleet.left_out, "not_ready": sum(r.verdict != "ready" for r in fleet.rows),
            "unreadable": sum(r.verdict == UNREADABLE for r in fleet.rows)}


def render(fleet: Fleet, source: str, **kwargs: Any) -> str:
    import base64
    import hashlib

    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(loader=jinja2.PackageLoader("readiness.reports", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    assert env.loader is not None
    css = env.loader.get_source(env, "fleet.css")[0]
    js = env.loader.get_source(env, "fleet.js")[0]
    # Before the table is parsed: rows past the first 500 (class "later") are not laid out at all.
    early = 'document.documentElement.classList.add("js");'

    def pin(text: str) -> str:  # the page's CSP allows exactly this style and this script
        return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    return env.get_template("fleet.html.j2").render(**context(fleet, source, **kwargs), css=Markup(css),
                                                    js=Markup(js), early_js=Markup(early), style_hash=pin(css),
                                                    script_hash=pin(js), early_hash=pin(early))
