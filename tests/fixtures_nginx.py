"""A real nginx in front of Python application stubs, once well set up and once badly, for the network/app probes.

good      TLS 1.2/1.3 only, HSTS and the security headers, plain HTTP -> 301 https, 25m bodies, a 90-day certificate
          for 127.0.0.1/localhost/127.0.0.2; proxies to the healthy stub (metrics behind TOKEN); listens on 127.0.0.1
          and 127.0.0.2 (127.0.0.2 plays the public address seen from outside)
bad       TLS 1.0/1.1/1.2 (SECLEVEL=0, so 1.0 really works), no headers, plain HTTP serves the app, 1m bodies, a
          certificate expiring in 2 days; more TLS ports with a certificate for other.example (name mismatch) and
          an expired one; proxies to the failing stub; listens on 127.0.0.1 only
healthy   app stub on 127.0.0.1 only: a private port that refuses at 127.0.0.2
failing   app stub on 127.0.0.2: a private port reachable from "outside" (what binding 0.0.0.0 does, kept on loopback)
filtered  a port on 127.0.0.2 whose accept queue is full: connects time out, like a firewall that drops packets
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures_tls import stop_all

from readiness.demo.appstub import AppStub
from readiness.demo.nginx import Ca, Cert, Nginx, NginxSpec, make_ca, make_cert, start_nginx
from readiness.demo.process import free_port

TOKEN = "metrics-tok-9d41c7e2"
OUTSIDE = "127.0.0.2"


class Filtered:
    """A listening socket with a full accept queue: the kernel drops new SYNs, so connects time out."""

    def __init__(self, host: str = OUTSIDE):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(0)
        self.port = int(self.sock.getsockname()[1])
        self.held = socket.create_connection((host, self.port), timeout=2)

    def close(self) -> None:
        self.held.close()
        self.sock.close()


@dataclass
class WebStack:
    ca: Ca
    good: Nginx
    bad: Nginx
    healthy: AppStub
    failing: AppStub
    filtered: Filtered
    closed_port: int  # nothing listens there

    def http(self, nginx: Nginx, **extra: object) -> dict[str, object]:
        stub = self.healthy if nginx is self.good else self.failing
        cfg: dict[str, object] = {"base_url": f"https://127.0.0.1:{nginx.https_port}/", "ca_file": str(self.ca.cert),
                                  "http_url": f"http://127.0.0.1:{nginx.http_port}/", "worker_url": stub.url}
        if nginx is self.good:
            cfg["metrics_token"] = TOKEN
        cfg.update(extra)
        return {"http": cfg}

    def mismatch(self) -> dict[str, object]:
        return {"http": {"base_url": f"https://127.0.0.1:{self.bad.extra_ports[0]}/", "ca_file": str(self.ca.cert)}}

    def expired(self) -> dict[str, object]:
        return {"http": {"base_url": f"https://127.0.0.1:{self.bad.extra_ports[1]}/", "ca_file": str(self.ca.cert)}}

    def network(self, private: list[int], public: list[int] | None = None, **extra: object) -> dict[str, object]:
        good = [self.good.http_port, self.good.https_port]
        return {"network": {"public_host": OUTSIDE, "viewpoint": OUTSIDE, "public_ports": good if public is None
                            else public, "private_ports": private, **extra}}


def _expired_cert(ca: Ca, directory: Path) -> Cert:
    """A certificate for 127.0.0.1 that expired yesterday (the openssl CLI of Debian 12 cannot backdate one)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=30)).not_valid_after(now - dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    out = Cert(directory / "expired.crt", directory / "expired.key")
    out.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    out.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption()))
    return out


@pytest.fixture(scope="session")
def web_stack(server_root: Path, request: pytest.FixtureRequest) -> Iterator[WebStack]:
    root = server_root / "web"
    ca = make_ca(root / "pki")
    names = ("127.0.0.1", "localhost", OUTSIDE)
    good_cert = make_cert(ca, root / "pki", "good", names, 90)
    short_cert = make_cert(ca, root / "pki", "short", names, 2)
    other_cert = make_cert(ca, root / "pki", "other", ("other.example",), 90)
    expired_cert = _expired_cert(ca, root / "pki")
    healthy = AppStub("healthy", "127.0.0.1", token=TOKEN).start()
    failing = AppStub("failing", OUTSIDE).start()
    filtered = Filtered()
    servers = []
    try:
        good = start_nginx(NginxSpec(good_cert, healthy.url, listen=("127.0.0.1", OUTSIDE)), root / "good", "good")
        servers.append(good.server)
        bad = start_nginx(NginxSpec(short_cert, failing.url, protocols="TLSv1 TLSv1.1 TLSv1.2",
                                    ciphers="DEFAULT:@SECLEVEL=0", headers=(), redirect=False, max_body="1m",
                                    extra_tls=(other_cert, expired_cert)), root / "bad", "bad")
        servers.append(bad.server)
        yield WebStack(ca, good, bad, healthy, failing, filtered, free_port())
    finally:
        stop_all(request, servers, "nginx")
        healthy.stop()
        failing.stop()
        filtered.close()
