"""The credentials a Kubernetes target holds, so no report shows them: every kubeconfig it merges (tokens,
passwords, client keys, exec plugin tokens, proxy passwords) or the chart values it renders."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from readiness.clients.kubernetes import _kubeconfig_paths
from readiness.redact import is_secret_name, secret_values

_SECRET_KEYS = ("token", "password", "client-key-data", "access-token", "id-token", "refresh-token", "client-secret",
                "idp-certificate-authority-data")
_URL_KEYS = ("proxy-url", "server")


def _exec_secrets(spec: Mapping[str, Any]) -> set[str]:
    """Credentials handed to an exec credential plugin: secret-named env values, ``--token X`` / ``--token=X``
    arguments, and URLs with a password among the arguments."""
    found: set[str] = set()
    env = spec.get("env")
    for entry in env if isinstance(env, list) else []:
        if isinstance(entry, dict) and is_secret_name(str(entry.get("name") or "")) and entry.get("value"):
            found.add(str(entry["value"]))
    args = [str(a) for a in spec.get("args") or [] if isinstance(a, (str, int))] if isinstance(
        spec.get("args"), list) else []
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if flag.startswith("-") and is_secret_name(flag.lstrip("-").replace("-", "_")):
            if eq:
                found.add(value)
            elif i + 1 < len(args) and not args[i + 1].startswith("-"):
                found.add(args[i + 1])
        found |= secret_values(arg)
    return found


def _kubeconfig_secrets(doc: Any) -> set[str]:
    found: set[str] = set()

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 20:
            return
        if isinstance(node, dict):
            if isinstance(node.get("exec"), dict):
                found.update(_exec_secrets(node["exec"]))
            for key, value in node.items():
                if key in _SECRET_KEYS and isinstance(value, str) and value:
                    found.add(value)
                elif key in _URL_KEYS and isinstance(value, str):
                    found.update(secret_values(value))  # http://user:PW@proxy:3128
                else:
                    walk(value, depth + 1)
        elif isinstance(node, list):
            for value in node:
                walk(value, depth + 1)

    for section in ("users", "clusters"):
        entries = doc.get(section) if isinstance(doc, dict) else None
        walk(entries if isinstance(entries, list) else [])
    return found


def secrets(config: Mapping[str, Any]) -> set[str]:
    """Credentials in every kubeconfig this target merges (tokens, passwords, client keys, exec plugin tokens,
    proxy passwords); never raises."""
    found: set[str] = set()
    if config.get("chart"):
        return _values_secrets(config)
    if config.get("manifests") or config.get("in_cluster"):
        return found
    import yaml

    for name in _kubeconfig_paths(config):
        try:
            path = Path(name)
            if not path.is_file() or path.stat().st_size > 4 * 1024 * 1024:
                continue
            found |= _kubeconfig_secrets(yaml.safe_load(path.read_text(errors="replace")))
        except Exception:  # a secrets scan never breaks a run; one bad file does not hide the others
            continue
    return {s for s in found if s}


def _values_secrets(config: Mapping[str, Any]) -> set[str]:
    """Credentials written in the chart's values files (a salt, a password), judged as the files target judges Helm
    values; never raises."""
    from readiness.clients import files

    found: set[str] = set()
    for path in config.get("values") or []:
        try:
            found |= files.secrets({"helm_values": str(path), "root": os.path.dirname(str(path))})
        except Exception:
            continue
    return found
