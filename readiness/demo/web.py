"""The demo's front door: nginx with TLS in front of a stub that plays Langfuse's endpoints, set up the way a first
deployment often is: TLS 1.2/1.3 with a valid certificate and an HTTPS redirect (right), but ingress-nginx's 1m body
limit and no security headers but HSTS (wrong), and the metrics endpoint open (wrong).  Its tracing API takes the
end-to-end canary and shows it half a second later (right)."""

from __future__ import annotations

import secrets
from pathlib import Path

from readiness.demo.appstub import AppStub
from readiness.demo.backend import Backend
from readiness.demo.nginx import NginxSpec, make_ca, make_cert, start_nginx
from readiness.demo.product_api import ProductApi


def demo_backend(workdir: Path) -> Backend:
    workdir.mkdir(parents=True, exist_ok=True)
    # the canary's keys: a project's pair, new for each run, given to the audit as ${VARIABLES}
    keys = {"LANGFUSE_PUBLIC_KEY": "pk-lf-" + secrets.token_hex(8),
            "LANGFUSE_SECRET_KEY": "sk-lf-" + secrets.token_hex(16)}
    api = ProductApi("langfuse", visible_after=0.5, public_key=keys["LANGFUSE_PUBLIC_KEY"],
                     secret_key=keys["LANGFUSE_SECRET_KEY"])
    app = AppStub("healthy", api=api).start()
    try:
        ca = make_ca(workdir / "tls", name="demo-ca")
        cert = make_cert(ca, workdir / "tls", "localhost", ["localhost", "127.0.0.1"], days=90)
        spec = NginxSpec(cert=cert, upstream=app.url, max_body="1m",
                         headers=(("Strict-Transport-Security", '"max-age=31536000; includeSubDomains"'),))
        nginx = start_nginx(spec, workdir / "nginx")
    except BaseException:
        app.stop()
        raise
    http = {"base_url": f"https://localhost:{nginx.https_port}", "ca_file": str(ca.cert),
            "http_url": f"http://localhost:{nginx.http_port}/",
            # the end-to-end canary writes one trace: allowed here, and opted in by the run's targets file
            "allow_writes": True, "public_key": "${LANGFUSE_PUBLIC_KEY}", "secret_key": "${LANGFUSE_SECRET_KEY}"}
    network = {"public_host": "127.0.0.1", "public_ports": [nginx.https_port, nginx.http_port],
               "private_ports": [app.port]}  # the run adds the datastores' ports
    return Backend("http", http, [nginx, app], keys, {"network": network})
