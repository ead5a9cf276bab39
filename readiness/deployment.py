"""Compose or Kubernetes: which kind of deployment is audited, so that items of the other kind are skipped (with
the reason) instead of failing for want of a target that cannot exist.

The kind is said outright (``deployment:`` at the top of the targets file) or inferred from the targets: a
``kubernetes`` target or a Helm values file means Kubernetes, compose files alone mean compose, and a product that
ships only one kind (LangSight) implies it.  An explicit kind wins over what the targets suggest: a ``kubernetes``
target beside ``deployment: compose`` is not audited (``conflicts`` says so, for ``validate`` and the report).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("compose", "kubernetes")

# Products that ship one kind only.  LangSight/langsight (main, Dec 2026): docker-compose.yml and .env.example at the
# root, no Helm chart or Kubernetes manifests in the repository, and no blob storage (ClickHouse, PostgreSQL, Redis).
PRESET_KINDS: Mapping[str, str] = {"langsight": "compose"}


@dataclass(frozen=True)
class Deployment:
    kind: str | None   # None: not said and not inferable; nothing is skipped for its kind
    why: str           # where the kind comes from, for messages and the report
    extra: frozenset[str] = frozenset()  # a kind whose files were given as well (inferred kinds only): its items run
    conflicts: tuple[str, ...] = ()      # what an explicit kind sets aside of the targets given

    def skips(self, kinds: Iterable[str] | None) -> str | None:
        """Why an item of these deployment kinds does not apply here (None: it applies)."""
        wanted = tuple(kinds or ())
        if not wanted or self.kind is None or self.kind in wanted or self.extra & set(wanted):
            return None
        return f"{self.kind} deployment ({self.why}): applies to {' and '.join(wanted)} deployments only"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "source": self.why}
        if self.conflicts:
            out["ignored"] = list(self.conflicts)
        return out


def infer(explicit: str | None, configs: Mapping[str, Mapping[str, Any]], preset: str | None) -> Deployment:
    k8s = "kubernetes" in configs
    files = configs.get("files") or {}
    compose, values = bool(files.get("compose")), bool(files.get("helm_values"))
    if explicit:
        conflicts: list[str] = []
        if explicit == "compose" and k8s:
            conflicts.append("the kubernetes target is not read")
        if explicit == "compose" and values:
            conflicts.append("the Helm values items are skipped (the files target has helm_values)")
        if explicit == "kubernetes" and compose:
            conflicts.append("the compose items are skipped (the files target has a compose file)")
        return Deployment(explicit, "deployment: in the targets file", conflicts=tuple(conflicts))
    if k8s or values:
        why = "a kubernetes target" if k8s else "a Helm values file in the files target"
        return Deployment("kubernetes", why, extra=frozenset({"compose"} if compose else ()))
    if compose:
        return Deployment("compose", "only compose files in the files target")
    if preset is not None and preset in PRESET_KINDS:
        return Deployment(PRESET_KINDS[preset], f"{preset} ships {PRESET_KINDS[preset]} only")
    return Deployment(None, "not said (deployment: in the targets file) and not inferable from the targets")
