"""``readiness fleet``: the latest report of every cluster, from a directory or an S3 prefix, as one HTML page.

No results server: the reports stay where the runs put them (``--json`` files, ``--upload s3://...`` keys); this
reads the newest one per cluster and renders the overview."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from readiness.diffing import MAX_REPORT_BYTES, parse_report, read_report
from readiness.errors import ConfigError
from readiness.fsio import NotAFile

MAX_FILES = 20_000  # reports read from a directory at most


@dataclass
class Entry:
    cluster: str
    report: dict[str, Any]
    source: str  # where the JSON was read
    link: str  # what the page links to: the HTML beside the JSON when there is one, else the JSON


def _finished(report: dict[str, Any]) -> str:
    return str(report.get("finished_at") or "")


def _cluster(report: dict[str, Any], fallback: str) -> str:
    return str(report.get("cluster") or fallback)


def _newest(entries: Iterator[Entry]) -> list[Entry]:
    latest: dict[str, Entry] = {}
    for e in entries:
        if e.cluster not in latest or _finished(e.report) > _finished(latest[e.cluster].report):
            latest[e.cluster] = e
    return sorted(latest.values(), key=lambda e: e.cluster)


def from_directory(root: str, page_dir: str, notices: list[str]) -> list[Entry]:
    def walk() -> Iterator[Entry]:
        seen = 0
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                if not name.endswith(".json"):
                    continue
                seen += 1
                if seen > MAX_FILES:
                    notices.append(f"more than {MAX_FILES} JSON files under {root}: the rest were not read")
                    return
                path = os.path.join(folder, name)
                try:
                    report = read_report(path)
                except NotAFile:  # a FIFO or device among the reports is bad input (exit 2), not a bad report
                    raise
                except ConfigError as exc:  # a half-written or foreign file among the reports
                    notices.append(f"skipped {path}: {exc}")
                    continue
                html = path[:-5] + ".html"
                target = html if os.path.exists(html) else path
                yield Entry(_cluster(report, os.path.basename(folder)), report, path,
                            os.path.relpath(target, page_dir))

    if not os.path.isdir(root):
        raise ConfigError(f"{root}: not a directory (give a directory of JSON reports or s3://bucket/prefix/)")
    return _newest(walk())


def from_s3(url: str, notices: list[str], s3: Any = None) -> list[Entry]:
    """Keys <prefix><cluster>/<time>.json (as --upload writes them): list once, read only each cluster's newest."""
    from botocore.exceptions import BotoCoreError, ClientError

    from readiness import upload

    bucket, prefix = upload.parse(url)
    s3 = s3 or upload.client()
    newest: dict[str, str] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                rest = obj["Key"][len(prefix):]
                cluster, _, name = rest.partition("/")
                if name.endswith(".json") and "/" not in name and obj["Key"] > newest.get(cluster, ""):
                    newest[cluster] = obj["Key"]
        entries = []
        for cluster, key in sorted(newest.items()):
            where = f"s3://{bucket}/{key}"
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_REPORT_BYTES + 1)
                report = parse_report(body, where)
            except ConfigError as exc:
                notices.append(f"skipped {where}: {exc}")
                continue
            entries.append(Entry(_cluster(report, cluster), report, where, where))
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise ConfigError(f"{url}: {err.get('Code', 'error')}: {err.get('Message', '')} (the reader needs "
                          "s3:ListBucket and s3:GetObject on that prefix)") from None
    except BotoCoreError as exc:
        raise ConfigError(f"{url}: {exc}") from None
    return _newest(iter(entries))


def collect(source: str, page_dir: str) -> tuple[list[Entry], list[str]]:
    notices: list[str] = []
    entries = from_s3(source, notices) if source.startswith("s3://") else from_directory(source, page_dir, notices)
    return entries, notices


def _age(finished: str, now: dt.datetime) -> tuple[str, float]:
    try:
        when = dt.datetime.strptime(finished, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return "unknown", float("inf")
    hours = max(0.0, (now - when).total_seconds() / 3600)
    text = f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"
    return text, hours


def context(entries: list[Entry], notices: list[str], source: str, now: dt.datetime | None = None,
            stale_hours: float = 36.0) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.timezone.utc)
    rows = []
    failing: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    for e in entries:
        summary = e.report["summary"]
        age, hours = _age(_finished(e.report), now)
        rows.append({"cluster": e.cluster, "verdict": summary["verdict"], "blocking": summary["blocking"],
                     "counts": {k: summary.get(k, 0) for k in ("pass", "fail", "error", "manual", "waived")},
                     "preset": e.report.get("preset") or "", "profile": e.report.get("profile") or "",
                     "finished_at": _finished(e.report), "age": age, "stale": hours > stale_hours,
                     "link": e.link, "source": e.source})
        for r in e.report["results"]:
            if r.get("status") in ("fail", "error"):
                failing[r["id"]] += 1
                where.setdefault(r["id"], []).append(e.cluster)
    rows.sort(key=lambda r: (r["verdict"] == "ready", -r["blocking"], r["cluster"]))
    top = [{"id": item, "clusters": count, "names": ", ".join(where[item])}
           for item, count in failing.most_common(15)]
    return {"rows": rows, "top": top, "notices": notices, "source": source, "stale_hours": stale_hours,
            "generated": now.strftime("%Y-%m-%d %H:%M UTC"), "total": len(rows),
            "not_ready": sum(r["verdict"] != "ready" for r in rows)}


def render(entries: list[Entry], notices: list[str], source: str, **kwargs: Any) -> str:
    import base64
    import hashlib

    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(loader=jinja2.PackageLoader("readiness.reports", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    css = env.loader.get_source(env, "fleet.css")[0] if env.loader else ""
    style_hash = "sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return env.get_template("fleet.html.j2").render(**context(entries, notices, source, **kwargs),
                                                    css=Markup(css), style_hash=style_hash)
