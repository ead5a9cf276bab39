"""docker compose files, statically: datastore ports published beyond loopback, services without a healthcheck,
images not pinned to a version.  The file is parsed (and its variables resolved) by readiness.clients.files."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from readiness.checks import _products as products
from readiness.checks._compose_ports import image_name, is_datastore, loopback, published
from readiness.checks._files_facts import PLACEHOLDER_PASSWORDS, evidence, files, findings_text, locations, needs

from readiness.clients.files import Files, Loc, Setting
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

_DATASTORE_IMAGES = products.datastore_images()
_DATASTORE_PORTS = [5432, 6432, 6379, 26379, 8123, 9000, 9009, 9440, 8443, 2181, 9181, 9001]


@probe("files.compose-loopback", target="files", params={
    "datastore_images": Param("str-list", _DATASTORE_IMAGES, help="images that are datastores (name, or prefix)"),
    "datastore_ports": Param("int-list", _DATASTORE_PORTS,
                             help="container ports that are datastores' whatever the image"),
})
def composeloopback(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Datastore ports are published on 127.0.0.1 (or ::1) only: ``"6379:6379"`` and ``"0.0.0.0:5432:5432"``
    open Redis or PostgreSQL to every network the host is on (Docker bypasses the host firewall's INPUT rules)."""
    f = files(ctx)
    missing = needs(f, "compose")
    if missing:
        return missing
    ports_ds = set(p["datastore_ports"])
    bad: list[tuple[Loc, str]] = []
    unreadable: list[tuple[Loc, str]] = []
    by_design: list[tuple[Loc, str]] = []
    seen = 0
    for name, svc in f.services().items():
        image = str(svc.get("image") or "")
        store = bool(image) and is_datastore(image, p["datastore_images"])
        if svc.get("network_mode") == "host" and store:
            bad.append((_at(f, svc, "network_mode"), f"service {name}: network_mode host publishes every port of "
                                                     f"{image_name(image)} on all interfaces"))
        ports = svc.get("ports")
        if not isinstance(ports, list):
            continue
        minio = _minio_ports(svc, image)
        for i, spec in enumerate(ports):
            loc = _at(f, ports, i)
            parsed = published(spec, ports.text_of(i) if hasattr(ports, "text_of") else None)
            if parsed is None:
                unreadable.append((loc, f"service {name}: cannot read port {str(spec)[:40]!r}"))
                continue
            if not (store or ports_ds.intersection(parsed.container)):
                continue
            seen += 1
            if parsed.host_ip is not None and loopback(parsed.host_ip):
                continue
            what = image_name(image) or "a datastore port"
            if minio and parsed.container == [minio[0]] and ctx.preset in products.MINIO.public_api:
                by_design.append((loc, f"service {name} publishes MinIO's S3 API {parsed.shown()}, as "
                                       f"{ctx.preset}'s design requires (browsers upload media to it through "
                                       "presigned URLs): serve it through TLS, never its console"))
                continue
            if minio and minio[1] in parsed.container:
                what = "the MinIO console"
            bad.append((loc, f"service {name} publishes {what} {parsed.shown()}"))
    if bad or unreadable:
        found = bad + unreadable
        # the by-design ports are noted, not located: a code-scanning view marks only what is to be fixed
        return failed(findings_text(found), **evidence(found, datastore_ports_published=seen,
                                                       published_by_design=[f"{loc}: {what}" for loc, what in
                                                                            by_design]))
    note = f"; {findings_text(by_design)}" if by_design else ""
    summary = (f"{seen} datastore port(s) published, all on loopback or by the product's design" if seen
               else "no datastore port is published")
    return passed(summary + note, datastore_ports_published=seen, locations=[],
                  published_by_design=[f"{loc}: {what}" for loc, what in by_design])


def _minio_ports(svc: Mapping[str, Any], image: str) -> tuple[int, int] | None:
    """(S3 API, console) container ports of a MinIO service, from ``--address`` / ``--console-address``."""
    if not image or not is_datastore(image, list(products.MINIO.images)):
        return None
    command = f"{_command_text(svc.get('entrypoint'))} {_command_text(svc.get('command'))}"
    ports = []
    for flag, default in (("--address", products.MINIO.api_port), ("--console-address", products.MINIO.console_port)):
        m = re.search(rf"{flag}[=\s]+[\"']?[^\s\"':]*:(\d+)", command)
        ports.append(int(m.group(1)) if m else default)
    return ports[0], ports[1]


def _at(f: Files, container: Any, key: Any) -> Loc:
    return f.at(container, key)  # the file that says it: main, override, included or extended


def _runnable(test: Any) -> bool:
    """A healthcheck test compose runs: a shell string, or a CMD / CMD-SHELL list of strings."""
    if isinstance(test, str):
        return bool(test.strip())
    return (isinstance(test, list) and len(test) >= 2 and all(isinstance(t, str) for t in test)
            and test[0] in ("CMD", "CMD-SHELL") and bool(test[1].strip()))


@probe("files.compose-healthchecks", target="files", params={
    "ignore": Param("str-list", [], help="services that need none (one-shot jobs, init containers)"),
})
def compose_healthchecks(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every compose service has a healthcheck (``depends_on: condition: service_healthy`` and restarts rely on
    it); ``disable: true`` or ``test: [NONE]`` counts as none.  An image's own HEALTHCHECK is not visible here:
    write it out in the compose file, or list the service in `ignore`."""
    f = files(ctx)
    missing = needs(f, "compose")
    if missing:
        return missing
    bad: list[tuple[Loc, str]] = []
    services = f.services()
    if not services:
        return undecided(f"{f.compose_file} defines no service", locations=[])
    for name, svc in services.items():
        if name in p["ignore"]:
            continue
        hc = svc.get("healthcheck")
        test = hc.get("test") if isinstance(hc, Mapping) else None
        off = isinstance(hc, Mapping) and (hc.get("disable") is True or
                                           (isinstance(test, list) and test[:1] == ["NONE"]))
        if not isinstance(hc, Mapping) or off or not test:
            what = "disables its healthcheck" if off else "has no healthcheck"
            bad.append((_at(f, services, name), f"service {name} {what}"))
        elif not _runnable(test):
            bad.append((_at(f, services, name), f"service {name}'s healthcheck test is not a command compose can run "
                                                "(a string, or [CMD, ...] / [CMD-SHELL, ...])"))
    if bad:
        return failed(f"{len(bad)} of {len(services)} services without a healthcheck: " + findings_text(bad),
                      **evidence(bad, services=len(services)))
    return passed(f"all {len(services)} services have a healthcheck", services=len(services), locations=[])


def _tag_problem(image: str) -> str | None:
    if "@" in image:
        return None  # a digest pins exactly
    ref = image.strip()
    if not ref:
        return "an empty image reference"
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return "no tag (means :latest)"
    tag = last.split(":", 1)[1]
    if not tag:
        return "an empty tag (a variable without a value?)"
    if tag == "latest":
        return ":latest"
    return None


@probe("files.images-pinned", target="files")
def images_pinned(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Images are pinned to a version: no ``:latest``, no untagged image (a digest is fine), in the compose file
    and in the Helm values (``tag: latest``; an empty tag means the chart's own pinned appVersion)."""
    f = files(ctx)
    missing = needs(f, "compose", "helm_values")
    if missing:
        return missing
    bad: list[tuple[Loc, str]] = []
    count = 0
    for name, svc in f.services().items():
        image = svc.get("image")
        if image is None:
            continue  # built from a Dockerfile here
        count += 1
        why = _tag_problem(str(image))
        if why:
            bad.append((_at(f, svc, "image"), f"service {name}: image {str(image)[:80]} has {why}"))
    for key, value, loc in f.values_leaves():
        last = key.rsplit(".", 1)[-1]
        if last == "tag" and str(value).strip() == "latest":
            count += 1
            bad.append((loc, f"{key} is latest"))
        elif last == "image" and isinstance(value, str) and value:
            count += 1
            why = _tag_problem(value)
            if why:
                bad.append((loc, f"{key} {value[:80]} has {why}"))
        elif last == "tag":
            count += 1
    if bad:
        return failed(findings_text(bad), **evidence(bad, images=count))
    if count == 0:
        return undecided("no image reference found (every service is built here, or the values set no image)",
                         images=0, locations=[])
    return passed(f"all {count} image references are pinned", images=count, locations=locations([]))


def _command_text(command: Any) -> str:
    if isinstance(command, list):
        return " ".join(str(c) for c in command)
    return str(command or "")


_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}


def _compose_bytes(value: Any) -> int | None:
    """A compose memory size (``128M``, ``1g``, ``512mb``, bytes): binary units (the compose specification's
    "byte value"); None when it cannot be read."""
    if isinstance(value, bool):
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*", str(value), re.I)
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()]) if m else None


def _redis_bytes(value: str) -> int | None:
    """A redis.conf memory size: ``1k`` is 1000 bytes and ``1kb`` 1024 (likewise m/mb, g/gb), case-insensitive
    (redis.conf's own header)."""
    m = re.fullmatch(r"(\d+)(?:([kmg])(b?))?", value.strip().strip("'\"").lower())
    if not m:
        return None
    power = "kmg".index(m.group(2)) + 1 if m.group(2) else 0
    return int(m.group(1)) * (1024 if m.group(3) else 1000) ** power


def _memory_limit(f: Files, svc: Any) -> tuple[Any, Loc] | None:
    """The container's memory limit as written (``deploy.resources.limits.memory``, or ``mem_limit``)."""
    limits: Any = svc
    for part in ("deploy", "resources", "limits"):
        limits = limits.get(part) if isinstance(limits, Mapping) else None
    if isinstance(limits, Mapping) and limits.get("memory") is not None:
        return limits["memory"], _at(f, limits, "memory")
    if svc.get("mem_limit") is not None:
        return svc["mem_limit"], _at(f, svc, "mem_limit")
    return None


def _memory_problem(f: Files, svc: Any, command: str, conf: bool, max_share: float) -> tuple[str, str] | None:
    """("fail" or "hidden", why) when --maxmemory and the container's memory limit do not fit together: without a
    maxmemory (or 0, unbounded) Redis grows past the limit and the OOM killer ends it, queues and all."""
    limit = _memory_limit(f, svc)
    if limit is None:
        return None
    raw, where = limit
    limit_bytes = _compose_bytes(raw)
    said = f"the container's memory limit {str(raw)[:20]} ({where.file}:{where.line})"
    if limit_bytes is None or limit_bytes <= 0:
        return "hidden", f"{said} cannot be read as a size"
    flag = re.search(r"--maxmemory\s+(\S+)", command)
    if flag is None:
        if conf:
            return "hidden", f"maxmemory (under {said}) is in the redis.conf, not visible here"
        return "fail", f"no --maxmemory under {said}: Redis grows until the OOM killer stops it"
    maxmemory = _redis_bytes(flag.group(1))
    if maxmemory is None:
        return "hidden", f"--maxmemory {flag.group(1)[:20]} cannot be read as a size"
    if maxmemory == 0:
        return "fail", f"--maxmemory 0 (unbounded) under {said}: Redis grows until the OOM killer stops it"
    if maxmemory > limit_bytes * max_share:
        return "fail", (f"--maxmemory {flag.group(1)[:20]} is {maxmemory / limit_bytes:.0%} of {said}; keep it "
                        f"at most {max_share:.0%} (fork copy-on-write, buffers and fragmentation need the rest)")
    return None


@probe("files.compose-redis", target="files", params={
    "images": Param("str-list", list(products.STORES["redis"].images), help="Redis images"),
    "passwords": Param("str-list", PLACEHOLDER_PASSWORDS, help="published default passwords, refused as the "
                                                               "password"),
    "max_share": Param("number", 0.8, help="highest --maxmemory as a share of the container's memory limit "
                                           "(room for fork copy-on-write, buffers, fragmentation; as "
                                           "redis.memory-vs-limit)"),
})
def compose_redis(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Each compose Redis requires a password that is not a published default (``--requirepass``, or the Bitnami
    image's REDIS_PASSWORD), keeps the noeviction policy (Redis's default: any other ``--maxmemory-policy``
    fails), and under a container memory limit sets ``--maxmemory`` below it, with room.  A mounted redis.conf
    holds what the compose file cannot show: an error saying so, unless the command line already decides."""
    f = files(ctx)
    missing = needs(f, "compose")
    if missing:
        return missing
    bad: list[tuple[Loc, str]] = []
    hidden: list[tuple[Loc, str]] = []
    seen = 0
    by_service: dict[str, list[Setting]] = {}
    for s in f.settings():
        if s.source.startswith("compose service ") and s.source.endswith(" command"):
            by_service.setdefault(s.source[len("compose service "):-len(" command")], []).append(s)
    for name, svc in f.services().items():
        image = str(svc.get("image") or "")
        if not image or not is_datastore(image, p["images"]):
            continue
        seen += 1
        command = _command_text(svc.get("command"))
        env = svc.get("environment")
        env_keys = set(env) if isinstance(env, Mapping) else {str(e).split("=", 1)[0] for e in env or []}
        at = _at(f, svc, "command") if "command" in svc else _at(f, f.services(), name)
        volumes = [v for v in (svc.get("volumes") or []) if isinstance(v, str)]
        conf = ".conf" in command or any(".conf" in v for v in volumes)
        env_password = env.get("REDIS_PASSWORD") if isinstance(env, Mapping) else next(
            (str(e).split("=", 1)[1] for e in env or [] if str(e).startswith("REDIS_PASSWORD=")), None)
        flagged = [(s.loc, s.value) for s in by_service.get(str(name), []) if s.key == "requirepass"]
        # an empty --requirepass "" is no password; REDIS_PASSWORD is read by Bitnami's image only
        password = (any(v.strip() for _, v in flagged)
                    or ("bitnami/" in image and bool(str(env_password or "").strip())))
        policy = re.search(r"--maxmemory-policy\s+(\S+)", command)
        problems = []
        if "ALLOW_EMPTY_PASSWORD" in env_keys and not password:
            problems.append("ALLOW_EMPTY_PASSWORD instead of a password")
        elif not password and not conf:
            problems.append("no --requirepass: anyone on its network reads and deletes the queues")
        given = list(flagged)
        if env_password is not None:
            given.append((at, str(env_password)))
        for loc, value in given:
            if value.strip() in p["passwords"]:
                at = loc
                problems.append(f"the password is {value.strip()!r}, a published default (a ${{VAR:-default}} "
                                "that applies counts as written)")
        if policy and policy.group(1).strip("'\"") != "noeviction":
            problems.append(f"--maxmemory-policy {policy.group(1)[:30]}: queued jobs are evicted under memory "
                            "pressure")
        memory = _memory_problem(f, svc, command, conf, p["max_share"])
        if memory and memory[0] == "fail":
            problems.append(memory[1])
        if problems:
            bad.append((at, f"service {name}: {'; '.join(problems)}"))
        elif conf and (not password or not policy):
            what = " and ".join(w for w, ok in (("the password", password), ("the eviction policy", policy)) if not ok)
            hidden.append((at, f"service {name} reads a redis.conf, which is not visible here: {what} cannot be "
                               "judged from the compose file"))
        if memory and memory[0] == "hidden" and not problems:
            hidden.append((at, f"service {name}: {memory[1]}"))
    if bad:
        return failed(findings_text(bad), **evidence(bad + hidden, redis_services=seen))
    if hidden:
        return undecided(findings_text(hidden), **evidence(hidden, redis_services=seen))
    if seen == 0:
        return not_applicable("the compose file runs no Redis", locations=[])
    return passed(f"{seen} Redis service(s) require a password, never evict and fit their memory limits",
                  redis_services=seen, locations=[])
