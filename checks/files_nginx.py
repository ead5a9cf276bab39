"""The nginx configuration the team deploys from, statically (the live network.* items see the same proxy from
outside): where it proxies to, the TLS protocols it offers, the security headers of every location (nginx's
add_header inheritance rule included) and the port-80 redirect.  Parsed by crossplane in readiness.clients.nginx,
includes expanded in place; every finding names the file:line that causes it.

With no ``nginx`` file in the files target these items are skipped with that reason: a deployment behind an ingress
controller or a cloud load balancer has no nginx.conf, and the live items judge its proxy."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from readiness.checks import _products as products
from readiness.checks._files_facts import evidence, files, findings_text

from readiness.clients.files import Files, Loc
from readiness.clients.http_hsts import parse_hsts
from readiness.clients.nginx import Directive, walk
from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided
from readiness.redact import redact_text

_LANGSIGHT = products.PROXIED["langsight"]
_HEADERS = ["Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"]
_STS = "strict-transport-security"
_REDIRECTS = {"301", "302", "303", "307", "308"}
_HOST = re.compile(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?|[0-9a-f:.]+")
_PROTOCOLS = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}  # what ssl_protocols accepts


def _config(ctx: Any) -> tuple[Files, tuple[Directive, ...]] | Verdict:
    f = files(ctx)
    if f.nginx is None:
        return not_applicable("the files target has no nginx file (a proxy that is not nginx, or one not given: "
                              "the live network.* items judge it)")
    return f, f.nginx


def _at(d: Directive) -> Loc:
    return Loc(d.file, d.line, 1)


def _http_servers(config: tuple[Directive, ...]) -> list[Directive]:
    """The ``server`` blocks of the http context (stream and mail servers are not web servers)."""
    return [d for d, parents in walk(config) if d.name == "server" and d.block is not None
            and [p.name for p in parents] == ["http"]]


_LISTEN = re.compile(r"(?:(\*|[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):)?(\d{1,5})|(localhost|[A-Za-z0-9-]+\.[A-Za-z0-9.-]+)")


def _listens(server: Directive) -> list[tuple[int | None, bool | None]]:
    """(port, ssl) of each ``listen`` (None: cannot be read); nginx listens on *:80 when a server says nothing."""
    out: list[tuple[int | None, bool | None]] = []
    for listen in server.children("listen"):
        address = listen.args[0] if listen.args else ""
        m = _LISTEN.fullmatch(address)
        if address.startswith("unix:"):
            out.append((None, "ssl" in listen.args[1:]))
        elif m is None:
            out.append((None, None))
        else:
            out.append((int(m.group(2)) if m.group(2) else 80, "ssl" in listen.args[1:] or "quic" in listen.args[1:]))
    return out or [(80, False)]


def _tls(server: Directive) -> bool | None:
    """Whether a server speaks TLS (None: a listen cannot be read)."""
    listens = _listens(server)
    if any(ssl for _, ssl in listens) or any(d.args[:1] == ("on",) for d in server.children("ssl")):
        return True
    return None if any(ssl is None for _, ssl in listens) else False


# --- proxy targets -----------------------------------------------------------------------------------------------

def _upstreams(config: tuple[Directive, ...]) -> dict[str, list[Directive]]:
    # nginx matches upstream names without regard to case
    return {d.args[0].lower(): d.children("server") for d, _ in walk(config) if d.name == "upstream" and d.args}


def _host_port(address: str, scheme: str) -> tuple[str, int | None]:
    parts = urlsplit(f"{scheme}://{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "").lower(), port or {"http": 80, "https": 443, "grpc": 80, "grpcs": 443}.get(scheme)


@probe("files.nginx-proxy-targets", target="files", params={
    "forbidden_hosts": Param("str-list", list(_LANGSIGHT.forbidden_hosts),
                             help="upstream hosts the proxy must not reach (LangSight: the api service)"),
    "forbidden_ports": Param("int-list", list(_LANGSIGHT.forbidden_ports), help="upstream ports it must not reach"),
})
def nginx_proxy_targets(ctx: Any, p: dict[str, Any]) -> Verdict:
    """nginx proxies only to what may face users: LangSight's hardening guide sends everything to the dashboard
    (3003), whose Next.js layer injects the auth headers; a ``location /api/`` proxying to the API (8000) bypasses
    it.  ``proxy_pass`` (and grpc/uwsgi/fastcgi pass) through ``upstream`` blocks; a variable cannot be judged."""
    got = _config(ctx)
    if isinstance(got, Verdict):
        return got
    _, config = got
    upstreams = _upstreams(config)
    hosts = {h.lower() for h in p["forbidden_hosts"]}
    ports = set(p["forbidden_ports"])
    bad: list[tuple[Loc, str]] = []
    hidden: list[tuple[Loc, str]] = []
    seen: list[str] = []
    for d, _ in walk(config):
        if d.name not in ("proxy_pass", "grpc_pass", "uwsgi_pass", "fastcgi_pass") or not d.args:
            continue
        url = d.args[0]
        shown = redact_text(url)[:80]
        if "$" in url:
            hidden.append((_at(d), f"{d.name} {shown} is a variable: its target cannot be read from the file"))
            continue
        scheme, sep, rest = url.partition("://")
        scheme = scheme.lower() if sep else "http"
        address = (rest if sep else url).split("/", 1)[0]
        name = address.split(":", 1)[0].lower()
        if name == "unix":  # a unix socket: which service listens on it is not in the file
            hidden.append((_at(d), f"{d.name} {shown!r} is a unix socket: its service cannot be read from the file"))
            continue
        targets = ([(_at(s), s.args[0]) for s in upstreams[name] if s.args] if name in upstreams
                   else [(_at(d), address)])
        if (d.name == "proxy_pass" and not sep) or not targets:
            hidden.append((_at(d), f"{d.name} {shown!r}: not a URL nginx accepts, or an upstream with no server"))
            continue
        for loc, target in targets:
            host, port = _host_port(target, scheme)
            if not _HOST.fullmatch(host) or port is None:
                hidden.append((loc, f"{d.name} {shown!r}: cannot read its host and port"))
                continue
            seen.append(f"{host}:{port}")
            if host in hosts or port in ports:
                via = f" (upstream {name}, {loc.file}:{loc.line})" if name in upstreams else ""
                bad.append((_at(d), f"{d.name} {shown} reaches {host}:{port}{via}, which must not face users "
                                    "directly (it bypasses the layer that authenticates them)"))
    if bad:
        return failed(findings_text(bad), **evidence(bad + hidden, upstreams=sorted(set(seen))))
    if hidden:
        return undecided(findings_text(hidden), **evidence(hidden, upstreams=sorted(set(seen))))
    if not seen:
        return undecided("the nginx configuration proxies to nothing (no proxy_pass): nothing to judge",
                         locations=[])
    return passed(f"nginx proxies only to {', '.join(sorted(set(seen))[:10])}", upstreams=sorted(set(seen)),
                  locations=[])


# --- TLS protocols -----------------------------------------------------------------------------------------------

@probe("files.nginx-tls-protocols", target="files", params={
    "forbidden": Param("str-list", ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"], help="protocols no server may offer"),
})
def nginx_tls_protocols(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every TLS server's ``ssl_protocols`` (its own, else the http block's) leaves out TLSv1 and TLSv1.1.  With
    none written, nginx's default depends on its version (TLSv1 and TLSv1.1 were on before 1.23.4): an error saying
    so, since the file cannot show which nginx runs it."""
    got = _config(ctx)
    if isinstance(got, Verdict):
        return got
    _, config = got
    http = [d for d in config if d.name == "http"]
    http_protocols = [c for h in http for c in h.children("ssl_protocols")]
    forbidden = set(p["forbidden"])
    bad: list[tuple[Loc, str]] = []
    unwritten: list[tuple[Loc, str]] = []
    servers = [s for s in _http_servers(config) if _tls(s)]
    unwritten += [(_at(s), "a server whose listen cannot be read: whether it speaks TLS is unknown")
                  for s in _http_servers(config) if _tls(s) is None]
    if not servers and not unwritten:
        return not_applicable("no server of this nginx configuration listens with TLS (TLS ends elsewhere)")
    for server in servers:
        own = server.children("ssl_protocols")
        effective = own[-1:] or http_protocols[-1:]
        if not effective:
            unwritten.append((_at(server), "a TLS server without ssl_protocols: nginx before 1.23.4 offers TLSv1 "
                                           "and TLSv1.1 by default (write ssl_protocols TLSv1.2 TLSv1.3)"))
            continue
        offered = set(effective[0].args) & forbidden
        unknown = set(effective[0].args) - _PROTOCOLS
        if unknown or not effective[0].args:
            unwritten.append((_at(effective[0]), f"ssl_protocols {' '.join(effective[0].args)[:60]!r} names no "
                                                 "protocol nginx knows"))
        elif offered:
            bad.append((_at(effective[0]), f"ssl_protocols offers {' '.join(sorted(offered))} (server at "
                                           f"{server.file}:{server.line})"))
    if bad:
        return failed(findings_text(bad), **evidence(bad + unwritten, tls_servers=len(servers)))
    if unwritten:
        return undecided(findings_text(unwritten), **evidence(unwritten, tls_servers=len(servers)))
    return passed(f"{len(servers)} TLS server(s) offer none of {', '.join(sorted(forbidden))}",
                  tls_servers=len(servers), locations=[])


# --- security headers --------------------------------------------------------------------------------------------

def _redirect_only(block: Directive) -> bool:
    """A block that only redirects (``return 301 https://...``) serves no page to protect."""
    returns = block.children("return")
    return bool(returns) and returns[0].args[:1] != () and returns[0].args[0] in _REDIRECTS


def _effective(block: Directive, inherited: list[Directive]) -> list[Directive]:
    """nginx's rule: a level's add_header directives replace everything inherited, unless it has none (or, since
    nginx 1.29.3, ``add_header_inherit merge``)."""
    own = block.children("add_header")
    if not own:
        return inherited
    if any(d.args[:1] == ("merge",) for d in block.children("add_header_inherit")):
        return inherited + own
    return own


def _missing(headers: list[Directive], wanted: list[str], p: dict[str, Any]) -> list[str]:
    """What the block fails to send as ``p`` asks; HSTS by its value too, as browsers read the first one sent."""
    out = []
    for name in wanted:
        found = [h for h in headers if h.args and h.args[0].lower() == name.lower()]
        if not found:
            out.append(name)
            continue
        if p["always"] and not any(h.args[-1] == "always" for h in found):
            out.append(f"{name} (without always: error pages go without it)")
        if name.lower() == _STS:
            weak = _weak_hsts(found[0], p)
            if weak:
                out.append(weak)
    return out


def _weak_hsts(header: Directive, p: dict[str, Any]) -> str | None:
    """Why the first Strict-Transport-Security it sends protects less than ``p`` asks; a value nginx computes (a
    variable) is left to network.security-headers, which sees what is sent (``_computed_hsts``)."""
    value = header.args[1] if len(header.args) > 1 and header.args[1] != "always" else ""
    if "$" in value:
        return None
    sts = parse_hsts(value)
    if sts.max_age is None:
        return f"a Strict-Transport-Security that browsers ignore ({value!r}: {sts.problem})"
    if sts.max_age < int(p["hsts_min_age"]):
        return f"HSTS max-age {sts.max_age} (below {p['hsts_min_age']})"
    if p["hsts_subdomains"] and not sts.include_subdomains:
        return "HSTS without includeSubDomains"
    return None


def _computed_hsts(headers: list[Directive], wanted: list[str]) -> bool:
    """The HSTS value the block sends first is computed by nginx (``add_header Strict-Transport-Security $hsts``)."""
    if not any(w.lower() == _STS for w in wanted):
        return False
    first = next((h for h in headers if h.args and h.args[0].lower() == _STS), None)
    return first is not None and len(first.args) > 1 and "$" in first.args[1]


@probe("files.nginx-security-headers", target="files", params={
    "headers": Param("str-list", _HEADERS, help="headers every page carries (HSTS on TLS servers only)"),
    "always": Param("bool", True, help="require the `always` flag (else 4xx/5xx answers go without them)"),
    "hsts_min_age": Param("int", 31536000, help="Strict-Transport-Security max-age at least (seconds), as "
                                                 "network.security-headers"),
    "hsts_subdomains": Param("bool", True, help="Strict-Transport-Security must carry includeSubDomains"),
})
def nginx_security_headers(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every location of every server that serves pages sends the security headers with ``always``, after nginx's
    add_header inheritance: a location (or server) with any add_header of its own drops all of its parent's."""
    got = _config(ctx)
    if isinstance(got, Verdict):
        return got
    _, config = got
    http_headers = [c for h in config if h.name == "http" for c in h.children("add_header")]
    bad: list[tuple[Loc, str]] = []
    computed: list[str] = []
    judged = 0
    for server in _http_servers(config):
        if _redirect_only(server):
            continue
        wanted = [h for h in p["headers"] if _tls(server) is not False or h.lower() != _STS]
        server_headers = _effective(server, http_headers)
        stack: list[tuple[Directive, list[Directive], str]] = [(server, server_headers, "server")]
        leaves: list[tuple[Directive, list[Directive], str]] = []
        while stack:
            block, headers, what = stack.pop()
            locations = block.children("location")
            if block is server or not locations:
                leaves.append((block, headers, what))
            for loc in locations:
                stack.append((loc, _effective(loc, headers), f"location {' '.join(loc.args)[:60]}"))
        for block, headers, what in leaves:
            if _redirect_only(block) or (block is server and server.children("location")):
                continue
            judged += 1
            missing = _missing(headers, wanted, p)
            if missing:
                dropped = " (its own add_header drops the server's)" if block.children("add_header") and \
                    block is not server and not _missing(server_headers, wanted, p) else ""
                bad.append((_at(block), f"{what} lacks {', '.join(missing)}{dropped}"))
            elif _computed_hsts(headers, wanted):
                computed.append(what)
    if bad:
        return failed(findings_text(bad), **evidence(bad, blocks=judged))
    if computed:  # never a pass on a value the file does not hold
        return undecided(f"the Strict-Transport-Security value of {', '.join(computed[:3])} comes from a variable "
                         "nginx computes: network.security-headers judges what is sent", locations=[])
    if judged == 0:
        return undecided("no server of this nginx configuration serves pages (every one redirects, or none is "
                         "defined): nothing to judge", locations=[])
    return passed(f"all {judged} serving block(s) send {', '.join(p['headers'])}"
                  + (" with always" if p["always"] else ""), blocks=judged, locations=[])


# --- port-80 redirect --------------------------------------------------------------------------------------------

def _redirects_to_https(block: Directive, statuses: set[str]) -> bool:
    for d in block.children("return"):
        if len(d.args) >= 2 and d.args[0] in statuses and d.args[1].startswith("https://"):
            return True
    for d in block.children("rewrite"):  # rewrite ... permanent is a 301
        if len(d.args) >= 3 and d.args[1].startswith("https://") and d.args[2] == "permanent" and "301" in statuses:
            return True
    roots = [loc for loc in block.children("location") if loc.args in (("/",), ("^~", "/"))]
    return bool(roots) and _redirects_to_https(roots[0], statuses)


@probe("files.nginx-http-redirect", target="files", params={
    "http_ports": Param("int-list", [80], help="plain-HTTP ports that must only redirect to https"),
    "statuses": Param("int-list", [301, 308], help="redirect statuses accepted (permanent ones, as network."
                                                   "https-redirect)"),
})
def nginx_http_redirect(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every plain-HTTP server on port 80 answers with a redirect to https (``return 301 https://$host$request_uri``)
    instead of serving the application unencrypted."""
    got = _config(ctx)
    if isinstance(got, Verdict):
        return got
    _, config = got
    ports = set(p["http_ports"])
    bad: list[tuple[Loc, str]] = []
    unreadable: list[tuple[Loc, str]] = []
    judged = 0
    for server in _http_servers(config):
        listens = _listens(server)
        if any(ssl is None for _, ssl in listens):
            unreadable.append((_at(server), "a server whose listen cannot be read: its port is unknown"))
            continue
        plain = [port for port, ssl in listens if not ssl and port in ports]
        if not plain:
            continue
        judged += 1
        if not _redirects_to_https(server, {str(s) for s in p["statuses"]}):
            bad.append((_at(server), f"the server on port {plain[0]} does not answer a "
                                     f"{'/'.join(map(str, p['statuses']))} redirect to https://"))
    if bad:
        return failed(findings_text(bad), **evidence(bad + unreadable, http_servers=judged))
    if unreadable:
        return undecided(findings_text(unreadable), **evidence(unreadable, http_servers=judged))
    if judged == 0:
        return not_applicable(f"no server of this nginx configuration listens on port {sorted(ports)}",
                              locations=[])
    return passed(f"{judged} port-80 server(s) redirect to https", http_servers=judged, locations=[])
