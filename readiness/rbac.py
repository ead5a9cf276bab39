"""``readiness rbac``: the least-privilege Kubernetes rules for the items that would run, derived from what each
probe declares it reads (``@probe(..., reads=...)``), never from a hand-kept list.  get and list only, nothing on
Secrets: cluster-scoped kinds in a ClusterRole, namespaced kinds in a Role per audited namespace (a ClusterRole
of their own only when the target names no namespace, since the probes then list every namespace)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from readiness.checklist import Checklist
from readiness.errors import ConfigError
from readiness.runner import Options, plan, set_aside_targets
from readiness.targets import Targets

VERBS = ["get", "list"]


def resources(checklist: Checklist, options: Options) -> set[tuple[str, str, bool, str | None]]:
    """(apiGroup, plural, namespaced, namespace) read by the items that would run; namespace is None for the
    target's own namespaces, or the one a read names (``kube-system:deployments``).  A kind outside the built-in
    table is namespaced unless its read says cluster-scoped (``:group/plural``): rbac has no discovery to ask."""
    from readiness.clients.kubernetes import KNOWN, granted_namespaced, implied_reads
    from readiness.clients.kubernetes_names import parse_read
    from readiness.registry import probes

    registry = probes()
    out: set[tuple[str, str, bool, str | None]] = set()
    if "kubernetes" in set_aside_targets(options.deployment):
        return out  # a compose deployment: nothing reads Kubernetes, not even on the side
    for p in plan(checklist, options, registry):
        if p.status:
            continue
        declared = registry.probes[p.item.probe or ""].declared_reads(p.params)
        for spec in [s for d in declared for s in implied_reads(d)]:
            namespace, qualified, group, plural = parse_read(spec)  # a ConfigError for '*' or a bad name
            known = KNOWN.get(plural)
            if known is not None and group in ("", known.group):
                group = known.group
            # a custom resource: its group is given; cluster-scoped only where the read says so
            namespaced = granted_namespaced(group, plural, not (qualified and not namespace))
            out.add((group, plural, namespaced, (namespace or None) if namespaced else None))
    if any(r[1] == "secrets" for r in out):
        raise ValueError("a probe declares it reads Secrets: the audit never needs them")
    return out


def _rules(found: Iterable[tuple[str, str, bool, str | None]]) -> list[dict[str, Any]]:
    groups: dict[str, set[str]] = {}
    for group, plural, _, _ in found:
        groups.setdefault(group, set()).add(plural)
    return [{"apiGroups": [g], "resources": sorted(groups[g]), "verbs": list(VERBS)} for g in sorted(groups)]


EVERY_NAMESPACE = "every-namespace"  # the name suffix of the ClusterRole on namespaced kinds


def _role(kind: str, name: str, namespace: str | None, rules: list[dict[str, Any]],
          subject: list[dict[str, str]]) -> list[dict[str, Any]]:
    meta: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {}),
                            "labels": {"app.kubernetes.io/name": "readiness"}}
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": f"{kind}Binding", "metadata": dict(meta),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}, "subjects": subject},
    ]


def manifests(checklist: Checklist, targets: Targets, options: Options, *, name: str = "readiness",
              namespace: str = "readiness") -> list[dict[str, Any]]:
    """The rules, as long as the settings rbac does not read (their variables unset here) cannot change them: an
    unset ``compose:`` would read as empty and could make the deployment kind, and so every rule, another."""
    docs = _manifests(checklist, targets, options, name, namespace)
    for kind, fields in targets.unset.items():
        for field_name, (written, why) in fields.items():
            configs = {**targets.configs, kind: {**targets.configs.get(kind, {}), field_name: written}}
            if _manifests(checklist, replace(targets, configs=configs), options, name, namespace) != docs:
                raise ConfigError(f"{targets.path}: {kind}.{field_name} is {written!r} and {why[0]}: whether it is "
                                  "set decides the deployment kind (compose or Kubernetes), and so the rules printed; "
                                  "set it, or write deployment: compose|kubernetes in the targets file")
    return docs


def _manifests(checklist: Checklist, targets: Targets, options: Options, name: str,
               namespace: str) -> list[dict[str, Any]]:
    """ClusterRole/Role and their bindings to the ServiceAccount ``namespace/name`` (none on a compose
    deployment: its Kubernetes items are skipped).  Cluster-scoped kinds in a ClusterRole; namespaced kinds in a
    Role per audited namespace (``namespace:`` and ``namespaces:``), or, when the target names none, in a ClusterRole
    of their own (the probes then list every namespace); a read that names its namespace, in a Role there."""
    from readiness.audit import resolved
    from readiness.clients.kubernetes import namespaces as audited_namespaces

    source = targets.configs.get("kubernetes", {})
    if source.get("chart") or source.get("manifests"):
        return []  # the audit renders the chart or reads the files: it calls no API server
    found = resources(checklist, resolved(options, targets))
    audited = [ns for ns in audited_namespaces(targets.configs.get("kubernetes", {})) if ns]
    cluster_scoped = [r for r in found if not r[2]]
    in_namespace = [r for r in found if r[2] and r[3] is None]
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]
    docs: list[dict[str, Any]] = []
    if cluster_scoped:
        docs += _role("ClusterRole", f"{name}-read", None, _rules(cluster_scoped), subject)
    if in_namespace and not audited:
        docs += _role("ClusterRole", f"{name}-read-{EVERY_NAMESPACE}", None, _rules(in_namespace), subject)
    roles: dict[str, list[tuple[str, str, bool, str | None]]] = {ns: list(in_namespace) for ns in audited}
    for r in found:
        if r[3]:
            roles.setdefault(r[3], []).append(r)
    for ns, granted in roles.items():
        if granted:
            docs += _role("Role", f"{name}-read", ns, _rules(granted), subject)
    return docs


def render(docs: list[dict[str, Any]]) -> str:
    import yaml

    head = "# Generated by `readiness rbac`: get/list on exactly what the selected items read.\n"
    if not docs:
        return head + ("# No rule: no selected item calls a Kubernetes API server (a compose deployment, or a "
                       "kubernetes target\n# of chart: or manifests:, which the audit renders or reads from files).\n")
    every = ("# The kubernetes target names no namespace (namespace: or namespaces:), so the probes list these kinds"
             " in every\n# namespace: this role can read every pod's env in the cluster. Name the namespaces to get "
             "one Role in each.\n")
    return head + "---\n".join((every if d["metadata"]["name"].endswith(f"-{EVERY_NAMESPACE}")
                                 and d["kind"] == "ClusterRole" else "") + yaml.safe_dump(d, sort_keys=False)
                                for d in docs)
