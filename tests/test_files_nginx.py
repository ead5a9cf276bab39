"""The nginx configuration a team deploys from (the files target's `nginx:`), parsed with crossplane: proxy targets
(LangSight: never the API), ssl_protocols, the security headers after nginx's add_header inheritance, the port-80
redirect; each finding at its file:line.  The tests' own real nginx configuration (readiness.demo.nginx, which
`nginx -t` accepts) is one fixture; the others are modelled on LangSight's hardening guide."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import audit

from readiness.demo.nginx import NginxSpec, make_ca, make_cert, nginx_conf

ITEMS = ["files.nginx-proxy-targets", "files.nginx-tls-protocols", "files.nginx-security-headers",
         "files.nginx-http-redirect"]
HEADERS = """    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
    add_header X-Content-Type-Options nosniff always;
    add_header X-Frame-Options DENY always;
    add_header Referrer-Policy strict-origin-when-cross-origin always;
"""
# modelled on LangSight's hardening guide: TLS in front of the dashboard only
LANGSIGHT = """events {}
http {
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 80;
    server_name obs.example.com;
    return 301 https://$host$request_uri;
  }
  server {
    listen 443 ssl;
    server_name obs.example.com;
    ssl_certificate /etc/ssl/obs.pem;
    ssl_certificate_key /etc/ssl/obs.key;
%s%s  }
}
"""
DASHBOARD = "    location / {\n      proxy_pass http://127.0.0.1:3003;\n    }\n"


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def run(tmp_path: Path, text: str | None = None, preset: str | None = "langsight", **more: str) -> dict[str, Any]:
    if text is not None:
        (tmp_path / "nginx.conf").write_text(text)
    for name, body in more.items():
        (tmp_path / name.replace("__", ".")).write_text(body)
    results, _ = audit(tmp_path, {"files": {"nginx": "nginx.conf"}}, ITEMS, preset=preset)
    return {i: results[i] for i in ITEMS}


def located(result: Any, file: str, line: int) -> bool:
    return any(loc["file"] == file and loc["line"] == line for loc in result.evidence["locations"])


def test_the_hardened_langsight_proxy_passes_every_item(tmp_path: Path) -> None:
    results = run(tmp_path, LANGSIGHT % (HEADERS, DASHBOARD))
    assert {i: r.status for i, r in results.items()} == dict.fromkeys(ITEMS, "pass"), \
        {i: r.message for i, r in results.items()}
    assert "127.0.0.1:3003" in results["files.nginx-proxy-targets"].message


def test_a_location_proxying_to_the_api_bypasses_the_dashboard(tmp_path: Path) -> None:
    api = "    location /api/ {\n      proxy_pass http://api:8000/api/;\n    }\n"
    conf = tmp_path / "nginx.conf"
    result = run(tmp_path, LANGSIGHT % (HEADERS, DASHBOARD + api))["files.nginx-proxy-targets"]
    assert result.status == "fail" and "reaches api:8000" in result.message
    assert located(result, "nginx.conf", line_of(conf, "http://api:8000"))
    # through an upstream block, and in an included file: the finding is at the proxy_pass that uses it
    upstream = LANGSIGHT.replace("http {\n", "http {\n  upstream backend { server 10.0.0.5:8000; }\n")
    (tmp_path / "conf.d").mkdir()
    result = run(tmp_path, upstream % (HEADERS, "    include conf.d/*.conf;\n"),
                 **{"conf.d/a__conf": "location / { proxy_pass http://backend; }\n"})
    proxy = result["files.nginx-proxy-targets"]
    assert proxy.status == "fail" and "upstream backend" in proxy.message
    assert located(proxy, "conf.d/a.conf", 1)
    # a variable target cannot be judged: error, never pass
    varied = run(tmp_path, LANGSIGHT % (HEADERS, "    location / { proxy_pass http://$upstream; }\n"))
    assert varied["files.nginx-proxy-targets"].status == "error"


def test_a_location_with_its_own_add_header_drops_the_servers_headers(tmp_path: Path) -> None:
    static = "    location /static/ {\n      add_header Cache-Control \"max-age=3600\";\n      root /srv;\n    }\n"
    conf = tmp_path / "nginx.conf"
    result = run(tmp_path, LANGSIGHT % (HEADERS, DASHBOARD + static))["files.nginx-security-headers"]
    assert result.status == "fail", result.message
    assert located(result, "nginx.conf", line_of(conf, "location /static/"))
    assert "drops the server's" in result.message and "Strict-Transport-Security" in result.message
    assert not located(result, "nginx.conf", line_of(conf, "location / {"))
    # the same headers included into that location satisfy it (include is textual)
    fixed = static.replace("      root /srv;\n", "      include headers.conf;\n      root /srv;\n")
    again = run(tmp_path, LANGSIGHT % (HEADERS, DASHBOARD + fixed), headers__conf=HEADERS)
    assert again["files.nginx-security-headers"].status == "pass", again["files.nginx-security-headers"].message


def test_headers_without_always_and_old_protocols_fail_at_their_lines(tmp_path: Path) -> None:
    text = (LANGSIGHT % (HEADERS.replace(" always;", ";"), DASHBOARD)).replace("TLSv1.2 TLSv1.3", "TLSv1 TLSv1.2")
    conf = tmp_path / "nginx.conf"
    results = run(tmp_path, text)
    assert results["files.nginx-security-headers"].status == "fail"
    assert "without always" in results["files.nginx-security-headers"].message
    tls = results["files.nginx-tls-protocols"]
    assert tls.status == "fail" and located(tls, "nginx.conf", line_of(conf, "ssl_protocols"))
    assert "TLSv1" in tls.message and "TLSv1.2" not in tls.message.split("(")[0].split("offers")[1]


def test_no_ssl_protocols_is_an_error_and_a_serving_port_80_fails(tmp_path: Path) -> None:
    text = (LANGSIGHT % (HEADERS, DASHBOARD)).replace("  ssl_protocols TLSv1.2 TLSv1.3;\n", "").replace(
        "    return 301 https://$host$request_uri;\n", "    location / { proxy_pass http://127.0.0.1:3003; }\n")
    conf = tmp_path / "nginx.conf"
    results = run(tmp_path, text)
    assert results["files.nginx-tls-protocols"].status == "error"
    assert "1.23.4" in results["files.nginx-tls-protocols"].message
    redirect = results["files.nginx-http-redirect"]
    assert redirect.status == "fail" and located(redirect, "nginx.conf", line_of(conf, "listen 80;") - 1)


def test_without_an_nginx_file_the_items_are_skipped_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=1\n")
    results, _ = audit(tmp_path, {"files": {"env": ".env"}}, ITEMS, preset="langsight")
    for item in ITEMS:
        assert results[item].status == "skipped" and "no nginx file" in results[item].message


@pytest.mark.parametrize("kind", ["good", "bad"])
def test_the_test_suites_real_nginx_config_parses_and_is_judged(tmp_path: Path, kind: str) -> None:
    ca = make_ca(tmp_path)
    cert = make_cert(ca, tmp_path, "srv", ["127.0.0.1"], 30)
    spec = NginxSpec(cert, "http://127.0.0.1:3003") if kind == "good" else NginxSpec(
        cert, "http://127.0.0.1:8000", protocols="TLSv1 TLSv1.1 TLSv1.2", headers=(), redirect=False)
    (tmp_path / "temp").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf(spec, tmp_path, 443, 80, []))
    check = subprocess.run(["nginx", "-t", "-e", str(tmp_path / "error.log"), "-p", str(tmp_path), "-c", str(conf)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr  # nginx itself accepts it
    statuses = {i: r.status for i, r in run(tmp_path).items()}
    expected = "pass" if kind == "good" else "fail"
    assert statuses == dict.fromkeys(ITEMS, expected), statuses


def test_a_changed_include_is_read_again(tmp_path: Path) -> None:
    text = LANGSIGHT % ("    include headers.conf;\n", DASHBOARD)
    assert run(tmp_path, text, headers__conf=HEADERS)["files.nginx-security-headers"].status == "pass"
    weak = run(tmp_path, headers__conf=HEADERS.replace(" always;", ";") + "# changed\n")
    assert weak["files.nginx-security-headers"].status == "fail"


def test_the_langsight_fix_is_in_its_own_words(tmp_path: Path) -> None:
    api = "    location /api/ {\n      proxy_pass http://api:8000/api/;\n    }\n"
    result = run(tmp_path, LANGSIGHT % (HEADERS, DASHBOARD + api))["files.nginx-proxy-targets"]
    assert result.status == "fail" and "hardening guide" in result.remediation, result.remediation


def test_an_upstream_named_in_another_case_or_a_unix_socket_never_passes(tmp_path: Path) -> None:
    # nginx matches upstream names without regard to case: BACKEND is the upstream that reaches the API
    upstream = LANGSIGHT.replace("http {\n", "http {\n  upstream backend { server api:8000; }\n")
    result = run(tmp_path, upstream % (HEADERS, "    location / { proxy_pass https://BACKEND; }\n"))
    assert result["files.nginx-proxy-targets"].status == "fail", result["files.nginx-proxy-targets"].message
    socket = run(tmp_path, LANGSIGHT % (HEADERS, "    location / { proxy_pass http://unix:/tmp/api.sock:/; }\n"))
    assert socket["files.nginx-proxy-targets"].status == "error", socket["files.nginx-proxy-targets"].message


@pytest.mark.parametrize("value, why", [
    ('"max-age=0; includeSubDomains"', "HSTS max-age 0 (below 31536000)"),
    ('"max-age=31536000"', "HSTS without includeSubDomains"),
    ('"max-age=31536000; max-age=0; includeSubDomains"', "browsers ignore"),
    ('"max-age=1e9; includeSubDomains"', "browsers ignore"),
    ("always", "browsers ignore"),  # no value at all: `add_header Strict-Transport-Security always;`
])
def test_an_hsts_header_browsers_ignore_or_that_protects_less_fails(tmp_path: Path, value: str, why: str) -> None:
    # the header was only looked for: `max-age=0` (HSTS switched off) passed; the live item reads the value
    headers = HEADERS.replace('"max-age=31536000; includeSubDomains" always', f"{value} always").replace(
        "always always", "always")
    result = run(tmp_path, LANGSIGHT % (headers, DASHBOARD))["files.nginx-security-headers"]
    assert result.status == "fail" and why in result.message, result.message


def test_an_hsts_value_nginx_computes_is_never_a_pass(tmp_path: Path) -> None:
    headers = HEADERS.replace('"max-age=31536000; includeSubDomains"', "$hsts_value")
    result = run(tmp_path, LANGSIGHT % (headers, DASHBOARD))["files.nginx-security-headers"]
    assert result.status == "error" and "network.security-headers judges what is sent" in result.message
