"""The env of the product's service Deployments as far as the audit may read it (literal values and the
ConfigMaps they name; never Secrets), with the replicas their scalers allow."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from readiness.checks._k8s_access import objects, scaled_objects
from readiness.checks._k8s_fields import containers, dicts, get, mapping, name, ref
from readiness.checks._k8s_products import find_components


def service_scale(ctx: Any, components: Iterable[str]) -> list[dict[str, Any]]:
    """Per deployed service: {"component", "workload", "replicas", "max_replicas" (the HPA's or ScaledObject's, else
    the replicas; None when a scaler's maximum is no count, "scaler_problem" says which), "env": {name: literal
    value} of its containers (valueFrom entries are left out)}."""
    found = find_components(ctx, "deployments", components)
    scalers: dict[tuple[str, str], int] = {}
    unreadable: dict[tuple[str, str], str] = {}  # a maximum that is no count: the peak is unknown, not the replicas
    keda = scaled_objects(ctx) or []
    for obj, field in [(h, "spec.maxReplicas") for h in objects(ctx, "horizontalpodautoscalers")] + [
            (s, "spec.maxReplicaCount") for s in keda]:
        target = get(obj, "spec.scaleTargetRef.name")
        most = get(obj, field, 100 if field == "spec.maxReplicaCount" else None)
        if not target:
            continue
        key = (str(get(obj, "metadata.namespace", "")), str(target))
        if isinstance(most, int) and not isinstance(most, bool) and most >= 1:
            scalers[key] = max(scalers.get(key, 0), most)
        else:
            unreadable.setdefault(key, f"{get(obj, 'kind', 'scaler')} {name(obj)}: {field.split('.')[-1]} "
                                       f"{most!r} is not a count")
    out = []
    for comp, dep in found.items():
        if dep is None:
            continue
        replicas = get(dep, "spec.replicas", 1)
        env, hidden = container_env(ctx, dep)
        env_names = sorted(set(env) | {n for n in hidden if not n.endswith("*")})
        key = (str(get(dep, "metadata.namespace", "")), name(dep))
        out.append({"component": comp, "workload": ref(dep), "replicas": replicas,
                    "max_replicas": None if key in unreadable else scalers.get(key, replicas),
                    "scaler_problem": unreadable.get(key), "env": env, "env_names": env_names,
                    "hidden": hidden})
    return out


def container_env(ctx: Any, workload: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The env of a workload's containers as far as the audit may read it: ({name: value} from literal entries and
    the ConfigMaps that envFrom and configMapKeyRef name, env over envFrom as the kubelet does}, {name: why it is
    unreadable}); a whole envFrom source that cannot be read is keyed "<prefix>*".  Secrets are never read."""
    ns = str(get(workload, "metadata.namespace", ""))
    maps: dict[tuple[str, str], dict[str, Any]] = {}

    def configmap(ref: Any) -> dict[str, Any] | None:
        if not maps:  # listed only when a workload names one (shared; never read ahead: _k8s_access.LAZY)
            maps.update({(str(get(c, "metadata.namespace", "")), name(c)): mapping(c, "data")
                         for c in objects(ctx, "configmaps")})
        return maps.get((ns, str(get(ref, "name", ""))))

    env: dict[str, str] = {}
    hidden: dict[str, str] = {}
    for cont in containers(workload):
        for src in dicts(cont, "envFrom"):
            prefix = str(src.get("prefix") or "")
            if "secretRef" in src:
                hidden[prefix + "*"] = f"envFrom Secret {get(src, 'secretRef.name', '?')}, never read"
            elif "configMapRef" in src:
                data = configmap(src["configMapRef"])
                if data is not None:
                    env.update({prefix + str(k): str(v) for k, v in data.items()})
                elif get(src, "configMapRef.optional") is not True:
                    hidden[prefix + "*"] = f"envFrom ConfigMap {get(src, 'configMapRef.name', '?')} (not found)"
        for entry in dicts(cont, "env"):
            var = str(entry.get("name"))
            if "value" in entry or "valueFrom" not in entry:  # a name alone is the empty string
                env[var] = "" if entry.get("value") is None else str(entry["value"])
            elif get(entry, "valueFrom.secretKeyRef") is not None:
                hidden[var] = f"{var} from Secret {get(entry, 'valueFrom.secretKeyRef.name', '?')}, never read"
            elif get(entry, "valueFrom.configMapKeyRef") is not None:
                keyref = get(entry, "valueFrom.configMapKeyRef")
                data = configmap(keyref)
                if data is not None and get(keyref, "key") in data:
                    env[var] = str(data[get(keyref, "key")])
                elif get(keyref, "optional") is not True:
                    hidden[var] = f"{var} from ConfigMap {get(keyref, 'name', '?')} (not found)"
            else:  # fieldRef / resourceFieldRef: known only to the running pod
                hidden[var] = f"{var} from the pod's own fields"
    return env, hidden
