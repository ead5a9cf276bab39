"""Port exposure from an outside viewpoint (127.0.0.2), TLS versions and certificates of a real nginx, and TCP
latency to the datastores (tests/fixtures_nginx.py)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from checklists import checklist_with
from fixtures_nginx import OUTSIDE, WebStack
from helpers import audit
from servers import BlackHole, TcpStub, free_port

pytest_plugins = ["fixtures_nginx"]  # the session's nginx + application stubs (web_stack)


def one(tmp_path: Path, targets: dict[str, Any], item: str, **kw: Any) -> Any:
    results, _ = audit(tmp_path, targets, [item], **kw)
    return results[item]


# --- port exposure -------------------------------------------------------------------------------------------------

def test_private_ports_that_refuse_at_the_outside_address_pass(web_stack: WebStack, tmp_path: Path) -> None:
    # the healthy stub really listens (on 127.0.0.1): its refusal at 127.0.0.2 is the loopback-only binding
    socket.create_connection(("127.0.0.1", web_stack.healthy.port), timeout=2).close()
    r = one(tmp_path, web_stack.network([web_stack.healthy.port, web_stack.closed_port]), "network.port-exposure")
    assert r.status == "pass", r.message
    assert f"private {web_stack.healthy.port}" in r.message and "refused" in r.message
    assert r.evidence["ports"][OUTSIDE][str(web_stack.good.https_port)] == "open"
    assert r.evidence["viewpoint"] == OUTSIDE


def test_a_private_port_reachable_from_outside_fails(web_stack: WebStack, tmp_path: Path) -> None:
    r = one(tmp_path, web_stack.network([web_stack.healthy.port, web_stack.failing.port]), "network.port-exposure")
    assert r.status == "fail"
    assert f"private port(s) {web_stack.failing.port}" in r.message and "accept connections" in r.message
    assert str(web_stack.healthy.port) not in r.message.split("accept")[0]


def test_a_public_port_that_does_not_answer_outside_fails(web_stack: WebStack, tmp_path: Path) -> None:
    # the bad nginx listens on 127.0.0.1 only: from outside its https port is closed
    r = one(tmp_path, web_stack.network([web_stack.healthy.port], public=[web_stack.bad.https_port]),
            "network.port-exposure")
    assert r.status == "fail"
    assert f"public port(s) {web_stack.bad.https_port}" in r.message and "refused" in r.message


def test_a_silent_private_port_counts_as_closed_only_when_configured(web_stack: WebStack, tmp_path: Path) -> None:
    targets = web_stack.network([web_stack.filtered.port])
    fast = checklist_with(tmp_path, {"network.port-exposure": {"connect_timeout": 0.5}})
    r = one(tmp_path, targets, "network.port-exposure", checklist=fast)
    assert r.status == "pass", r.message
    assert "no answer within 0.5s (taken as firewalled)" in r.message
    strict = checklist_with(tmp_path, {"network.port-exposure": {"connect_timeout": 0.5, "timeout_is_closed": False}})
    r = one(tmp_path, targets, "network.port-exposure", checklist=strict)
    assert r.status == "error"
    assert f"private port(s) {web_stack.filtered.port}" in r.message and "no answer within 0.5s" in r.message


def test_dns_failure_and_a_viewpoint_that_is_not_local_are_errors(web_stack: WebStack, tmp_path: Path) -> None:
    targets = web_stack.network([web_stack.healthy.port])
    targets["network"]["public_host"] = "no-such-host.invalid"
    r = one(tmp_path, targets, "network.port-exposure")
    assert r.status == "error" and "DNS lookup of no-such-host.invalid failed" in r.message
    targets = web_stack.network([web_stack.healthy.port], viewpoint="192.0.2.55")
    r = one(tmp_path, targets, "network.port-exposure")
    assert r.status == "error" and "cannot connect from viewpoint 192.0.2.55" in r.message


def test_network_config_problems() -> None:
    from readiness.clients.network import config_problems, secrets

    assert secrets({"public_host": "h", "viewpoint": "10.0.0.1"}) == set()
    problems = dict(config_problems({"public_host": "h", "viewpoint": "my-host", "public_ports": [443, 70000],
                                     "private_ports": [443]}))
    assert "local IP address" in problems["viewpoint"]
    assert "not a TCP port" in problems["public_ports"]
    assert "both as public and as private" in problems["private_ports"]
    assert config_problems({"public_host": "h", "viewpoint": "127.0.0.2", "public_ports": [443]}) == []


# --- TLS versions ----------------------------------------------------------------------------------------------------

def test_the_client_really_negotiates_tls_1_0_with_the_bad_nginx_and_is_refused_by_the_good(
        web_stack: WebStack) -> None:
    from readiness.clients.http import HttpHandle

    bad = HttpHandle(web_stack.http(web_stack.bad)["http"], 5)
    for version in ("TLSv1", "TLSv1.1"):
        shake = bad.handshake(version, 5)
        assert shake.accepted and shake.version == version, shake
    good = HttpHandle(web_stack.http(web_stack.good)["http"], 5)
    shake = good.handshake("TLSv1", 5)
    assert not shake.accepted and "protocol version" in shake.reason.lower()


def test_tls_versions_pass_on_the_good_proxy_and_fail_on_the_bad(web_stack: WebStack, tmp_path: Path) -> None:
    r = one(tmp_path, web_stack.http(web_stack.good), "network.tls-versions")
    assert r.status == "pass", r.message
    assert "refuses TLS 1.0, TLS 1.1 and accepts TLS 1.2, TLS 1.3" in r.message
    r = one(tmp_path, web_stack.http(web_stack.bad), "network.tls-versions")
    assert r.status == "fail"
    assert "still accepts TLS 1.0 (negotiated TLSv1," in r.message and "TLS 1.1 (negotiated TLSv1.1," in r.message


def test_a_refusal_proves_nothing_when_this_host_cannot_offer_tls_1_0(web_stack: WebStack, tmp_path: Path,
                                                                      monkeypatch: Any) -> None:
    from readiness.clients import http

    # with SECLEVEL=0 this host's OpenSSL can build a TLS 1.0 ClientHello; whether it can at the default level
    # depends on the build (pyenv's OpenSSL cannot, Debian's /usr/bin/python3 can), so an OpenSSL that cannot is
    # played by the capability check itself
    assert http.can_offer("TLSv1") == (True, "")
    monkeypatch.setattr(http, "can_offer", lambda version: (False, "[SSL: NO_CIPHERS_AVAILABLE] no ciphers available"))
    r = one(tmp_path, web_stack.http(web_stack.good), "network.tls-versions")
    assert r.status == "error"
    assert r.message.startswith("this host's OpenSSL cannot offer TLS 1.0, so its refusal proves nothing")


def test_tls_items_on_a_plain_port_or_a_plain_url_are_errors(web_stack: WebStack, tmp_path: Path) -> None:
    plain_port = {"http": {"base_url": f"https://127.0.0.1:{web_stack.good.http_port}/"}}
    r = one(tmp_path, plain_port, "network.tls-versions")
    assert r.status == "error" and "does not speak TLS" in r.message
    r = one(tmp_path, plain_port, "network.certificate")
    assert r.status == "error" and "TLS handshake with 127.0.0.1" in r.message
    plain_url = {"http": {"base_url": f"http://127.0.0.1:{web_stack.good.http_port}/"}}
    for item in ("network.tls-versions", "network.certificate"):
        r = one(tmp_path, plain_url, item)
        assert r.status == "error" and "plain http://" in r.message


# --- certificate ---------------------------------------------------------------------------------------------------

def test_certificate_passes_when_valid_for_the_host_with_time_left(web_stack: WebStack, tmp_path: Path) -> None:
    r = one(tmp_path, web_stack.http(web_stack.good), "network.certificate")
    assert r.status == "pass", r.message
    assert "chain verified, valid for 127.0.0.1" in r.message and 88 < r.evidence["days_left"] <= 90
    # localhost is in the SAN too
    localhost = web_stack.http(web_stack.good, base_url=f"https://localhost:{web_stack.good.https_port}/")
    assert one(tmp_path, localhost, "network.certificate").status == "pass"


def test_certificate_fails_when_expiring_mismatched_or_untrusted(web_stack: WebStack, tmp_path: Path) -> None:
    r = one(tmp_path, web_stack.http(web_stack.bad), "network.certificate")
    assert r.status == "fail" and re.search(r"expires in [12]\.\d days", r.message), r.message
    assert "fewer than 21" in r.message
    r = one(tmp_path, web_stack.mismatch(), "network.certificate")
    assert r.status == "fail" and "not valid for 127.0.0.1" in r.message, r.message
    r = one(tmp_path, web_stack.expired(), "network.certificate")
    assert r.status == "fail" and "the certificate has expired" in r.message, r.message
    untrusted = web_stack.http(web_stack.good)
    del untrusted["http"]["ca_file"]
    r = one(tmp_path, untrusted, "network.certificate")
    assert r.status == "fail" and "does not lead to a trusted CA" in r.message, r.message


def test_certificate_of_a_closed_port_or_a_frozen_server_is_an_error(tmp_path: Path) -> None:
    r = one(tmp_path, {"http": {"base_url": f"https://127.0.0.1:{free_port()}/"}}, "network.certificate")
    assert r.status == "error" and "connection refused" in r.message
    hole = BlackHole()
    try:
        r = one(tmp_path, {"http": {"base_url": f"https://127.0.0.1:{hole.port}/"}}, "network.certificate",
                timeout=1.5)
    finally:
        hole.close()
    assert r.status == "error" and ("did not finish" in r.message or "timed out" in r.message), r.message


# --- latency to the datastores ---------------------------------------------------------------------------------------

@pytest.fixture
def listener() -> Iterator[BlackHole]:
    hole = BlackHole()  # connect time is what is measured; nothing is sent, so any listener with a backlog will do
    yield hole
    hole.close()


def _datastores(p: int) -> dict[str, Any]:
    return {"redis": {"url": f"redis://:pw@127.0.0.1:{p}/0"},
            "postgres": {"dsn": f"postgresql://u:pw@127.0.0.1:{p}/db"},
            "clickhouse": {"url": f"clickhouse://default:pw@127.0.0.1:{p}/default"}}


def test_internal_latency_passes_on_loopback_and_fails_above_the_limit(listener: BlackHole, tmp_path: Path) -> None:
    r = one(tmp_path, _datastores(listener.port), "network.internal-latency")
    assert r.status == "pass", r.message
    assert set(r.evidence["p_ms"]) == {f"{k} 127.0.0.1:{listener.port}" for k in ("redis", "postgres", "clickhouse")}
    strict = checklist_with(tmp_path, {"network.internal-latency": {"max_ms": 0.000001}})
    r = one(tmp_path, _datastores(listener.port), "network.internal-latency", checklist=strict)
    assert r.status == "fail" and "above 1e-06 ms" in r.message


def test_internal_latency_without_datastores_or_with_one_down_is_an_error(listener: BlackHole,
                                                                         tmp_path: Path) -> None:
    r = one(tmp_path, {"http": {"base_url": "https://example.test/"}}, "network.internal-latency")
    assert r.status == "error" and "no redis, postgres or clickhouse target" in r.message
    down = free_port()
    targets = {**_datastores(listener.port), "redis": {"url": f"redis://127.0.0.1:{down}/0"}}
    r = one(tmp_path, targets, "network.internal-latency")
    assert r.status == "error" and f"redis 127.0.0.1:{down}: connection refused" in r.message


def test_every_address_of_the_host_is_judged_an_ipv6_listener_exposes_what_ipv4_hides(
        web_stack: WebStack, tmp_path: Path, monkeypatch: Any) -> None:
    from readiness.clients.network import NetworkHandle

    v6 = socket.socket(socket.AF_INET6)  # a datastore bound to the IPv6 address only
    v6.bind(("::1", 0))
    v6.listen(16)
    port = int(v6.getsockname()[1])
    # DNS is the one stand-in: the name resolves to both loopback addresses; the connects are real
    monkeypatch.setattr(NetworkHandle, "resolve", lambda self, host: ["127.0.0.1", "::1"])
    try:
        targets = {"network": {"public_host": "dual.example", "public_ports": [], "private_ports": [port]}}
        r = one(tmp_path, targets, "network.port-exposure")
    finally:
        v6.close()
    assert r.status == "fail", r.message
    assert f"private port(s) {port} of dual.example (::1) accept connections" in r.message
    assert r.evidence["ports"]["127.0.0.1"][str(port)] == "refused"


def test_the_products_own_ports_are_private_per_preset(web_stack: WebStack, tmp_path: Path) -> None:
    checklist = checklist_with(tmp_path, {"network.port-exposure": {"product_ports": [web_stack.failing.port]}})
    r = one(tmp_path, web_stack.network([web_stack.healthy.port]), "network.port-exposure", checklist=checklist)
    assert r.status == "fail" and f"private port(s) {web_stack.failing.port}" in r.message
    listed_public = web_stack.network([web_stack.healthy.port], public=[web_stack.good.https_port,
                                                                         web_stack.failing.port])
    r = one(tmp_path, listed_public, "network.port-exposure", checklist=checklist)
    assert r.status == "pass", r.message
    r = one(tmp_path, web_stack.network([web_stack.healthy.port]), "network.port-exposure", preset="langfuse")
    assert r.status == "pass" and "3000, 3030" in r.message  # nothing listens on them at 127.0.0.2


def _listen(host: str, port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.bind((host, port))
    sock.listen(16)
    return sock


def test_every_resolved_address_is_probed_not_only_the_first_four(tmp_path: Path, monkeypatch: Any) -> None:
    from readiness.clients.network import NetworkHandle

    hosts = [f"127.0.0.{n}" for n in range(3, 8)]
    first = _listen(hosts[0])
    public = int(first.getsockname()[1])
    held = [first, *[_listen(h, public) for h in hosts[1:]]]  # the public port answers on every address
    private = _listen(hosts[-1])  # a datastore exposed on the fifth address only
    held.append(private)
    monkeypatch.setattr(NetworkHandle, "resolve", lambda self, host: list(hosts))  # DNS is the one stand-in
    try:
        targets = {"network": {"public_host": "five.example", "viewpoint": OUTSIDE, "public_ports": [public],
                               "private_ports": [int(private.getsockname()[1])]}}
        r = one(tmp_path, targets, "network.port-exposure")
    finally:
        for sock in held:
            sock.close()
    assert r.status == "fail", r.message
    assert f"of five.example ({hosts[-1]}) accept connections" in r.message
    assert set(r.evidence["ports"]) == set(hosts) and r.evidence["reached"] == hosts


def test_silence_proves_nothing_where_no_public_port_answers(web_stack: WebStack, tmp_path: Path) -> None:
    # no public port to show the viewpoint reaches the host: a silent private port is not "firewalled"
    targets = web_stack.network([web_stack.filtered.port], public=[])
    fast = checklist_with(tmp_path, {"network.port-exposure": {"connect_timeout": 0.5}})
    r = one(tmp_path, targets, "network.port-exposure", checklist=fast)
    assert r.status == "error", r.message
    assert "is not shown reachable from 127.0.0.2: no public_ports are listed" in r.message


class LegacyReset(TcpStub):
    """A TCP front for a TLS server that resets any connection whose ClientHello offers only TLS 1.0/1.1 (what some
    middleboxes do) and relays every other one untouched."""

    def __init__(self, upstream: int):
        self.upstream, self.resets = upstream, 0
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        import struct
        import threading

        conn.settimeout(5)
        try:
            hello = conn.recv(11, socket.MSG_PEEK | socket.MSG_WAITALL)
        except OSError:
            conn.close()
            return
        if hello[9:11] in (b"\x03\x01", b"\x03\x02"):  # the ClientHello's client_version
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # RST
            self.resets += 1
            return
        back = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
        for a, b in ((conn, back), (back, conn)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass



def test_a_reset_during_the_legacy_handshake_is_not_a_refusal(web_stack: WebStack, tmp_path: Path) -> None:
    front = LegacyReset(web_stack.good.https_port)
    try:
        targets = {"http": {"base_url": f"https://127.0.0.1:{front.port}/", "ca_file": str(web_stack.ca.cert)}}
        r = one(tmp_path, targets, "network.tls-versions")
    finally:
        front.close()
    assert front.resets == 2  # TLS 1.0 and 1.1 were really offered, and reset
    assert r.status == "error", r.message
    assert "handshake failed without the server refusing the version" in r.message
    assert r.evidence["versions"]["TLSv1.2"].startswith("accepted")


def test_a_cipher_mismatch_on_a_legacy_version_is_not_a_refusal(web_stack: WebStack, tmp_path: Path) -> None:
    from readiness.demo.nginx import NginxSpec, make_cert, start_nginx

    cert = make_cert(web_stack.ca, tmp_path, "gcm", ("127.0.0.1",), 90)
    # TLS 1.0 is enabled, but only with a cipher that exists in TLS 1.2: the server's answer is handshake_failure
    spec = NginxSpec(cert, web_stack.healthy.url, protocols="TLSv1 TLSv1.1 TLSv1.2",
                     ciphers="ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
    nginx = start_nginx(spec, tmp_path / "nginx-gcm")
    try:
        targets = {"http": {"base_url": f"https://127.0.0.1:{nginx.https_port}/", "ca_file": str(web_stack.ca.cert)}}
        r = one(tmp_path, targets, "network.tls-versions")
    finally:
        nginx.stop()
    assert r.status == "error", r.message
    assert "without the server refusing the version" in r.message and "handshake failure" in r.message.lower()
