"""Target kinds: the settings each backend takes in the targets file, and where its client lives.

Connection code lives here, once per backend (``readiness.clients.<kind>``), never in probe modules.  A client
module exposes ``connect(config: dict, timeout: float) -> client`` and ``close(client) -> None``; it is imported
only when a probe of that backend runs, so heavy libraries stay out of ``--help`` and ``validate``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from readiness.probe import Param

_OPT = None


@dataclass(frozen=True)
class TargetKind:
    name: str
    fields: Mapping[str, Param]
    client_module: str | None = None  # None: the settings are all there is (no connection to open)

    def connector(self) -> Any:
        if self.client_module is None:
            return None
        return importlib.import_module(self.client_module)


KINDS: dict[str, TargetKind] = {
    k.name: k
    for k in (
        TargetKind("redis", {
            "url": Param("str", help="redis://, rediss://, redis+sentinel://h1:26379,h2:26379/master/db, "
                                     "redis+cluster://n1,n2,n3"),
            "username": Param("str", _OPT, help="ACL user (instead of putting it in the URL)"),
            "password": Param("str", _OPT, help="password (instead of putting it in the URL)"),
            "sentinel_password": Param("str", _OPT, help="password of the Sentinels, when they have one"),
            "ca_file": Param("path", _OPT, help="CA bundle for rediss://"),
            "cert_file": Param("path", _OPT, help="client certificate for rediss://"),
            "key_file": Param("path", _OPT, help="client key for rediss://"),
            "verify": Param("bool", True, help="verify the server certificate (rediss://)"),
            "protocol": Param("int", 2, choices=(2, 3), help="RESP version to speak (3 sends HELLO 3)"),
        }, "readiness.clients.redis"),
        TargetKind("postgres", {
            "dsn": Param("str", help="libpq URL or key=value DSN of the application database"),
            "pgbouncer_admin_dsn": Param("str", _OPT, help="DSN of PgBouncer's admin console (database pgbouncer)"),
            "direct_dsn": Param("str", _OPT, help="DSN that bypasses the pooler (migrations, DIRECT_URL)"),
            "rds_instance": Param("str", _OPT, help="RDS DB instance identifier (backups and disk through AWS)"),
            "region": Param("str", _OPT, help="AWS region of the RDS instance"),
            "endpoint_url": Param("str", _OPT, help="AWS endpoint override (tests, private endpoints)"),
        }, "readiness.clients.postgres"),
        TargetKind("clickhouse", {
            "url": Param("str", _OPT, help="clickhouse://user:password@host:9000/db (clickhouses:// for TLS)"),
            "urls": Param("str-list", _OPT, help="one URL per node, when the nodes are reached separately"),
            "cluster": Param("str", _OPT, help="cluster name in system.clusters"),
            "user": Param("str", _OPT, help="user (instead of putting it in the URL; default: default)"),
            "password": Param("str", _OPT, help="password (instead of putting it in the URL)"),
            "database": Param("str", _OPT, help="database (instead of the URL's path; default: default)"),
            "ca_file": Param("path", _OPT, help="CA bundle for clickhouses://"),
            "verify": Param("bool", True, help="verify the server certificate"),
            "keeper": Param("str-list", _OPT, help="host:port of each Keeper/ZooKeeper node, when the ensemble's "
                                                   "config does not give their client ports"),
        }, "readiness.clients.clickhouse"),
        TargetKind("s3", {
            "bucket": Param("str"),
            "endpoint_url": Param("str", _OPT, help="S3-compatible endpoint (MinIO, R2, ...); empty for AWS"),
            "region": Param("str", _OPT),
            "profile": Param("str", _OPT, help="AWS profile name"),
            "access_key_id": Param("str", _OPT),
            "secret_access_key": Param("str", _OPT),
            "addressing_style": Param("str", "auto", choices=("auto", "path", "virtual")),
            "prefixes": Param("str-list", _OPT, help="prefixes the product writes under"),
        }, "readiness.clients.s3"),
        TargetKind("kubernetes", {
            "context": Param("str", _OPT, help="kubeconfig context"),
            "kubeconfig": Param("path", _OPT),
            "in_cluster": Param("bool", False, help="use the pod's service account"),
            "namespace": Param("str", _OPT),
            "release": Param("str", _OPT, help="Helm release name (prefix of the product's objects)"),
            "manifests": Param("path", _OPT, help="a directory of rendered manifests instead of a live cluster"),
        }, "readiness.clients.kubernetes"),
        TargetKind("http", {
            "base_url": Param("str"),
            "verify": Param("bool", True),
            "ca_file": Param("path", _OPT),
            "metrics_token": Param("str", _OPT),
        }, "readiness.clients.http"),
        TargetKind("network", {
            "public_host": Param("str"),
            "viewpoint": Param("str", _OPT, help="address to probe from (the outside view); default: any"),
            "public_ports": Param("int-list", [80, 443]),
            "private_ports": Param("int-list", [3003, 8000, 5432, 6379, 8123, 9000]),
        }),
        TargetKind("files", {
            "compose": Param("path", _OPT),
            "env": Param("path", _OPT),
            "helm_values": Param("path", _OPT),
        }),
    )
}
