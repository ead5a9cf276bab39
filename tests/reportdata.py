"""Realistic report dicts (schema readiness.report/v1) for the renderer and diff tests."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from readiness.models import is_blocking

STARTED = "2026-03-02T10:15:00.000000Z"
FINISHED = "2026-03-02T10:15:04.512000Z"
EXPIRING_SOON = "2026-03-12"  # 10 days after FINISHED
EXPIRED = "2026-02-20"
LATER = "2026-09-30"

XSS_TAG = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'
XSS = XSS_TAG + XSS_ATTR


def result(id: str, level: str, status: str, message: str, *, section: str | None = None,
           title: str | None = None, probe: str | None = "generic", evidence: dict[str, Any] | None = None,
           rationale: str = "", remediation: str = "", waiver: dict[str, Any] | None = None,
           attestation: dict[str, Any] | None = None, duration_s: float = 0.004) -> dict[str, Any]:
    return {
        "id": id, "section": section or id.split(".")[0], "title": title or id.replace("-", " "),
        "level": level, "status": status, "probe": None if status == "manual" or attestation else probe,
        "message": message,
        "evidence": evidence or {}, "rationale": rationale or f"Why {id} matters.",
        "remediation": remediation or f"How to fix {id}.", "duration_s": duration_s, "waiver": waiver,
        "attestation": attestation,
    }


def finish(results: list[dict[str, Any]], *, fail_on: str = "required", preset: str | None = "langsmith",
           name: str = "Self-hosted LLM observability - production readiness",
           targets: dict[str, Any] | None = None, with_blocking: bool = True) -> dict[str, Any]:
    """Wrap results as the runner would: blocking flags, summary and run metadata."""
    results = copy.deepcopy(results)
    blocked = 0
    for r in results:
        flag = is_blocking(r["level"], r["status"], fail_on)
        blocked += flag
        if with_blocking:
            r["blocking"] = flag
    summary: dict[str, Any] = {"total": len(results)}
    for status in ("pass", "fail", "error", "skipped", "manual", "waived"):
        summary[status] = sum(r["status"] == status for r in results)
    summary["blocking"] = blocked
    summary["verdict"] = "ready" if blocked == 0 else "not-ready"
    return {
        "schema": "readiness.report/v1",
        "tool": {"name": "readiness", "version": "0.1.0"},
        "checklist": {"name": name, "version": 1, "sha256": hashlib.sha256(name.encode()).hexdigest(),
                      "path": "/etc/readiness/checklist.yaml"},
        "profile": "production", "preset": preset, "fail_on": fail_on,
        "started_at": STARTED, "finished_at": FINISHED, "duration_s": 4.512,
        "targets": targets if targets is not None else TARGETS,
        "summary": summary, "results": results,
    }


TARGETS: dict[str, Any] = {
    "redis": {"url": "redis://:***@cache.internal:6379/0"},
    "postgres": {"dsn": "postgresql://langsmith:***@pg.internal:5432/langsmith", "sslmode": "require"},
    "clickhouse": {"url": "clickhouse://default:***@ch-0:9000/default", "cluster": "default"},
    "s3": {"bucket": "langsmith-traces", "endpoint_url": "https://s3.eu-west-1.amazonaws.com",
           "region": "eu-west-1"},
    "kubernetes": {"context": "prod", "namespace": "langsmith", "release": "langsmith"},
    "network": {"public_host": "observability.example.com", "public_ports": [80, 443]},
}


def sample_results() -> list[dict[str, Any]]:
    return [
        result("redis.eviction-policy", "required", "fail",
               "maxmemory_policy is allkeys-lru, expected noeviction",
               title="Redis never evicts queue data", probe="redis.info",
               evidence={"maxmemory_policy": "allkeys-lru", "maxmemory": 4294967296},
               rationale="Queues live in Redis; with an evicting policy a memory spike silently drops queued "
                         "traces.",
               remediation="CONFIG SET maxmemory-policy noeviction (and persist it in redis.conf / the chart "
                           "values)"),
        result("redis.persistence", "required", "pass", "appendonly is yes", title="Redis persists its data",
               probe="redis.info", evidence={"appendonly": "yes", "aof_enabled": 1}),
        result("redis.replicas", "recommended", "waived", "1 replica, expected at least 2",
               title="Redis has replicas", probe="redis.replication",
               evidence={"connected_slaves": 1, "replicas": [{"ip": "10.0.3.4", "port": 6379, "lag": 0}]},
               waiver={"justification": "Second replica arrives with the new node pool (OPS-412).",
                       "expires": EXPIRING_SOON, "approved_by": "Dana Ruiz", "expired": False}),
        result("postgres.max-connections", "required", "pass", "max_connections is 500 (at least 200)",
               title="PostgreSQL allows enough connections", probe="postgres.setting",
               evidence={"max_connections": 500}),
        result("postgres.backups", "required", "error", "could not connect: timeout after 5.0 s",
               title="PostgreSQL has point-in-time recovery", probe="postgres.query",
               evidence={"host": "pg.internal", "timeout_s": 5.0}),
        result("postgres.ssl", "recommended", "fail", "ssl is off", title="PostgreSQL requires TLS",
               probe="postgres.setting", evidence={"ssl": "off"},
               waiver={"justification": "Private subnet only; TLS rollout planned.", "expires": EXPIRED,
                       "approved_by": "Sam Lee", "expired": True}),
        result("clickhouse.replicas", "required", "pass", "2 replicas per shard on cluster default",
               title="ClickHouse tables are replicated", probe="clickhouse.replicas",
               evidence={"cluster": "default", "shards": [{"shard": 1, "replicas": ["ch-0", "ch-1"]}],
                         "tables": {"runs": "ReplicatedMergeTree", "feedback": "ReplicatedMergeTree"}}),
        result("clickhouse.ttl", "recommended", "fail", "runs has no TTL", title="Trace tables expire",
               probe="clickhouse.query", evidence={"table": "runs", "ttl": None, "rows": 182734411}),
        result("clickhouse.disk-headroom", "optional", "fail", "free disk is 18% (at least 25%)",
               title="ClickHouse disks have headroom", probe="clickhouse.query",
               evidence={"free_ratio": 0.18,
                         "disks": {"default": {"free": 193273528320, "total": 1073741824000}}}),
        result("s3.lifecycle", "required", "waived", "no lifecycle rule matches the trace prefix",
               title="Blob storage expires trace payloads", probe="s3.lifecycle",
               evidence={"bucket": "langsmith-traces", "rules": []},
               waiver={"justification": "Retention mandated by legal hold until Q3.", "expires": LATER,
                       "approved_by": "Priya Natarajan", "expired": False}),
        result("s3.encryption", "required", "pass", "SSE-KMS", title="Blob storage is encrypted at rest",
               probe="s3.encryption", evidence={"algorithm": "aws:kms", "bucket_key": True}),
        result("s3.roundtrip", "optional", "skipped", "write probes are opt-in (--allow-writes)",
               title="Blob storage accepts writes", probe="s3.roundtrip"),
        result("kubernetes.hpa", "recommended", "pass", "every Deployment has an HPA",
               title="Services autoscale", probe="kubernetes.hpa",
               evidence={"deployments": ["langsmith-backend", "langsmith-queue", "langsmith-frontend"]}),
        result("kubernetes.pdb", "recommended", "error", "forbidden: cannot list poddisruptionbudgets",
               title="Services have disruption budgets", probe="kubernetes.objects",
               evidence={"kind": "PodDisruptionBudget", "http_status": 403}),
        result("kubernetes.langsight-sidecar", "optional", "skipped", "only for preset langsight",
               title="LangSight collector sidecar runs", probe="kubernetes.objects"),
        result("network.private-ports", "required", "pass", "no private port reachable from the outside",
               title="Datastores are not exposed", probe="network.ports",
               evidence={"checked": [3003, 8000, 5432, 6379, 8123, 9000], "open": []}),
        result("network.tls", "required", "pass", "TLS 1.2+ with a valid certificate (expires in 74 days)",
               title="The UI is served over TLS", probe="http.tls",
               evidence={"protocol": "TLSv1.3", "not_after": "2026-05-15", "issuer": "R11"}),
        result("ops.write-path-understood", "required", "pass", "attested by Alex Kim on 2026-02-27",
               section="ops",
               title="The team understands the write path (backend -> Redis -> queue -> ClickHouse)",
               attestation={"by": "Alex Kim", "date": "2026-02-27",
                            "evidence": "https://wiki.example.com/ops/write-path", "expires": "2026-08-27"}),
        result("ops.restore-drill", "required", "manual", "awaiting attestation", section="ops",
               title="A restore from backup has been rehearsed"),
        result("ops.oncall", "recommended", "manual", "awaiting attestation", section="ops",
               title="An on-call rotation covers the stack"),
    ]


def sample_report(**kwargs: Any) -> dict[str, Any]:
    return finish(sample_results(), **kwargs)


def big_report(n: int = 500) -> dict[str, Any]:
    """n items over a dozen sections, every status and level, with long messages and bulky evidence."""
    statuses = ("pass", "pass", "pass", "fail", "error", "skipped", "manual", "waived", "pass", "fail")
    levels = ("required", "recommended", "optional")
    results = []
    for i in range(n):
        status = statuses[i % len(statuses)]
        section = f"section-{i % 12:02d}"
        waiver = None
        if status == "waived":
            waiver = {"justification": f"Accepted risk {i}.", "expires": LATER, "approved_by": "Dana Ruiz",
                      "expired": False}
        results.append(result(
            f"{section}.item-{i:03d}", levels[i % 3], status,
            f"observed value {i} is outside the expected range " + "with a long explanation " * (i % 7),
            evidence={"value": i, "expected": {"min": 10, "max": 20}, "samples": list(range(i % 30)),
                      "note": "x" * (i % 400)},
            remediation="Raise the limit in the chart values and roll out. " * (1 + i % 4), waiver=waiver))
    return finish(results)


def hostile_report() -> dict[str, Any]:
    """Markup planted everywhere a report carries text from the outside world."""
    results = sample_results()
    first = results[0]
    first["title"] = "Title " + XSS
    first["message"] = "Message " + XSS
    first["evidence"] = {XSS: XSS, "nested": {XSS: [XSS, {"k": XSS}]},
                         "</script><script>alert(2)</script>": 1}
    first["remediation"] = "Fix " + XSS
    first["rationale"] = "Why " + XSS
    results[2]["waiver"]["justification"] = XSS
    results[2]["waiver"]["approved_by"] = XSS
    results[17]["attestation"]["evidence"] = "javascript:alert(1) " + XSS
    results[17]["attestation"]["by"] = XSS
    results[3]["section"] = "postgres " + XSS
    targets = {"redis": {"url": "redis://cache:6379/0", XSS: XSS, "nested": {"note": XSS}}}
    report = finish(results, name="Checklist " + XSS, targets=targets)
    return report


def narrowed_report() -> dict[str, Any]:
    """The sample as `--only redis --only kubernetes.langsight-sidecar --skip redis.replicas` leaves it, worded as
    the runner words it: redis.eviction-policy, redis.persistence and a preset skip are what was asked."""
    from readiness.models import EXCLUDED, NOT_SELECTED

    only = "redis kubernetes.langsight-sidecar"
    out = []
    for r in sample_results():
        if r["id"] == "redis.replicas":
            r.update(status="skipped", message=f"{EXCLUDED}redis.replicas", waiver=None)
        elif not r["id"].startswith("redis.") and r["id"] != "kubernetes.langsight-sidecar":
            r.update(status="skipped", message=f"{NOT_SELECTED}{only})", waiver=None, attestation=None)
        out.append(r)
    return finish(out)
