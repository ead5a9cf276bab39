"""The targets file: where the stack is.  ``${VAR}`` / ``${VAR:-default}`` interpolation, validation, redaction."""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from readiness.clients import KINDS, client_module
from readiness.deployment import KINDS as DEPLOYMENTS
from readiness.errors import ConfigError, Problem, did_you_mean
from readiness.params import validate
from readiness.presets import PRESETS, PROFILES
from readiness.redact import Scrubber, redact_config, secrets_in
from readiness.yamlsrc import load_file, map_strings, pos_of

_TOP = ("name", "preset", "profile", "deployment", "opt_in")
_VAR = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{|\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Targets:
    configs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    preset: str | None = None
    profile: str | None = None
    name: str | None = None
    path: str | None = None
    deployment: str | None = None  # compose | kubernetes, when the file says it (readiness.deployment infers it else)
    # item ids opted in to writing (app.end-to-end-canary, blob.round-trip), each with where the file names it;
    # readiness.audit checks them against the checklist (the targets file alone does not know its items)
    opt_in: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # in the sections a command did not read (``sections=``): the settings whose variables are unset, as written,
    # with why (kind -> field -> (raw value, messages)); their value in ``configs`` is what interpolation gave ("")
    unset: Mapping[str, Mapping[str, tuple[Any, tuple[str, ...]]]] = field(default_factory=dict)

    def redacted(self) -> dict[str, dict[str, Any]]:
        """The settings fit to show: secret fields and URL passwords masked, then every credential a client parses
        from them blanked too (a password-only redis://PW@host, an unencoded '/' or '#' in a password)."""
        scrub = self.scrubber()
        return {kind: scrub(redact_config(cfg)) for kind, cfg in self.configs.items()}

    def scrubber(self) -> Scrubber:
        found: set[str] = set()
        for kind, cfg in self.configs.items():
            found |= secrets_in(cfg) | client_secrets(kind, cfg)
        return Scrubber(found)


def client_secrets(kind: str, config: Mapping[str, Any]) -> set[str]:
    """The credentials the kind's own client parses from its settings (``secrets(config)``, when it has one)."""
    module = client_module(kind)
    hook = getattr(module, "secrets", None)
    if hook is None:
        return set()
    try:
        return {str(s) for s in hook(config) if s and len(str(s)) >= 3}
    except Exception:  # a broken hook must not stop masking what is known
        return set()


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Substitute variables; returns the text and the messages for what could not be substituted."""
    errors: list[str] = []

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        if m.group(2) is not None:
            errors.append(f"${m.group(2)} is not substituted: write ${{{m.group(2)}}} (or $$ for a literal $)")
            return m.group(0)
        body = m.group(1)
        if body is None:
            errors.append("unterminated ${ (write $$ for a literal $)")
            return m.group(0)
        name, sep, default = body.partition(":-")
        if not _NAME.match(name):
            errors.append(f"${{{body}}} is not a valid variable reference")
            return m.group(0)
        if name in env and (env[name] != "" or not sep):
            return env[name]
        if sep:
            return default
        errors.append(f"${{{name}}} is not set (export it, or write ${{{name}:-default}})")
        return ""

    return _VAR.sub(one, text), errors


def _interpolate_tree(node: Any, file: str, env: Mapping[str, str], problems: list[Problem],
                      where: tuple[int, int]) -> Any:
    def one(text: str, at: tuple[int, int]) -> str:
        value, errors = interpolate(text, env)
        problems.extend(Problem(file, *at, msg) for msg in errors)
        return value

    return map_strings(node, one, where)


def _config_problems(kind: str, cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Settings that can never work (a URL of another scheme, a DSN that is not one), as the kind's client module
    judges them; imported lazily, and that module imports no client library at its top."""
    module = KINDS[kind].client_module
    if module is None:
        return []
    try:
        judge = getattr(importlib.import_module(module), "config_problems", None)
        found = judge(cfg) if judge is not None else []
        return [(str(f), str(msg)) for f, msg in found]
    except Exception:  # noqa: BLE001 - a broken plugin's judge must not hide the file's other problems
        return []


def _chart_values(configs: dict[str, dict[str, Any]], name: str, problems: list[Problem]) -> None:
    """A kubernetes target's chart is also the files target's Helm values: its values files (when the files target
    gives no helm_values) over the chart's own defaults, so the values items judge what the chart renders."""
    chart = configs.get("kubernetes", {}).get("chart")
    if not chart or "files" not in KINDS:
        return
    files = configs.get("files")
    if files is None:
        files, found = validate(KINDS["files"].fields, {}, name, "files target", (1, 1))
        problems.extend(found)
        files["root"] = str(Path(name).resolve().parent)
        configs["files"] = files
    files["chart"] = chart
    if not files.get("helm_values"):
        files["chart_values"] = list(configs["kubernetes"].get("values") or [])


def load_targets(path: str | os.PathLike[str], env: Mapping[str, str] | None = None,
                 sections: Collection[str] | None = None) -> Targets:
    """The targets file, every variable substituted and every setting judged.  ``sections``: the target kinds the
    caller reads (``rbac`` reads the kubernetes one): the others are kept for what their presence says (the
    deployment kind) but their unset variables and bad settings stop nothing, since their credentials live where
    the audit runs, not where the command is typed."""
    name = os.fspath(path)
    raw: Any = load_file(name, "targets file")
    if not isinstance(raw, Mapping):
        kind = "a list" if isinstance(raw, list) else f"{type(raw).__name__} {raw!r}"[:60]
        raise ConfigError([Problem(name, *pos_of(raw), f"a targets file must be a mapping of backends "
                                                       f"({', '.join(KINDS)}), not {kind}")])
    raw = cast(Any, raw)  # a YMap (positions): the check above narrowed it to Mapping
    problems: list[Problem] = []
    environ = os.environ if env is None else env
    top: dict[str, Any] = {}
    configs: dict[str, dict[str, Any]] = {}
    unset: dict[str, dict[str, tuple[Any, tuple[str, ...]]]] = {}
    base = Path(name).resolve().parent
    for key, value in raw.items():
        at: tuple[int, int] = raw.at(key)
        unread = sections is not None and (key in KINDS or key == "name") and key not in sections
        found_here: list[Problem] = []
        written, value = value, _interpolate_tree(value, name, environ, found_here, at)
        if not unread:
            problems.extend(found_here)
        elif found_here and key in KINDS and isinstance(written, Mapping):
            unset[key] = _unset_fields(written, name, environ)
        if key in ("preset", "profile", "deployment"):
            choices = {"preset": PRESETS, "profile": PROFILES, "deployment": DEPLOYMENTS}[key]
            if value not in choices:
                problems.append(Problem(name, *at, f"{key} must be one of {', '.join(choices)}, not {value!r}"
                                        + did_you_mean(value, choices)))
            top[key] = value
        elif key == "opt_in":
            top[key] = _opt_in(value, name, at, problems)
        elif key == "name":
            top[key] = value if isinstance(value, str) else raw.text_of(key) or str(value)
        elif key in KINDS:
            cfg, found = validate(KINDS[key].fields, value, name, f"{key} target", at)
            if unread:
                configs[key] = cfg
                continue
            problems.extend(found)
            for field_name, param in KINDS[key].fields.items():
                if param.type == "path" and isinstance(cfg.get(field_name), str):
                    cfg[field_name] = str(base / os.path.expanduser(cfg[field_name]))
                elif param.type == "path-list" and isinstance(cfg.get(field_name), list):
                    cfg[field_name] = [str(base / os.path.expanduser(v)) for v in cfg[field_name]]
            if not found:  # after paths are resolved: a client may judge the files they name
                problems.extend(Problem(name, *pos_of(value, f), msg) for f, msg in _config_problems(key, cfg))
            configs[key] = cfg
        else:
            known = (*_TOP, *KINDS)
            line, col = raw.key_at(key)
            problems.append(Problem(name, line, col, f"unknown key {key!r} in targets file"
                                    + (did_you_mean(key, known) or f" (known: {', '.join(known)})")))
    _chart_values(configs, name, problems)
    if problems:
        raise ConfigError(problems)
    return Targets(configs, top.get("preset"), top.get("profile"), top.get("name"), name, top.get("deployment"),
                   top.get("opt_in", {}), unset)


def _unset_fields(section: Mapping[Any, Any], file: str,
                  env: Mapping[str, str]) -> dict[str, tuple[Any, tuple[str, ...]]]:
    """The fields of a section not read whose variables are unset: their text as written, and why."""
    out: dict[str, tuple[Any, tuple[str, ...]]] = {}
    for key, node in section.items():
        found: list[Problem] = []
        _interpolate_tree(node, file, env, found, (1, 1))
        if found:
            out[str(key)] = (node, tuple(p.message for p in found))
    return out


def _opt_in(value: Any, name: str, at: tuple[int, int], problems: list[Problem]) -> dict[str, tuple[int, int]]:
    """``opt_in: [item ids]``: the ids with their positions (a bad entry is a problem, not an opt-in)."""
    if not isinstance(value, list):
        problems.append(Problem(name, *at, "opt_in must be a list of item ids (opt_in: [app.end-to-end-canary])"))
        return {}
    out: dict[str, tuple[int, int]] = {}
    for index, entry in enumerate(value):
        where = pos_of(value, index)
        if not isinstance(entry, str) or not entry:
            problems.append(Problem(name, *where, f"opt_in[{index}] must be an item id, not {entry!r}"[:200]))
        else:
            out[str(entry)] = where
    return out
