"""Hostile clients with the real clients' shapes, for the fail-closed property test (tests/test_fail_closed.py).

A client that answers every call with a bare NaN never gets a probe past its first attribute access, so the
judgement itself is never exercised.  These keep what the probe needs to reach its judgement (the origin of the
URL, the kind and name of each Kubernetes object, the keys of a hardened values file) and make every observed value
hostile: an exception (timeout, reset, denial, error reply), NaN, None, junk text or bytes, an empty list.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from readiness.clients import http as http_client
from readiness.clients import network as network_client
from readiness.clients.files import Files, Setting, load
from readiness.clients.kubernetes import KNOWN
from readiness.clients.nginx import Directive
from readiness.context import TargetUnavailable
from readiness.yamlsrc import YList, YMap

DATA = Path(__file__).parent / "data"
Draw = Callable[[st.SearchStrategy[Any], str], Any]

JUNK = [math.nan, math.inf, -math.inf, None, "", "NaN", b"\xff\xfe", "\x00junk"]
JUNK_TEXT = ["", "NaN", "\x00junk", "${UNSET}", "\ufffd\ufffd"]
FAILURES = [TargetUnavailable("the server did not answer within 1s"), TimeoutError("timed out"),
            ConnectionResetError("reset by peer"), PermissionError("403 Forbidden")]


class Raised:
    """A drawn failure: the call raises it."""

    def __init__(self, exc: BaseException):
        self.exc = exc

    def __repr__(self) -> str:
        return f"Raised({self.exc!r})"


def _or_raise(value: Any) -> Any:
    if isinstance(value, Raised):
        raise value.exc
    return value


_FAILED = st.sampled_from([Raised(e) for e in FAILURES])


def _mostly(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A junk record three times in four, else a failure: a probe making several calls still reaches its
    judgement in some examples."""
    return st.one_of(strategy, strategy, strategy, _FAILED)
_JUNK = st.sampled_from(JUNK)
# A product API's answers: statuses it really sends (and junk ones), Retry-After values that are no number of
# seconds, bodies that are not the documented JSON (NaN, junk, nesting, a huge page)
ANSWER_STATUSES = [200, 202, 207, 200, 202, 207, 204, 404, 404, 401, 403, 429, 429, 500, *JUNK]
ANSWER_HEADERS = [{}, {"retry-after": "nan"}, {"retry-after": "inf"}, {"retry-after": "-5"},
                  {"retry-after": "0.01"}, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, [], None]
ANSWER_BODIES = [b"{}", b"", b"\xff\xfe", None, b"NaN", b"[]", b'{"id": null}', b'{"id": NaN}',
                 b'{"id": "readiness-canary", "name": "readiness-canary"}',
                 b'{"successes": [], "errors": []}', b'{"successes": [{"id": NaN, "status": 201}], "errors": [NaN]}',
                 b'{"partialSuccess": {"rejectedSpans": "NaN"}}', b'{"status": "OK", "version": "4.0.0"}',
                 b"[" * 100_000, b'{"id": "' + b"x" * 300_000 + b'"}']


# --- trees: the shape of a real document, every value junk -----------------------------------------------------

def hollow(node: Any, draw: Draw, label: str, keep: Callable[[str], bool] = lambda path: False) -> Any:
    """``node`` with its mappings and lists, every scalar replaced by a junk value (some lists emptied); values at
    paths ``keep`` accepts stay, so objects can still be found by kind, name and labels.  One drawn seed picks
    every junk value: a draw per leaf would make each example of a large listing slow."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1), f"{label}:seed"))
    return _hollow(node, rng, keep, "")


def _hollow(node: Any, rng: random.Random, keep: Callable[[str], bool], path: str) -> Any:
    if path and keep(path):
        return node
    if isinstance(node, dict):
        out = YMap() if isinstance(node, YMap) else {}
        for key, value in node.items():
            out[key] = _hollow(value, rng, keep, f"{path}.{key}" if path else str(key))
        if isinstance(node, YMap):  # positions kept, the text as written dropped (it would leak the real value)
            out.pos, out.key_pos, out.value_pos, out.value_text = node.pos, node.key_pos, node.value_pos, {}
        return out
    if isinstance(node, list):
        items = [] if rng.random() < 0.3 else [_hollow(v, rng, keep, f"{path}[]") for v in node]
        if isinstance(node, YList):
            out_list = YList(items)
            out_list.pos, out_list.item_pos, out_list.item_text = node.pos, node.item_pos[:len(items)], []
            return out_list
        return items
    return rng.choice(JUNK)


# --- Kubernetes: the fixture objects of each kind, identities kept, everything else junk --------------------------

def _fixture_objects() -> dict[str, list[dict[str, Any]]]:
    import yaml

    by_kind: dict[str, list[dict[str, Any]]] = {}
    for name in ("good.yaml", "bad.yaml", "operators.yaml"):
        for doc in yaml.safe_load_all((DATA / "k8s" / name).read_text().replace("__RECENT__", "2026-01-01T00:00:00Z")):
            for obj in (doc.get("items") or [] if str(doc.get("kind", "")).endswith("List") else [doc]):
                by_kind.setdefault(str(obj.get("kind")), []).append(obj)
    return by_kind


_OBJECTS = _fixture_objects()
_IDENTITY = ("apiVersion", "kind", "metadata.name", "metadata.namespace", "metadata.labels")


def k8s_listing(name: str, draw: Draw, hostile: st.SearchStrategy[Any], bare: bool = True) -> Any:
    """A value for the fact ``k8s:<plural>:...``: a hostile value, or the fixture objects of that kind hollowed
    (always those where there are some, unless ``bare``)."""
    plural = name.split(":")[1]
    kind = KNOWN[plural].kind if plural in KNOWN else plural
    if not _OBJECTS.get(kind) or (bare and draw(st.booleans(), f"{name}:bare")):
        return draw(hostile, name)
    return hollow(_OBJECTS[kind], draw, name, lambda path: path.removeprefix("[].") in _IDENTITY)


_SERVED = {"": {"v1"}, "apps": {"v1"}, "autoscaling": {"v2"}, "keda.sh": {"v1alpha1"}, "policy": {"v1"},
           "storage.k8s.io": {"v1"}, "networking.k8s.io": {"v1"}, "metrics.k8s.io": {"v1beta1"},
           "apiregistration.k8s.io": {"v1"}, "argoproj.io": {"v1alpha1"}}


class HostileCluster:
    """``ctx.client`` of the kubernetes target: live or offline, its listings the session's hostile facts."""

    source = "hostile fake"

    def __init__(self, session: Any):
        self._session = session
        self.live = session.draw(st.booleans(), "kubernetes:live")
        self.version = session.draw(st.sampled_from(["", "v1.NaN", "\x00"]), "kubernetes:version")
        self.requests = 0

    def list(self, kind: Any, namespace: str | None = None) -> Any:
        return self._session.fact(f"k8s:{kind.plural}:{namespace or '*'}", None)

    def served(self) -> Any:
        """Discovery: every group a probe may list is served (the listings are the hostile facts), or it fails;
        offline there is none."""
        if not self.live:
            return None
        return _or_raise(self._session.draw(_mostly(st.just(_SERVED)), "kubernetes:served"))


class _Answers:
    """Each call's answer is the next draw: a junk record mostly, else a failure raised."""

    prefix = ""
    _session: Any
    _calls: int

    def _draw(self, strategy: st.SearchStrategy[Any], what: str) -> Any:
        self._calls += 1
        return _or_raise(self._session.draw(_mostly(strategy), f"{self.prefix}:{what}:{self._calls}"))


# --- HTTP and TLS: the real origin and URL handling, every answer a failure or junk ------------------------------

class HostileHttp(_Answers, http_client.HttpHandle):
    """The real handle's URLs and settings; ``get``, ``send_body``, ``handshake`` and ``certificate`` answer
    with a failure, or a record whose fields are junk (a status of None, NaN seconds, headers that are a list)."""

    prefix = "http"

    def __init__(self, config: Any, session: Any):
        super().__init__(config, 1.0)
        self._session, self._calls = session, 0

    def get(self, url: str, headers: Any = None, max_body: int = http_client.MAX_BODY,
            timeout: float | None = None, follow: int = 0) -> Any:
        return self._draw(st.builds(http_client.Response, st.just(url), _JUNK, st.sampled_from([{}, [], None,
                                                                                                 {"": "\x00"}]),
                                    st.sampled_from([b"", b"\xff\xfe", None]), _JUNK, _JUNK, _JUNK), "get")

    def send(self, method: str, url: str, body: bytes | None = None, headers: Any = None,
             max_body: int = http_client.MAX_BODY, timeout: float | None = None) -> Any:
        """Any method (the canary's POST, GET and DELETE): real statuses with junk, NaN or huge bodies and
        Retry-After values, or junk statuses."""
        if method not in ("GET", "HEAD"):
            self.guard.check(method)  # the guard is the real one's
        return self._draw(st.builds(http_client.Response, st.just(url), st.sampled_from(ANSWER_STATUSES),
                                    st.sampled_from(ANSWER_HEADERS), st.sampled_from(ANSWER_BODIES), _JUNK, _JUNK,
                                    _JUNK), f"send:{method}")

    def send_body(self, path: str, size: int, timeout: float, content_type: str = "application/json",
                  **kwargs: Any) -> Any:
        self.guard.check("POST")
        return self._draw(st.builds(http_client.BodyAnswer, _JUNK, _JUNK, _JUNK, _JUNK, _JUNK), "send_body")

    def ask_body(self, path: str, size: int, timeout: float, content_type: str = "application/json") -> Any:
        return self._draw(st.builds(http_client.BodyAnswer, _JUNK, _JUNK, _JUNK, _JUNK, _JUNK), "ask_body")

    def handshake(self, version: str, timeout: float) -> Any:
        return self._draw(st.builds(http_client.Handshake, _JUNK, _JUNK, _JUNK, st.sampled_from(JUNK_TEXT), _JUNK),
                          f"handshake:{version}")

    def certificate(self, timeout: float) -> Any:
        return self._draw(st.builds(http_client.Certificate, _JUNK, st.sampled_from(JUNK_TEXT), _JUNK, _JUNK,
                                    st.sampled_from([(), (None,), ("",)]), _JUNK, _JUNK, _JUNK), "certificate")

    def close(self) -> None:
        pass


# --- network: the configured host and ports, every lookup and connect a failure or junk ---------------------------

class HostileNetwork(_Answers, network_client.NetworkHandle):
    prefix = "network"

    def __init__(self, config: Any, session: Any):
        super().__init__(config, 1.0)
        self._session, self._calls = session, 0

    def resolve(self, host: str) -> Any:
        return self._draw(st.sampled_from([[], [""], [None], ["\x00junk"], "127.0.0.1"]), "resolve")

    def connect_once(self, address: str, port: int, timeout: float, source: str | None = None) -> Any:
        return self._draw(st.builds(network_client.Outcome, st.just(port), st.sampled_from(JUNK),
                                    st.sampled_from(JUNK_TEXT), _JUNK), f"connect:{port}")

    def connect_many(self, address: str, ports: list[int], timeout: float) -> Any:
        return {port: self.connect_once(address, port, timeout) for port in ports}

    def connect_all(self, addresses: list[str], ports: list[int], timeout: float, workers: int = 1) -> Any:
        return {a: self.connect_many(a, ports, timeout) for a in addresses}

    def close(self) -> None:
        pass


# --- files: a hardened configuration's every key, every value junk ------------------------------------------------

def _hardened(name: str = "langfuse-hardened") -> Files:
    base = DATA / "files" / name
    config = {"root": str(base), "env": str(base / ".env"), "compose": str(base / "docker-compose.yml")}
    if (base / "values.yaml").exists():
        config["helm_values"] = str(base / "values.yaml")
    files = load(config)
    proxy = DATA / "files" / "nginx-hardened"
    nginx = load({"root": str(proxy), "nginx": str(proxy / "nginx.conf")})
    files.nginx, files.nginx_file = nginx.nginx, nginx.nginx_file
    return files


_HARDENED = _hardened()
# LangSight's compose: a command-line password, a container memory limit, LANGSIGHT_WORKERS / LANGSIGHT_PG_POOL_MAX
_HARDENED_SOURCES = (_HARDENED, _hardened("langsight-compose-hardened"))


def _service_image(path: str) -> bool:
    """A compose service's image stays: it says what the service is (Redis, ClickHouse ...)."""
    parts = path.split(".")
    return len(parts) == 3 and parts[0] == "services" and parts[2] == "image"


_JUNK_ARGS: list[tuple[str, ...]] = [(), ("",), ("NaN",), ("\x00junk",), ("${UNSET}",), ("\ufffd", "always")]


def _hollow_nginx(directives: tuple[Directive, ...], rng: random.Random) -> tuple[Directive, ...]:
    """The directives with their names kept (what they are) and every argument junk, some blocks emptied."""
    out = []
    for d in directives:
        block = None if d.block is None else () if rng.random() < 0.15 else _hollow_nginx(d.block, rng)
        out.append(Directive(d.name, rng.choice(_JUNK_ARGS), d.file, d.line, block))
    return tuple(out)


def hostile_files(draw: Draw) -> Files:
    src = draw(st.sampled_from(_HARDENED_SOURCES), "files:source")
    nginx_seed = draw(st.integers(0, 2**32 - 1), "files:nginx:seed")
    env = {k: Setting(s.key, draw(st.sampled_from(JUNK_TEXT), f"files:env:{k}"), s.loc, s.source)
           for k, s in (src.env or {}).items()}
    values = hollow(src.values, draw, "files:values") if src.values is not None else None
    chart = {}
    if values is not None and draw(st.booleans(), "files:values are a chart's defaults"):
        # a chart target's values: no file sets a key, every value comes from the chart's values.yaml (junk here)
        chart = {"values_layers": [("chart/values.yaml", values)], "defaults_file": "chart/values.yaml",
                 "default_files": ("chart/values.yaml",),
                 "chart_version": draw(st.sampled_from([None, *JUNK_TEXT]), "files:chart_version")}
        values = YMap()
    return Files(src.root, env=env, env_file=src.env_file,
                 compose=hollow(src.compose, draw, "files:compose", _service_image) if src.compose is not None
                 else None,
                 compose_file=src.compose_file,
                 values=values, values_file="chart/values.yaml" if chart else src.values_file,
                 nginx=_hollow_nginx(src.nginx, random.Random(nginx_seed)) if src.nginx is not None else None,
                 nginx_file=src.nginx_file, partial=draw(st.booleans(), "files:partial (check-files)"), **chart)
