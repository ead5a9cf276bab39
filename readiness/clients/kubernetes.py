"""Kubernetes: one listing per kind (and namespace) per audit, from a live cluster or from rendered manifests.

Live: the official ``kubernetes`` client, configured from a kubeconfig (``kubeconfig``, else $KUBECONFIG or
~/.kube/config; ``context``, else the current one) or from the pod's service account (``in_cluster: true``).  Only
GET is ever sent: list endpoints, paginated with ``limit``/``continue``, each request bounded by the target timeout.
Offline (``manifests``): a file or directory of YAML/JSON manifests (``helm template`` output, ``kubectl get -o
yaml`` dumps, multi-document files, ``List`` kinds) read once; the same listings come from those objects.  Offline
from a chart (``chart`` with ``values``, ``release``, ``namespace``): the chart rendered once (readiness.clients.chart)
and its templates read exactly as manifests are (both in readiness/clients/kubernetes_manifests.py; the kubeconfig's
credentials, kept out of reports, in readiness/clients/kubernetes_secrets.py).  Kinds outside the built-in table
are resolved live through discovery (``LiveCluster.resources``), offline by their Kind name.

Objects are plain dicts in the API's own camelCase shape, whichever the source.  A 403 raises ``Forbidden``
("the audit identity cannot list storageclasses (grant get/list)"), an API that is not served (a CRD that is not
installed) ``NotServed``; every other failure ``KubernetesError``, with one line saying why.  The kubernetes package
is imported only when a live connection opens.

Over 400 lines: one role, the live API and the target's settings; files and secrets are in the modules above."""

from __future__ import annotations

import builtins
import json
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readiness.clients.kubernetes_ahead import Ahead
from readiness.clients.kubernetes_names import label_problem
from readiness.errors import TargetUnavailable

PAGE_SIZE = 500
MAX_PAGES = 1000
_DERIVED_GUARD = threading.Lock()


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
# Only the plain plural implies it: ``apps/deployments`` names that one kind (kubernetes.object lists it alone).
_STANDS_IN = {"deployments": "argoproj.io/rollouts"}


def implied_reads(spec: str) -> list[str]:
    """A declared read (``plural``, ``group/plural``, ``ns:plural``) and the reads it implies: the product's
    workloads are in the target's namespaces, so a read in a namespace of its own implies nothing.  Every read is
    parsed here, and one that names no single resource (``*``, a bad name) is a ConfigError."""
    from readiness.clients.kubernetes_names import parse_read

    parse_read(spec)
    extra = _STANDS_IN.get(spec)
    return [spec, extra] if extra else [spec]


def granted_namespaced(group: str, plural: str, namespaced: bool) -> bool:
    """The scope readiness rbac grants a read of ``group/plural`` in: the built-in table's (at any version of its
    group), else the one the read declares (``namespaced``), since rbac has no discovery to ask."""
    known = KNOWN.get(plural)
    return known.namespaced if known is not None and group in ("", known.group) else namespaced


def known_kind(name: str, api_version: str | None = None) -> Kind | None:
    """A kind of the built-in table by its plural or Kind name ("deployments", "Deployment"), at that apiVersion."""
    known = KNOWN.get(name.lower()) or _BY_KIND.get(name.lower())
    return known if known and (api_version is None or api_version == known.api_version) else None


def resolve_kind(name: str, api_version: str | None = None, plural: str | None = None,
                 namespaced: bool = True) -> Kind:
    """A kind of the built-in table, else one at ``api_version`` with ``plural`` or the plural Kubernetes would
    guess.  Without a cluster (manifests, ``readiness rbac``) that is all there is: manifests are matched by Kind
    name; a live cluster says the true plural through discovery (checks/_k8s_access.resolve)."""
    known = known_kind(name, api_version)
    if known:
        return known
    if not api_version:
        raise KubernetesError(f"unknown kind {name!r}: give its api_version (e.g. keda.sh/v1alpha1) as well")
    group, _, version = api_version.rpartition("/")
    plural = plural or guess_plural(name)
    return Kind(name, group, version, plural, granted_namespaced(group, plural, namespaced))  # scope as rbac grants


def guess_plural(kind: str) -> str:
    """A kind's resource name where there is no discovery to ask (as apimachinery's UnsafeGuessKindToResource
    guesses, but Gateway -> gateways as CRDs name it): Policy -> policies, Ingress -> ingresses."""
    low = kind.lower()
    if low.endswith("endpoints"):
        return low
    if low.endswith("s"):
        return low + "es"
    if low.endswith("y") and low[-2:-1] not in ("a", "e", "i", "o", "u"):
        return low[:-1] + "ies"
    return low + "s"


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


def secrets(config: Mapping[str, Any]) -> set[str]:
    """Credentials in every kubeconfig this target merges, or in the chart values it renders; never raises."""
    from readiness.clients.kubernetes_secrets import secrets as found

    return found(config)



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
            from readiness.clients.kubernetes_manifests import _files

            try:
                for _ in _files(Path(str(config["manifests"]))):  # types only: a FIFO or device is bad input
                    pass
            except KubernetesError as exc:
                out.append(("manifests", str(exc).removeprefix("manifests: ")))
        for name in namespaces(config):
            if name is not None and label_problem(str(name), "namespace"):
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

    def derived(self, key: tuple[Any, ...], inputs: Sequence[Any], compute: Callable[[], Any]) -> Any:
        """``compute()`` once per audit for these listings (``inputs``, held so their ids stay theirs): the probes'
        indexes over thousands of objects, built once rather than once per item and component."""
        key = (*key, *map(id, inputs))
        with _DERIVED_GUARD:
            memo = self.__dict__.setdefault("_derived", {})
            lock = memo.setdefault(("lock", key), threading.Lock())
        with lock:
            if key not in memo:
                memo[key] = (inputs, compute())
            return memo[key][1]


class LiveCluster(Cluster):
    live = True

    def __init__(self, api_client: Any, timeout: float, source: str, page_size: int = PAGE_SIZE):
        self.api = api_client
        self.timeout = timeout
        self.source = source
        self.page_size = page_size
        self._lock = threading.Lock()
        self.ahead = Ahead()  # the probes' next listings, read in the background (checks/_k8s_access.read_ahead)
        self.version = str(self._get("/version", {}).get("gitVersion") or "")

    def list(self, kind: Kind, namespace: str | None = None) -> list[dict[str, Any]]:
        path = kind.path(namespace)
        items: list[dict[str, Any]] = []
        cont = ""
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query: dict[str, Any] = {"limit": self.page_size}
            if cont:
                query["continue"] = cont
            try:
                page = self._get(path, query, kind)
            except NotServed:
                if not cont:
                    raise
                # its first page was served: a 404 now is a listing cut short, not an API that is not installed
                raise KubernetesError(f"listing {kind.plural}: a later page answered 404 (the listing was cut "
                                      "short)") from None
            # The API server always sends items; an answer without it ({} from a proxy) is not an empty list.
            if "items" not in page:
                raise KubernetesError(f"listing {kind.plural}: the answer has no items (not a list answer)")
            if not isinstance(page["items"], list) and page["items"] is not None:
                raise KubernetesError(f"listing {kind.plural}: the answer's items is not a list")
            for item in page.get("items") or []:
                # an object the audit cannot read is not one to leave out: "every object ..." would pass without it
                if not (isinstance(item, dict) and isinstance(item.get("metadata"), dict)):
                    raise KubernetesError(f"listing {kind.plural}: an item is not an object with metadata")
                item.setdefault("apiVersion", kind.api_version)
                item.setdefault("kind", kind.kind)
                items.append(item)
            raw_meta = page.get("metadata")
            meta = raw_meta if isinstance(raw_meta, dict) else {}
            nxt = str(meta.get("continue") or "")
            if not nxt:
                _check_complete(kind, meta)
                return items
            if nxt == cont or nxt in seen:
                raise KubernetesError(f"listing {kind.plural}: the API server repeated its continue token")
            seen.add(cont)
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
            names = [v.get("version") if isinstance(v, dict) else None for v in versions]
            if not names or not all(isinstance(n, str) and n for n in names):
                # a group listed with no readable version is not "not installed": what it serves is unknown
                raise KubernetesError(f"reading the served API groups: group {group['name']!r} has no readable "
                                      "versions")
            out[group["name"]] = {n for n in names if isinstance(n, str)}
        return out

    def resources(self, api_version: str) -> builtins.list[dict[str, Any]]:
        """The kinds a group version serves, from discovery (``GET /api/v1``, ``/apis/<group>/<version>``):
        [{"name": plural, "kind", "namespaced"}], subresources (pods/log) left out.  A denied or failing discovery
        is an error that says so, never "not installed"."""
        group, _, version = api_version.rpartition("/")
        what = f"the resources of {api_version} (discovery)"
        try:
            body = self._get(f"/apis/{group}/{version}" if group else f"/api/{version}", {}, what=what)
        except Forbidden:
            raise KubernetesError(f"discovery of {api_version} is forbidden to the audit identity (bind it to the "
                                  "system:discovery ClusterRole)") from None
        listed = body.get("resources")
        if not isinstance(listed, list):
            raise KubernetesError(f"discovery of {api_version}: the answer has no resources list")
        out = []
        for res in listed:
            if not (isinstance(res, dict) and isinstance(res.get("name"), str) and isinstance(res.get("kind"), str)
                    and isinstance(res.get("namespaced"), bool)):
                raise KubernetesError(f"discovery of {api_version}: a resource has no name, kind or namespaced")
            if "/" not in res["name"]:
                out.append({"name": res["name"], "kind": res["kind"], "namespaced": res["namespaced"]})
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


def _check_complete(kind: Kind, meta: Mapping[str, Any]) -> None:
    """A last page (no continue token) that still counts items after it was cut short (a proxy that dropped the
    token): what it left out could be the one object that fails."""
    left = meta.get("remainingItemCount")
    if left is None or left == 0:
        return
    if isinstance(left, bool) or not isinstance(left, int) or left < 0:
        raise KubernetesError(f"listing {kind.plural}: the answer's remainingItemCount is not a count")
    raise KubernetesError(f"listing {kind.plural} was cut short: {left} more item(s) but no continue token")


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



def connect(config: dict[str, Any], timeout: float) -> Cluster:
    ns = namespaces(config)
    if config.get("chart") or config.get("manifests"):  # files: the live client is never imported
        from readiness.clients.kubernetes_manifests import ChartCluster, ManifestCluster

        if config.get("chart"):
            return ChartCluster(config, ns[0], timeout)
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
    ahead = getattr(client, "ahead", None)
    if ahead is not None:  # the audit is over: its readers read nothing more
        ahead.close()
    api = getattr(client, "api", None)
    if api is not None:
        api.close()
