"""Waivers (accepted risk, with an expiry) and attestations (a person vouches for what no probe can see)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from readiness.errors import ConfigError, Problem
from readiness.models import Result
from readiness.params import Param, validate
from readiness.yamlsrc import load_file, pos_of

_WAIVER = {"id": Param("str"), "justification": Param("str"), "expires": Param("date"),
           "approved_by": Param("str", None)}
_ATTESTATION = {"id": Param("str"), "by": Param("str"), "date": Param("date"), "evidence": Param("str"),
                "expires": Param("date", None)}


@dataclass(frozen=True)
class Waiver:
    id: str
    justification: str
    expires: dt.date
    approved_by: str | None
    line: int


@dataclass(frozen=True)
class Attestation:
    id: str
    by: str
    date: dt.date
    evidence: str
    expires: dt.date | None
    line: int


def _records(path: str, schema: dict[str, Param], what: str,
             today: dt.date | None = None) -> list[tuple[dict[str, Any], int]]:
    raw = load_file(path, f"{what}s file")
    if not isinstance(raw, list):
        raise ConfigError([Problem(path, *pos_of(raw), f"a {what}s file must be a list of {what} records "
                                                       f"({', '.join(schema)})")])
    problems: list[Problem] = []
    out = []
    first_line: dict[str, int] = {}
    for index, entry in enumerate(raw):
        record, found = validate(schema, entry, path, f"{what} {index + 1}", pos_of(raw, index))
        for key in ("justification", "evidence", "by"):
            if key in schema and isinstance(record.get(key), str) and not record[key].strip():
                found.append(Problem(path, *pos_of(entry, key), f"{what} {index + 1}: {key} must not be empty"))
        record_id = record.get("id")
        if isinstance(record_id, str) and not found:
            if record_id in first_line:  # two records for one item: which one holds would depend on their order
                found.append(Problem(path, *pos_of(entry, "id"), f"{what} {index + 1}: a second {what} for "
                                     f"{record_id!r} (the first is on line {first_line[record_id]}): keep one"))
            else:
                first_line[record_id] = pos_of(entry, "id")[0]
        if what == "attestation" and isinstance(record.get("date"), dt.date) and today is not None \
                and record["date"] > today:
            found.append(Problem(path, *pos_of(entry, "date"), f"{what} {index + 1}: date "
                                 f"{record['date'].isoformat()} is in the future (today is {today.isoformat()})"))
        problems.extend(found)
        out.append((record, pos_of(raw, index)[0]))
    if problems:
        raise ConfigError(problems)
    return out


def load_waivers(path: str | os.PathLike[str]) -> list[Waiver]:
    return [Waiver(r["id"], r["justification"], r["expires"], r["approved_by"], line)
            for r, line in _records(os.fspath(path), _WAIVER, "waiver")]


def load_attestations(path: str | os.PathLike[str], today: dt.date | None = None) -> list[Attestation]:
    """``today`` (default: the date now) bounds the attestation dates: a person cannot vouch for tomorrow."""
    return [Attestation(r["id"], r["by"], r["date"], r["evidence"], r["expires"], line)
            for r, line in _records(os.fspath(path), _ATTESTATION, "attestation", today or dt.date.today())]


def unknown_ids(ids: Iterable[str], records: Iterable[Waiver | Attestation], path: str, what: str) -> list[str]:
    known = set(ids)
    return [f"{path}:{r.line}: {what} for unknown item id {r.id!r}" for r in records if r.id not in known]


def apply(results: list[Result], waivers: list[Waiver], attestations: list[Attestation], today: dt.date,
          waivers_path: str = "waivers", attestations_path: str = "attestations") -> list[str]:
    """Apply in place; returns notices (unknown ids, records that matched nothing, expired records)."""
    notices = unknown_ids([r.id for r in results], waivers, waivers_path, "waiver")
    notices += unknown_ids([r.id for r in results], attestations, attestations_path, "attestation")
    by_id = {r.id: r for r in results}
    for a in attestations:
        result = by_id.get(a.id)
        if result is None:
            continue
        where = f"{attestations_path}:{a.line}: attestation for {a.id}"
        if result.status == "error" and not result.attestable:
            # Over an unreachable target, a timeout, a denied permission or a missing target, a person's word would
            # hide a fault the probe could have seen: only facts a probe declared invisible to it can be attested.
            notices.append(f"{where} does not apply: the probe could not observe the item ({result.message}); "
                           "fix that cause - attestations cover manual items and facts a probe cannot see")
            continue
        if result.status not in ("manual", "error"):
            notices.append(f"{where} matched nothing (the item is {result.status}; attestations cover manual "
                           "items and facts a probe cannot see)")
            continue
        attested: dict[str, Any] = {"by": a.by, "date": a.date.isoformat(), "evidence": a.evidence,
                                    "expires": a.expires.isoformat() if a.expires else None}
        if a.expires and a.expires < today:
            result.attestation = attested
            result.message = f"attestation by {a.by} expired on {a.expires.isoformat()}: attest again"
            notices.append(f"{where} expired on {a.expires.isoformat()}")
            continue
        probe_said = result.message if result.status == "error" else None
        result.attestation = attested
        result.status = "pass"
        result.message = f"attested by {a.by} on {a.date.isoformat()}: {a.evidence}"
        if probe_said:  # side by side: what the person vouches for, and what the probe could not see
            result.message += f" (the probe: {probe_said})"
            result.evidence = {**result.evidence, "probe_said": probe_said}
    for w in waivers:
        result = by_id.get(w.id)
        if result is None:
            continue
        if result.status not in ("fail", "error"):
            notices.append(f"{waivers_path}:{w.line}: waiver for {w.id} matched nothing (the item is "
                           f"{result.status}); remove it")
            continue
        record: dict[str, Any] = {"justification": w.justification, "expires": w.expires.isoformat(),
                  "approved_by": w.approved_by, "expired": w.expires < today}
        result.waiver = record
        if w.expires < today:
            result.message = f"waiver expired on {w.expires.isoformat()}: {result.message}"
            notices.append(f"{waivers_path}:{w.line}: waiver for {w.id} expired on {w.expires.isoformat()}")
            continue
        if result.status == "error":  # waived, but never quietly: the item was not observed at all
            result.message = f"not observed, waived until {w.expires.isoformat()}: {result.message}"
        result.status = "waived"
    return notices
