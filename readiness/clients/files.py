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
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from readiness.clients import compose as compose_project
from readiness.clients import nginx as nginx_conf
from readiness.errors import ConfigError, Problem
from readiness.redact import is_secret_name, secret_values
from readiness.yamlsrc import YList, YMap, load_file, load_text, map_strings, pos_of, read_text

# Published defaults of the products' compose files, env examples and charts: not secrets (masking them would blank
# common words such as "postgres" in every message), and never accepted as a production secret either.
PLACEHOLDERS = frozenset({"postgres", "password", "changeme", "myredissecret", "miniosecret", "mysalt", "salt",
                          "mysecret", "secret", "clickhouse", "minio", "admin", "0" * 64})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*$")
_VAR = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Loc:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column}


@dataclass(frozen=True)
class Setting:
    """One variable as written: in the env file, or in a compose service's ``environment:``."""

    key: str
    value: str
    loc: Loc
    source: str  # "env file" or "compose service <name>"


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
                out += _service_environment(self, str(name), service)
                out += _command_secrets(self, str(name), service)
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


def _service_environment(files: Files, name: str, service: Mapping[str, Any]) -> list[Setting]:
    env = service.get("environment")
    file = compose_project.file_at(service, "environment", files.compose_file or "")
    source = f"compose service {name}"
    out: list[Setting] = []
    if isinstance(env, Mapping):
        for key, value in env.items():
            if value is None or isinstance(value, (Mapping, list)):
                continue  # "KEY:" alone passes the shell's value through: nothing written here
            text = str(value).lower() if isinstance(value, bool) else str(value)
            out.append(Setting(str(key), text, files.at(env, key), source))
    elif isinstance(env, list):
        for i, entry in enumerate(env):
            if isinstance(entry, str) and "=" in entry:
                key, _, value = entry.partition("=")
                line, col = pos_of(env, i)
                quoted = 0 if not isinstance(env, YList) or env.text_of(i) is not None else 1
                out.append(Setting(key.strip(), value, Loc(compose_project.file_at(env, i, file), line,
                                                           col + quoted + len(key) + 1), source))
    return out


# Datastores that take a secret on their command line: redis-server / valkey-server ``--requirepass`` and
# ``--masterauth`` (LangSight's compose: ``--requirepass ${REDIS_PASSWORD:-changeme}``).  Judged like any setting.
COMMAND_SECRETS = ("--requirepass", "--masterauth")


def _command_tokens(command: Any) -> list[tuple[int, str]]:
    """(index in a list command, or -1 in a string one; token) of a service's ``command:``."""
    if isinstance(command, list):
        return [(i, str(t)) for i, t in enumerate(command) if isinstance(t, (str, int, float))]
    if not isinstance(command, str):
        return []
    try:
        return [(-1, t) for t in shlex.split(command)]
    except ValueError:  # an unbalanced quote: compose would refuse it too; read it word by word
        return [(-1, t) for t in command.split()]


def _line_of(files: Files, shown: str, start: tuple[int, int], needle: str) -> tuple[int, int]:
    """Where ``needle`` is written at or after ``start`` in the compose file ``shown`` (a multi-line ``command: >``
    keeps no positions of its own); ``start`` when the file cannot be read again."""
    try:
        with open(os.path.join(files.root, shown), encoding="utf-8") as fh:
            lines = fh.read(1 << 20).splitlines()
    except (OSError, UnicodeDecodeError, ValueError):
        return start
    for n in range(max(start[0], 1), min(len(lines), start[0] + 200) + 1):
        if needle in lines[n - 1]:
            return n, lines[n - 1].index(needle) + 1
    return start


def _command_secrets(files: Files, name: str, service: Mapping[str, Any]) -> list[Setting]:
    command = service.get("command")
    tokens = _command_tokens(command)
    out: list[Setting] = []
    for k, (index, token) in enumerate(tokens):
        flag = next((f for f in COMMAND_SECRETS if token == f or token.startswith(f + "=")), None)
        if flag is None:
            continue
        if token == flag:
            if k + 1 >= len(tokens):
                continue
            index, value = tokens[k + 1]
        else:
            value = token[len(flag) + 1:]
        # the file that says it: an override or an included file, not always the main one
        shown = compose_project.file_at(service, "command", files.compose_file or "")
        if index >= 0:
            line, col = pos_of(command, index)
        else:
            line, col = _line_of(files, shown, pos_of(service, "command"), flag)
        out.append(Setting(flag.lstrip("-"), value, Loc(shown, line, col),
                           f"compose service {name} command"))
    return out


# --- reading ------------------------------------------------------------------------------------------------------

def _display(path: str, root: str) -> str:
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def _read_text(path: str, what: str) -> str:
    return read_text(path, what, "an")


def parse_env(text: str, path: str, shown: str) -> dict[str, Setting]:
    """A dotenv file as docker compose reads it: KEY=VALUE, ``export`` allowed, '#' comments, quotes."""
    out: dict[str, Setting] = {}
    problems: list[Problem] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        i += 1
        stripped = raw.lstrip()
        indent = len(raw) - len(stripped)
        if not stripped or stripped.startswith("#"):
            continue
        body = stripped[7:].lstrip() if stripped.startswith("export ") else stripped
        offset = indent + (len(stripped) - len(body))
        key, sep, rest = body.partition("=")
        key = key.rstrip()
        if not sep or not _NAME.match(key):
            what = "a line without '='" if not sep else "not a variable name"
            problems.append(Problem(path, lineno, offset + 1, f"{what}: env files hold KEY=VALUE lines"))
            continue
        col = offset + len(body) - len(rest) + 1
        lead = len(rest) - len(rest.lstrip())
        value_text = rest.lstrip()
        col += lead
        if value_text[:1] in ("'", '"'):
            quote = value_text[0]
            closing = value_text.find(quote, 1)
            # a double-quoted value may run over several lines
            while closing == -1 and quote == '"' and i < len(lines) and i - lineno < 1000:
                value_text += "\n" + lines[i]
                i += 1
                closing = value_text.find(quote, 1)
            if closing == -1:
                problems.append(Problem(path, lineno, col, f"unterminated {quote} quote"))
                continue
            value = value_text[1:closing]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
            col += 1
        else:
            value = re.split(r"\s+#", value_text, maxsplit=1)[0].rstrip()
        out[key] = Setting(key, value, Loc(shown, lineno, col), "env file")
    if problems:
        raise ConfigError(problems)
    return out


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[str], list[str]]:
    """Compose interpolation of one string: (value, errors that stop compose, warnings)."""
    errors: list[str] = []
    warnings: list[str] = []

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        if m.group(2) is not None:
            name = m.group(2)
            if name not in env:
                warnings.append(f"${name} is not set (compose substitutes an empty string)")
            return env.get(name, "")
        body = m.group(1)
        if body is None:
            errors.append("invalid interpolation: unterminated ${ (write $$ for a literal $)")
            return m.group(0)
        op = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", body, re.S)
        if not op:
            errors.append(f"invalid interpolation format for ${{{body[:40]}}}")
            return m.group(0)
        name, how, arg = op.group(1), op.group(2), op.group(3) or ""
        value = env.get(name)
        unset_or_empty = value is None or value == ""
        if how == ":-":
            return arg if unset_or_empty else str(value)
        if how == "-":
            return arg if value is None else value
        if how in (":?", "?"):
            if (how == ":?" and unset_or_empty) or (how == "?" and value is None):
                errors.append(f"required variable {name} is missing a value: {arg}"[:200])
                return ""
            return str(value)
        if how == ":+":
            return "" if unset_or_empty else arg
        if how == "+":
            return "" if value is None else arg
        if value is None:
            warnings.append(f"${{{name}}} is not set (compose substitutes an empty string)")
            return ""
        return value

    return _VAR.sub(one, text), errors, warnings


def _interpolate_tree(node: Any, env: Mapping[str, str], file: str, where: tuple[int, int],
                      problems: list[Problem], warnings: list[str]) -> Any:
    def one(text: str, at: tuple[int, int]) -> str:
        value, errors, warned = interpolate(text, env)
        problems.extend(Problem(file, *at, e) for e in errors)
        warnings.extend(f"{file}:{at[0]}:{at[1]}: {w}" for w in warned)
        return value

    return map_strings(node, one, where)


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
        data = _interpolate_tree(raw, env_for(env_dir), file, raw.pos, problems, files.warnings)
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


def _env_files(compose: YMap, default: str) -> list[tuple[str, str]]:
    """The ``env_file:`` entries of every service (a path, a list of paths, or of {path: ...}), each with the file
    that declares it (its paths are relative to that file)."""
    out: list[tuple[str, str]] = []
    services = compose.get("services")
    for svc in services.values() if isinstance(services, Mapping) else []:
        given = svc.get("env_file") if isinstance(svc, Mapping) else None
        declared_in = compose_project.file_at(svc, "env_file", default)
        for entry in given if isinstance(given, list) else [given]:
            path = entry.get("path") if isinstance(entry, Mapping) else entry
            if isinstance(path, str) and path and (path, declared_in) not in out and len(out) < 20:
                out.append((path, declared_in))
    return out


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
        for env_name, declared_in in _env_files(files.compose, files.compose_file):
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


_NOT_SECRET = ("_URL", "_URI", "_HOST", "_PORT", "_TYPE", "_ENABLED", "_DISABLED", "_USER", "_USERNAME", "_NAME",
               "_REGION")
# Helm values that NAME a Kubernetes Secret or a key inside one: existingSecret, existingSecretPasswordKey,
# secretName, secretKeyRef, passwordKey, userKey; and the mappings that hold such names.
_REF_LEAF = re.compile(r"existingSecret|secretName$|SecretName$|KeyRef$|(^|[a-z])(password|Password|user|User|username|"
                       r"Username|token|Token|salt|Salt)Key$")
_REF_PARENT = frozenset({"secretkeyref", "valuefrom", "configmapkeyref", "secretkeys", "secretref", "configmapref"})
_CAMEL = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SECRET_PARTS = frozenset({"password", "passwd", "pwd", "secret", "token", "salt", "credential", "credentials",
                           "auth", "apikey"})
# camelCase ``<word>Key`` is a credential for these words only (topologyKey, nodeKey ... are not)
_KEY_KINDS = frozenset({"api", "license", "encryption", "private", "access", "signing", "session", "hmac", "master"})


def _names_a_secret(name: str) -> bool:
    """An env name or a Helm key that holds a credential: REDIS_AUTH, secretKey, s3.secretAccessKey, apiKeySalt,
    encryptionKey, licenseKey (camelCase words too, where the old regex saw only ``_key``)."""
    if name.upper().endswith(_NOT_SECRET):
        return False  # NEXTAUTH_URL, AUTH_TYPE: settings about a credential, not one (URL passwords are found apart)
    words = [w.lower() for w in _CAMEL.findall(name)]
    return (is_secret_name(name) or bool(_SECRET_PARTS.intersection(words))
            or (len(words) > 1 and words[-1] in ("key", "keys") and words[-2] in _KEY_KINDS))


def is_secret_key(key: str) -> bool:
    """Whether an env variable or a dotted Helm values key holds a secret (and not a reference to one)."""
    parts = [re.sub(r"(\[\d+\])+$", "", part) for part in key.split(".")]
    last = parts[-1]
    if any(part.lower() in _REF_PARENT or part.startswith("existingSecret") for part in parts[:-1]):
        return False  # the name of a Kubernetes Secret and its key, not a credential
    if last.upper() != last and _REF_LEAF.search(last):
        return False  # a Helm reference to a Kubernetes Secret (existingSecret, passwordKey), not a credential
    if last == "value" and len(parts) > 1:
        return _names_a_secret(parts[-2])  # langfuse.salt.value, langfuse.nextauth.secret.value
    return _names_a_secret(last) or last.lower() == "salt"


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
