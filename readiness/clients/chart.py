"""A Helm chart rendered in the process, for the ``chart:`` source of the kubernetes target.

``helm template`` where a ``helm`` binary is on PATH, else Helm v4 as a library (PyPI ``helm-python-sdk``, module
``helm_python``, the optional extra ``chart``).  Either runs in a child process, bounded in time (the target's
timeout), in output (``MAX_OUTPUT`` bytes: a template that loops writes no further) and in memory, so a hostile
chart costs one timeout and never the audit.  The result is YAML text per template, which the kubernetes client
parses exactly as it parses ``manifests:``.  Renders are kept per audit process, keyed by the chart's and the
values files' stamps, so ``validate`` and the audit's one session render once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readiness.clients.kubernetes_names import SUBDOMAIN
from readiness.errors import TargetUnavailable

MAX_OUTPUT = 64 * 1024 * 1024
MAX_MEMORY = 2 * 1024**3  # address space of the renderer: Go reserves arenas lazily, so this bounds real use
MAX_VALUES_BYTES = 8 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0


class RenderError(TargetUnavailable):
    """The chart does not render; the message is Helm's own."""


class RenderCutShort(RenderError):
    """The renderer did not finish (out of time, or it could not start): not kept, since on a less busy machine the
    same chart may render (the chart is rendered once per audit anyway; this is about the audits after it)."""


@dataclass(frozen=True)
class Rendered:
    """Templates as rendered: [(where, YAML text)], and which engine rendered them."""

    templates: tuple[tuple[str, str], ...]
    engine: str


def values_files(config: Mapping[str, Any]) -> list[str]:
    return [str(v) for v in config.get("values") or []]


def user_values(paths: Sequence[str]) -> dict[str, Any]:
    """The values files merged as Helm merges ``-f`` files (maps deep, anything else replaced; later files win),
    read with the project's YAML loader (alias bombs, bad tags and oversize files refused at file:line:col)."""
    from readiness.errors import ConfigError, Problem
    from readiness.yamlsrc import load_file, pos_of

    merged: dict[str, Any] = {}
    for path in paths:
        raw = load_file(path, "Helm values file")
        if raw is None:
            continue
        if not isinstance(raw, Mapping):
            raise ConfigError([Problem(path, *pos_of(raw), "a Helm values file must be a mapping")])
        merged = _merge(merged, _plain(raw))
    return merged


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, (str, int, float, bool)) or node is None:
        return node
    return str(node)  # a YAML date: Helm's own parser reads it as a string too


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


_CACHE: dict[tuple[Any, ...], Rendered | RenderError] = {}
_LOCK = threading.Lock()


def _stamp(path: str) -> tuple[Any, ...]:
    """A chart directory changes when any file under it does; a bounded walk (the loader bounds the chart)."""
    try:
        st = os.stat(path)
    except OSError:
        return (path, None)
    if not os.path.isdir(path):
        return (path, st.st_mtime_ns, st.st_size)
    latest, count = st.st_mtime_ns, 0
    for dirpath, _, names in os.walk(path):
        for name in names:
            count += 1
            if count > 5000:
                return (path, latest, count)
            try:
                latest = max(latest, os.stat(os.path.join(dirpath, name)).st_mtime_ns)
            except OSError:
                pass
    return (path, latest, count)


def render(config: Mapping[str, Any], timeout: float | None = None) -> Rendered:
    """The chart of a kubernetes target rendered once (per chart, values, release and namespace); RenderError with
    Helm's message when it does not render."""
    chart = str(config["chart"])
    files = values_files(config)
    release = str(config.get("release") or "release-name")
    namespace = str(config.get("namespace") or "default")
    key = (_stamp(chart), *(_stamp(f) for f in files), release, namespace)
    with _LOCK:
        if key in _CACHE:
            cached = _CACHE[key]
            if isinstance(cached, RenderError):
                raise type(cached)(str(cached))
            return cached
        try:
            result: Rendered | RenderError = _render(chart, files, release, namespace,
                                                     timeout if timeout and timeout > 0 else DEFAULT_TIMEOUT)
        except RenderError as exc:
            result = exc
        if len(_CACHE) > 16:
            _CACHE.clear()
        if not isinstance(result, RenderCutShort):
            _CACHE[key] = result
    if isinstance(result, RenderError):
        raise type(result)(str(result))
    return result


def _render(chart: str, files: list[str], release: str, namespace: str, timeout: float) -> Rendered:
    helm = shutil.which("helm")
    if helm:
        cmd = [helm, "template", release, chart, "--namespace", namespace]
        for path in files:
            cmd += ["--values", path]
        out, err, code = _bounded(["exec", *cmd], b"", timeout)
        if code != 0:
            raise RenderError(f"chart {chart} does not render: {_first_error(err) or f'helm exited {code}'}")
        return Rendered(((f"{chart} (helm template)", out),), "helm")
    from readiness.errors import ConfigError

    try:
        values = user_values(files)
    except ConfigError as exc:
        raise RenderError(f"chart {chart}: {exc.text.splitlines()[0]}") from None
    request = json.dumps({"chart": chart, "values": values, "release": release, "namespace": namespace})
    out, err, code = _bounded(["sdk"], request.encode(), timeout)
    if code != 0:
        message = _first_error(err) or f"the renderer exited {code}"
        raise RenderError(f"chart {chart} does not render: {message}")
    try:
        answer = json.loads(out)
    except ValueError:
        raise RenderError(f"chart {chart}: the renderer's answer is not JSON") from None
    if not isinstance(answer, dict) or not all(isinstance(v, str) for v in answer.values()):
        raise RenderError(f"chart {chart}: the renderer's answer is not a map of templates")
    return Rendered(tuple(sorted(answer.items())), "helm-python-sdk")


def _first_error(err: str) -> str:
    lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
    text = lines[-1] if lines else ""
    return text.removeprefix("Error: ")[:500]


def _limits(output: int, memory: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _bounded(args: list[str], stdin: bytes, timeout: float) -> tuple[str, str, int]:
    """Run the renderer (this module as a child: ``exec CMD...`` or ``sdk``) with its output in a file capped by
    RLIMIT_FSIZE (a looping template dies at the cap, no pipe to drain), its memory capped, and the whole run
    within ``timeout``; killed, with its group, past it.  The child sets its own limits (no preexec_fn: the audit's
    threads make that unsafe)."""
    cmd = [sys.executable, "-m", "readiness.clients.chart", str(MAX_OUTPUT), str(MAX_MEMORY), *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=err, start_new_session=True,
                                    env={**os.environ, "HELM_NO_PLUGINS": "1"})
        except OSError as exc:
            raise RenderCutShort(f"cannot start the chart renderer: {exc.strerror or exc}") from None
        try:
            proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise RenderCutShort(f"rendering the chart took longer than {timeout:g}s (a template that loops?)") \
                from None
        out.seek(0)
        err.seek(0)
        raw, why = out.read(MAX_OUTPUT), err.read(64 * 1024).decode("utf-8", "replace")
        # bytes, not characters: helm ignores the failed write at the cap and exits 0 with a cut stream
        if len(raw) >= MAX_OUTPUT:
            raise RenderError(f"the chart renders more than {MAX_OUTPUT // 2**20} MiB (a template that loops?)")
        if "out of memory" in why or (proc.returncode < 0 and not why.strip()):
            raise RenderError(f"rendering the chart took more than {MAX_MEMORY // 2**30} GiB of memory (a template "
                              "that loops?)")
        return raw.decode("utf-8", "replace"), why, proc.returncode


def _kill(proc: subprocess.Popen[bytes]) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait()


def metadata(chart: str) -> dict[str, Any]:
    """Chart.yaml of a chart directory or .tgz (bounded reads); {} when it cannot be read."""
    text = _chart_file(chart, "Chart.yaml")
    if text is None:
        return {}
    from readiness.errors import ConfigError
    from readiness.yamlsrc import load_text

    try:
        doc = load_text(text, os.path.join(chart, "Chart.yaml"))  # the budgets of every YAML file: no alias bomb
    except ConfigError:
        return {}
    return dict(doc) if isinstance(doc, Mapping) else {}


def _chart_file(chart: str, name: str) -> str | None:
    """A file of a chart (directory, or under the single top folder of a .tgz) by its path in the chart, at most
    MAX_VALUES_BYTES."""
    path = Path(chart)
    if path.is_dir():
        target = path / name
        if not target.is_file() or target.stat().st_size > MAX_VALUES_BYTES:
            return None
        return target.read_text(errors="replace")
    import tarfile

    try:
        with tarfile.open(chart, "r:gz") as tar:
            for count, member in enumerate(tar):
                if count > 10_000:
                    return None
                if member.name.partition("/")[2] == name and member.isfile() and member.size <= MAX_VALUES_BYTES:
                    fh = tar.extractfile(member)
                    return fh.read().decode("utf-8", "replace") if fh else None
    except (OSError, tarfile.TarError, EOFError):
        return None
    return None


def defaults(chart: str) -> list[tuple[str, str, str | None]]:
    """The chart's own defaults: (path in the chart, its values.yaml text, the key it sits under) for each unpacked
    subchart it declares (under its alias or name, as Helm coalesces them; the parent's values win), then the
    chart's own values.yaml (key None)."""
    out: list[tuple[str, str, str | None]] = []
    for dep in metadata(chart).get("dependencies") or []:
        if not isinstance(dep, Mapping) or not isinstance(dep.get("name"), str):
            continue
        rel = f"charts/{dep['name']}/values.yaml"
        text = _chart_file(chart, rel)
        if text:
            out.append((rel, text, str(dep.get("alias") or dep["name"])))
    text = _chart_file(chart, "values.yaml")
    if text:
        out.append(("values.yaml", text, None))
    return out


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Settings of a chart source that can never work; never raises (rendering is the items' concern)."""
    from readiness.errors import ConfigError

    out: list[tuple[str, str]] = []
    chart = str(config.get("chart") or "")
    if not chart:
        if config.get("values"):
            out.append(("values", "values are the chart's: give chart: as well"))
        return out
    if config.get("manifests") or config.get("in_cluster") or config.get("context"):
        out.append(("chart", "chart is rendered instead of reading a cluster or manifests: drop "
                             "manifests/in_cluster/context, or chart"))
    if not os.path.exists(chart):
        out.append(("chart", f"{chart} does not exist"))
    elif not os.path.isdir(chart) and not chart.endswith((".tgz", ".tar.gz")):
        out.append(("chart", f"{chart}: a chart is a directory or a .tgz archive"))
    elif not metadata(chart):
        out.append(("chart", f"{chart}: no readable Chart.yaml (not a Helm chart)"))
    for path in values_files(config):
        if not os.path.exists(path):
            out.append(("values", f"{path} does not exist"))
            continue
        try:
            user_values([path])  # a values file that cannot be read is the targets file's error, at file:line:col
        except ConfigError as exc:
            out += [("values", line) for line in exc.text.splitlines()]
    if config.get("namespaces"):  # the namespace rendered into must be the one read: one setting says both
        out.append(("namespaces", "a chart is rendered into one namespace: give namespace:"))
    release = config.get("release")
    if release is not None and (len(str(release)) > 53 or not SUBDOMAIN.match(str(release))):
        out.append(("release", "a Helm release name is lowercase letters, digits, '-' and '.', at most 53 "
                               "characters (helm refuses others)"))
    return out


def _missing_dependencies(chart: Any) -> list[str]:
    declared = [d.get("name") for d in chart.metadata.get("dependencies") or [] if isinstance(d, dict)]
    loaded = {d.get("name") for d in chart.dependencies if isinstance(d, dict)}
    return [str(name) for name in declared if name not in loaded]


def _main(argv: list[str]) -> int:
    """The child: OUTPUT MEMORY (its limits), then ``exec CMD...`` (helm template) or ``sdk``: a JSON request on
    stdin, {template path: YAML} on stdout, Helm's message on stderr."""
    _limits(int(argv[0]), int(argv[1]))
    if argv[2] == "exec":
        os.execv(argv[3], argv[3:])
    request = json.loads(sys.stdin.read())
    try:
        from helm_python import Chart, HelmError
    except ImportError:
        print("Error: no helm binary on PATH and the Helm engine is not installed: pip install 'readiness[chart]'",
              file=sys.stderr)
        return 3
    try:
        with Chart.load(request["chart"]) as chart:
            missing = _missing_dependencies(chart)
            if missing:  # helm template refuses these before rendering (action.CheckDependencies); the SDK does not
                print(f"Error: found in Chart.yaml, but missing in charts/ directory: {', '.join(missing)}",
                      file=sys.stderr)
                return 1
            rendered = chart.render(request["values"], name=request["release"], namespace=request["namespace"],
                                    is_install=True)
    except HelmError as exc:
        print(f"Error: {exc.detail}", file=sys.stderr)
        return 1
    json.dump({k: v for k, v in rendered.items() if v.strip()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
