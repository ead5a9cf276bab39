"""The kubectl plugin: ``kubectl readiness ...`` runs the ``kubectl-readiness`` console script from PATH (krew's
convention) with every argument after the plugin's name; kubectl hands none of its own flags to a plugin.

So the plugin reads kubectl's own: ``audit`` takes ``--context``, ``--kubeconfig``, ``-n/--namespace`` and
``-A/--all-namespaces``.  With a targets file (``-t`` or $READINESS_TARGETS) the file decides, and its kubernetes
target already uses the current context unless it names another.  Without one, the audit is of the current
context's cluster: a kubernetes-only target (the namespace from ``-n``, else the context's, else ``default``, as
kubectl), and only the items that target can decide unless ``--only``/``--skip`` say otherwise."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

PROG = "kubectl readiness"
_VALUED = {"--context": "context", "--kubeconfig": "kubeconfig", "-n": "namespace", "--namespace": "namespace"}
_ALL = ("-A", "--all-namespaces")
HELP = """
As a kubectl plugin, `kubectl readiness audit` also takes kubectl's --context, --kubeconfig, -n/--namespace and
-A/--all-namespaces. Without a targets file it audits the current context's cluster (the Kubernetes items only);
with -t FILE the file decides. `kubectl readiness version` prints the version.
"""


class UsageError(Exception):
    """A mistake on the command line: one sentence, exit 2."""


def _fail(message: str) -> NoReturn:
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(2)


def kube_flags(args: list[str]) -> tuple[list[str], dict[str, str], bool]:
    """(the other arguments, kubectl's valued flags found, -A given); anything after ``--`` is left alone."""
    rest: list[str] = []
    flags: dict[str, str] = {}
    every = False
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if arg == "--":
            rest += args[i:]
            break
        if arg in _ALL:
            every = True
        elif name in _VALUED and (eq or i + 1 < len(args)):
            if not eq:
                i += 1
                value = args[i]
            if not value:
                raise UsageError(f"{name} needs a value")
            flags[_VALUED[name]] = value
        elif name in _VALUED:
            raise UsageError(f"{name} needs a value")
        elif arg.startswith("-n") and len(arg) > 2 and not arg.startswith("--"):  # -nNAMESPACE, as kubectl takes it
            flags["namespace"] = arg[2:]
        else:
            rest.append(arg)
        i += 1
    return rest, flags, every


def _given(args: list[str], *names: str) -> str | None:
    """The value of the first of ``names`` on the command line (``-t F``, ``--targets=F``)."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if name in names:
            if eq:
                return value
            return args[i + 1] if i + 1 < len(args) else ""
        short = next((n for n in names if len(n) == 2 and arg.startswith(n) and len(arg) > 2), None)
        if short:  # -tFILE, as click takes it
            return arg[2:]
    return None


def current_context(flags: Mapping[str, str]) -> tuple[str, str | None, list[str]]:
    """(context, its namespace, the kubeconfig files) as kubectl would resolve them."""
    from kubernetes.config import ConfigException, list_kube_config_contexts

    from readiness.clients.kubernetes import _kubeconfig_paths

    paths = _kubeconfig_paths({"kubeconfig": flags.get("kubeconfig")})
    if not any(os.path.exists(p) for p in paths):
        raise UsageError(f"no kubeconfig at {os.pathsep.join(paths)} (kubectl's current context is what is audited "
                         "without -t FILE)")
    try:
        contexts, active = list_kube_config_contexts(config_file=os.pathsep.join(paths))
    except (ConfigException, OSError, ValueError) as exc:
        raise UsageError(f"cannot read the kubeconfig: {str(exc).splitlines()[0][:200]}") from None
    wanted = flags.get("context") or (active or {}).get("name")
    found = next((c for c in contexts or [] if c.get("name") == wanted), None)
    if found is None:
        names = ", ".join(str(c.get("name")) for c in contexts or []) or "none"
        raise UsageError(f"no context {wanted!r} in the kubeconfig (contexts: {names})" if wanted else
                         f"the kubeconfig has no current context: give --context (contexts: {names})")
    return str(wanted), (found.get("context") or {}).get("namespace"), paths


def _escaped(value: Any) -> Any:
    return value.replace("$", "$$") if isinstance(value, str) else value  # a targets file interpolates ${VAR}


def context_targets(flags: Mapping[str, str], every: bool, directory: Path) -> tuple[Path, str]:
    """A targets file auditing the current (or the named) context; and what it audits, in words."""
    import yaml

    context, namespace, paths = current_context(flags)
    kubernetes: dict[str, Any] = {"context": context}
    if flags.get("kubeconfig"):
        kubernetes["kubeconfig"] = str(Path(paths[0]).resolve())
    ns = None if every else flags.get("namespace") or namespace or "default"
    if ns:
        kubernetes["namespace"] = ns
    path = directory / "kubectl-context.yaml"
    path.write_text(yaml.safe_dump({"name": _escaped(context),
                                    "kubernetes": {k: _escaped(v) for k, v in kubernetes.items()}}))
    return path, f"context {context}, " + (f"namespace {ns}" if ns else "every namespace")


def kubernetes_items(checklist: str | None) -> list[str]:
    """``--only`` patterns for the items a kubernetes target decides (their probe reads that target): ``k8s.*``
    where every probed item of that id prefix is one (its manual items come along), so that the other items'
    "not selected" lines stay short."""
    from readiness.checklist import load_checklist
    from readiness.registry import probes

    registry = probes().probes
    items = load_checklist(checklist).items
    ids = [i.id for i in items if i.probe and i.probe in registry and registry[i.probe].target == "kubernetes"]
    patterns: list[str] = []
    for prefix in dict.fromkeys(i.split(".")[0] for i in ids):
        family = [i.id for i in items if i.id.split(".")[0] == prefix and not i.manual]
        mine = [i for i in ids if i.split(".")[0] == prefix]
        patterns += [f"{prefix}.*"] if family == mine else mine
    return patterns


def audit_args(args: list[str], directory: Path) -> list[str]:
    """``audit``'s arguments for the core command line: kubectl's flags turned into a targets file."""
    rest, flags, every = kube_flags(args)
    targets = _given(rest, "-t", "--targets") or os.environ.get("READINESS_TARGETS")
    if targets:
        if flags or every:
            given = ", ".join([*(f"--{k}" for k in flags), *(["-A"] if every else [])])
            raise UsageError(f"{given}: the targets file {targets} decides where the cluster is; set context, "
                             "kubeconfig or namespace in its kubernetes section, or leave out -t")
        return rest
    path, what = context_targets(flags, every, directory)
    narrowed = _given(rest, "--only") is not None or _given(rest, "--skip") is not None
    extra: list[str] = []
    if not narrowed:
        patterns = kubernetes_items(_given(rest, "-c", "--checklist") or os.environ.get("READINESS_CHECKLIST"))
        extra = [arg for pattern in patterns for arg in ("--only", pattern)]
        what += ", the Kubernetes items only"
    print(f"{PROG}: no targets file: auditing {what} (-t FILE audits the whole stack)", file=sys.stderr)
    return [*rest, "-t", str(path), *extra]


def main(argv: list[str] | None = None) -> None:
    from readiness import __version__, cli

    args = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args if not a.startswith("-")), None)
    if command == "version":
        print(f"kubectl-readiness {__version__}")
        return
    with tempfile.TemporaryDirectory(prefix="kubectl-readiness-") as tmp:
        if command == "audit" and not {"-h", "--help"} & set(args):
            try:
                args = audit_args(args, Path(tmp))
            except UsageError as exc:
                _fail(str(exc))
        cli.main(args, prog_name=PROG)  # exits, but for --help
    if {"-h", "--help"} & set(args) and command in (None, "audit"):
        try:
            print(HELP, end="", flush=True)
        except BrokenPipeError:  # `kubectl readiness --help | head`: the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
