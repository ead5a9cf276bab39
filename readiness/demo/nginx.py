"""A real nginx in front of the application (stub), configured well or badly, for the demo and the tests.

Runs Debian's nginx as a normal foreground process (``-p workdir -c nginx.conf -g 'daemon off;'``) with its pid,
logs and temp files in the work dir, on the ports given.  Certificates: ``make_ca`` and ``make_cert`` (openssl CLI),
with the lifetimes and names a test needs (a certificate expiring in 2 days, one for another host name).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from readiness.demo.process import Server, free_port, wait_port

GOOD_HEADERS = (
    ("Strict-Transport-Security", '"max-age=31536000; includeSubDomains"'),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Ca:
    cert: Path
    key: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(directory: Path, days: int = 3650, name: str = "ca") -> Ca:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days), "-subj",
             f"/CN=readiness test {name}", "-keyout", str(key), "-out", str(cert))
    return Ca(cert, key)


def make_cert(ca: Ca, directory: Path, name: str, hosts: Sequence[str], days: int) -> Cert:
    """A server certificate for ``hosts`` (IP or DNS names in the SAN) signed by ``ca``, valid ``days``."""
    key, csr, cert, ext = (directory / f"{name}{s}" for s in (".key", ".csr", ".crt", ".ext"))
    san = ",".join(f"IP:{h}" if h.replace(".", "").isdigit() or ":" in h else f"DNS:{h}" for h in hosts)
    ext.write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={hosts[0]}", "-keyout", str(key), "-out",
             str(csr))
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key), "-CAcreateserial",
             "-days", str(days), "-extfile", str(ext), "-out", str(cert))
    return Cert(cert, key)


@dataclass
class NginxSpec:
    """How nginx is set up; the defaults are a well-run production proxy."""

    cert: Cert
    upstream: str  # http://127.0.0.1:PORT of the application
    protocols: str = "TLSv1.2 TLSv1.3"
    ciphers: str | None = None  # "DEFAULT:@SECLEVEL=0" to really serve TLS 1.0/1.1 with OpenSSL 3
    headers: Sequence[tuple[str, str]] = GOOD_HEADERS
    redirect: bool = True  # plain HTTP answers 301 to https; False: it serves the application
    max_body: str = "25m"
    listen: Sequence[str] = ("127.0.0.1",)  # addresses to listen on (tests add 127.0.0.2, the "outside")
    extra_tls: Sequence[Cert] = ()  # more TLS ports (free ones), each with its own certificate
    extra: Sequence[str] = field(default_factory=tuple)  # more lines for the http block


@dataclass
class Nginx:
    server: Server
    https_port: int
    http_port: int
    extra_ports: list[int]

    def stop(self) -> None:
        self.server.stop()


def nginx_conf(spec: NginxSpec, workdir: Path, https_port: int, http_port: int, extra_ports: Sequence[int]) -> str:
    def tls_server(cert: Cert, port: int) -> list[str]:
        lines = ["  server {", *[f"    listen {a}:{port} ssl;" for a in spec.listen],
                 f"    ssl_certificate {cert.cert};", f"    ssl_certificate_key {cert.key};",
                 f"    ssl_protocols {spec.protocols};"]
        if spec.ciphers:
            lines.append(f"    ssl_ciphers {spec.ciphers};")
        lines += [f"    add_header {name} {value} always;" for name, value in spec.headers]
        lines += ["    location / {", f"      proxy_pass {spec.upstream};", "      proxy_set_header Host $host;",
                  "    }", "  }"]
        return lines

    temp = workdir / "temp"
    # started as root, the workers would run as nobody, who cannot enter a private temp dir to buffer bodies
    lines = (["user root root;"] if os.geteuid() == 0 else []) + [
             "worker_processes 1;", f"pid {workdir / 'nginx.pid'};", f"error_log {workdir / 'error.log'} warn;",
             "events { worker_connections 256; }", "http {", "  access_log off;",
             f"  client_max_body_size {spec.max_body};", "  server_tokens off;",
             *[f"  {kind}_temp_path {temp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")],
             *[f"  {line}" for line in spec.extra]]
    lines += tls_server(spec.cert, https_port)
    for cert, port in zip(spec.extra_tls, extra_ports, strict=True):
        lines += tls_server(cert, port)
    lines += ["  server {", *[f"    listen {a}:{http_port};" for a in spec.listen]]
    if spec.redirect:
        lines.append(f"    return 301 https://$host:{https_port}$request_uri;")
    else:
        lines += ["    location / {", f"      proxy_pass {spec.upstream};", "    }"]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def start_nginx(spec: NginxSpec, workdir: Path, name: str = "nginx", timeout: float = 20.0) -> Nginx:
    workdir.mkdir(parents=True, exist_ok=True)
    temp = workdir / "temp"
    temp.mkdir(exist_ok=True)
    https_port, http_port = free_port(), free_port()
    extra_ports = [free_port() for _ in spec.extra_tls]
    conf = workdir / "nginx.conf"
    conf.write_text(nginx_conf(spec, workdir, https_port, http_port, extra_ports))
    server = Server(name, ["nginx", "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"], workdir,
                    port=https_port, host=spec.listen[0])
    server.start(timeout)
    try:
        for port in (http_port, *extra_ports):
            wait_port(port, spec.listen[0], timeout, server.proc, server.log)
    except Exception:
        server.stop()
        raise
    return Nginx(server, https_port, http_port, extra_ports)
