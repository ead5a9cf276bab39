"""Network probes: which ports answer from the outside viewpoint, the TLS versions and certificate of the public
endpoint, and TCP connect latency to the datastores.  Sockets and handshakes live in readiness.clients.network and
readiness.clients.http."""

from __future__ import annotations

import math
import time
from typing import Any

from readiness.checks._common import listing

from readiness.probe import Param, Verdict, failed, passed, probe, undecided

_LEGACY = ("TLSv1", "TLSv1.1")
_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_NAMES = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}
_NOT_TLS = ("wrong version number", "packet length too long", "http request", "record layer failure")


@probe("network.ports", target="network", params={
    "connect_timeout": Param("number", 2.0, help="seconds a connect may take before the port counts as silent"),
    "timeout_is_closed": Param("bool", True, help="a silent (black-holed, firewalled) private port counts as not "
                                                  "exposed; false: only a refusal does, silence is undecided"),
    "product_ports": Param("int-list", [], help="the product's own service ports (API, worker, UI behind the "
                                                "proxy), judged as private too unless listed in public_ports"),
})
def ports(ctx: Any, p: dict[str, Any]) -> Verdict:
    """From the viewpoint, every private port refuses (or is silent) and every public port answers, on every
    address the public host name resolves to (an IPv6 address exposes what the IPv4 one hides).  A closed private
    port counts only on an address where a public port answered: that is the proof the viewpoint reaches it."""
    from readiness.clients.network import MAX_PARALLEL

    cfg = ctx.config()
    handle = ctx.client
    host = str(cfg["public_host"])
    public = [int(x) for x in cfg.get("public_ports") or []]
    private = [int(x) for x in cfg.get("private_ports") or []]
    private += [int(x) for x in p["product_ports"] if int(x) not in public and int(x) not in private]
    if not private and not public:
        return undecided("the network target lists no public_ports and no private_ports to judge")
    addresses = list(dict.fromkeys(handle.resolve(host)))
    if not addresses:
        return undecided(f"{host} resolves to no address: nothing to connect to")
    rounds = math.ceil(len(addresses) * len(set(public + private)) / MAX_PARALLEL)
    timeout = max(0.1, min(float(p["connect_timeout"]), ctx.remaining() * 0.8 / max(1, rounds)))
    view = f"from {handle.viewpoint}" if handle.viewpoint else "from this host's default route"
    seen = handle.connect_all(addresses, public + private, timeout)
    reached = [a for a in addresses if any(seen[a][port].state == "open" for port in public)]
    evidence: dict[str, Any] = {
        "host": host, "viewpoint": handle.viewpoint or "default", "connect_timeout_s": timeout,
        "ports": {a: {str(k): v.state for k, v in o.items()} for a, o in seen.items()}, "reached": reached}
    fails, unsure, passes = [], [], []
    for address in addresses:
        outcomes = seen[address]
        states = {port: o.state for port, o in outcomes.items()}
        where = f"{host} ({address})" if address != host else host
        exposed = [port for port in private if states[port] == "open"]
        silent = [port for port in public if states[port] != "open"]
        if exposed:
            fails.append(f"private port(s) {listing(exposed)} of {where} accept connections {view}: datastores, "
                         "metrics and admin ports must refuse outside traffic")
        how = "; ".join(f"{port} {outcomes[port].detail}" for port in silent)
        if address not in reached:
            if any(states[port] == "refused" for port in public):
                fails.append(f"public port(s) {listing(silent)} of {where} do not answer {view} ({how})")
            elif not exposed:
                why = f"no public port answered ({how})" if public else "no public_ports are listed"
                unsure.append(f"{where} is not shown reachable {view}: {why}, so the silence or refusal of its "
                              "private ports proves nothing")
            continue
        if silent:
            fails.append(f"public port(s) {listing(silent)} of {where} do not answer {view} ({how})")
        doubtful = [port for port in private if states[port] == "unreachable"
                    or (states[port] == "timeout" and not p["timeout_is_closed"])]
        if doubtful:
            how = "; ".join(f"{port} {outcomes[port].detail}" for port in doubtful)
            unsure.append(f"cannot tell whether private port(s) {listing(doubtful)} of {where} are closed ({how}); "
                          "a silent port counts as closed only with timeout_is_closed: true")
        refused = [port for port in private if states[port] == "refused"]
        filtered = [port for port in private if states[port] == "timeout"]
        parts = [f"public {listing([x for x in public if states[x] == 'open'])} answered"]
        if refused:
            parts.append(f"private {listing(refused)} refused")
        if filtered:
            parts.append(f"private {listing(filtered)} gave no answer within {timeout:g}s (taken as firewalled)")
        passes.append(f"{where}: " + "; ".join(parts))
    if fails:
        return failed("; ".join(fails), **evidence)
    if unsure:
        return undecided("; ".join(unsure), **evidence)
    return passed(f"{view}, " + "; ".join(passes), **evidence)


@probe("network.latency", target=None, params={
    "max_ms": Param("number", 5.0, help="p95 TCP connect time allowed to each datastore, in milliseconds"),
    "samples": Param("int", 20, help="connects per datastore address"),
    "percentile": Param("number", 95.0),
})
def latency(ctx: Any, p: dict[str, Any]) -> Verdict:
    """TCP connect p95 from the audit host to each configured datastore (redis, postgres, clickhouse) is low."""
    from readiness.clients.network import NetworkHandle, datastore_addresses

    configs = {kind: ctx.config(kind) for kind in ("redis", "postgres", "clickhouse") if ctx.has(kind)}
    if not configs:
        return undecided("no redis, postgres or clickhouse target is configured, so there is no datastore to time")
    addresses = datastore_addresses(configs)
    if not addresses:
        return undecided("the datastore targets are reached over unix sockets only: there is no TCP path to time")
    handle = NetworkHandle({}, ctx.timeout)
    samples = max(1, int(p["samples"]))
    limit = float(p["max_ms"])
    if not 0 < float(p["percentile"]) <= 100 or not limit > 0:
        return undecided("percentile must be in (0, 100] and max_ms above 0")
    measured: dict[str, float] = {}
    slow, broken = [], []
    for kind, hosts in addresses.items():
        for host, port in hosts:
            name = f"{kind} {host}:{port}"
            try:
                address = handle.resolve(host)[0]
            except Exception as exc:
                broken.append(f"{name}: {exc}")
                continue
            times: list[float] = []
            failure = None
            for _ in range(samples):
                if ctx.remaining() < 0.5:
                    failure = f"only {len(times)} of {samples} connects fit in the item's time"
                    break
                outcome = handle.connect_once(address, port, min(2.0, ctx.remaining() / 2), source="")
                if outcome.state != "open":
                    failure = outcome.detail
                    break
                times.append(outcome.seconds * 1000)
            if failure:
                broken.append(f"{name}: {failure}")
                continue
            value = sorted(times)[max(0, math.ceil(len(times) * float(p["percentile"]) / 100) - 1)]
            measured[name] = round(value, 3)
            if value > limit:
                slow.append(f"{name} {value:.2f} ms")
    evidence = {"p_ms": measured, "percentile": p["percentile"], "samples": samples, "max_ms": limit}
    if slow:
        return failed(f"TCP connect p{p['percentile']:g} above {limit:g} ms: {'; '.join(slow)} (a remote or "
                      "cross-zone datastore adds this to every query)", **evidence)
    if broken:
        return undecided("could not time every datastore: " + "; ".join(broken), **evidence)
    shown = "; ".join(f"{k} {v:.2f} ms" for k, v in measured.items())
    return passed(f"TCP connect p{p['percentile']:g} within {limit:g} ms: {shown}", **evidence)


def _tls_origin(ctx: Any) -> Any:
    handle = ctx.client
    if not handle.origin.https:
        return None
    return handle


@probe("tls.versions", target="http", params={
    "refused": Param("str-list", list(_LEGACY), help="versions the endpoint must refuse"),
    "accepted": Param("str-list", ["TLSv1.2"], help="versions the endpoint must accept"),
})
def versions(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The public endpoint refuses the legacy TLS versions and accepts the current ones.

    Legacy versions are offered with OpenSSL's security level 0; if this host cannot offer them at all, a refusal
    proves nothing and the item is an error."""
    from readiness.clients.http import can_offer

    handle = _tls_origin(ctx)
    if handle is None:
        return undecided("base_url is plain http://: TLS is judged on the https:// endpoint (set base_url to it)")
    wanted = [v for v in _VERSIONS if v in set(p["refused"]) | set(p["accepted"]) | {"TLSv1.3"}]
    unknown = sorted((set(p["refused"]) | set(p["accepted"])) - set(_VERSIONS))
    if unknown:
        return undecided(f"unknown TLS version name(s) {unknown}; use {', '.join(_VERSIONS)}")
    if not p["refused"] or not p["accepted"] or set(p["refused"]) & set(p["accepted"]):
        return undecided("the item must name versions to refuse and versions to accept, none in both lists")
    for version in p["refused"]:
        able, why = can_offer(version)
        if not able:
            return undecided(f"this host's OpenSSL cannot offer {_NAMES[version]}, so its refusal proves nothing "
                             f"({why})")
    o = handle.origin
    seen = {}
    for version in wanted:
        seen[version] = handle.handshake(version, min(ctx.timeout, max(0.2, ctx.remaining() / 2)))
    evidence = {"endpoint": f"{o.host}:{o.port}",
                "versions": {v: (f"accepted ({h.cipher})" if h.accepted else
                                 f"refused: {h.reason}" if h.refused else f"failed: {h.reason}")
                             for v, h in seen.items()}}
    if not any(h.accepted for h in seen.values()):
        reasons = {h.reason for h in seen.values()}
        if any(any(n in r.lower() for n in _NOT_TLS) for r in reasons):
            return undecided(f"{o.host}:{o.port} does not speak TLS ({listing(reasons)}): is base_url's port the "
                             "TLS one?", **evidence)
        return undecided(f"no TLS version was accepted by {o.host}:{o.port} ({listing(reasons)}): the handshake "
                         "fails for another reason than the version", **evidence)
    bad = [v for v in p["refused"] if seen[v].accepted]
    missing = [v for v in p["accepted"] if seen[v].refused]
    if bad:
        what = ", ".join(f"{_NAMES[v]} (negotiated {seen[v].version}, {seen[v].cipher})" for v in bad)
        return failed(f"{o.host}:{o.port} still accepts {what}", **evidence)
    if missing:
        return failed(f"{o.host}:{o.port} refuses {', '.join(_NAMES[v] for v in missing)}: "
                      + "; ".join(seen[v].reason for v in missing), **evidence)
    # only the server's protocol_version refusal decides; a reset or a cipher mismatch may hide an accepted version
    unclear = [v for v in [*p["refused"], *p["accepted"]] if not seen[v].accepted and not seen[v].refused]
    if unclear:
        why = "; ".join(f"{_NAMES[v]}: {seen[v].reason}" for v in unclear)
        return undecided(f"{o.host}:{o.port}: the {' and '.join(_NAMES[v] for v in unclear)} handshake failed "
                         f"without the server refusing the version ({why}), so whether it is accepted cannot be "
                         "told", **evidence)
    took = [_NAMES[v] for v, h in seen.items() if h.accepted]
    return passed(f"{o.host}:{o.port} refuses {', '.join(_NAMES[v] for v in p['refused'])} and accepts "
                  f"{', '.join(took)}", **evidence)


@probe("tls.certificate", target="http", params={
    "min_days": Param("number", 21, help="days the certificate (and its chain) must still be valid"),
})
def certificate(ctx: Any, p: dict[str, Any]) -> Verdict:
    """The public endpoint's certificate chain verifies (system store or ca_file), matches the host, and is not
    about to expire."""
    handle = _tls_origin(ctx)
    if handle is None:
        return undecided("base_url is plain http://: the certificate is judged on the https:// endpoint")
    o = handle.origin
    cert = handle.certificate(min(ctx.timeout, max(0.2, ctx.remaining() * 0.8)))
    where = f"{o.host}:{o.port}"
    if not cert.ok:
        reason = cert.reason
        low = reason.lower()
        if "hostname mismatch" in low or "ip address mismatch" in low:
            why = f"the certificate is not valid for {o.host} ({reason})"
        elif "expired" in low:
            why = f"the certificate has expired ({reason})"
        elif "issuer" in low or "self-signed" in low or "self signed" in low:
            why = f"the chain does not lead to a trusted CA ({reason}; a private CA needs ca_file)"
        else:
            why = reason
        return failed(f"{where}: {why}", endpoint=where, verify=reason,
                      ca=str(ctx.config().get("ca_file") or "system store"))
    expires = cert.chain_not_after or cert.not_after
    if expires is None:
        return undecided(f"{where}: the certificate verified but shows no expiry date", endpoint=where)
    days = (expires - time.time()) / 86400
    evidence = {"endpoint": where, "subject": cert.subject, "issuer": cert.issuer, "names": list(cert.names),
                "expires": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)), "days_left": round(days, 1)}
    if days < float(p["min_days"]):
        which = "the certificate" if expires == cert.not_after else "a certificate of the chain"
        return failed(f"{where}: {which} expires in {days:.1f} days (on {evidence['expires']}), fewer than "
                      f"{p['min_days']:g}: renew it (and check the renewal job)", **evidence)
    return passed(f"{where}: chain verified, valid for {o.host}, {days:.0f} days left", **evidence)
