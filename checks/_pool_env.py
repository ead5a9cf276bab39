"""PostgreSQL connection pools as the services' env declares them (pool-size variables, Prisma's
connection_limit=), and the demand they add up to across the product's scaled services."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from readiness.checks._k8s_env import service_scale

# ASYNCPG_POOL_MAX_SIZE: LangSmith's queue, ingest-queue and listener (langchain-ai/helm charts/langsmith 0.17,
# templates/queue/deployment.yaml; the compose .env.example)
POOL_ENV = ("POSTGRES_POOL_SIZE", "DATABASE_POOL_SIZE", "DB_POOL_SIZE", "PG_POOL_SIZE", "POOL_SIZE",
            "POSTGRES_MAX_CONNECTIONS", "DATABASE_CONNECTION_LIMIT", "ASYNCPG_POOL_MAX_SIZE")
URL_ENV = ("DATABASE_URL", "POSTGRES_URL", "POSTGRES_URI", "DATABASE_URI")


def pool_size(env: Mapping[str, str]) -> int | None:
    """The connections one pod's pool opens, from its env: a pool-size variable, or connection_limit= in the
    database URL (Prisma); None when the env does not say (the pool's own default then depends on the node)."""
    for var in POOL_ENV:
        if str(env.get(var, "")).strip().isdigit():
            return int(env[var])
    for var in URL_ENV:
        m = re.search(r"[?&]connection_limit=(\d+)", str(env.get(var, "")))
        if m:
            return int(m.group(1))
    return None


def counted_pool(env: Mapping[str, str], hidden: Mapping[str, str]) -> tuple[int | None, str | None]:
    """(the pool size ``pool_size`` reads, why it cannot be read): a variable it would consult that comes from a
    Secret (never read), or a whole envFrom source that cannot be read, leaves the demand uncounted."""
    wild = [why for var, why in hidden.items() if var.endswith("*")]
    if wild:
        return None, wild[0]
    for var in POOL_ENV + URL_ENV:
        if var in hidden:
            return None, hidden[var]
        size = pool_size({var: env[var]}) if var in env else None
        if size is not None:
            return size, None
    return None, None


def connection_demand(ctx: Any, components: Iterable[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """([{name, replicas (max), pool_size}] of the services whose env gives their pool size], [services with database
    settings but no readable pool size: "ns/name", or "ns/name (why)" where a Secret or a missing ConfigMap hides
    it]).  ConfigMaps named by envFrom / configMapKeyRef are read; Secrets never are."""
    known, unknown = [], []
    for svc in service_scale(ctx, components):
        hidden = svc.get("hidden", {})
        if not any(re.search(r"POSTGRES|DATABASE|^PG|^DB_", n) for n in svc["env_names"]) and not any(
                n.endswith("*") for n in hidden):
            continue  # no database setting at all: a service that does not talk to PostgreSQL (the frontend)
        size, why = counted_pool(svc["env"], hidden)
        if svc.get("scaler_problem"):
            unknown.append(f"{svc['workload']} ({svc['scaler_problem']})")
        elif size is None:
            unknown.append(f"{svc['workload']} ({why})" if why else svc["workload"])
        else:
            known.append({"name": svc["workload"], "replicas": svc["max_replicas"], "pool_size": size})
    return known, unknown
