"""Push the run's metrics to a Prometheus Pushgateway (``--pushgateway URL``): the batch job's way to reach
Prometheus, where a CronJob's textfile would sit on a volume nobody scrapes.

The metrics are the ``--prometheus`` file's, read back with prometheus-client's parser, so the two never differ.
They go with one PUT to the group ``job=readiness, cluster=<the report's cluster>``: a PUT replaces its whole group
(items gone since the last run disappear too), and the cluster in the key keeps one cluster's run from erasing
another's.  Basic-auth credentials (``https://user:password@host``) or a bearer token (``https://TOKEN@host``) in
the URL are sent as headers and never shown.  The push is bounded by one total ``timeout``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from readiness.errors import ConfigError
from readiness.redact import Scrubber, redact_text

JOB = "readiness"


@dataclass(frozen=True)
class Gateway:
    base: str  # scheme://host[:port][/prefix], without credentials
    shown: str  # the URL as it may be printed
    username: str | None = None
    password: str | None = None
    token: str | None = None

    def scrubber(self) -> Scrubber:
        return Scrubber(s for s in (self.password, self.token) if s)


def parse(url: str) -> Gateway:
    """The gateway of an http(s) URL; a ConfigError (credentials masked) for anything else."""
    shown = redact_text(url.strip())
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ConfigError(f"--pushgateway {shown}: not a URL (expected http(s)://host:port)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--pushgateway {shown}: expected http(s)://host:port")
    if parts.query or parts.fragment:
        raise ConfigError(f"--pushgateway {shown}: a query or fragment has no place in a Pushgateway URL")
    host = parts.netloc.rpartition("@")[2]
    base = f"{parts.scheme}://{host}{parts.path.rstrip('/')}"
    user = unquote(parts.username) if parts.username is not None else None
    if parts.password is not None:
        return Gateway(base, shown, user or "", unquote(parts.password))
    if user:  # https://TOKEN@host: a bearer token
        return Gateway(base, shown, token=user)
    return Gateway(base, shown)


def _families(text: str, drop: set[str], scrub: Callable[[str], str]) -> list[Any]:
    """The exposition text as metric families, without the labels that the grouping key sets."""
    from prometheus_client.parser import text_string_to_metric_families

    families = []
    for family in text_string_to_metric_families(text):
        family.samples = [s._replace(labels={k: scrub(v) for k, v in s.labels.items() if k not in drop})
                          for s in family.samples]
        families.append(family)
    return families


class _Families:
    """A collector that yields fixed families (prometheus-client's registry collects from it once)."""

    def __init__(self, families: list[Any]):
        self.families = families

    def collect(self) -> Iterable[Any]:
        return self.families


def _handler(gateway: Gateway) -> Callable[..., Callable[[], None]]:
    from prometheus_client.exposition import basic_auth_handler, default_handler

    def handler(url: str, method: str, timeout: float | None, headers: list[tuple[str, str]],
                data: bytes) -> Callable[[], None]:
        if gateway.password is not None:
            return basic_auth_handler(url, method, timeout, headers, data, gateway.username, gateway.password)
        if gateway.token:
            headers = [*headers, ("Authorization", f"Bearer {gateway.token}")]
        return default_handler(url, method, timeout, headers, data)

    return handler


def _why(exc: BaseException) -> str:
    from urllib.error import HTTPError, URLError

    if isinstance(exc, HTTPError):
        try:
            body = exc.read(300).decode("utf-8", "replace").strip().splitlines()
        except Exception:  # noqa: BLE001 - the status says enough
            body = []
        return f"HTTP {exc.code} {exc.reason}" + (f": {body[0][:200]}" if body else "")
    if isinstance(exc, URLError):
        reason = exc.reason
        if isinstance(reason, ConnectionRefusedError):
            return "connection refused"
        if isinstance(reason, TimeoutError):
            return "timed out"
        return str(getattr(reason, "strerror", None) or reason)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def push(report: dict[str, Any], url: str, timeout: float, scrub: Callable[[str], str] = str) -> str:
    """PUT the report's metrics into its cluster's group; returns where they went (credentials masked).
    A ConfigError says in one sentence why nothing was pushed; ``scrub`` masks the run's secrets in label values."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import push_to_gateway

    from readiness.reports import prometheus

    gateway = parse(url)
    cluster = scrub(str(report.get("cluster") or "default"))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(_families(prometheus.render(report), {"cluster", "job", "instance"}, scrub)))
    failure: list[BaseException] = []

    def send() -> None:
        try:
            push_to_gateway(gateway.base, job=JOB, registry=registry, grouping_key={"cluster": cluster},
                            timeout=timeout, handler=_handler(gateway))
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's thread
            failure.append(exc)

    # The handler's timeout bounds each socket operation; the thread bounds the whole push (a trickling gateway).
    worker = threading.Thread(target=send, name="pushgateway", daemon=True)
    worker.start()
    worker.join(timeout)
    where = f"{gateway.shown} (job={JOB}, cluster={cluster})"
    if worker.is_alive():
        why = f"no answer within {timeout:g} s"
    elif failure:
        why = _why(failure[0])
    else:
        return where
    raise ConfigError(gateway.scrubber().text(f"--pushgateway {gateway.shown}: {why}; the metrics were not pushed"))
