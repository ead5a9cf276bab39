"""Facts about one bucket shared by the s3 probes (each fetched once per run), and lifecycle-rule reading."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from readiness.clients.s3 import S3Handle

if TYPE_CHECKING:
    from readiness.verdict import Verdict


@dataclass(frozen=True)
class Rule:
    id: str
    enabled: bool
    prefix: str
    tags: tuple[str, ...]  # "k=v"; a tag filter narrows the rule to tagged objects only
    expiration_days: int | None
    expiration_date: str | None
    expired_delete_marker: bool
    noncurrent_days: int | None

    @property
    def expires(self) -> bool:
        return self.enabled and (self.expiration_days is not None or self.expiration_date is not None)

    def covers(self, prefix: str) -> bool:
        """Every object under ``prefix`` falls under this rule (no tag or size filter narrows it)."""
        return self.enabled and not self.tags and prefix.startswith(self.prefix)

    def touches(self, prefix: str) -> bool:
        """Some object under ``prefix`` may fall under this rule."""
        return self.enabled and (prefix.startswith(self.prefix) or self.prefix.startswith(prefix))

    def show(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": "Enabled" if self.enabled else "Disabled",
                               "prefix": self.prefix}
        for key in ("tags", "expiration_days", "expiration_date", "noncurrent_days"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.expired_delete_marker:
            out["expired_delete_marker"] = True
        return out


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def parse_rule(raw: Mapping[str, Any]) -> Rule:
    filt = raw.get("Filter") or {}
    both = filt.get("And") or {}
    prefix = filt.get("Prefix", both.get("Prefix", raw.get("Prefix", ""))) or ""
    tags = [filt["Tag"]] if "Tag" in filt else list(both.get("Tags") or [])
    narrowed = [f"{t.get('Key')}={t.get('Value')}" for t in tags]
    for size in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        if size in filt or size in both:
            narrowed.append(f"{size}={filt.get(size, both.get(size))}")
    exp = raw.get("Expiration") or {}
    nc = raw.get("NoncurrentVersionExpiration") or {}
    date = exp.get("Date")
    return Rule(id=str(raw.get("ID") or ""), enabled=raw.get("Status") == "Enabled", prefix=str(prefix),
                tags=tuple(narrowed), expiration_days=_int(exp.get("Days")),
                expiration_date=str(date) if date else None,
                expired_delete_marker=exp.get("ExpiredObjectDeleteMarker") is True,
                noncurrent_days=_int(nc.get("NoncurrentDays")))


MAX_SHOWN = 50  # a bucket may hold 1000 rules; evidence shows the first ones and says how many more


def shown_rules(rules: Sequence[Rule]) -> list[dict[str, Any]]:
    out = [r.show() for r in rules[:MAX_SHOWN]]
    if len(rules) > MAX_SHOWN:
        out.append({"more_rules": len(rules) - MAX_SHOWN})
    return out


def lifecycle(ctx: Any) -> list[Rule]:
    """The bucket's lifecycle rules; [] when it has no lifecycle configuration."""
    def fetch(h: S3Handle) -> list[dict[str, Any]]:
        answer = h.absent_or("GetBucketLifecycleConfiguration", Bucket=h.bucket)
        return list((answer or {}).get("Rules") or [])

    raw = ctx.fact("lifecycle", fetch)
    if not isinstance(raw, list) or not all(isinstance(r, dict) and r.get("Status") in ("Enabled", "Disabled")
                                            for r in raw):
        raise ValueError(f"the lifecycle configuration is not a list of rules with a Status: {raw!r:.200}")
    return [parse_rule(r) for r in raw]


def encryption(ctx: Any) -> list[dict[str, Any]] | None:
    def fetch(h: S3Handle) -> list[dict[str, Any]] | None:
        answer = h.absent_or("GetBucketEncryption", Bucket=h.bucket)
        return None if answer is None else list(
            (answer.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or [])

    return ctx.fact("encryption", fetch)  # type: ignore[no-any-return]


def public_access_block(ctx: Any) -> dict[str, Any] | None:
    def fetch(h: S3Handle) -> dict[str, Any] | None:
        answer = h.absent_or("GetPublicAccessBlock", Bucket=h.bucket)
        return None if answer is None else dict(answer.get("PublicAccessBlockConfiguration") or {})

    return ctx.fact("public-access-block", fetch)  # type: ignore[no-any-return]


def versioning(ctx: Any) -> str:
    """"Enabled", "Suspended", or "" (never versioned)."""
    return ctx.fact("versioning", lambda h: str(h.call("GetBucketVersioning", Bucket=h.bucket).get("Status") or ""))


def location(ctx: Any) -> str:
    """The bucket's region (GetBucketLocation: None or "" means us-east-1, "EU" the old name of eu-west-1)."""
    def fetch(h: S3Handle) -> str:
        raw = h.call("GetBucketLocation", Bucket=h.bucket).get("LocationConstraint")
        return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(raw, str(raw))

    return ctx.fact("location", fetch)  # type: ignore[no-any-return]


def product_prefixes(ctx: Any, default: Sequence[str]) -> list[str]:
    """The prefixes the product writes under: the target's ``prefixes``, else the item's (the preset's)."""
    configured = ctx.config().get("prefixes")
    return [str(x) for x in (configured if configured else default)]


# --- ClickHouse TTLs (through the clickhouse target's shared session) ----------------------------------------------

def ttl_days(engine_full: str) -> list[float]:
    """Days after which a table's TTL deletes its rows (only DELETE elements are retention: a TO VOLUME/TO DISK move,
    RECOMPRESS or GROUP BY keeps the rows); a per-row TTL (an interval of a column) gives none."""
    from readiness.checks._clickhouse_facts import delete_ttl_days

    return delete_ttl_days(engine_full)


class _Other:
    """The clickhouse target's session seen as a probe context, so its probes' facts are shared, not refetched."""

    def __init__(self, ctx: Any, kind: str):
        self._ctx, self._kind = ctx, kind

    def fact(self, name: str, fetch: Any) -> Any:
        return self._ctx.fact(name, fetch, kind=self._kind)

    def config(self) -> Any:
        return self._ctx.config(self._kind)

    @property
    def client(self) -> Any:
        return self._ctx.session(self._kind).get_client(self._ctx.deadline)


def clickhouse_view(ctx: Any) -> _Other:
    """The clickhouse target's session as a probe context (for clickhouse_blind_spot and clickhouse_ttls)."""
    return _Other(ctx, "clickhouse")


def clickhouse_blind_spot(other: _Other) -> Verdict | None:
    """The clickhouse items' own check that the audit identity sees the product's databases (system.tables leaves
    hidden tables out: their TTLs would read as "none", and the product's tiers would be judged instead)."""
    from readiness.checks._clickhouse_facts import blind_spot

    return blind_spot(other)


def clickhouse_ttls(other: _Other, tables: Sequence[str]) -> tuple[dict[str, list[float]], dict[str, str]]:
    """({db.table: TTL days} of the trace tables matching ``tables`` on every node, {node: why unread})."""
    from readiness.checks._clickhouse_facts import CLAUSES, ENGINES, globs_regex
    from readiness.checks.clickhouse import merge_tree, on_nodes, selected, split

    # The facts clickhouse.ttl reads (shared in one run): engine_full only for tables that set a TTL, not for every
    # table of the node.  A node that answered one and not the other is unread, never "no TTL".
    ok, bad = split(on_nodes(other, ENGINES, {"names": globs_regex(list(tables))}))
    clauses, bad_clauses = split(on_nodes(other, CLAUSES))
    bad.update({n: why for n, why in bad_clauses.items() if n not in bad})
    found: dict[str, list[float]] = {}
    for node, rows in ok.items():
        if node in bad:
            continue
        full = {(c["database"], c["name"]): c["engine_full"] for c in clauses[node]}  # absent: no TTL clause
        for r in rows:
            if merge_tree(r["engine"]) and selected(r["database"], r["name"], tables):
                name = f"{r['database']}.{r['name']}"
                found.setdefault(name, []).extend(ttl_days(full.get((r["database"], r["name"]), "")))
    return {k: sorted(set(v)) for k, v in found.items()}, bad
