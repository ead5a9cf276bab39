"""A fake Kubernetes API server for the tests: real HTTP on 127.0.0.1, bearer-token auth, discovery, and list
endpoints (with limit/continue pagination) serving objects loaded from YAML fixtures.

Like a real API server it authorizes before it routes: a list of a plural the identity may not read is 403 whether or
not its group is served, and ``/apis`` (discovery, open to every identity) lists only the served groups.
Faults are switched on per plural: ``forbidden`` answers 403 (a Status, as the API server does), ``broken`` 500,
``slow`` holds the request for ``slow_seconds`` (bounded: it ends early when the server stops), and ``missing_groups``
are API groups that are not served at all (a CRD that is not installed: 404).  ``requests`` records each path asked.
Discovery (``/api``, ``/apis``, ``/api/v1``, ``/apis/<group>/<version>``) answers as the API server does, with each
kind's true resource name (NetworkPolicy: networkpolicies); ``discovery_denied`` holds the group versions ("*": all,
with ``/api`` and ``/apis``) whose discovery answers 403, as for an identity without the system:discovery role.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml

from readiness.demo.process import free_port

DATA = Path(__file__).parent / "data" / "k8s"
# Served by every cluster, with or without objects (CRDs such as KEDA's are served only when objects or ``extra``
# name them).
BUILTIN = [("storage.k8s.io/v1", "StorageClass"), ("storage.k8s.io/v1", "CSIDriver"), ("v1", "PersistentVolume"),
           ("v1", "PersistentVolumeClaim"), ("v1", "Pod"), ("v1", "Service"), ("v1", "Node"), ("apps/v1", "Deployment"),
           ("apps/v1", "StatefulSet"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
           ("policy/v1", "PodDisruptionBudget"), ("networking.k8s.io/v1", "Ingress"),
           ("apiregistration.k8s.io/v1", "APIService")]
CLUSTER_SCOPED = {"StorageClass", "CSIDriver", "PersistentVolume", "APIService", "Node", "Namespace",
                  "ClusterRole", "ClusterRoleBinding"}


# Resource names that are not the plural Kubernetes would guess (a CRD names its own: spec.names.plural).
IRREGULAR = {"Mouse": "mice"}


def plural(kind: str) -> str:
    """A kind's resource name as the API server serves it (its CRD's spec.names.plural), written out here rather
    than taken from the tool under test."""
    low = kind.lower()
    if kind in IRREGULAR:
        return IRREGULAR[kind]
    if low.endswith("y") and low[-2:-1] not in tuple("aeiou"):
        return low[:-1] + "ies"  # NetworkPolicy -> networkpolicies
    return low + "es" if low.endswith("s") else low + "s"


def load(*names: str) -> list[dict[str, Any]]:
    """Objects from fixture files (multi-document YAML; ``List`` kinds are unpacked)."""
    out: list[dict[str, Any]] = []
    for name in names:
        for doc in yaml.safe_load_all(recent((DATA / name).read_text())):
            if not doc:
                continue
            out.extend(doc["items"] if doc.get("kind", "").endswith("List") and "items" in doc else [doc])
    return out


def recent(text: str) -> str:
    """Fixture text with ``__RECENT__`` as a time an hour ago (events "in the last 24 h" stay recent)."""
    stamp = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text.replace("__RECENT__", stamp)


def write_manifests(directory: Path, *names: str) -> Path:
    """The fixture files as they would be on disk for the offline mode."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text(recent((DATA / name).read_text()))
    return directory


@dataclass
class FakeCluster:
    objects: list[dict[str, Any]]
    token: str = "fake-token-5f1c2e9a7b"
    forbidden: set[str] = field(default_factory=set)
    broken: set[str] = field(default_factory=set)
    slow: set[str] = field(default_factory=set)
    slow_seconds: float = 30.0
    missing_groups: set[str] = field(default_factory=set)
    # RBAC as the API server applies it: (apiGroup, plural, namespace or None for every namespace) granted to the
    # token; None grants everything.  ``grant_rbac`` fills it from ClusterRole/Role documents.
    granted: set[tuple[str, str, str | None]] | None = None
    garbage: set[str] = field(default_factory=set)  # answer 200 with items that are not a list
    looping: set[str] = field(default_factory=set)  # answer the same continue token for ever
    itemless: set[str] = field(default_factory=set)  # answer 200 with {} (a proxy's empty object, not a list)
    cut: set[str] = field(default_factory=set)  # one item and remainingItemCount, but no continue token (cut short)
    cycling: set[str] = field(default_factory=set)  # continue tokens a -> b -> a ... (a loop, never the same twice)
    shapeless: set[str] = field(default_factory=set)  # one more item that is not an object with metadata
    vanishing: set[str] = field(default_factory=set)  # 404 on every page after the first (deleted mid-listing)
    extra: list[tuple[str, str]] = field(default_factory=list)  # (apiVersion, Kind) served without objects
    discovery_denied: set[str] = field(default_factory=set)  # group versions ("*": every discovery path) -> 403
    max_page: int | None = None  # cap on a page's size, whatever limit the client asks (to force pagination)
    version: str = "v1.29.3-eks-adc7111"
    tls: Any = None  # readiness.demo.tls.TlsFiles: serve HTTPS with that certificate
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # --- routing table ------------------------------------------------------------------------------------------

    def resources(self) -> dict[tuple[str, str], dict[str, tuple[str, bool]]]:
        """{(group, version): {plural: (Kind, namespaced)}} of the objects held, without the missing groups."""
        out: dict[tuple[str, str], dict[str, tuple[str, bool]]] = {}
        # each kind once: asked on every request, this was one plural() per object (quadratic in a growth bench)
        pairs = dict.fromkeys(BUILTIN + self.extra + [(o["apiVersion"], o["kind"]) for o in self.objects])
        for api_version, kind in pairs:
            group, _, version = api_version.rpartition("/")
            if group in self.missing_groups:
                continue
            out.setdefault((group, version), {})[plural(kind)] = (kind, kind not in CLUSTER_SCOPED)
        return out

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> FakeCluster:
        cluster = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The headers and the body go out in two writes: with Nagle on, the body waits for the client's delayed
            # ACK (40 ms a request on loopback), which no real API server (Go sets TCP_NODELAY) makes clients wait.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                cluster.requests.append(self.path)
                status, body = cluster.answer(self.path, self.headers.get("Authorization", ""))
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls.cert), str(self.tls.key))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeCluster:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def grant_rbac(self, docs: Iterable[dict[str, Any]]) -> None:
        """Grant exactly the get/list rules of these ClusterRoles and Roles (as bound to the audit identity)."""
        self.granted = set()
        for doc in docs:
            if doc["kind"] not in ("ClusterRole", "Role"):
                continue
            ns = doc["metadata"].get("namespace") if doc["kind"] == "Role" else None
            for rule in doc.get("rules") or []:
                if "list" in rule.get("verbs", []):
                    for group in rule.get("apiGroups", []):
                        for res in rule.get("resources", []):
                            self.granted.add((group, res, ns))

    def kubeconfig(self, path: Path, token: str | None = None, namespace: str = "langsmith",
                   ca: Path | None = None) -> Path:
        """A real kubeconfig file (context ``fake``) pointing at this server."""
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url, **(
                {"certificate-authority": str(ca or self.tls.ca)} if self.tls else {})}}],
            "users": [{"name": "auditor", "user": {"token": token or self.token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "auditor", "namespace": namespace}}],
        }))
        return path

    # --- answers ------------------------------------------------------------------------------------------------

    def answer(self, raw_path: str, auth: str) -> tuple[int, Any]:
        path, _, query = raw_path.partition("?")
        params = dict(parse_qsl(query))
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or token != self.token:  # the scheme is case-insensitive (RFC 7235)
            return 401, _status(401, "Unauthorized", "Unauthorized")
        parts = [p for p in path.split("/") if p]
        if self._discovery_denied(parts):
            return 403, _status(403, "Forbidden", f'forbidden: User "auditor" cannot get path "{path}"')
        if parts == ["version"]:
            major, minor = self.version.lstrip("v").split(".")[:2]
            return 200, {"major": major, "minor": minor, "gitVersion": self.version, "platform": "linux/amd64"}
        res = self.resources()
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if parts == ["apis"]:
            groups: dict[str, list[str]] = {}
            for g, v in res:
                if g:
                    groups.setdefault(g, []).append(v)
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}} for g, vs in groups.items()]}
        if parts[:1] == ["api"]:
            group, rest = "", parts[1:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, rest = parts[1], parts[2:]
        else:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        version, rest = rest[0], rest[1:]
        namespace = None
        if rest[:1] == ["namespaces"] and len(rest) == 3:
            namespace, rest = rest[1], rest[2:]
        if len(rest) == 1:  # a list request: authorized before it is routed, as the API server does
            name = rest[0]
            denied = self.granted is not None and (group, name, None) not in self.granted and (
                namespace is None or (group, name, namespace) not in self.granted)
            if name in self.forbidden or denied:
                where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
                return 403, _status(403, "Forbidden", f'{name}.{group or "core"} is forbidden: User "auditor" '
                                                      f'cannot list resource "{name}" in API group "{group}"{where}')
        served = res.get((group, version))
        if served is None:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        if not rest and namespace is None:
            return 200, {"kind": "APIResourceList", "apiVersion": "v1",
                         "groupVersion": f"{group}/{version}".lstrip("/"),
                         "resources": [{"name": p, "singularName": "", "namespaced": ns, "kind": k,
                                        "verbs": ["get", "list", "watch"]} for p, (k, ns) in served.items()]}
        if len(rest) != 1 or rest[0] not in served:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        name = rest[0]
        kind, _ = served[name]
        if name in self.broken:
            return 500, _status(500, "InternalError", "etcdserver: request timed out")
        if name in self.slow:
            self._stop.wait(self.slow_seconds)
        if name in self.garbage:
            return 200, {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {}, "items": "not a list"}
        if name in self.itemless:
            return 200, {}
        if name in self.looping:
            return 200, {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {"continue": "c2FtZQ=="},
                         "items": []}
        if name in self.vanishing and params.get("continue"):
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        if name in self.cycling:
            nxt_token = "Yg==" if params.get("continue") == "YQ==" else "YQ=="
            return 200, {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {"continue": nxt_token},
                         "items": []}
        items = [o for o in self.objects if o["kind"] == kind and o["apiVersion"].rpartition("/")[0] == group
                 and (namespace is None or o["metadata"].get("namespace") == namespace)]
        if name in self.cut and len(items) > 1:
            return 200, {"kind": f"{kind}List", "apiVersion": "v1", "items": [items[0]],
                         "metadata": {"resourceVersion": "12345", "remainingItemCount": len(items) - 1}}
        try:
            start = int(base64.b64decode(params["continue"]).decode()) if params.get("continue") else 0
        except ValueError:
            return 400, _status(400, "BadRequest", "continue key is not valid")
        limit = int(params.get("limit") or 0) or len(items) or 1
        if self.max_page:
            limit = min(limit, self.max_page)
        page = items[start:start + limit]
        nxt = start + limit
        meta: dict[str, Any] = {"resourceVersion": "12345"}
        if nxt < len(items):
            meta["continue"] = base64.b64encode(str(nxt).encode()).decode()
            meta["remainingItemCount"] = len(items) - nxt
        stripped: list[Any] = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in page]
        if name in self.shapeless and "continue" not in meta:
            stripped.append({"spec": {}})
        return 200, {"kind": f"{kind}List", "apiVersion": f"{group}/{version}".lstrip("/"), "metadata": meta,
                     "items": stripped}

    def _discovery_denied(self, parts: list[str]) -> bool:
        if not self.discovery_denied or not parts or parts[0] not in ("api", "apis"):
            return False
        if parts in (["api"], ["apis"]):
            return "*" in self.discovery_denied
        gv = "/".join(parts[1:3]) if parts[0] == "apis" else "/".join(parts[1:2])
        whole = len(parts) == (3 if parts[0] == "apis" else 2)  # /apis/<g>/<v> or /api/v1 itself, not a list
        return whole and ("*" in self.discovery_denied or gv in self.discovery_denied)

    def lists(self) -> Iterable[str]:
        return [p for p in self.requests if p.split("?")[0].rstrip("/").split("/")[-1] not in ("api", "apis")]


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


def served(name: str, *files: str, max_page: int | None = None) -> Any:
    """A module-scoped pytest fixture ``name``: a fake cluster serving the fixture files."""
    import pytest

    @pytest.fixture(scope="module", name=name)
    def fixture() -> Iterator[FakeCluster]:
        with FakeCluster(load(*files), max_page=max_page) as cluster:
            yield cluster

    return fixture


def assert_statuses(results: dict[str, Any], ids: list[str], status: str) -> None:
    """Every item of ``ids`` ended ``status`` (on failure: the messages of those that did not)."""
    assert {i: results[i].status for i in ids} == dict.fromkeys(ids, status), {
        i: results[i].message for i in ids if results[i].status != status}


def live_targets(cluster: FakeCluster, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """A targets file's content auditing ``cluster`` through a kubeconfig, as the product's namespace/release."""
    kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig")
    return {"preset": "langsmith", "kubernetes": {"kubeconfig": str(kubeconfig), "context": "fake",
                                                  "namespace": "langsmith", "release": "langsmith", **extra}}


def offline_targets(tmp_path: Path, *names: str, **extra: Any) -> dict[str, Any]:
    """The same, from the fixture files as rendered manifests."""
    directory = write_manifests(tmp_path / "manifests", *names)
    return {"preset": "langsmith", "kubernetes": {"manifests": str(directory), "namespace": "langsmith",
                                                  "release": "langsmith", **extra}}


def k8s_checklist(tmp_path: Path, extra: list[dict[str, Any]] | None = None) -> str:
    """The packaged checklist's Kubernetes items alone (storage, autoscaling, the k8s rows of network) plus
    ``extra`` items, so other sections' work in progress cannot break these tests."""
    from readiness.checklist import default_path

    data = yaml.safe_load(Path(default_path()).read_text())
    sections = []
    for sec in data["sections"]:
        items = [i for i in sec["items"] if i["id"].startswith("k8s.")]
        if items:
            sections.append({**sec, "items": items})
    sections[-1]["items"].extend(extra or [])
    data["sections"] = sections
    path = tmp_path / "k8s-checklist.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def audit_k8s(tmp_path: Path, targets: dict[str, Any], only: list[str], extra: list[dict[str, Any]] | None = None,
              **kwargs: Any) -> Any:
    """``helpers.audit`` on the Kubernetes items of the default checklist (and ``extra`` items)."""
    from helpers import audit

    tmp_path.mkdir(parents=True, exist_ok=True)
    return audit(tmp_path, targets, only, checklist=k8s_checklist(tmp_path, extra), **kwargs)
