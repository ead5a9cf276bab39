"""Kubernetes: one listing per kind (and namespace) per audit, from a live cluster or from rendered manifests.

Live: the official ``kubernetes`` client, configured from a kubeconfig (``kubeconfig``, else $KUBECONFIG or
~/.kube/config; ``context``, else the current one) or from the pod's service account (``in_cluster: true``).  Only
GET is ever sent: list endpoints, paginated with ``limit``/``continue``, each request bounded by the target timeout.
Offline (``manifests``): a file or directory of YAML/JSON manifests (``helm template`` output, ``kubectl get -o
yaml`` dumps, multi-document files, ``List`` kinds) read once; the same listings come from those objects.  Offline
from a chart (``chart`` with ``values``, ``release``, ``namespace``): the chart rendered once (readiness.clients.chart)
and its templates read exactly as manifests are.

Objects are plain dicts in the API's own camelCase shape, whichever the source.  A 403 raises ``Forbidden``
("the audit identity cannot list storageclasses (grant get/list)"), an API that is not served (a CRD that is not
installed) ``NotServed``; every other failure ``KubernetesError``, with one line saying why.  The kubernetes package
is imported only when a live connection opens.
"""

from __future__ import annotations

import json
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readiness.errors import TargetUnavailable
from readiness.fsio import special
from readiness.redact import is_secret_name, secret_values

PAGE_SIZE = 500
MAX_PAGES = 1000
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
MAX_MANIFEST_FILES = 20_000
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class KubernetesError(TargetUnavailable):
    """The API (or the manifests) could not give an answer; the message says why in one line."""


class Forbidden(KubernetesError):
    """The audit identity may not list a kind (HTTP 403)."""


class NotServed(KubernetesError):
    """The cluster does not serve this API (HTTP 404 on its list endpoint): e.g. a CRD that is not installed."""


@dataclass(frozen=True)
class Kind:
    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


KNOWN: dict[str, Kind] = {k.plural: k for k in (
    Kind("StorageClass", "storage.k8s.io", "v1", "storageclasses", False),
    Kind("CSIDriver", "storage.k8s.io", "v1", "csidrivers", False),
    Kind("PersistentVolume", "", "v1", "persistentvolumes", False),
    Kind("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims", True),
    Kind("Pod", "", "v1", "pods", True),
    Kind("Service", "", "v1", "services", True),
    Kind("ConfigMap", "", "v1", "configmaps", True),
    Kind("Node", "", "v1", "nodes", False),
    Kind("Namespace", "", "v1", "namespaces", False),
    Kind("Deployment", "apps", "v1", "deployments", True),
    Kind("StatefulSet", "apps", "v1", "statefulsets", True),
    Kind("DaemonSet", "apps", "v1", "daemonsets", True),
    Kind("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers", True),
    Kind("ScaledObject", "keda.sh", "v1alpha1", "scaledobjects", True),
    Kind("Rollout", "argoproj.io", "v1alpha1", "rollouts", True),
    Kind("ClickHouseCluster", "clickhouse.com", "v1alpha1", "clickhouseclusters", True),
    Kind("KeeperCluster", "clickhouse.com", "v1alpha1", "keeperclusters", True),
    Kind("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets", True),
    Kind("Ingress", "networking.k8s.io", "v1", "ingresses", True),
    Kind("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", True),
    Kind("APIService", "apiregistration.k8s.io", "v1", "apiservices", False),
)}
_BY_KIND = {k.kind.lower(): k for k in KNOWN.values()}
# An Argo Rollout stands for the Deployment it replaces (LangSmith chart 0.17: <component>.rollout.enabled renders
# templates/<component>/deployment.yaml as argoproj.io/v1alpha1 Rollout): a read of Deployments reads them too.
_STANDS_IN = {"deployments": "argoproj.io/rollouts", "apps/deployments": "argoproj.io/rollouts"}


def implied_reads(spec: str) -> list[str]:
    """A declared read (``plural``, ``group/plural``, ``ns:plural``) and the reads it implies: the product's
    workloads are in the target's namespaces, so a read in a namespace of its own implies nothing."""
    extra = _STANDS_IN.get(spec)
    return [spec, extra] if extra else [spec]


def resolve_kind(name: str, api_version: str | None = None, plural: str | None = None,
                 namespaced: bool = True) -> Kind:
    """A kind by its plural or Kind name ("deployments", "Deployment"); others need their apiVersion."""
    known = KNOWN.get(name.lower()) or _BY_KIND.get(name.lower())
    if known and (api_version is None or api_version == known.api_version):
        return known
    if not api_version:
        raise KubernetesError(f"unknown kind {name!r}: give its api_version (e.g. keda.sh/v1alpha1) as well")
    group, _, version = api_version.rpartition("/")
    low = name.lower()
    return Kind(name, group, version, plural or (low + "es" if low.endswith("s") else low + "s"), namespaced)


# --- settings -----------------------------------------------------------------------------------------------------

def namespaces(config: Mapping[str, Any]) -> list[str | None]:
    """The namespaces to read (``[None]``: every namespace)."""
    names = list(config.get("namespaces") or []) + ([config["namespace"]] if config.get("namespace") else [])
    return list(dict.fromkeys(names)) or [None]


def _kubeconfig_paths(config: Mapping[str, Any]) -> list[str]:
    """The kubeconfig files kubectl would merge: ``kubeconfig``, else every entry of $KUBECONFIG (a path list), else
    ~/.kube/config."""
    if config.get("kubeconfig"):
        return [str(config["kubeconfig"])]
    paths = [os.path.expanduser(p) for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return paths or [os.path.expanduser("~/.kube/config")]


_SECRET_KEYS = ("token", "password", "client-key-data", "access-token", "id-token", "refresh-token", "client-secret",
                "idp-certificate-authority-data")
_URL_KEYS = ("proxy-url", "server")


def _exec_secrets(spec: Mapping[str, Any]) -> set[str]:
    """Credentials handed to an exec credential plugin: secret-named env values, ``--token X`` / ``--token=X``
    arguments, and URLs with a password among the arguments."""
    found: set[str] = set()
    env = spec.get("env")
    for entry in env if isinstance(env, list) else []:
        if isinstance(entry, dict) and is_secret_name(str(entry.get("name") or "")) and entry.get("value"):
            found.add(str(entry["value"]))
    args = [str(a) for a in spec.get("args") or [] if isinstance(a, (str, int))] if isinstance(
        spec.get("args"), list) else []
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if flag.startswith("-") and is_secret_name(flag.lstrip("-").replace("-", "_")):
            if eq:
                found.add(value)
            elif i + 1 < len(args) and not args[i + 1].startswith("-"):
                found.add(args[i + 1])
        found |= secret_values(arg)
    return found


def _kubeconfig_secrets(doc: Any) -> set[str]:
    found: set[str] = set()

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 20:
            return
        if isinstance(node, dict):
            if isinstance(node.get("exec"), dict):
                found.update(_exec_secrets(node["exec"]))
            for key, value in node.items():
                if key in _SECRET_KEYS and isinstance(value, str) and value:
                    found.add(value)
                elif key in _URL_KEYS and isinstance(value, str):
                    found.update(secret_values(value))  # http://user:PW@proxy:3128
                else:
                    walk(value, depth + 1)
        elif isinstance(node, list):
            for value in node:
                walk(value, depth + 1)

    for section in ("users", "clusters"):
        entries = doc.get(section) if isinstance(doc, dict) else None
        walk(entries if isinstance(entries, list) else [])
    return found


def secrets(config: Mapping[str, Any]) -> set[str]:
    """Credentials in every kubeconfig this target merges (tokens, passwords, client keys, exec plugin tokens,
    proxy passwords); never raises."""
    found: set[str] = set()
    if config.get("chart"):
        return _values_secrets(config)
    if config.get("manifests") or config.get("in_cluster"):
        return found
    import yaml

    for name in _kubeconfig_paths(config):
        try:
            path = Path(name)
            if not path.is_file() or path.stat().st_size > 4 * 1024 * 1024:
                continue
            found |= _kubeconfig_secrets(yaml.safe_load(path.read_text(errors="replace")))
        except Exception:  # a secrets scan never breaks a run; one bad file does not hide the others
            continue
    return {s for s in found if s}


def _values_secrets(config: Mapping[str, Any]) -> set[str]:
    """Credentials written in the chart's values files (a salt, a password), judged as the files target judges Helm
    values; never raises."""
    from readiness.clients import files

    found: set[str] = set()
    for path in config.get("values") or []:
        try:
            found |= files.secrets({"helm_values": str(path), "root": os.path.dirname(str(path))})
        except Exception:
            continue
    return found


_DNS_LABEL = "abcdefghijklmnopqrstuvwxyz0123456789-"


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Settings that can never work, as (field, message); never raises."""
    out: list[tuple[str, str]] = []
    try:
        if config.get("chart") or config.get("values"):
            from readiness.clients.chart import config_problems as chart_problems

            out += chart_problems(config)
        if config.get("manifests") and (config.get("in_cluster") or config.get("context")):
            out.append(("manifests", "manifests reads files instead of a cluster: drop in_cluster/context, or "
                                     "manifests"))
        if config.get("in_cluster") and (config.get("context") or config.get("kubeconfig")):
            out.append(("in_cluster", "in_cluster uses the pod's service account: drop context/kubeconfig, or "
                                      "in_cluster"))
        for field in ("manifests", "kubeconfig"):
            if config.get(field) and not os.path.exists(str(config[field])):
                out.append((field, f"{config[field]} does not exist"))
        if config.get("manifests") and os.path.exists(str(config["manifests"])):
            try:
                for _ in _files(Path(str(config["manifests"]))):  # types only: a FIFO or device is bad input
                    pass
            except KubernetesError as exc:
                out.append(("manifests", str(exc).removeprefix("manifests: ")))
        for name in namespaces(config):
            if name is not None and (not (0 < len(name) <= 63) or any(c not in _DNS_LABEL for c in name)
                                     or name.startswith("-") or name.endswith("-")):
                out.append(("namespace", "a namespace name is lowercase letters, digits and '-', at most 63 "
                                         "characters"))
                break
    except Exception:
        pass
    return out


# --- clusters -----------------------------------------------------------------------------------------------------

class Cluster(ABC):
    """What probes see (``ctx.client``): ``list(kind, namespace)`` -> objects; ``live``; ``source``; ``version``."""

    live = False
    source = ""
    version = ""
    requests = 0

    @abstractmethod
    def list(self, kind: Kind, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of ``kind`` in ``namespace`` (None: all, or the cluster for a cluster-scoped kind)."""

    def served(self) -> dict[str, set[str]] | None:
        """{API group: its served versions} from discovery; None where there is no discovery (manifests)."""
        return None


class LiveCluster(Cluster):
    live = True

    def __init__(self, api_client: Any, timeout: float, source: str, page_size: int = PAGE_SIZE):
        self.api = api_client
        self.timeout = timeout
        self.source = source
        self.page_size = page_size
        self._lock = threading.Lock()
        self.version = str(self._get("/version", {}).get("gitVersion") or "")

    def list(self, kind: Kind, namespace: str | None = None) -> list[dict[str, Any]]:
        path = kind.path(namespace)
        items: list[dict[str, Any]] = []
        cont = ""
        for _ in range(MAX_PAGES):
            query: dict[str, Any] = {"limit": self.page_size}
            if cont:
                query["continue"] = cont
            page = self._get(path, query, kind)
            # The API server always sends items; an answer without it ({} from a proxy) is not an empty list.
            if "items" not in page:
                raise KubernetesError(f"listing {kind.plural}: the answer has no items (not a list answer)")
            if not isinstance(page["items"], list) and page["items"] is not None:
                raise KubernetesError(f"listing {kind.plural}: the answer's items is not a list")
            for item in page.get("items") or []:
                if isinstance(item, dict) and isinstance(item.get("metadata"), dict):
                    item.setdefault("apiVersion", kind.api_version)
                    item.setdefault("kind", kind.kind)
                    items.append(item)
            raw_meta = page.get("metadata")
            meta = raw_meta if isinstance(raw_meta, dict) else {}
            nxt = str(meta.get("continue") or "")
            if not nxt:
                return items
            if nxt == cont:
                raise KubernetesError(f"listing {kind.plural}: the API server repeated its continue token")
            cont = nxt
        raise KubernetesError(f"listing {kind.plural} did not end after {MAX_PAGES} pages")

    def served(self) -> dict[str, set[str]]:
        """Discovery (``GET /apis``, open to every authenticated identity): a real API server authorizes before it
        routes, so a list of a group the identity may not read is 403 whether or not the group is served."""
        body = self._get("/apis", {}, what="the served API groups")
        groups = body.get("groups")
        if not isinstance(groups, list):
            raise KubernetesError("reading the served API groups: the answer has no groups list")
        out: dict[str, set[str]] = {"": {"v1"}}
        for group in groups:
            versions = group.get("versions") if isinstance(group, dict) else None
            if not isinstance(group, dict) or not isinstance(group.get("name"), str) or not isinstance(versions,
                                                                                                      list):
                raise KubernetesError("reading the served API groups: a group has no name or versions")
            out[group["name"]] = {str(v.get("version")) for v in versions if isinstance(v, dict)}
        return out

    def _get(self, path: str, query: Mapping[str, Any], kind: Kind | None = None,
             what: str | None = None) -> dict[str, Any]:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        what = what or (kind.plural if kind else "the server version")
        with self._lock:
            self.requests += 1
        try:
            method, url, headers, _, _ = self.api.param_serialize(
                "GET", path, query_params=list(query.items()), header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"])
            resp = self.api.call_api(method, url, header_params=headers, _request_timeout=(self.timeout,
                                                                                          self.timeout))
            data = resp.read() if resp.data is None else resp.data
            status = resp.status
        except ApiException as exc:
            status, data = exc.status or 0, (exc.body or b"")
            if not status:  # the client's wrapping of a transport failure (TLS verification, ...)
                raise KubernetesError(f"cannot reach the API server at {self.source}: {_why(exc)}") from None
        except urllib3.exceptions.MaxRetryError as exc:
            refused = isinstance(exc.reason, urllib3.exceptions.NewConnectionError)  # a ConnectTimeoutError subclass
            if not refused and isinstance(exc.reason, (urllib3.exceptions.TimeoutError, TimeoutError)):
                raise KubernetesError(f"listing {what} timed out: no answer within {self.timeout:g}s") from None
            raise KubernetesError(f"cannot reach the API server at {self.source}: {_why(exc.reason or exc)}") from None
        except urllib3.exceptions.NewConnectionError as exc:
            raise KubernetesError(f"cannot reach the API server at {self.source}: {_why(exc)}") from None
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            raise KubernetesError(f"listing {what} timed out: no answer within {self.timeout:g}s") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubernetesError(f"cannot reach the API server at {self.source}: {_why(exc)}") from None
        if status == 403:
            raise Forbidden(f"forbidden: the audit identity cannot list {what} (grant get/list)")
        if status == 401:
            raise KubernetesError(f"the API server refused the credentials of {self.source} (401 Unauthorized)")
        if status == 404 and kind is not None:
            raise NotServed(f"the cluster does not serve {kind.api_version} {kind.plural} (not installed)")
        if status != 200:
            raise KubernetesError(f"listing {what} failed: HTTP {status}: {_message(data)}")
        try:
            body = json.loads(data)
        except ValueError:
            raise KubernetesError(f"listing {what}: the API server's answer is not JSON") from None
        if not isinstance(body, dict):
            raise KubernetesError(f"listing {what}: the API server's answer is not an object")
        return body


def _why(exc: BaseException) -> str:
    text = str(getattr(exc, "reason", None) or exc)
    tls = re.search(r"\[SSL: [A-Z_]+\][^)'\"]*", text)
    if tls:
        return tls.group(0).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:200]


def _message(data: Any) -> str:
    try:
        body = json.loads(data)
        return str(body.get("message") or body.get("reason") or "")[:200]
    except Exception:
        return "no message"


class ManifestCluster(Cluster):
    """Objects from files; listings filter them by kind and namespace (objects without one are in ``default_ns``)."""

    live = False

    def __init__(self, root: Path, default_ns: str | None, objects: list[dict[str, Any]] | None = None):
        self.source = str(root)
        self.default_ns = default_ns
        self.objects = load_manifests(root) if objects is None else objects

    def list(self, kind: Kind, namespace: str | None = None) -> list[dict[str, Any]]:
        self.requests += 1
        out = []
        for obj in self.objects:
            if obj.get("kind") != kind.kind or str(obj.get("apiVersion", "")).rpartition("/")[0] != kind.group:
                continue
            if kind.namespaced and namespace is not None:
                if ((obj.get("metadata") or {}).get("namespace") or self.default_ns) != namespace:
                    continue
            out.append(obj)
        return out

    def kinds(self) -> set[str]:
        return {str(o.get("kind")) for o in self.objects}


class ChartCluster(ManifestCluster):
    """The objects a chart renders (once per audit), read as manifests; a chart that does not render is an error
    of every item, with Helm's own message."""

    def __init__(self, config: Mapping[str, Any], default_ns: str | None, timeout: float):
        from readiness.clients.chart import render

        rendered = render(config, timeout)
        objects: list[dict[str, Any]] = []
        for where, text in rendered.templates:
            if not where.endswith("NOTES.txt"):  # helm template prints no NOTES either
                objects += parse_manifests(text, Path(where))
        super().__init__(Path(str(config["chart"])), default_ns, objects)
        self.source = f"chart {config['chart']} ({rendered.engine})"


def _regular(path: Path, what: str) -> os.stat_result:
    """A manifest's stat; a FIFO (reading it waits forever), a device (``/dev/zero`` never ends) or a socket is
    refused by its type, never opened."""
    try:
        st = path.stat()
    except OSError as exc:
        raise KubernetesError(f"manifests: {path}: cannot read: {exc.strerror or exc}") from None
    kind = special(st.st_mode)
    if kind and not (what == "root" and kind == "a directory"):
        expected = "a manifest file or a directory" if what == "root" else "a manifest file"
        raise KubernetesError(f"manifests: {path}: is {kind}, expected {expected}")
    return st


def _files(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Every manifest file under ``root`` with its stat, in a stable order; checks types only, reads nothing."""
    st = _regular(root, "root")
    if not special(st.st_mode):
        yield root, st
        return
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(MANIFEST_SUFFIXES):
                count += 1
                if count > MAX_MANIFEST_FILES:
                    raise KubernetesError(f"manifests: more than {MAX_MANIFEST_FILES} files under {root}")
                path = Path(dirpath) / name
                yield path, _regular(path, "file")


def load_manifests(root: Path) -> list[dict[str, Any]]:
    """Every object in the files under ``root``; ``List`` kinds unpacked.  YAML aliases are accepted (kubectl
    accepts them) within the alias and depth budgets of every other YAML file, so an alias bomb is refused."""
    from readiness.errors import ConfigError
    from readiness.fsio import read_bytes

    objects: list[dict[str, Any]] = []
    total = 0
    for path, st in _files(root):
        total += st.st_size
        if total > MAX_MANIFEST_BYTES:
            raise KubernetesError(f"manifests: more than {MAX_MANIFEST_BYTES // 2**20} MiB of files under {root}")
        try:
            text = read_bytes(str(path), "manifest file", MAX_MANIFEST_BYTES, "a manifest file").decode("utf-8-sig")
        except ConfigError as exc:
            raise KubernetesError(f"manifests: {exc.text}") from None
        except UnicodeDecodeError as exc:
            raise KubernetesError(f"manifests: {path}: not valid YAML ({exc})") from None
        objects += parse_manifests(text, path)
    return objects


def parse_manifests(text: str, path: Path) -> list[dict[str, Any]]:
    """The objects of one YAML stream (a manifest file, or a chart's rendered template), as ``manifests:`` reads
    them; KubernetesError at file:line:col for anything that is not a Kubernetes object."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    objects: list[dict[str, Any]] = []
    try:
        docs = list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise KubernetesError(f"manifests: {where}: not valid YAML ({getattr(exc, 'problem', None) or exc})"
                              ) from None
    except (ValueError, TypeError, OverflowError):  # an impossible value (2026-02-30): let yamlsrc locate it
        raise KubernetesError(f"manifests: {_located(text, path)}") from None
    docs = _with_aliases(docs, text, path)
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise KubernetesError(f"manifests: {path}: a document is not a mapping (a Kubernetes object)")
        items = doc["items"] if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"),
                                                                                      list) else [doc]
        for item in items:
            problem = _not_an_object(item)
            if problem:
                raise KubernetesError(f"manifests: {path}: {problem}")
            objects.append(item)
    return objects


def _with_aliases(docs: list[Any], text: str, path: Path) -> list[Any]:
    """Documents that use aliases, held to the alias and depth budgets of every other YAML file (an alias bomb is
    refused), each alias then expanded into its own copy, as kubectl sees it.  The budgets are counted on the
    parsed objects, where an alias is one shared object: parsing a large file again would cost seconds."""
    from readiness.yamlsrc import MAX_ALIASED, MAX_DEPTH

    memo: dict[int, tuple[int, int]] = {}  # id -> (values under it, itself included; its height)
    open_: set[int] = set()
    aliased = 0

    def measure(node: Any, depth: int) -> tuple[int, int]:
        nonlocal aliased
        if not isinstance(node, (dict, list)):
            return 1, 0
        key = id(node)
        if key in memo:
            size, height = memo[key]
            aliased += size
            if aliased > MAX_ALIASED or depth + height > MAX_DEPTH:
                raise _OverBudget
            return size, height
        if key in open_ or depth > MAX_DEPTH:
            raise _OverBudget
        open_.add(key)
        size, height = 1, 0
        for child in node.values() if isinstance(node, dict) else node:
            s, h = measure(child, depth + 1)
            size, height = size + s, max(height, h + 1)
        open_.discard(key)
        memo[key] = size, height
        return size, height

    out = []
    for doc in docs:
        if not _shares(doc):  # most documents of a large file: left as parsed
            out.append(doc)
            continue
        try:
            measure(doc, 1)
        except _OverBudget:
            raise KubernetesError(f"manifests: {_refusal(text, path)}") from None
        out.append(_copied(doc))
    return out


class _OverBudget(Exception):
    pass


def _refusal(text: str, path: Path) -> str:
    """Why yamlsrc refuses a file over its budgets, at its line (a bomb is small, so this parse is quick)."""
    from readiness.errors import ConfigError
    from readiness.yamlsrc import MAX_ALIASED, load_documents

    try:
        load_documents(text, str(path), max_nodes=None)
    except ConfigError as exc:
        return str(exc).splitlines()[0]
    return f"{path}: aliases repeat more than {MAX_ALIASED} values or nest too deep (an alias bomb?)"


def _copied(node: Any) -> Any:
    """A tree of plain dicts and lists sharing nothing (the budgets bound its size and depth)."""
    if isinstance(node, dict):
        return {key: _copied(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_copied(value) for value in node]
    return node


def _located(text: str, path: Path) -> str:
    from readiness.errors import ConfigError
    from readiness.yamlsrc import load_documents

    try:
        load_documents(text, str(path))
    except ConfigError as exc:
        return str(exc).splitlines()[0]
    return f"{path}: a value cannot be read (an impossible date or number?)"


def _not_an_object(item: Any) -> str | None:
    """Why a document is not a Kubernetes object the probes can read (None when it is one)."""
    if not isinstance(item, dict):
        return "a document is not a mapping (a Kubernetes object)"
    if not isinstance(item.get("kind"), str) or not isinstance(item.get("apiVersion"), str):
        return "an object has no kind or apiVersion (a values file, not rendered manifests?)"
    meta = item.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return f"a {item['kind']} has no metadata.name"
    if meta.get("namespace") is not None and not isinstance(meta.get("namespace"), str):
        return f"{item['kind']} {meta['name']}: metadata.namespace is not a string"
    return None


def _shares(doc: Any) -> bool:
    """Whether a parsed document holds one mapping or list in two places (the mark of a YAML alias); stops at the
    first, so a bomb costs no more than its own text."""
    seen: set[int] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                return True
            seen.add(id(node))
            stack.extend(node.values() if isinstance(node, dict) else node)
    return False


def connect(config: dict[str, Any], timeout: float) -> Cluster:
    ns = namespaces(config)
    if config.get("chart"):
        return ChartCluster(config, ns[0], timeout)
    if config.get("manifests"):
        return ManifestCluster(Path(config["manifests"]), ns[0])
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    cfg = k8s.Configuration()
    try:
        if config.get("in_cluster"):
            k8s_config.load_incluster_config(client_configuration=cfg)
            source = "in-cluster service account"
        else:
            paths = _kubeconfig_paths(config)
            path = os.pathsep.join(paths)  # the client merges a path list as kubectl does
            k8s_config.load_kube_config(config_file=path, context=config.get("context"), client_configuration=cfg,
                                        persist_config=False)
            source = f"context {config['context']}" if config.get("context") else f"kubeconfig {path}"
    except k8s_config.ConfigException as exc:
        raise KubernetesError(f"cannot use the Kubernetes configuration: {str(exc).splitlines()[0][:200]}") from None
    except OSError as exc:
        raise KubernetesError(f"cannot read the kubeconfig: {exc.strerror or exc}") from None
    cfg.retries = False  # a timeout is the answer; retrying would multiply it
    return LiveCluster(k8s.ApiClient(cfg), timeout, source)


def close(client: Cluster) -> None:
    api = getattr(client, "api", None)
    if api is not None:
        api.close()
