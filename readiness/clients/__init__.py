"""Target kinds: the settings each backend takes in the targets file, and where its client lives.

A target kind is a ``TargetKind`` registered under the entry-point group ``readiness.targets`` (the built-ins below
are registered the same way, in the project's own pyproject), so a third-party package can bring a whole backend:
its targets-file section, its client and its probes.

Connection code lives once per backend in a client module (``readiness.clients.<kind>`` for the built-ins), never in
probe modules.  A client module exposes ``connect(config: dict, timeout: float) -> client`` and
``close(client) -> None``, and optionally ``secrets(config) -> set[str]`` (every credential it parses from the
settings, for masking) and ``config_problems(config) -> list[(field, message)]`` (settings that can never work, for
``validate``).  It is imported only when needed and imports its heavy library inside functions, so ``--help`` and
``validate`` stay light.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from readiness.params import Param

_OPT = None


@dataclass(frozen=True)
class TargetKind:
    name: str
    fields: Mapping[str, Param]
    client_module: str | None = None  # None: the settings are all there is (no connection to open)
    # The deployment kinds (compose, kubernetes) the target exists in; None: any.  Items whose probe reads this
    # target are skipped, with the reason, on a deployment of another kind.
    deployments: tuple[str, ...] | None = None

    def connector(self) -> Any:
        if self.client_module is None:
            return None
        return importlib.import_module(self.client_module)


_BUILTIN = (
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
            "databases": Param("str-list", _OPT, help="the product's databases, which the audit user must see "
                                                      "(default: the URL's database)"),
            "ca_file": Param("path", _OPT, help="CA bundle for clickhouses://"),
            "verify": Param("bool", True, help="verify the server certificate"),
            "keeper": Param("str-list", _OPT, help="host:port of each Keeper/ZooKeeper node, when the ensemble's "
                                                   "config does not give their client ports"),
        }, "readiness.clients.clickhouse"),
        TargetKind("s3", {
            "bucket": Param("str"),
            "endpoint_url": Param("str", _OPT, help="S3-compatible endpoint (MinIO, SeaweedFS, GCS interop, ...); "
                                                    "empty for AWS"),
            "region": Param("str", _OPT, help="the bucket's region (default: the AWS chain's, else us-east-1)"),
            "profile": Param("str", _OPT, help="AWS profile name"),
            "access_key_id": Param("str", _OPT, help="static key (default: the AWS credential chain)"),
            "secret_access_key": Param("str", _OPT),
            "session_token": Param("str", _OPT, help="with temporary static keys"),
            "addressing_style": Param("str", "auto", choices=("auto", "path", "virtual")),
            "prefixes": Param("str-list", _OPT, help="prefixes the product writes under (default: the preset's)"),
            "allow_writes": Param("bool", False, help="opt in to blob.round-trip's PUT/DELETE of one test object"),
        }, "readiness.clients.s3"),
        TargetKind("kubernetes", {
            "context": Param("str", _OPT, help="kubeconfig context"),
            "kubeconfig": Param("path", _OPT),
            "in_cluster": Param("bool", False, help="use the pod's service account"),
            "namespace": Param("str", _OPT, help="namespace of the product (default: every namespace)"),
            "namespaces": Param("str-list", _OPT, help="several namespaces (e.g. the product's and its datastores')"),
            "release": Param("str", _OPT, help="Helm release name (prefix of the product's objects)"),
            "manifests": Param("path", _OPT, help="a file or directory of rendered manifests (helm template, kubectl "
                                                  "get -o yaml) instead of a live cluster"),
            "chart": Param("path", _OPT, help="a Helm chart (directory or .tgz) rendered in the process (helm "
                                              "template, else the helm-python-sdk engine) instead of a live "
                                              "cluster; release and namespace name the install"),
            "values": Param("path-list", _OPT, help="values files of the chart, in order (like helm -f)"),
        }, "readiness.clients.kubernetes", ("kubernetes",)),
        TargetKind("http", {
            "base_url": Param("str", help="the public endpoint, https://observability.example.com"),
            "verify": Param("bool", True, help="verify the certificate on requests (the certificate item always "
                                               "verifies)"),
            "ca_file": Param("path", _OPT, help="CA bundle of a private CA (instead of the system store)"),
            "metrics_token": Param("str", _OPT, help="token the metrics endpoint accepts (LANGSIGHT_METRICS_TOKEN)"),
            "http_url": Param("str", _OPT, help="plain-HTTP URL for the redirect check; default: http://<host>/"),
            "worker_url": Param("str", _OPT, help="the worker's own URL (Langfuse worker, http://worker:3030)"),
            "allow_writes": Param("bool", False, help="opt in to network.body-size's real POST of the body "
                                                      "(with send_body: true on the item) and to the canary trace "
                                                      "of app.end-to-end-canary (with opt_in: in the targets file)"),
            "public_key": Param("str", _OPT, help="Langfuse project public key (pk-lf-...), for the canary"),
            "secret_key": Param("str", _OPT, help="Langfuse project secret key (sk-lf-...), for the canary"),
            "api_key": Param("str", _OPT, help="LangSmith API key (x-api-key), for the canary"),
        }, "readiness.clients.http"),
        TargetKind("network", {
            "public_host": Param("str"),
            "viewpoint": Param("str", _OPT, help="local address to connect from (the outside view, e.g. the "
                                                 "host's public address); default: the default route"),
            "public_ports": Param("int-list", [80, 443]),
            "private_ports": Param("int-list", [3003, 8000, 5432, 6379, 8123, 9000]),
        }, "readiness.clients.network"),
        TargetKind("files", {
            "compose": Param("path", _OPT, help="docker compose file (variables resolved from the .env beside it)"),
            "env": Param("path", _OPT, help="env file the application reads (.env)"),
            "helm_values": Param("path", _OPT, help="values file of the LangSmith or Langfuse Helm chart"),
            "nginx": Param("path", _OPT, help="nginx.conf the proxy is deployed from (its includes are read "
                                             "relative to it)"),
            "root": Param("path", ".", help="directory that finding locations (and SARIF URIs) are relative to; "
                                            "default: the targets file's directory"),
        }, "readiness.clients.files"),
)
REDIS, POSTGRES, CLICKHOUSE, S3, KUBERNETES, HTTP, NETWORK, FILES = _BUILTIN

TARGET_GROUP = "readiness.targets"


class _Kinds(dict):  # type: ignore[type-arg]
    """Every registered target kind by name, read from the entry points on first use (not at import)."""

    _loaded = False
    broken: dict[str, str]

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        self.broken = {}
        from readiness.entrypoints import entry_points

        order = [k.name for k in _BUILTIN]  # built-ins first, in the order of the docs; plugins after, by name
        for ep in sorted(entry_points(group=TARGET_GROUP),
                         key=lambda e: (order.index(e.name) if e.name in order else len(order), e.name)):
            try:
                kind = ep.load()
            except Exception as exc:  # a broken plugin must not take the tool down
                self.broken[f"{ep.name} = {ep.value}"] = f"{type(exc).__name__}: {exc}"
                continue
            if not isinstance(kind, TargetKind) or kind.name != ep.name:
                self.broken[f"{ep.name} = {ep.value}"] = "is not a TargetKind named " + repr(ep.name)
            elif ep.name in self and dict.__getitem__(self, ep.name) is not kind:
                self.broken[f"{ep.name} = {ep.value}"] = f"target kind {ep.name!r} is already registered"
            else:
                dict.__setitem__(self, ep.name, kind)

    def __getitem__(self, key: str) -> TargetKind:
        self._load()
        return dict.__getitem__(self, key)

    def __setitem__(self, key: str, value: TargetKind) -> None:
        self._load()
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: str) -> None:
        self._load()
        dict.__delitem__(self, key)

    def __contains__(self, key: object) -> bool:
        self._load()
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[str]:
        self._load()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._load()
        return dict.__len__(self)

    def get(self, key: str, default: Any = None) -> Any:
        self._load()
        return dict.get(self, key, default)

    def keys(self) -> Any:
        self._load()
        return dict.keys(self)

    def items(self) -> Any:
        self._load()
        return dict.items(self)

    def values(self) -> Any:
        self._load()
        return dict.values(self)


KINDS: dict[str, TargetKind] = _Kinds()


def connector_for(kind: str) -> Any:
    """The client module of a kind (None for settings-only kinds), imported on first use."""
    return KINDS[kind].connector()


def client_module(kind: str) -> Any:
    """The client module if it is importable without error, else None (for optional hooks: secrets, problems)."""
    target = KINDS.get(kind)
    if target is None or target.client_module is None:
        return None
    if target.client_module in sys.modules:
        return sys.modules[target.client_module]
    try:
        return target.connector()
    except Exception:
        return None
