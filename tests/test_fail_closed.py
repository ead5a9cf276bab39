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
    "files": {},
}
# Settings that take a probe down other paths: a kubernetes target with no release or namespace (the product is
# identified from the chart's labels, or cannot be), a files target with Helm values (a switched-off service).
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "kubernetes": [CONFIGS["kubernetes"], {}],
    "files": [CONFIGS["files"], {"helm_values": "values.yaml"}],
}
# Judged from the targets file alone, not from a fact: configuration is their observation.
CONFIG_ONLY = {"s3.enabled", "redis.tls", "postgres.ssl"}
# Their observation is the session itself (the client connected and answered): they may pass only when it did.
SESSION_ONLY = {"redis.ping", "postgres.session", "clickhouse.reachable", "s3.reachable"}
# Their good state is "nothing of the kind exists": an empty listing is a positive observation for them (never NaN,
# None, junk or an error).
ABSENCE = {"kubernetes.hpa-keda-conflict", "s3.media-retained", "s3.noncurrent-expiry"}
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


class HostileSession:
    def __init__(self, kind: str, values: st.DataObject, hostile: st.SearchStrategy[Any],
                 configs: dict[str, dict[str, Any]] = CONFIGS):
        self.kind, self.config, self.timeout = kind, configs[kind], 1.0
        self.connecting, self.round_trips, self.failed = False, 0, None
        self._values, self._hostile, self._seen = values, hostile, {}

    def _value(self, name: str) -> Any:
        if name not in self._seen:
            self._seen[name] = self._values.draw(self._hostile, label=f"{self.kind}:{name}")
        value = self._seen[name]
        if isinstance(value, Raise):
            raise value.exc
        return value

    def get_client(self, deadline: float | None = None) -> Any:
        return Poison(self._value("<client>"))

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
    ctx = Context(item.id, probe.target, sessions, configs, preset, profile, 1.0, time.monotonic() + 60)  # type: ignore[arg-type]
    try:
        verdict = probe(ctx, item.params_for(preset))
    except Exception:  # noqa: BLE001 - the runner turns any exception into an error result
        return
    if probe.kind in SESSION_ONLY and not any(isinstance(s._seen.get("<client>"), Raise) for s in sessions.values()):
        return
    if probe.kind in ABSENCE and all(v in _EMPTY for s in sessions.values() for v in s._seen.values()):
        return
    assert verdict.status != "pass", f"{item.id} ({probe.kind}) passed on hostile facts: {verdict.message}"
