"""PostgreSQL backups and disk: through the RDS API and CloudWatch for an RDS instance (boto3, via the postgres
target's client), WAL archiving for a self-managed server.  Disk usage cannot be seen from SQL."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from readiness.checks._postgres_facts import setting

from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided, unobservable

_RDS_HOSTS = Param("str-list", [r"\.rds\.amazonaws\.com$"], help="regexes of RDS endpoints (the instance id is "
                                                                 "the first label unless rds_instance is given)")


def _rds_instance(ctx: Any, patterns: list[str]) -> tuple[str | None, str | None]:
    """(instance id, why not) for an RDS-hosted target."""
    configured = ctx.config().get("rds_instance")
    if configured:
        return str(configured), None
    host = ctx.client.dialled[0]
    if not any(re.search(p, host or "", re.I) for p in patterns):
        return None, None
    label = host.split(".")[0]
    if ".proxy-" in host or ".cluster-" in host:
        return None, (f"{host} is an RDS Proxy or Aurora cluster endpoint: give rds_instance (the DB instance "
                      "identifier) in the postgres target")
    return label, None


def _describe(ctx: Any, instance: str) -> dict[str, Any]:
    def fetch(h: Any) -> dict[str, Any]:
        found = h.aws("rds").describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"]
        return found[0]

    return ctx.fact(f"rds:{instance}", fetch)


@probe("postgres.backups", target="postgres", params={
    "rds_hosts": _RDS_HOSTS,
    "min_retention_days": Param("int", 1, help="RDS: lowest acceptable BackupRetentionPeriod"),
})
def backups(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Automated backups are on: RDS BackupRetentionPeriod (boto3 describe_db_instances), or, self-managed, WAL
    archiving configured and not failing (archive_mode, archive_command/archive_library, pg_stat_archiver)."""
    instance, why_not = _rds_instance(ctx, p["rds_hosts"])
    if why_not:
        return undecided(why_not)
    if instance:
        db = _describe(ctx, instance)
        days = int(db.get("BackupRetentionPeriod") or 0)
        evidence = {"rds_instance": instance, "backup_retention_days": days,
                    "backup_window": db.get("PreferredBackupWindow"),
                    "latest_restorable": db.get("LatestRestorableTime")}
        if days >= p["min_retention_days"]:
            return passed(f"RDS keeps automated backups for {days} day(s)", **evidence)
        return failed(f"RDS automated backups are off or too short (BackupRetentionPeriod {days}, minimum "
                      f"{p['min_retention_days']})", **evidence)
    mode = setting(ctx, "archive_mode", "off")
    command = str(setting(ctx, "archive_command", "") or "")
    library = str(setting(ctx, "archive_library", "") or "")
    evidence = {"archive_mode": mode, "archive_command": command or None, "archive_library": library or None}
    if mode not in ("on", "always") or not (library or command not in ("", "(disabled)")):
        # backups taken outside PostgreSQL (pg_dump, volume snapshots) leave nothing SQL can see
        return unobservable("WAL archiving is off, and backups taken another way (pg_dump, volume snapshots, a "
                            "backup operator) cannot be seen from SQL: attest them, or give rds_instance", **evidence)
    stats = ctx.fact("archiver", lambda h: h.columns(
        "SELECT archived_count, last_archived_time, failed_count, last_failed_time FROM pg_stat_archiver"))[0]
    evidence.update(stats)
    last_ok, last_bad = stats["last_archived_time"], stats["last_failed_time"]
    if last_bad and (not last_ok or last_bad > last_ok):
        return failed(f"WAL archiving is configured but failing ({stats['failed_count']} failures, the latest "
                      f"at {last_bad}): check the archive command's log", **evidence)
    return passed(f"WAL archiving is on ({stats['archived_count']} segments archived)", **evidence)


@probe("postgres.disk-usage", target="postgres", params={
    "rds_hosts": _RDS_HOSTS,
    "max_ratio": Param("number", 0.7, help="highest acceptable share of storage used"),
    "window_minutes": Param("int", 60, help="CloudWatch: look at FreeStorageSpace over this many minutes"),
})
def disk_usage(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Storage used below `max_ratio`: RDS AllocatedStorage vs the lowest CloudWatch FreeStorageSpace in the window.

    A self-managed server's disk cannot be seen from SQL: the result is an error asking for an attestation."""
    instance, why_not = _rds_instance(ctx, p["rds_hosts"])
    if why_not:
        return undecided(why_not)
    if not instance:
        return unobservable("disk usage cannot be seen from SQL: attest it, or give the RDS instance (rds_instance "
                            "in the postgres target)")
    db = _describe(ctx, instance)
    if str(db.get("Engine", "")).startswith("aurora"):
        return not_applicable("Aurora storage grows automatically; there is no allocated size to fill")
    allocated = int(db.get("AllocatedStorage") or 0) * 1024**3

    def fetch(h: Any) -> list[dict[str, Any]]:
        now = dt.datetime.now(dt.timezone.utc)
        answer = h.aws("cloudwatch").get_metric_statistics(
            Namespace="AWS/RDS", MetricName="FreeStorageSpace", Statistics=["Minimum"], Period=60,
            Dimensions=[{"Name": "DBInstanceIdentifier", "Value": instance}],
            StartTime=now - dt.timedelta(minutes=p["window_minutes"]), EndTime=now)
        return sorted(answer.get("Datapoints", []), key=lambda d: d["Timestamp"])

    points = ctx.fact(f"cloudwatch:{instance}:{p['window_minutes']}", fetch)
    evidence = {"rds_instance": instance, "allocated_bytes": allocated,
                "max_allocated_gib": db.get("MaxAllocatedStorage"), "datapoints": len(points)}
    if not points or not allocated:
        return undecided(f"CloudWatch has no FreeStorageSpace for {instance} in the last {p['window_minutes']} "
                         "minutes (or no AllocatedStorage): check cloudwatch:GetMetricStatistics permission",
                         **evidence)
    free = min(float(d["Minimum"]) for d in points)
    ratio = (allocated - free) / allocated
    evidence.update(free_bytes=int(free), used_ratio=round(ratio, 4))
    verdict = passed if ratio < p["max_ratio"] else failed
    return verdict(f"{ratio:.0%} of {allocated // 1024**3} GiB used at the fullest point of the last "
                   f"{p['window_minutes']} minutes (limit {p['max_ratio']:.0%})", **evidence)
