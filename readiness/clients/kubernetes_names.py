"""What a Kubernetes read may name (DNS-1123, as the API server validates them): checked where every declared read
is parsed (``parse_read``: readiness rbac, the runtime guard, the read-ahead) and, for the parameters a probe
builds its reads from, when the checklist is validated.  Nothing here imports more than ``re``: validate loads it."""

from __future__ import annotations

import re

from readiness.errors import ConfigError

# DNS-1123 label (a namespace, a resource's plural) and subdomain (an API group, a Helm release name)
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def label_problem(value: str, what: str) -> str | None:
    """Why ``value`` is not a DNS-1123 label (at most 63 lowercase letters, digits and '-'), or None."""
    if len(value) <= 63 and LABEL.match(value):
        return None
    return f"{what} {value!r} is not a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)"


def group_problem(value: str) -> str | None:
    """Why ``value`` is not an API group ('' for the core group, else a DNS-1123 subdomain), or None."""
    if value == "" or (len(value) <= 253 and SUBDOMAIN.match(value)):
        return None
    return f"API group {value!r} is not a DNS-1123 subdomain (e.g. keda.sh; '' is the core group)"


def api_version_problem(value: str) -> str | None:
    """Why ``value`` is not an apiVersion (``v1``, ``group/version``), or None."""
    group, _, version = value.rpartition("/")
    return group_problem(group) or label_problem(version, "API version")


def kind_problem(value: str) -> str | None:
    if _KIND.match(value) and len(value) <= 63:
        return None
    return f"kind {value!r} is not a Kind name (letters and digits, e.g. ScaledObject)"


# The checklist parameter types (readiness.params) and their checks.
PARAM_CHECKS = {
    "k8s-name": lambda v: label_problem(v, "name"),
    "k8s-kind": kind_problem,
    "k8s-api-version": api_version_problem,
}


def parse_read(spec: str) -> tuple[str, bool, str, str]:
    """A declared read (``plural``, ``group/plural``, ``ns:group/plural``, ``:group/plural`` cluster-scoped) as
    (namespace, qualified, group, plural); ConfigError when a part is not a name the API server would accept ('*'
    included), so no rule on every resource of a group, or on every group, is ever derived from it."""
    namespace, qualified, name = spec.rpartition(":")
    group, _, plural = name.rpartition("/")
    problem = ((label_problem(namespace, "namespace") if namespace else None) or group_problem(group)
               or label_problem(plural, "resource"))
    if problem:
        raise ConfigError(f"the Kubernetes read {spec!r} names no single resource: {problem}")
    return namespace, bool(qualified), group, plural
