"""The Kubernetes facts as the probes import them (``from readiness.checks import _kubernetes_facts as kf``):
each role lives in a module of its own, re-exported here so every probe, of any backend, keeps one name.

- checks/_k8s_access.py: the reads (one listing per kind per audit) and the refusal of undeclared reads;
- checks/_k8s_fields.py: fields of objects and quantities;
- checks/_k8s_products.py: the product's release and its workloads;
- checks/_k8s_storage.py: StorageClasses and volume types;
- checks/_k8s_env.py: the services' env and scale; checks/_pool_env.py: PostgreSQL pools from that env.
"""

from __future__ import annotations

from readiness.checks._k8s_access import (  # noqa: F401 - re-exported
    CLAIMS,
    DEMAND,
    NEEDS_LIVE,
    SCALERS,
    UndeclaredRead,
    check_declared,
    cluster,
    derived,
    ensure_served,
    listing,
    live,
    manifest_kinds,
    namespaces,
    objects,
    resolve,
    scaled_objects,
    served_groups,
    shaped,
    workloads,
)
from readiness.checks._k8s_env import (  # noqa: F401 - re-exported
    container_env,
    service_scale,
)
from readiness.checks._k8s_fields import (  # noqa: F401 - re-exported
    annotations_of,
    condition,
    containers,
    dicts,
    get,
    is_true,
    label,
    labels,
    mapping,
    name,
    pod_spec,
    quantity,
    ref,
    seq,
)
from readiness.checks._k8s_products import (  # noqa: F401 - re-exported
    COMPONENT,
    DATASTORES,
    INSTANCE,
    NAME,
    OPERATOR,
    OPERATOR_CLAIM,
    SERVICES,
    WITHIN_RELEASE,
    Identity,
    absent,
    bundled_workloads,
    container_resources,
    find_components,
    identify,
    matching,
    not_deployed,
    of_release,
    operator_clusters,
    picked,
    product_seen,
    release,
    service_deployments,
    services,
)
from readiness.checks._k8s_storage import (  # noqa: F401 - re-exported
    DEFAULT_CLASS,
    NETWORK_FS,
    SSD_TYPES,
    claims,
    class_of,
    is_default_class,
    storage_classes,
    volume_classes,
    volume_type,
)
from readiness.checks._pool_env import (  # noqa: F401 - re-exported
    POOL_ENV,
    URL_ENV,
    connection_demand,
    counted_pool,
    pool_size,
)
