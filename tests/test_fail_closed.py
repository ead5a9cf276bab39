"""Property: no probe passes without a positive observation.

Every registered probe, with every item's parameters of the default checklist under every preset, is fed hostile
facts through the same fact layer the probes use (``ctx.fact`` / ``ctx.client``): NaN, infinities, None, empty
results, wrong types, binary junk and raised exceptions (error replies, denials, timeouts).  Whatever it does with
them, it must never return ``pass``: raising is fine (the runner makes that an ``error``).

Over 400 lines: one property over every probe; the hostile facts for each backend are listed here so
the property sees them all at once."""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import time
from typing import Any
from unittest import mock

import pytest
from hostile_clients import HostileCluster, HostileHttp, HostileNetwork, hostile_files, k8s_listing
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from readiness.checklist import load_checklist
from readiness.context import Context
from readiness.registry import probes
from readiness.targets import PRESETS

# Plausible settings for every kind, so probes reach their facts instead of stopping at a missing setting.
CONFIGS: dict[str, dict[str, Any]] = {
    "redis": {"url": "redis://127.0.0.1:6379/0", "verify": True, "protocol": 2},
    "postgres": {"dsn": "postgresql://app@127.0.0.1:5432/app"},
    "clickhouse": {"url": "clickhouse://127.0.0.1:9000/default", "cluster": "default", "verify": True},
    "s3": {"bucket": "traces-1", "region": "us-east-1", "addressing_style": "auto"},
    "kubernetes": {"namespace": "obs", "release": "obs"},
    "http": {"base_url": "https://obs.example.com", "verify": True},
    "network": {"public_host": "obs.example.com", "public_ports": [80, 443], "private_ports": [5432, 6379]},
    "files": {"env": ".env", "compose": "docker-compose.yml", "helm_values": "values.yaml", "nginx": "nginx.conf"},
}
# Settings that take a probe down other paths: a kubernetes target with no release or namespace (the product is
# identified from the chart's labels, or cannot be), the fixtures' own releases (their objects, an Argo Rollout and
# the ClickHouse operator's resources among them, are the product's) or one rendering a chart, a files target with
# Helm values (a switched-off service); hostile_files also hands values over as a chart's defaults (a chart target's
# files).
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "kubernetes": [CONFIGS["kubernetes"], {}, {"release": "langsmith", "namespace": "langsmith"},
                   {"release": "langfuse", "namespace": "langfuse"},
                   {"chart": "charts/langfuse", "values": ["prod.yaml"], "release": "obs", "namespace": "obs"}],
    "files": [CONFIGS["files"], {"helm_values": "values.yaml"}],
}
# Judged from the targets file alone, not from a fact: configuration is their observation.
CONFIG_ONLY = {"redis.tls", "postgres.ssl"}
# Their observation is the session itself (the client connected and answered): they may pass only when it did.
SESSION_ONLY = {"redis.ping", "postgres.session", "clickhouse.reachable", "s3.reachable"}
# Their good state is "nothing of the kind exists": an empty listing is a positive observation for them (never NaN,
# None, junk or an error).
ABSENCE = {"s3.media-retained", "s3.noncurrent-expiry"}
# Their pass rests on a listing being empty (no HPA, or no ScaledObject, can conflict; no Service is a
# LoadBalancer): an empty listing of those kinds, real or drawn, is that observation.
EMPTY_LISTINGS = {"kubernetes.hpa-keda-conflict": ("horizontalpodautoscalers", "scaledobjects"),
                  "kubernetes.lb-source-ranges": ("services",)}
# Judged on what exists (a CSIDriver by name, a variable's absence from the env file, the image references): the
# hostile Kubernetes objects and files keep kinds, names, keys and images, so that much is a real observation when
# the listing or file was not junk.  files.values-chart-keys judges the values' key names alone.
IDENTITY = {"kubernetes.csi-driver", "files.workers-redis", "files.images-pinned", "files.values-chart-keys",
            "kubernetes.bundled-datastores"}  # by the workloads' names and labels (an empty listing: none)
_EMPTY = ({}, [], (), "")


class Raise:
    def __init__(self, exc: BaseException):
        self.exc = exc

    def __repr__(self) -> str:
        return f"Raise({self.exc!r})"


class ErrorReply(Exception):
    """What a client library raises for an error reply (NOPERM, WRONGTYPE, LOADING, a SQL error)."""


class Poison:
    """A client whose every attribute and call yields the hostile value (or raises it)."""

    def __init__(self, value: Any):
        self._value = value

    def _out(self) -> Any:
        if isinstance(self._value, Raise):
            raise self._value.exc
        return self._value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return Poison(self._value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._out()

    def __iter__(self) -> Any:
        return iter(())

    def __bool__(self) -> bool:
        return False

    def __getitem__(self, key: Any) -> Any:
        return self._out()


# Kinds whose client has a typed face (hostile_clients.py): a bare Poison would stop their probes at the first
# attribute, before any judgement.
TYPED = {"kubernetes": lambda s: HostileCluster(s), "http": lambda s: HostileHttp(s.config, s),
         "network": lambda s: HostileNetwork(CONFIGS["network"], s), "files": lambda s: hostile_files(s.draw)}


class HostileSession:
    """``reach``: the typed client always opens and every Kubernetes listing of a kind the fixtures hold is those
    objects (hollowed), so a probe's judgement is reached in most examples, not in one of fifty."""

    def __init__(self, kind: str, values: st.DataObject, hostile: st.SearchStrategy[Any],
                 configs: dict[str, dict[str, Any]] = CONFIGS, reach: bool = False):
        self.kind, self.config, self.timeout = kind, configs[kind], 1.0
        self.connecting, self.round_trips, self.failed = False, 0, None
        self._values, self._hostile, self._seen = values, hostile, {}
        self._client: Any = None
        self._reach = reach

    def draw(self, strategy: st.SearchStrategy[Any], label: str) -> Any:
        return self._values.draw(strategy, label=f"{self.kind}:{label}")

    def _value(self, name: str) -> Any:
        if name not in self._seen:
            if name.startswith("k8s:"):
                self._seen[name] = k8s_listing(name, self.draw, self._hostile, bare=not self._reach)
            else:
                self._seen[name] = self.draw(self._hostile, name)
        value = self._seen[name]
        if isinstance(value, Raise):
            raise value.exc
        return value

    def get_client(self, deadline: float | None = None) -> Any:
        if self.kind not in TYPED:
            return Poison(self._value("<client>"))
        if "<client>" not in self._seen:  # the session itself may fail to open, as a real one does
            self._seen["<client>"] = None if self._reach else self.draw(st.one_of(st.none(), _RAISED), "<client>")
        self._value("<client>")
        if self._client is None:
            self._client = TYPED[self.kind](self)
        return self._client

    @property
    def client(self) -> Any:
        return self.get_client()

    def register_cleanup(self, item_id: str, what: str, undo: Any) -> Any:
        return lambda: True  # the probe cleans up itself (through the same hostile client)

    def fact(self, name: str, fetch: Any, deadline: float | None = None) -> Any:
        if name == "k8s:discovery":  # the typed cluster's answer: served groups, or a failure
            return fetch(self.get_client())
        return self._value(name)


_BAD_SCALARS = st.sampled_from([math.nan, math.inf, -math.inf, None, "", "NaN", b"\xff\xfe", "\x00junk", -1, True])
_RAISED = st.sampled_from([
    Raise(ErrorReply("NOPERM this user has no permissions to run the 'llen' command")),
    Raise(ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")),
    Raise(PermissionError("permission denied for table pg_stat_activity")),
    Raise(TimeoutError("timed out")), Raise(ConnectionResetError("reset by peer")), Raise(KeyError("field")),
])
HOSTILE = st.one_of(
    _RAISED, _BAD_SCALARS,
    st.recursive(_BAD_SCALARS, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["127.0.0.1:6379", "node", "value", ""]),
                                                      inner, max_size=3),
        st.builds(tuple, st.lists(inner, max_size=3))), max_leaves=6),
    st.just({}), st.just([]), st.just(()),
)

# The generic probes the default checklist does not use, with the README's own examples as their parameters.
EXTRA = """\
version: 1
name: generic probes
sections:
  - id: generic
    title: Generic probes
    items:
      - {id: g.config, title: t, level: required, rationale: r, probe: redis.config,
         with: {parameter: protected-mode, expect: {equals: "yes"}}}
      - {id: g.query, title: t, level: required, rationale: r, probe: postgres.query,
         with: {sql: "SELECT count(*) FROM pg_stat_activity", label: sessions, expect: {max: 10}}}
      - {id: g.object, title: t, level: required, rationale: r, probe: kubernetes.object,
         with: {kind: Deployment, field: spec.template.spec.securityContext.runAsNonRoot, expect: {equals: true}}}
      # a quantity bound: the values are compared as quantities, and junk that is none is never a pass
      - {id: g.object-quantity, title: t, level: required, rationale: r, probe: kubernetes.object,
         with: {kind: Deployment, field: "spec.template.spec.containers[*].resources.limits.memory",
                expect: {min: 1Gi}}}
      # a named step into a list (no [*]): undecided, not "absent"
      - {id: g.object-into-list, title: t, level: required, rationale: r, probe: kubernetes.object,
         with: {kind: Deployment, field: spec.template.spec.containers.securityContext.privileged,
                expect: {absent: true}}}
      # a kind outside the built-in table: resolved through discovery (a hostile resource list) on a live cluster
      - {id: g.object-crd, title: t, level: required, rationale: r, probe: kubernetes.object,
         with: {kind: ScaledJob, api_version: keda.sh/v1alpha1, field: spec.maxReplicaCount, expect: {max: 10}}}
      # a custom kind said cluster-scoped (discovery may disagree), and a read in a namespace of the item's own
      - {id: g.object-cluster, title: t, level: required, rationale: r, probe: kubernetes.object,
         with: {kind: ClusterTriggerAuthentication, api_version: keda.sh/v1alpha1, cluster_scoped: true,
                field: spec.podIdentity.provider, expect: {equals: aws}}}
      - {id: g.object-elsewhere, title: t, level: required, rationale: r, probe: kubernetes.object,
         with: {kind: Deployment, namespace: kube-system, field: spec.replicas, expect: {min: 1}}}
      # a built-in kind at another apiVersion: discovery's scope against the table's (what rbac grants)
      - {id: g.object-version, title: t, level: required, rationale: r, probe: kubernetes.object,
         with: {kind: StorageClass, api_version: storage.k8s.io/v1beta1, field: provisioner, expect: {present: true}}}
      # a datastore run outside the chart: the patterns pick across the target's namespaces, not the release's
      - {id: g.ext-protected, title: t, level: required, rationale: r, probe: kubernetes.single-replica-protected,
         with: {within_release: false}}
      - {id: g.ext-size, title: t, level: required, rationale: r, probe: kubernetes.volume-size,
         with: {within_release: false}}
      - {id: g.ext-pods, title: t, level: required, rationale: r, probe: kubernetes.pods-ready,
         with: {within_release: false}}
      - {id: g.ext-ssd, title: t, level: required, rationale: r, probe: clickhouse.ssd, with: {within_release: false}}
"""


def _extra_items() -> list[Any]:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
        fh.write(EXTRA)
    try:
        return list(load_checklist(fh.name).items)
    finally:
        os.unlink(fh.name)


ITEMS = [i for i in load_checklist().items if not i.manual] + _extra_items()


def _real_shapes(sessions: dict[str, HostileSession]) -> bool:
    """Every Kubernetes listing drawn was objects (not a bare junk value) and every client opened."""
    for s in sessions.values():
        if isinstance(s._seen.get("<client>"), Raise):
            return False
        for name, value in s._seen.items():
            if name.startswith("k8s:") and not (isinstance(value, list) and all(isinstance(o, dict) for o in value)):
                return False
    return True


def test_every_registered_built_in_probe_is_covered():
    registered = {k for k in probes().probes if not k.startswith("test.")}
    assert ITEMS and registered == {i.probe for i in ITEMS}


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i.id)
# Deterministic by default, so a CI run never depends on luck; READINESS_FUZZ_EXAMPLES=N explores N random ones.
@settings(max_examples=int(os.environ.get("READINESS_FUZZ_EXAMPLES", "100")),
          derandomize="READINESS_FUZZ_EXAMPLES" not in os.environ, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), preset=st.sampled_from([None, *PRESETS]), profile=st.sampled_from(["production",
                                                                                          "non-production"]))
def test_hostile_facts_never_make_a_probe_pass(item, data, preset, profile):
    probe = probes().probes[item.probe or ""]
    if probe.kind in CONFIG_ONLY:
        pytest.skip("judged from the targets file, not from a fact")
    configs = {**CONFIGS, **{k: data.draw(st.sampled_from(v), label=f"{k} settings") for k, v in VARIANTS.items()}}
    sessions = {kind: HostileSession(kind, data, HOSTILE, configs) for kind in CONFIGS}
    params = item.params_for(preset)
    ctx = Context(item.id, probe.target, sessions, configs, preset, profile, 1.0, time.monotonic() + 60,  # type: ignore[arg-type]
                  frozenset(probe.declared_reads(params)))
    try:
        verdict = probe(ctx, params)
    except Exception:  # noqa: BLE001 - the runner turns any exception into an error result
        return
    if probe.kind in SESSION_ONLY and not any(isinstance(s._seen.get("<client>"), Raise) for s in sessions.values()):
        return
    if probe.kind in ABSENCE and all(v in _EMPTY for s in sessions.values() for v in s._seen.values()):
        return
    if probe.kind in IDENTITY and _real_shapes(sessions):
        return
    if any(n.split(":")[1] in EMPTY_LISTINGS.get(probe.kind, ()) and v == [] for s in sessions.values()
           for n, v in s._seen.items() if n.startswith("k8s:")):
        return
    assert verdict.status != "pass", f"{item.id} ({probe.kind}) passed on hostile facts: {verdict.message}"


# The probes that write run only opted in, on a target that allows writes: the test above sees them skip; here they
# run, every answer of the product's API hostile (error statuses, junk and NaN bodies, a huge page, Retry-After
# that is no number), within a budget short enough for many examples.
WRITERS = [i for i in ITEMS if probes().probes[i.probe or ""].writes and probes().probes[i.probe or ""].target
           == "http"]
WRITE_CONFIG = {**CONFIGS["http"], "allow_writes": True, "public_key": "pk-lf-1", "secret_key": "sk-lf-1",
                "api_key": "lsv2-1"}


class _VirtualClock:
    """Seconds that pass only when the probe sleeps, and by a millisecond at each reading (every loop ends): how
    many polls fit in a budget, and so which answers are drawn, no longer depends on how busy the machine is."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        self.now += 0.001
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, float(seconds))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def virtual_time(clock: _VirtualClock) -> Any:
    """The writing probes' clock (and the item's deadline's) made ``clock`` for one example."""
    with mock.patch("readiness.checks.app_canary.time", clock), mock.patch("readiness.context.time", clock):
        yield clock


def test_the_writing_probes_are_found() -> None:
    assert "app.end-to-end-canary" in {i.id for i in WRITERS}


@pytest.mark.parametrize("item", WRITERS, ids=lambda i: i.id)
@settings(max_examples=int(os.environ.get("READINESS_FUZZ_EXAMPLES", "100")),
          derandomize="READINESS_FUZZ_EXAMPLES" not in os.environ, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), preset=st.sampled_from([None, *PRESETS]),
       ingest=st.sampled_from(["auto", "batch", "otel"]))
def test_hostile_answers_never_make_an_opted_in_writer_pass(item, data, preset, ingest):
    verdict, _ = _opted_in_example(item, data, preset, ingest)
    assert verdict is None or verdict.status != "pass", f"{item.id} passed on hostile answers: {verdict.message}"


def _opted_in_example(item: Any, data: st.DataObject, preset: str | None, ingest: str) -> tuple[Any, int]:
    """The writer's verdict (None: it raised, an error) on hostile answers, and how many requests it sent."""
    probe = probes().probes[item.probe or ""]
    configs = {**CONFIGS, "http": WRITE_CONFIG}
    sessions = {kind: HostileSession(kind, data, HOSTILE, configs) for kind in configs}
    params = {**item.params_for(preset), "budget": 0.2, "poll_interval": 0.02, "ingest": ingest}
    with virtual_time(_VirtualClock()) as clock:
        ctx = Context(item.id, probe.target, sessions, configs, preset, "production", 1.0,  # type: ignore[arg-type]
                      clock.monotonic() + 2, opted_in=True)
        try:
            verdict = probe(ctx, params)
        except Exception:  # noqa: BLE001 - the runner turns any exception into an error result
            verdict = None
    return verdict, getattr(sessions["http"]._client, "_calls", 0)


def test_the_writers_examples_do_not_depend_on_the_machines_speed() -> None:
    """Each request answered 50 ms late (a loaded machine) draws the same examples: the polls within the budget
    are counted on the virtual clock.  On the wall clock, fewer polls fitted and later examples changed."""
    from hostile_clients import HostileHttp

    real_send = HostileHttp.send

    def examples(late: float) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []

        def slow_send(self: Any, *args: Any, **kwargs: Any) -> Any:
            time.sleep(late)
            return real_send(self, *args, **kwargs)

        @seed(1)
        @settings(max_examples=25, derandomize=False, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(data=st.data(), preset=st.sampled_from([None, *PRESETS]), ingest=st.sampled_from(["auto", "otel"]))
        def run(data: st.DataObject, preset: str | None, ingest: str) -> None:
            with mock.patch.object(HostileHttp, "send", slow_send):
                verdict, calls = _opted_in_example(WRITERS[0], data, preset, ingest)
            out.append((preset, ingest, calls, verdict and verdict.status))

        run()
        return out

    prompt = examples(0.0)
    assert any(calls > 1 for _, _, calls, _ in prompt)  # some examples went on to read and poll
    assert examples(0.05) == prompt


# Probes of other targets that read Kubernetes facts on the side (redis.memory-vs-limit, clickhouse.ssd ...).
SIDE_READERS = [i for i in ITEMS if (p := probes().probes[i.probe or ""]).target not in (None, "kubernetes")
                and p.declared_reads(i.params)]


@pytest.mark.parametrize("item", SIDE_READERS, ids=lambda i: i.id)
@settings(max_examples=int(os.environ.get("READINESS_FUZZ_EXAMPLES", "50")),
          derandomize="READINESS_FUZZ_EXAMPLES" not in os.environ, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), preset=st.sampled_from([None, *PRESETS]))
def test_on_compose_hostile_facts_without_kubernetes_never_make_a_probe_pass(item, data, preset):
    """A compose deployment sets the kubernetes target aside: the side reads raise NotInDeployment (an error), and
    what the probe judges without them must still never pass on hostile facts."""
    probe = probes().probes[item.probe or ""]
    configs = {k: v for k, v in CONFIGS.items() if k != "kubernetes"}
    sessions = {kind: HostileSession(kind, data, HOSTILE, configs) for kind in configs}
    params = item.params_for(preset)
    ctx = Context(item.id, probe.target, sessions, configs, preset, "production", 1.0,  # type: ignore[arg-type]
                  time.monotonic() + 60, frozenset(probe.declared_reads(params)),
                  {"kubernetes": "compose deployment (test): the kubernetes target does not apply"})
    try:
        verdict = probe(ctx, params)
    except Exception:  # noqa: BLE001 - the runner turns it into an error: never a pass
        return
    if probe.kind in SESSION_ONLY and not any(isinstance(s._seen.get("<client>"), Raise) for s in sessions.values()):
        return
    assert verdict.status != "pass", f"{item.id} ({probe.kind}) passed on compose with hostile facts: {verdict.message}"


def test_side_readers_are_found():
    assert {"redis.memory-vs-limit", "clickhouse.ssd-storage", "postgres.connection-budget"} <= {i.id for i in
                                                                                                 SIDE_READERS}


# --- blob storage: the product's own setting, and what ClickHouse TTLs count as retention ----------------------------

# What an env file, a values file or a Deployment may hold instead of a real switch or bucket name.
_NOT_A_SETTING = st.sampled_from(["", " ", "NaN", "maybe", "True-ish", "${BUCKET}", "\x00junk", "Traces", "a", "-x-",
                                  "0", "false", "no", "off"])


class _Files:
    """The files target's session, holding parsed files built from hostile values."""

    def __init__(self, files: Any):
        self.kind, self.config, self.timeout, self.failed, self.connecting = "files", {}, 1.0, None, False
        self._files = files

    def get_client(self, deadline: float | None = None) -> Any:
        return self._files

    def fact(self, name: str, fetch: Any, deadline: float | None = None) -> Any:
        return fetch(self._files)


@settings(max_examples=int(os.environ.get("READINESS_FUZZ_EXAMPLES", "200")),
          derandomize="READINESS_FUZZ_EXAMPLES" not in os.environ, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), preset=st.sampled_from([None, "langsmith", "langfuse"]),
       env=st.dictionaries(st.sampled_from(["FF_BLOB_STORAGE_ENABLED", "FF_S3_STORAGE_ENABLED", "S3_BUCKET_NAME",
                                            "LANGFUSE_S3_EVENT_UPLOAD_BUCKET"]), _NOT_A_SETTING, max_size=3),
       values=st.dictionaries(st.sampled_from(["config", "s3"]), st.one_of(HOSTILE, st.dictionaries(
           st.sampled_from(["blobStorage", "bucket", "eventUpload", "enabled", "bucketName"]),
           st.one_of(HOSTILE, _NOT_A_SETTING, st.dictionaries(st.sampled_from(["enabled", "bucketName", "bucket"]),
                                                              st.one_of(HOSTILE, _NOT_A_SETTING), max_size=2)),
           max_size=3)), max_size=2))
def test_hostile_product_settings_never_make_blob_enabled_pass(data, preset, env, values):
    from readiness.clients.files import Files, Loc, Setting

    probe = probes().probes["s3.enabled"]
    settings_ = {k: Setting(k, v, Loc(".env", i + 1, 1), "env file") for i, (k, v) in enumerate(env.items())}
    files = Files("/", env=settings_, env_file=".env", values=values, values_file="values.yaml")
    env_entry = st.fixed_dictionaries({"name": st.sampled_from(["FF_BLOB_STORAGE_ENABLED", "S3_BUCKET_NAME",
                                                                "LANGFUSE_S3_EVENT_UPLOAD_BUCKET"])},
                                      optional={"value": st.one_of(HOSTILE, _NOT_A_SETTING),
                                                "valueFrom": st.just({"secretKeyRef": {"name": "s", "key": "k"}})})
    container = st.fixed_dictionaries({"name": st.sampled_from(["backend", "web", "sidecar"])},
                                      optional={"env": st.one_of(HOSTILE, st.lists(env_entry, max_size=3)),
                                                "envFrom": st.one_of(HOSTILE, st.just([{"configMapRef": {}}]))})
    deployment = st.fixed_dictionaries({
        "kind": st.just("Deployment"),
        "metadata": st.fixed_dictionaries({"name": st.sampled_from(["obs-langsmith-backend", "obs-langfuse-web"]),
                                           "namespace": st.just("obs")}),
        "spec": st.fixed_dictionaries({"template": st.fixed_dictionaries({"spec": st.fixed_dictionaries({
            "containers": st.one_of(HOSTILE, st.lists(container, max_size=2))})})})})
    sessions = {"files": _Files(files), "kubernetes": HostileSession("kubernetes", data, st.one_of(
        HOSTILE, st.lists(deployment, max_size=2))), "s3": HostileSession("s3", data, HOSTILE)}
    ctx = Context("blob.enabled", None, sessions, CONFIGS, preset, "production", 1.0,  # type: ignore[arg-type]
                  time.monotonic() + 60, frozenset(probe.declared_reads({})))
    verdict = probe(ctx, {})
    assert verdict.status != "pass", verdict.message


# --- chart values per version: the fixtures' keys (Langfuse v1 and v2, LangSmith with KEDA), every value junk, and
# a chart version that may be junk too --------------------------------------------------------------------------------

_VERSIONED = [i for i in ITEMS if i.id in ("files.values-clickhouse-replicas", "files.values-clickhouse-resources",
                                            "files.values-hpa")]


_CHART_FIXTURES = ("langfuse-v1", "langfuse-v2", "langsmith-keda")
_CHART_VERSIONS = (None, "", "NaN", "v", "\x00junk", "1.5.41", "2.0.0", "0.17.0", "9.0.0", "x.y")


def _defaults_alone(real: Any, probe: Any, item: Any, preset: str | None) -> str | None:
    """The pass message on a values file that says nothing, at the same chart version, when the hostile file also
    holds neither the judged key nor the item's switch: a pass the junk did not make (a LangSmith file rendered by
    Langfuse chart 1.5.41 leaves ClickHouse to the chart, deployed with 3 replicas)."""
    from readiness.checks import _chart_values as cv

    from readiness.clients.files import Files
    from readiness.yamlsrc import YMap

    params = item.params_for(preset)
    use = cv.in_use(real, preset)
    fact = use.chart.facts.get(params.get("fact") or "") if use else None
    read = [str(params.get("skip_when") or "").lstrip("!"), fact.key if fact else ""]
    if any(k and cv.present(real, k)[0] for k in read):
        return None

    empty = Files(real.root, values=YMap(), values_file=real.values_file, chart_version=real.chart_version)
    ctx = Context(item.id, "files", {"files": _Files(empty)}, CONFIGS, preset, "production", 1.0,  # type: ignore[arg-type]
                  time.monotonic() + 60, frozenset())
    verdict = probe(ctx, item.params_for(preset))
    return verdict.message if verdict.status == "pass" else None


# Every fixture, preset, item and chart version in each example, only the junk drawn: a combination left to the
# sample (1 in 360) was judged only when the derandomized seed happened to draw it, and the seed changes with
# Hypothesis' version and with this file's text.
@settings(max_examples=int(os.environ.get("READINESS_FUZZ_EXAMPLES", "12")),
          derandomize="READINESS_FUZZ_EXAMPLES" not in os.environ, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_chart_values_never_pass(data):
    from hostile_clients import DATA, hollow

    from readiness.clients.files import load

    passed = []
    for fixture in _CHART_FIXTURES:
        real = load({"helm_values": str(DATA / "files" / fixture / "values.yaml")})
        real.values = hollow(real.values, data.draw, f"files:values:{fixture}")
        for version, preset, item in itertools.product(_CHART_VERSIONS, [None, "langsmith", "langfuse", "langsight"],
                                                       _VERSIONED):
            real.chart_version = version
            probe = probes().probes[item.probe or ""]
            ctx = Context(item.id, "files", {"files": _Files(real)}, CONFIGS, preset, "production", 1.0,  # type: ignore[arg-type]
                          time.monotonic() + 60, frozenset())
            try:
                verdict = probe(ctx, item.params_for(preset))
            except Exception:  # noqa: BLE001 - the runner turns any exception into an error result
                continue
            if verdict.status == "pass" and _defaults_alone(real, probe, item, preset) != verdict.message:
                passed.append(f"{item.id} ({fixture}, chart {version!r}, preset {preset}): {verdict.message}")
    assert not passed, "passed on hostile values: " + "; ".join(passed[:3])


@given(clause=st.lists(st.sampled_from([
    "ts + toIntervalDay(14) TO VOLUME 'cold'", "ts + toIntervalDay(3) TO DISK 's3'", "ts + INTERVAL 1 MONTH RECOMPRESS "
    "CODEC(ZSTD(17))", "ts + toIntervalDay(7) WHERE kind = 'x, DELETE'", "ts + toIntervalSecond(ttl_seconds)",
    "ts + toIntervalDay(2) GROUP BY k SET v = max(v)", "toDate(ts) + toIntervalDay(n) DELETE",
    "ts + toIntervalDay(30) TO VOLUME 'a, b'"]), min_size=1, max_size=4))
@settings(max_examples=100, derandomize=True, deadline=None)
def test_no_move_recompress_rollup_or_conditional_ttl_counts_as_retention(clause):
    from readiness.checks._s3_facts import ttl_days

    assert ttl_days("MergeTree ORDER BY id TTL " + ", ".join(clause) + " SETTINGS index_granularity = 8192") == []

# --- HTTP, TLS and port probes: answers of the right shape that still prove nothing ----------------------------------
# A Poison client stops these probes at their first attribute; here the client answers like a real one, with what a
# broken or hostile endpoint sends: a redirect off the host, a temporary redirect, a 5xx, a reset or a cipher
# mismatch during a legacy handshake, addresses the viewpoint cannot reach, or an exception.

SHAPED_KINDS = ("http.", "tls.", "network.ports")
SHAPED_ITEMS = [i for i in ITEMS if (i.probe or "").startswith(SHAPED_KINDS)]
_STATUSES = st.sampled_from([301, 302, 307, 308, 500, 502, 503, 504])
_LOCATIONS = st.sampled_from([None, "http://elsewhere.example/metrics", "//elsewhere.example/", "/again"])
# HSTS a browser ignores or reads without includeSubDomains (the first header only: RFC 6797 6.1, 8.1)
_HSTS = st.sampled_from([None, "max-age=31536000, max-age=31536000; includeSubDomains",
                         "max-age=31536000; max-age=0; includeSubDomains", "max-age=abc; includeSubDomains",
                         "max-age=-1; includeSubDomains", "max-age=1e9; includeSubDomains", "includeSubDomains",
                         "max-age=31536000x; includeSubDomains"])
_GOOD_REST = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}
_FAILURES = st.sampled_from([TimeoutError("timed out"), ConnectionResetError("reset by peer"),
                             OSError("Network is unreachable")])


class ShapedHttp:
    """An http client (readiness.clients.http.HttpHandle's face) whose every answer proves nothing."""

    def __init__(self, config: dict[str, Any], data: st.DataObject):
        from readiness.clients.http import HttpHandle

        self._real = HttpHandle(config, 1.0)  # URLs and origins as the real client builds them
        self.origin, self.base_url, self.config = self._real.origin, self._real.base_url, config
        self.url, self.shown, self.setting = self._real.url, self._real.shown, self._real.setting
        self.writes = self._real.writes  # the real guard: send_body is judged only inside it
        self._data = data

    def _maybe_raise(self) -> None:
        if self._data.draw(st.booleans(), label="raise"):
            raise self._data.draw(_FAILURES, label="failure")

    def get(self, url: str, **kw: Any) -> Any:
        from readiness.clients.http import Response

        self._maybe_raise()
        status = self._data.draw(_STATUSES, label="status")
        location = self._data.draw(_LOCATIONS, label="location") if 300 <= status < 400 else None
        hsts = self._data.draw(_HSTS, label="hsts")
        headers = {**_GOOD_REST, "strict-transport-security": hsts} if hsts else {}
        return Response(self.shown(url), status, headers, b"", False, 0.01, location)

    def ask_body(self, *args: Any, **kw: Any) -> Any:
        from readiness.clients.http import BodyAnswer

        self._maybe_raise()
        return BodyAnswer(self._data.draw(_STATUSES, label="status"), 0, False, 0.01)

    def send_body(self, path: str, size: int, *args: Any, **kw: Any) -> Any:
        from readiness.clients.http import BodyAnswer

        self._maybe_raise()
        status = self._data.draw(_STATUSES, label="status")
        return BodyAnswer(status, size, True, 0.01) if status >= 500 else BodyAnswer(status, 0, False, 0.01)

    def handshake(self, version: str, timeout: float) -> Any:
        from readiness.clients.http import Handshake

        self._maybe_raise()
        if version in ("TLSv1.2", "TLSv1.3") and self._data.draw(st.booleans(), label="modern accepted"):
            return Handshake(True, version, "TLS_AES_256_GCM_SHA384")
        reason = self._data.draw(st.sampled_from([
            "connection reset during the handshake ([Errno 104] Connection reset by peer)",
            "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006)",
            "[SSL: NO_CIPHERS_AVAILABLE] no ciphers available"]), label="reason")
        return Handshake(False, reason=reason)

    def certificate(self, timeout: float) -> Any:
        from readiness.clients.http import Certificate

        self._maybe_raise()
        return Certificate(False, "certificate verify failed: unable to get local issuer certificate")


class ShapedNetwork:
    """A network client whose viewpoint reaches the first address only (its public ports answer, its private ports
    refuse or stay silent); every other address is unreachable or silent throughout."""

    def __init__(self, data: st.DataObject):
        self.viewpoint, self._data = "203.0.113.7", data

    def resolve(self, host: str) -> list[str]:
        return self._data.draw(st.sampled_from([["198.51.100.1", "2001:db8::1"],
                                                [f"198.51.100.{n}" for n in range(1, 7)]]), label="addresses")

    def connect_all(self, addresses: list[str], ports: list[int], timeout: float) -> dict[str, Any]:
        from readiness.clients.network import Outcome

        out: dict[str, Any] = {}
        for n, address in enumerate(addresses):
            dark = self._data.draw(st.sampled_from(["unreachable", "timeout"]), label="unreached")
            out[address] = {}
            for port in ports:
                if n:
                    state = dark
                elif port in (80, 443):
                    state = "open"
                else:
                    state = self._data.draw(st.sampled_from(["timeout", "refused"]), label="private")
                out[address][port] = Outcome(port, state, state, timeout)
        return out

    def connect_many(self, address: str, ports: list[int], timeout: float) -> dict[int, Any]:
        self._calls = getattr(self, "_calls", 0) + 1  # one address at a time: the first call is the reached one
        return self.connect_all(["first", address] if self._calls > 1 else [address], ports, timeout)[address]


class ShapedSession(HostileSession):
    def __init__(self, kind: str, client: Any, config: dict[str, Any]):
        self.kind, self.config, self.timeout = kind, config, 1.0
        self.connecting, self.round_trips, self.failed = False, 0, None
        self._client, self._seen = client, {}

    def get_client(self, deadline: float | None = None) -> Any:
        return self._client

    def fact(self, name: str, fetch: Any, deadline: float | None = None) -> Any:
        return fetch(self._client)


@pytest.mark.parametrize("item", SHAPED_ITEMS, ids=lambda i: i.id)
@settings(max_examples=int(os.environ.get("READINESS_FUZZ_EXAMPLES", "60")),
          derandomize="READINESS_FUZZ_EXAMPLES" not in os.environ, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), preset=st.sampled_from([None, *PRESETS]), token=st.sampled_from([None, "tok-1"]),
       writes=st.booleans())
def test_redirects_server_errors_resets_and_unreachable_addresses_never_pass(item, data, preset, token, writes):
    probe = probes().probes[item.probe or ""]
    http_cfg = {**CONFIGS["http"], "metrics_token": token, "allow_writes": writes}
    configs = {**CONFIGS, "http": http_cfg}
    sessions = {"http": ShapedSession("http", ShapedHttp(http_cfg, data), http_cfg),
                "network": ShapedSession("network", ShapedNetwork(data), CONFIGS["network"])}
    params = dict(item.params_for(preset))
    if "send_body" in params:
        params["send_body"] = writes
    ctx = Context(item.id, probe.target, sessions, configs, preset, "production", 1.0, time.monotonic() + 60)  # type: ignore[arg-type]
    try:
        verdict = probe(ctx, params)
    except Exception:  # noqa: BLE001 - the runner turns any exception into an error result
        return
    assert verdict.status != "pass", f"{item.id} ({probe.kind}) passed on an answer that proves nothing: " \
                                     f"{verdict.message}"

REACHED = ("kubernetes", "http", "network", "files", "s3")
OPT_IN = {"s3.round-trip"}  # skipped unless the target allows writes


REACH_SEEDS = 8  # samples tried, each a fixed seed, before "no verdict" is believed


def reach_verdicts(item: Any, seed_: int, examples: int = 60) -> list[str]:
    """The statuses ``item``'s probe returned on ``examples`` hostile examples drawn from ``seed_`` (exceptions
    left out: the runner's errors, not judgements).  An explicit seed, not derandomize: that one is a hash of
    this function's text and of Hypothesis' version, so an edit here, or a new Hypothesis, drew other examples."""
    probe = probes().probes[item.probe or ""]
    verdicts: list[str] = []

    @seed(seed_)
    @settings(max_examples=examples, derandomize=False, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data(), preset=st.sampled_from([None, *PRESETS]))
    def judge(data: st.DataObject, preset: str | None) -> None:
        configs = {**CONFIGS, **{k: data.draw(st.sampled_from(v), label=f"{k} settings") for k, v in VARIANTS.items()}}
        sessions = {kind: HostileSession(kind, data, HOSTILE, configs, reach=True) for kind in CONFIGS}
        params = item.params_for(preset)
        ctx = Context(item.id, probe.target, sessions, configs, preset, "production", 1.0,  # type: ignore[arg-type]
                      time.monotonic() + 60, frozenset(probe.declared_reads(params)))
        try:
            verdicts.append(probe(ctx, params).status)
        except Exception:  # noqa: BLE001 - the runner's error; not a judgement
            pass

    judge()
    return verdicts


def reached(item: Any, start: int = 0) -> list[str]:
    """The statuses of the samples ``start``, ``start + 1`` ... up to the first one holding a verdict (a status
    other than skipped), at most REACH_SEEDS of them."""
    seen: list[str] = []
    for seed_ in range(start, start + REACH_SEEDS):
        seen += reach_verdicts(item, seed_)
        if set(seen) - {"skipped"}:
            break
    return seen


@pytest.mark.parametrize("item", [i for i in ITEMS if probes().probes[i.probe or ""].target in REACHED
                                  and i.probe not in OPT_IN], ids=lambda i: i.id)
def test_the_hostile_facts_reach_each_probes_judgement(item):
    """A probe that always raises before judging (the client has the wrong shape, an undeclared read) is not
    tested by the property above: with the typed hostile clients, each one returns a verdict at least once."""
    seen = reached(item)
    assert set(seen) - {"skipped"}, f"{item.id}: no verdict in {REACH_SEEDS} samples of 60 hostile examples " \
                                    f"({sorted(set(seen))})"


# The items whose single derandomized sample drew no verdict in a loaded full run: one sample in two held none.
_SPARSE = [i for i in ITEMS if i.id in ("k8s.clickhouse-pvcs-bound", "k8s.clickhouse-pods-ready",
                                        "k8s.no-pending-pvcs", "app.liveness", "app.readiness")]


@pytest.mark.parametrize("start", [100, 200, 300])
@pytest.mark.parametrize("item", _SPARSE, ids=lambda i: i.id)
def test_the_reach_holds_on_other_samples_too(item, start):
    """Another Hypothesis, or this file changed on disk during a run (the derandomized seed hashes the source as
    read at run time), draws other examples: the verdict must not hang on which sample was drawn."""
    assert len(_SPARSE) == 5
    assert set(reached(item, start)) - {"skipped"}, f"{item.id}: no verdict from sample {start} on"


# --- redis at production size: a scan cut short by scan_limit, the known queues read by name ------------------------

_NODE = "127.0.0.1:6379"
_CUT_KEYS = st.lists(st.sampled_from(["bull:ingestion-queue:wait", "bull:otel-ingestion-queue:failed",
                                      "bull:ingestion-queue:meta", "bull:ingestion-queue:17", "langsight:cb:a",
                                      "langsight:alerts:dedup:1", "session:4f2a", "{ingestion-queue}:x:wait"]),
                     min_size=1, max_size=6, unique=True)


class _CutScanRedis:
    """A redis session whose scan has a real shape but stopped at scan_limit (a keyspace larger than the sample),
    and whose TYPE answers say every key asked about is absent, or are hostile; other answers are hostile or
    plausible numbers.  Nothing here is a positive observation of the queues or of enough keys."""

    def __init__(self, data: st.DataObject, keys: list[str]):
        self.kind, self.config, self.timeout, self.failed, self.connecting = "redis", CONFIGS["redis"], 1.0, None, False
        self._data, self._keys = data, keys
        self.endpoint = type("Endpoint", (), {"db": 0, "topology": "standalone"})()
        self.nodes, self.primary = {_NODE: None}, _NODE

    def get_client(self, deadline: float | None = None) -> Any:
        return self

    def fact(self, name: str, fetch: Any, deadline: float | None = None) -> Any:
        if name.startswith("scan:"):
            return {_NODE: list(self._keys)}, False
        if self._data.draw(st.booleans(), f"{name} plausible"):
            return {_NODE: {"db0": {"keys": 2_000_000}}}
        drawn = self._data.draw(HOSTILE, name)
        if isinstance(drawn, Raise):
            raise drawn.exc
        return drawn

    def node_for(self, key: str) -> str:
        return _NODE

    def _answer(self, command: str, key: str) -> Any:
        plausible = st.just("none") if command == "TYPE" else st.integers(-2, 10**6)
        drawn = self._data.draw(st.one_of(plausible, HOSTILE) if self._data.draw(st.booleans(), f"{command} {key} "
                                "hostile") else plausible, f"{command} {key}")
        if isinstance(drawn, Raise):
            raise drawn.exc
        return drawn

    def per_key(self, keys_by_node: dict[str, list[str]], *commands: str) -> dict[str, list[Any]]:
        return {k: [self._answer(c, k) for c in commands] for keys in keys_by_node.values() for k in keys}

    def batch(self, node: str, commands: Any, *, errors: str = "raise") -> list[Any]:
        return [self._answer(str(c[0]), str(c[1]) if len(c) > 1 else "") for c in commands]


CUT_SCAN_ITEMS = [i for i in ITEMS if i.probe in ("redis.queue-depth", "redis.failed-jobs", "redis.key-ttls")]


@pytest.mark.parametrize("item", CUT_SCAN_ITEMS, ids=lambda i: i.id)
@settings(max_examples=int(os.environ.get("READINESS_FUZZ_EXAMPLES", "100")),
          derandomize="READINESS_FUZZ_EXAMPLES" not in os.environ, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), preset=st.sampled_from([None, *PRESETS]), keys=_CUT_KEYS)
def test_a_cut_scan_with_no_known_queue_and_too_small_a_sample_never_passes(item, data, preset, keys):
    """The queues read by name decide only when one of them is there; a key sample decides only at min_sample."""
    probe = probes().probes[item.probe or ""]
    params = item.params_for(preset)
    ctx = Context(item.id, probe.target, {"redis": _CutScanRedis(data, keys)}, CONFIGS, preset,  # type: ignore[dict-item]
                  "production", 1.0, time.monotonic() + 60, frozenset())
    try:
        verdict = probe(ctx, params)
    except Exception:  # noqa: BLE001 - the runner turns it into an error: never a pass
        return
    assert verdict.status != "pass", f"{item.id} passed on a cut scan: {verdict.message}"


def test_cut_scan_items_are_found():
    assert {"redis.queue-depth", "redis.failed-jobs", "redis.key-ttls"} <= {i.id for i in CUT_SCAN_ITEMS}
