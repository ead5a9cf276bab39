"""The variables a compose file gives each service: its ``environment:`` (mapping or list), the secrets a datastore
takes on its ``command:`` line, and the ``env_file:`` entries it names, each at the file and line that says it."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from typing import Any

from readiness.clients import compose as compose_project
from readiness.clients.dotenv import Loc, Setting
from readiness.yamlsrc import YList, YMap, pos_of


def service_environment(compose_file: str, name: str, service: Mapping[str, Any]) -> list[Setting]:
    env = service.get("environment")
    file = compose_project.file_at(service, "environment", compose_file)
    source = f"compose service {name}"
    out: list[Setting] = []
    if isinstance(env, Mapping):
        for key, value in env.items():
            if value is None or isinstance(value, (Mapping, list)):
                continue  # "KEY:" alone passes the shell's value through: nothing written here
            text = str(value).lower() if isinstance(value, bool) else str(value)
            out.append(Setting(str(key), text, Loc(compose_project.file_at(env, key, compose_file), *pos_of(env, key)),
                               source))
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


def _line_of(root: str, shown: str, start: tuple[int, int], needle: str) -> tuple[int, int]:
    """Where ``needle`` is written at or after ``start`` in the compose file ``shown`` (a multi-line ``command: >``
    keeps no positions of its own); ``start`` when the file cannot be read again."""
    try:
        with open(os.path.join(root, shown), encoding="utf-8") as fh:
            lines = fh.read(1 << 20).splitlines()
    except (OSError, UnicodeDecodeError, ValueError):
        return start
    for n in range(max(start[0], 1), min(len(lines), start[0] + 200) + 1):
        if needle in lines[n - 1]:
            return n, lines[n - 1].index(needle) + 1
    return start


def command_secrets(root: str, compose_file: str, name: str, service: Mapping[str, Any]) -> list[Setting]:
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
        shown = compose_project.file_at(service, "command", compose_file)
        if index >= 0:
            line, col = pos_of(command, index)
        else:
            line, col = _line_of(root, shown, pos_of(service, "command"), flag)
        out.append(Setting(flag.lstrip("-"), value, Loc(shown, line, col),
                           f"compose service {name} command"))
    return out


def env_files(compose: YMap, default: str) -> list[tuple[str, str]]:
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
