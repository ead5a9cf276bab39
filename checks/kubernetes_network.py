"""Kubernetes network probes: the product's Ingresses (ingress-nginx body size and timeouts, TLS) and LoadBalancer
Services open to the world (listings shared through checks/_kubernetes_facts.py)."""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from readiness.checks import _kubernetes_facts as kf
from readiness.checks._common import listing

from readiness.probe import Param, Verdict, failed, not_applicable, passed, probe, undecided

NGINX = "nginx.ingress.kubernetes.io/"
_NGINX_DEFAULTS = {"proxy-body-size": "1m", "proxy-read-timeout": "60", "proxy-send-timeout": "60"}
_TLS_ANNOTATIONS = ("alb.ingress.kubernetes.io/certificate-arn", "ingress.gcp.kubernetes.io/pre-shared-cert",
                    "networking.gke.io/managed-certificates")
_INTERNAL_LB = {"service.beta.kubernetes.io/aws-load-balancer-internal": ("true", "0.0.0.0/0"),
                "service.beta.kubernetes.io/aws-load-balancer-scheme": ("internal",),
                "networking.gke.io/load-balancer-type": ("Internal",),
                "cloud.google.com/load-balancer-type": ("Internal",),
                "service.beta.kubernetes.io/azure-load-balancer-internal": ("true",)}
# Address space from which no one on the internet can reach the load balancer (RFC 1918, CGNAT, loopback,
# link-local, IPv6 ULA); any other range counts as public, all of it.
_PRIVATE4 = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                  "127.0.0.0/8", "169.254.0.0/16")]
_PRIVATE6 = [ipaddress.IPv6Network(n) for n in ("fc00::/7", "fe80::/10", "::1/128")]


def _public_share(ranges: list[str], min_prefix: int) -> tuple[str | None, str | None]:
    """(why the ranges open the service to a large public space, why a range cannot be read): the public ranges
    together may hold no more addresses than one IPv4 /min_prefix (IPv6: /min_prefix+32); compared as networks,
    so 0.0.0.0/1 + 128.0.0.0/1 is the whole internet."""
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for text in ranges:
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None, f"{text!r} is not a CIDR range"
        if isinstance(net, ipaddress.IPv4Network):
            v4.append(net)
        else:
            v6.append(net)
    public4 = ipaddress.collapse_addresses(n for n in v4 if not any(n.subnet_of(p) for p in _PRIVATE4))
    public6 = ipaddress.collapse_addresses(n for n in v6 if not any(n.subnet_of(p) for p in _PRIVATE6))
    for size, bits, prefix in ((sum(n.num_addresses for n in public4), 32, min_prefix),
                               (sum(n.num_addresses for n in public6), 128, min_prefix + 32)):
        if size > 2 ** (bits - prefix):
            return f"{size:.3g} public addresses, more than a /{prefix}", None
    return None, None


def _nginx_size(text: str) -> int | None:
    """Bytes in an nginx size ("25m", "1g", "512k", "1048576"); nginx's units are binary."""
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)\s*", text)
    if not m:
        return None
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[m.group(2).lower()]


def _nginx_ingresses(ctx: Any) -> tuple[list[dict[str, Any]], list[str], Verdict | None]:
    """The Ingresses served by ingress-nginx (and those of other classes, by name); a verdict when none are."""
    ingresses = kf.objects(ctx, "ingresses")
    if not ingresses:
        return [], [], kf.absent(ctx, "Ingress")
    nginx, other = [], []
    for ing in ingresses:
        cls = str(kf.get(ing, "spec.ingressClassName") or kf.annotations_of(ing).get("kubernetes.io/ingress.class", ""))
        if not cls or "nginx" in cls or any(a.startswith(NGINX) for a in kf.annotations_of(ing)):
            nginx.append(ing)
        else:
            other.append(f"{kf.ref(ing)} (class {cls})")
    if not nginx:
        return [], other, not_applicable(f"no Ingress served by ingress-nginx ({listing(other)}): check that proxy's "
                                         "limits (network.body-size probes the public endpoint)")
    return nginx, other, None


@probe("kubernetes.ingress-body-size", target="kubernetes", reads=("ingresses", "deployments"), params={
    "min_size": Param("str", "25m", help="the product's largest request (nginx units: 25m = 25 MiB)"),
})
def ingress_body_size(ctx: Any, p: dict[str, Any]) -> Verdict:
    """ingress-nginx's proxy-body-size on the product's Ingresses is at least `min_size` (0 = unlimited)."""
    want = _nginx_size(p["min_size"])
    if want is None:
        return undecided(f"min_size {p['min_size']!r} is not an nginx size (e.g. 25m)")
    ingresses, _, gap = _nginx_ingresses(ctx)
    if gap is not None:
        return gap
    sizes = {kf.ref(i): kf.annotations_of(i).get(NGINX + "proxy-body-size") for i in ingresses}
    for ref, value in sorted(sizes.items()):
        if value is None:
            return failed(f"Ingress {ref} sets no {NGINX}proxy-body-size: ingress-nginx's default 1m answers 413 to "
                          f"SDK batches (need >= {p['min_size']})", sizes=sizes)
        size = _nginx_size(value)
        if size is None:
            return undecided(f"Ingress {ref}: proxy-body-size {value!r} is not an nginx size", sizes=sizes)
        if size != 0 and size < want:
            return failed(f"Ingress {ref}: proxy-body-size {value} < {p['min_size']}: larger trace batches get 413",
                          sizes=sizes)
    return passed(f"proxy-body-size >= {p['min_size']} on {listing(sorted(sizes))}", sizes=sizes)


@probe("kubernetes.ingress-timeouts", target="kubernetes", reads=("ingresses", "deployments"), params={
    "min_seconds": Param("int", 300, help="smallest proxy-read-timeout / proxy-send-timeout"),
})
def ingress_timeouts(ctx: Any, p: dict[str, Any]) -> Verdict:
    """ingress-nginx's proxy-read-timeout and proxy-send-timeout are at least `min_seconds`."""
    ingresses, _, gap = _nginx_ingresses(ctx)
    if gap is not None:
        return gap
    seen: dict[str, dict[str, str | None]] = {}
    for ing in ingresses:
        ann = kf.annotations_of(ing)
        seen[kf.ref(ing)] = {k: ann.get(NGINX + k) for k in ("proxy-read-timeout", "proxy-send-timeout")}
    for ref, values in sorted(seen.items()):
        for key, value in values.items():
            shown = value if value is not None else f"not set (default {_NGINX_DEFAULTS[key]})"
            number = value if value is not None else _NGINX_DEFAULTS[key]
            if not re.fullmatch(r"\d+s?", str(number).strip()):
                return undecided(f"Ingress {ref}: {key} {value!r} is not a number of seconds", timeouts=seen)
            if int(str(number).strip().rstrip("s")) < p["min_seconds"]:
                return failed(f"Ingress {ref}: {key} {shown} < {p['min_seconds']} s: long queries and exports are "
                              "cut off with 504", timeouts=seen)
    return passed(f"proxy read/send timeouts >= {p['min_seconds']} s on {listing(sorted(seen))}", timeouts=seen)


def _covered(host: str, tls_hosts: list[str]) -> bool:
    return any(host == h or (h.startswith("*.") and fnmatch.fnmatchcase(host, h) and host.count(".") == h.count("."))
               for h in tls_hosts)


@probe("kubernetes.ingress-tls", target="kubernetes", reads=("ingresses", "deployments"))
def ingress_tls(ctx: Any, p: dict[str, Any]) -> Verdict:
    """Every Ingress of the product terminates TLS for each of its hosts (spec.tls, or the cloud LB's certificate)."""
    ingresses = kf.objects(ctx, "ingresses")
    if not ingresses:
        return kf.absent(ctx, "Ingress")
    for ing in sorted(ingresses, key=kf.ref):
        if any(a in kf.annotations_of(ing) for a in _TLS_ANNOTATIONS):
            continue
        tls = kf.dicts(ing, "spec.tls")
        if not tls:
            return failed(f"Ingress {kf.ref(ing)} has no spec.tls: traffic, API keys and traces cross the network in "
                          "clear text")
        tls_hosts = [str(h) for t in tls for h in kf.seq(t, "hosts")]
        hosts = [str(r.get("host")) for r in kf.dicts(ing, "spec.rules") if r.get("host")]
        bare = [h for h in hosts if not _covered(h, tls_hosts)]
        if bare:
            return failed(f"Ingress {kf.ref(ing)}: host {listing(bare)} is not in its spec.tls hosts")
        if not any(t.get("secretName") for t in tls):
            return failed(f"Ingress {kf.ref(ing)}: spec.tls names no secretName (the controller's default "
                          "certificate will not match)")
    return passed(f"TLS on {listing(sorted(kf.ref(i) for i in ingresses))}")


_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


@probe("kubernetes.lb-source-ranges", target="kubernetes", reads=("services", "deployments"), params={
    "min_prefix": Param("int", 16, help="the public source ranges of a LoadBalancer together may span at most one "
                                        "IPv4 /min_prefix (IPv6: /min_prefix+32); private ranges are not counted"),
})
def lb_source_ranges(ctx: Any, p: dict[str, Any]) -> Verdict:
    """No LoadBalancer Service is open to the world: internal, or restricted by loadBalancerSourceRanges to at most
    a /`min_prefix` of public addresses."""
    services = kf.objects(ctx, "services")
    odd_types = sorted(kf.ref(s) for s in services if not isinstance(kf.get(s, "spec"), Mapping)
                       or kf.get(s, "spec.type", "ClusterIP") not in _SERVICE_TYPES)
    if odd_types:  # unreadable, so it may be a LoadBalancer
        return undecided(f"Service {listing(odd_types)}: spec.type is not a Service type")
    lbs = [s for s in services if kf.get(s, "spec.type") == "LoadBalancer"]
    if not lbs and not kf.product_seen(ctx, kf.services(ctx)):
        return kf.absent(ctx, "product Deployment")
    open_ = []
    for svc in lbs:
        ann = kf.annotations_of(svc)
        if any(ann.get(k) in v for k, v in _INTERNAL_LB.items()):
            continue
        ranges = [str(r) for r in kf.seq(svc, "spec.loadBalancerSourceRanges")]
        ranges += [r.strip() for r in ann.get("service.beta.kubernetes.io/load-balancer-source-ranges", "").split(",")
                   if r.strip()]
        wide, odd = _public_share(ranges, p["min_prefix"])
        if odd:
            return undecided(f"LoadBalancer Service {kf.ref(svc)}: source range {odd}")
        if not ranges or wide:
            why = f"{', '.join(ranges)}: {wide}" if ranges else "no loadBalancerSourceRanges"
            open_.append(f"{kf.ref(svc)} ({why})")
    if open_:
        return failed(f"LoadBalancer Service {listing(open_)} is open to the internet: it bypasses the Ingress "
                      "(TLS, body limits, auth)", open=open_)
    return passed(f"{len(lbs)} LoadBalancer Services, none open to the world" if lbs else "no LoadBalancer Service")
