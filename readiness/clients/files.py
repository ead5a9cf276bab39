"""The ``files`` target: the compose file, env file and Helm values a team deploys from, read once per audit.

Every value keeps where it was written (``Loc``: file relative to ``root``, line, column), so a finding points at
the line that causes it.  Compose variables are resolved the way ``docker compose`` does: from the ``.env`` file in
the compose file's directory (the configured env file when it is that one), with ``${VAR:-default}``,
``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+alt}``, ``$VAR`` and ``$$``; the shell's environment
is deliberately not read, so the audit judges what the repository holds.  Pure Python: PyYAML only.

With a chart on the kubernetes target (``chart`` and ``chart_values``, handed over by readiness.targets), the Helm
values are that chart's values files, and a key they leave out takes the chart's own default from its values.yaml
(``values_get`` says where), so the values items judge what the chart really renders.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from readiness.clients import compose as compose_project
from readiness.clients import compose_settings
from readiness.clients import nginx as nginx_conf
from readiness.clients.dotenv import Loc, Setting, interpolate_tree, parse_env
from readiness.clients.secret_names import is_secret_key
from readiness.errors import ConfigError, Problem
from readiness.redact import secret_values
from readiness.yamlsrc import YMap, load_file, load_text, pos_of, read_text

# Published defaults of the products' compose files, env examples and charts: not secrets (masking them would blank
# common words such as "postgres" in every message), and never accepted as a production secret either.
PLACEHOLDERS = frozenset({"postgres", "password", "changeme", "myredissecret", "miniosecret", "mysalt", "salt",
                          "mysecret", "secret", "clickhouse", "minio", "admin", "0" * 64})


@dataclass
class Files:
    root: str
    env: dict[str, Setting] | None = None
    env_file: str | None = None
    compose: YMap | None = None
    compose_file: str | None = None
    values: YMap | None = None
    values_file: str | None = None
    chart_version: str | None = None  # the chart's version when a chart: is rendered (it decides the values' names)
    warnings: list[str] = field(default_factory=list)
    service_env_files: dict[str, dict[str, Setting]] = field(default_factory=dict)  # env_file: of compose services
    sources: list[str] = field(default_factory=list)  # compose and nginx files read (includes too)
    nginx: tuple[nginx_conf.Directive, ...] | None = None  # the nginx configuration, includes expanded in place
    nginx_file: str | None = None
    # values files below ``values`` (helm -f order: the last wins, and it is ``values``), then the chart's defaults
    values_layers: list[tuple[str, YMap]] = field(default_factory=list)
    defaults_file: str | None = None  # the chart's values.yaml as shown in findings
    default_files: tuple[str, ...] = ()  # every file of the chart's defaults (its subcharts' values.yaml too)
    # Only the files a commit touched (``readiness check-files``): an item on a kind of file not among them, or on a
    # live target, does not apply, where a targets file that leaves it out is an error.
    partial: bool = False

    def at(self, container: Any, key: Any) -> Loc:
        """Where a compose value is written: the file that says it (main, override, included or extended)."""
        return Loc(compose_project.file_at(container, key, self.compose_file or ""), *pos_of(container, key))

    def loc(self, file: str, pos: tuple[int, int]) -> Loc:
        return Loc(file, pos[0], pos[1])

    def services(self) -> Mapping[str, Any]:
        services = self.compose.get("services") if self.compose is not None else None
        return services if isinstance(services, Mapping) else {}

    def settings(self) -> list[Setting]:
        """Every variable the application is given: the env file's, then each compose service's environment."""
        out = list(self.env.values()) if self.env else []
        for name, settings in self.service_env_files.items():
            if name != self.env_file:
                out += settings.values()
        for name, service in self.services().items():
            if isinstance(service, Mapping):
                out += compose_settings.service_environment(self.compose_file or "", str(name), service)
                out += compose_settings.command_secrets(self.root, self.compose_file or "", str(name), service)
        return out

    def lookup(self, key: str) -> list[Setting]:
        return [s for s in self.settings() if s.key == key]

    def values_leaves(self) -> Iterator[tuple[str, Any, Loc]]:
        """(dotted key, value, where) for every scalar of the team's Helm values files (not the chart's defaults)."""
        if self.values is not None and self.values_file is not None:
            yield from _leaves(self.values, "", self.values_file, self)
        for file, layer in self.values_layers:
            if not self.is_default(Loc(file, 1, 1)):
                yield from _leaves(layer, "", file, self)

    def values_get(self, dotted: str) -> tuple[Any, Loc | None, bool]:
        """(value, where, present) of a dotted key of the Helm values; where is the nearest parent when absent.
        With a chart, a key no values file sets is the chart's default, at its line of the chart's values.yaml
        (``is_default`` tells)."""
        first = self._walk(self.values, self.values_file or "", dotted)
        if first[2]:
            return first
        for file, layer in reversed(self.values_layers):
            found = self._walk(layer, file, dotted)
            if found[2]:
                return found
        return first

    def is_default(self, loc: Loc | None) -> bool:
        """Whether a value came from the chart's own defaults (its values.yaml), not from the team's files."""
        return loc is not None and (loc.file == self.defaults_file or loc.file in self.default_files)

    def not_in_chart(self, dotted: str) -> str | None:
        """Why a key no file sets has no default either, when the chart's defaults are at hand (None otherwise):
        the chart has no such key, so no remembered default may stand in for it (a key of another chart version
        is silently ignored by the chart)."""
        if not self.default_files or self.values_get(dotted)[2]:
            return None
        version = f" {self.chart_version}" if self.chart_version else ""
        return (f"{dotted} is set in no values file and is not a key of the chart{version} (not in "
                f"{self.defaults_file or self.default_files[-1]}): the chart ignores it (a key of another version?)")

    def _walk(self, node: Any, file: str, dotted: str) -> tuple[Any, Loc | None, bool]:
        where: Loc | None = self.loc(file, pos_of(node)) if node is not None else None
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None, where, False
            where = self.loc(file, node.at(part) if isinstance(node, YMap) else (1, 1))
            node = node[part]
        return node, where, True


def _leaves(node: Any, prefix: str, file: str, files: Files) -> Iterator[tuple[str, Any, Loc]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, (Mapping, list)):
                yield from _leaves(value, path, file, files)
            else:
                yield path, value, files.loc(file, pos_of(node, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            path = f"{prefix}[{i}]"
            if isinstance(value, (Mapping, list)):
                yield from _leaves(value, path, file, files)
            else:
                yield path, value, files.loc(file, pos_of(node, i))


# --- reading ------------------------------------------------------------------------------------------------------

def _display(path: str, root: str) -> str:
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def _read_text(path: str, what: str) -> str:
    return read_text(path, what, "an")


def _describe(value: Any) -> str:
    return "a list" if isinstance(value, list) else f"{type(value).__name__}"


def _check_services(data: YMap, path: str, problems: list[Problem], required: bool) -> None:
    services = data.get("services")
    if services is None:
        if required:
            problems.append(Problem(path, *pos_of(data), "a compose file needs 'services:'"))
    elif not isinstance(services, Mapping):
        problems.append(Problem(path, *pos_of(data, "services"), f"'services' must be a mapping of service names, not "
                                                             f"{_describe(services)}"))
    else:
        for name, service in services.items():
            if not isinstance(service, Mapping):
                problems.append(Problem(path, *pos_of(services, name), f"service {name!r} must be a mapping"))


def _load_compose(path: str, env_for: Callable[[str], Mapping[str, str]], files: Files) -> YMap:
    """The compose project of ``path`` as docker compose reads it (clients/compose.py), each file interpolated
    with the .env of its project directory (``env_for``)."""
    root = os.path.realpath(files.root)
    main_dir = os.path.dirname(os.path.realpath(path))
    project = compose_project.Project(root if os.path.commonpath([main_dir, root]) == root else main_dir,
                              lambda p: _display(p, files.root), lambda raw, p, d: _interpolated(raw, p, d))

    def _interpolated(raw: YMap, file: str, env_dir: str) -> YMap:
        problems: list[Problem] = []
        data = interpolate_tree(raw, env_for(env_dir), file, raw.pos, problems, files.warnings)
        _check_services(data, file, problems, required=False)
        if problems:
            raise ConfigError(problems)
        return data  # type: ignore[no-any-return]

    data = project.load(path, os.path.dirname(path))
    files.sources += project.read
    problems: list[Problem] = []
    _check_services(data, path, problems, required=True)
    if problems:
        raise ConfigError(problems)
    return data


_CACHE: dict[tuple[Any, ...], tuple[Files, tuple[Any, ...]]] = {}


def _stamp(path: str | None) -> tuple[Any, ...]:
    if not path:
        return (None,)
    try:
        st = os.stat(path)
        return (path, st.st_mtime_ns, st.st_size)
    except OSError:
        return (path, None)


def load(config: Mapping[str, Any]) -> Files:
    """Read and parse every configured file (once while they are unchanged); ConfigError names file:line:col."""
    compose, env_path, values, nginx = (str(config[k]) if config.get(k) else None
                                        for k in ("compose", "env", "helm_values", "nginx"))
    chart = str(config["chart"]) if config.get("chart") else None
    chart_values = [str(v) for v in config.get("chart_values") or []]
    root = str(config.get("root") or os.getcwd())
    beside = os.path.join(os.path.dirname(compose), ".env") if compose else None
    overrides = [os.path.join(os.path.dirname(compose), n) for n in compose_project.OVERRIDES] if compose else []
    partial = bool(config.get("partial"))
    key = (root, partial, _stamp(compose), _stamp(env_path), _stamp(values), _stamp(beside), _stamp(nginx),
           _stamp(chart), *(_stamp(v) for v in chart_values), *map(_stamp, overrides))
    if key in _CACHE:
        cached, stamps = _CACHE[key]
        if stamps == tuple(map(_stamp, cached.sources)):  # included files unchanged too
            return cached
    files = Files(root, partial=partial)
    problems: list[Problem] = []
    texts: list[str] = []

    def attempt(step: Any) -> None:
        try:
            step()
        except ConfigError as exc:
            problems.extend(exc.problems)
            if not exc.problems:
                texts.append(exc.text)

    def read_env() -> None:
        assert env_path is not None
        shown = _display(env_path, root)
        files.env = parse_env(_read_text(env_path, "env file"), env_path, shown)
        files.env_file = shown

    def env_for(directory: str) -> dict[str, str]:
        """The variables compose interpolates with in a project directory: its .env (the configured env file when
        it is that one)."""
        dotenv = os.path.join(directory, ".env")
        if env_path and os.path.abspath(env_path) == os.path.abspath(dotenv) and files.env is not None:
            return {k: s.value for k, s in files.env.items()}
        if os.path.isfile(dotenv):
            return {k: s.value for k, s in parse_env(_read_text(dotenv, "env file"), dotenv,
                                                     _display(dotenv, root)).items()}
        return {}

    def read_compose() -> None:
        assert compose is not None
        files.compose = _load_compose(compose, env_for, files)
        files.compose_file = _display(compose, root)
        for env_name, declared_in in compose_settings.env_files(files.compose, files.compose_file):
            base = os.path.join(root, declared_in) if not os.path.isabs(declared_in) else declared_in
            path = os.path.join(os.path.dirname(base), env_name)
            shown = _display(path, root)
            if shown not in files.service_env_files and os.path.isfile(path):
                files.service_env_files[shown] = {k: Setting(k, s.value, s.loc, f"env_file {shown}") for k, s in
                                                  parse_env(_read_text(path, "env file"), path, shown).items()}

    def read_values() -> None:
        assert values is not None
        raw = load_file(values, "Helm values file")
        if not isinstance(raw, YMap):
            raise ConfigError([Problem(values, *pos_of(raw), f"a Helm values file must be a mapping, not "
                                                            f"{_describe(raw)}")])
        files.values, files.values_file = raw, _display(values, root)

    def read_nginx() -> None:
        assert nginx is not None
        files.nginx = nginx_conf.load(nginx, root, lambda p: _display(p, root), files.sources)
        files.nginx_file = _display(nginx, root)

    def read_chart() -> None:
        assert chart is not None
        from readiness.clients import chart as charts

        version = charts.metadata(chart).get("version")
        files.chart_version = str(version) if version is not None else None
        shown = _display(os.path.join(chart, "values.yaml"), root)
        layers: list[tuple[str, YMap]] = []
        for rel, text, under in charts.defaults(chart):
            where = _display(os.path.join(chart, rel), root)
            node = load_text(text, where) if text.strip() else None
            if isinstance(node, YMap):
                if under is not None:  # a subchart's defaults sit under its name in the parent's values
                    node = YMap({under: node})
                layers.append((where, node))
        files.default_files = tuple(file for file, _ in layers)
        files.defaults_file = shown if shown in files.default_files else None
        for path in chart_values:
            raw = load_file(path, "Helm values file")
            if not isinstance(raw, YMap):
                raise ConfigError([Problem(path, *pos_of(raw), f"a Helm values file must be a mapping, not "
                                                              f"{_describe(raw)}")])
            layers.append((_display(path, root), raw))
        if files.values is None:  # the chart's values files stand for helm_values; the last one wins, as in helm
            top = layers.pop() if len(layers) > len(files.default_files) else None
            files.values, files.values_file = top[1] if top else YMap(), top[0] if top else shown
        files.values_layers = layers

    if env_path:
        attempt(read_env)
    if compose:
        attempt(read_compose)
    if values:
        attempt(read_values)
    if nginx:
        attempt(read_nginx)
    if chart:
        attempt(read_chart)
    if problems or texts:
        raise ConfigError("\n".join([*texts, *(str(p) for p in sorted(set(problems)))]))
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[key] = (files, tuple(map(_stamp, files.sources)))
    return files


def connect(config: dict[str, Any], timeout: float) -> Files:
    if not any(config.get(k) for k in ("compose", "env", "helm_values", "nginx", "chart")):
        raise ConfigError("the files target names no file: give compose, env, helm_values or nginx")
    return load(config)


def close(client: Any) -> None:
    return None


def _secret_values(key: str, value: Any) -> set[str]:
    if not isinstance(value, str) or not value:
        return set()
    found = {value} if is_secret_key(key) else set()
    found |= secret_values(value)
    return {v for v in found if v not in PLACEHOLDERS and "${" not in v and v.lower() not in ("true", "false")}


def secrets(config: Mapping[str, Any]) -> set[str]:
    """Credentials written in the env, compose and values files (never the published placeholders)."""
    try:
        files = load(config)
    except Exception:  # unreadable files are reported by config_problems; nothing to mask from them
        return set()
    found: set[str] = set()
    try:
        for s in files.settings():
            found |= _secret_values(s.key, s.value)
        for key, value, _ in files.values_leaves():
            found |= _secret_values(key, value)
    except Exception:
        return found
    return found


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A file that cannot be read or parsed, at its own file:line:col (``validate`` and ``audit`` exit 2)."""
    out: list[tuple[str, str]] = []
    for name in ("env", "compose", "helm_values", "nginx"):
        if not config.get(name) or not os.path.exists(str(config[name])):
            continue  # a file not there yet (generated in CI) is the items' error, not the targets file's
        one = {k: config.get(k) for k in ("root",)}
        one[name] = config[name]
        if name == "compose" and config.get("env"):
            one["env"] = config["env"]
        try:
            load(one)
        except ConfigError as exc:
            lines = exc.text.splitlines()
            if name == "compose" and config.get("env"):
                mine = [line for line in lines if not line.startswith(str(config["env"]))]
                lines = mine
            for line in lines:
                out.append((name, line))
        except Exception as exc:  # noqa: BLE001 - never raise from validation
            out.append((name, f"cannot read: {type(exc).__name__}"))
    return out
