"""Property: no probe passes without a positive observation.

Every registered probe, with every item's parameters of the default checklist under every preset, is fed hostile
facts through the same fact layer the probes use (``ctx.fact`` / ``ctx.client``): NaN, infinities, None, empty
results, wrong types, binary junk and raised exceptions (error replies, denials, timeouts).  Whatever it does with
them, it must never return ``pass``: raising is fine (the runner makes that an ``error``)."""

from __future__ import annotations

import math
import os
import time
from typing import Any

import pytest
from hostile_clients import HostileCluster, HostileHttp, HostileNetwork, hostile_files, k8s_listing
from hypothesis import HealthCheck, given, settings
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
    "files": {"env": ".env", "compose": "docker-compose.yml", "helm_values": "values.yaml"},
}
# Judged from the targets file alone, not from a fact: configuration is their observation.
CONFIG_ONLY = {"s3.enabled", "redis.tls", "postgres.ssl"}
# Their observation is the session itself (the client connected and answered): they may pass only when it did.
SESSION_ONLY = {"redis.ping", "postgres.session", "clickhouse.reachable", "s3.reachable"}
# Their good state is "nothing of the kind exists": an empty listing is a positive observation for them (never NaN,
# None, junk or an error).
ABSENCE = {"kubernetes.hpa-keda-conflict", "s3.media-retained", "s3.noncurrent-expiry"}
# Judged on what exists (a CSIDriver by name, a variable's absence from the env file, the image references): the
# hostile Kubernetes objects and files keep kinds, names, keys and images, so that much is a real observation when
# the listing or file was not junk.
IDENTITY = {"kubernetes.csi-driver", "files.workers-redis", "files.images-pinned"}
# Fail-open probes the extended hostile facts found, fixed on other branches: drop the mark once merged.
KNOWN_FAIL_OPEN = {
    "network.body-size": "http.body-size passes when the answer's status and `complete` are junk (NaN, None): "
                         "checks/http.py, http-net branch",
    "app.metrics-protected": "http.metrics-protected takes any status but 200 (NaN, None, junk) for a refusal: "
                             "checks/http.py, http-net branch",
    "k8s.hpa-keda-conflict": "kubernetes.hpa-keda-conflict drops HPAs/ScaledObjects whose scaleTargetRef it cannot "
                             "read and passes: checks/kubernetes_autoscaling.py, k8s-judge branch",
    # found by the hostile files; no branch owns them yet (see the hostile branch's report)
    "files.values-frontend-service": "files.values' `not_equals` expectation passes on a junk value (NaN, None, ''): "
                                     "readiness/matchers.py or checks/files_values.py",
    "app.compose-healthchecks": "files.compose-healthchecks counts a healthcheck whose test is junk (None, NaN) as "
                                "one: checks/files_compose.py",
    "app.placeholder-secrets": "files.placeholder-secrets passes when every secret value is junk ('', NaN, an "
                               "unresolved ${VAR}): checks/files_env.py",
}
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
TYPED = {"kubernetes": lambda s: HostileCluster(s), "http": lambda s: HostileHttp(CONFIGS["http"], s),
         "network": lambda s: HostileNetwork(CONFIGS["network"], s), "files": lambda s: hostile_files(s.draw)}


class HostileSession:
    def __init__(self, kind: str, values: st.DataObject, hostile: st.SearchStrategy[Any]):
        self.kind, self.config, self.timeout = kind, CONFIGS[kind], 1.0
        self.connecting, self.round_trips, self.failed = False, 0, None
        self._values, self._hostile, self._seen = values, hostile, {}
        self._client: Any = None

    def draw(self, strategy: st.SearchStrategy[Any], label: str) -> Any:
        return self._values.draw(strategy, label=f"{self.kind}:{label}")

    def _value(self, name: str) -> Any:
        if name not in self._seen:
            if name.startswith("k8s:"):
                self._seen[name] = k8s_listing(name, self.draw, self._hostile)
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
            self._seen["<client>"] = self.draw(st.one_of(st.none(), _RAISED), "<client>")
        self._value("<client>")
        if self._client is None:
            self._client = TYPED[self.kind](self)
        return self._client

    @property
    def client(self) -> Any:
        return self.get_client()

    def fact(self, name: str, fetch: Any, deadline: float | None = None) -> Any:
        return self._value(name)


_BAD_SCALARS = st.sampled_from([math.nan, math.inf, -math.inf, None, "", "NaN", b"\xff\xfe", "\x00junk"])
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


def _marked(item: Any) -> Any:
    reason = KNOWN_FAIL_OPEN.get(item.id)
    return pytest.param(item, marks=pytest.mark.xfail(reason=reason, strict=False)) if reason else item


def test_every_registered_built_in_probe_is_covered():
    registered = {k for k in probes().probes if not k.startswith("test.")}
    assert ITEMS and registered == {i.probe for i in ITEMS}


@pytest.mark.parametrize("item", [_marked(i) for i in ITEMS], ids=lambda i: i.id)
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
    sessions = {kind: HostileSession(kind, data, HOSTILE) for kind in CONFIGS}
    params = item.params_for(preset)
    ctx = Context(item.id, probe.target, sessions, CONFIGS, preset, profile, 1.0, time.monotonic() + 60,  # type: ignore[arg-type]
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
    assert verdict.status != "pass", f"{item.id} ({probe.kind}) passed on hostile facts: {verdict.message}"


REACHED = ("kubernetes", "http", "network", "files", "s3")
OPT_IN = {"s3.round-trip"}  # skipped unless the target allows writes


@pytest.mark.parametrize("item", [i for i in ITEMS if probes().probes[i.probe or ""].target in REACHED
                                  and i.probe not in OPT_IN], ids=lambda i: i.id)
def test_the_hostile_facts_reach_each_probes_judgement(item):
    """A probe that always raises before judging (the client has the wrong shape, an undeclared read) is not
    tested by the property above: with the typed hostile clients, each one returns a verdict at least once."""
    probe = probes().probes[item.probe or ""]
    verdicts: list[str] = []

    @settings(max_examples=60, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data(), preset=st.sampled_from([None, *PRESETS]))
    def judge(data, preset):
        sessions = {kind: HostileSession(kind, data, HOSTILE) for kind in CONFIGS}
        params = item.params_for(preset)
        ctx = Context(item.id, probe.target, sessions, CONFIGS, preset, "production", 1.0,  # type: ignore[arg-type]
                      time.monotonic() + 60, frozenset(probe.declared_reads(params)))
        try:
            verdicts.append(probe(ctx, params).status)
        except Exception:  # noqa: BLE001 - the runner's error; not a judgement
            pass

    judge()
    assert set(verdicts) - {"skipped"}, f"{item.id}: no verdict in 60 hostile examples ({verdicts})"
