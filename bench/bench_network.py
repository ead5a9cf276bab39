"""Figures for the network and app sections against a real nginx (good and bad) in front of the application stubs:
wall time, the slowest item, and the connections the audit opened (counted by the http and network clients).

Run from the repository root with the project installed:  .venv/bin/python bench/bench_network.py [RUNS]
Also times a black-holed endpoint (accepts TCP, never answers): its items must cost about one timeout in total.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from readiness.audit import load_inputs
from readiness.clients.http import HttpHandle
from readiness.clients.network import NetworkHandle
from readiness.demo.appstub import AppStub
from readiness.demo.nginx import NginxSpec, make_ca, make_cert, start_nginx
from readiness.runner import Options, close_sessions, plan, run

SECTIONS = ("network", "app")


def one_run(targets: Path, timeout: float = 10.0) -> dict[str, Any]:
    inputs = load_inputs(None, str(targets))
    options = Options(profile="production", preset="langsight", only=SECTIONS, timeout=timeout)
    planned = plan(inputs.checklist, options)
    http0, net0 = HttpHandle.opened_total, NetworkHandle.opened_total
    start = time.perf_counter()
    results, sessions = run(planned, inputs.targets, options)
    close_sessions(sessions)
    wall = time.perf_counter() - start
    probed = [r for r in results if r.probe and r.status != "skipped" and r.section in SECTIONS
              and not r.id.startswith("k8s.")]  # the Kubernetes rows of the section need a cluster
    slowest = max(probed, key=lambda r: r.duration_s)
    return {"wall_s": wall, "slowest_s": slowest.duration_s, "slowest_id": slowest.id, "items": len(probed),
            "http_connections": HttpHandle.opened_total - http0, "tcp_connects": NetworkHandle.opened_total - net0,
            "statuses": {s: sum(r.status == s for r in probed) for s in ("pass", "fail", "error")},
            "errors": {r.id: r.message for r in probed if r.status == "error"}}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    root = Path(tempfile.mkdtemp(prefix="bench-network-"))
    ca = make_ca(root / "pki")
    names = ("127.0.0.1", "localhost", "127.0.0.2")
    good_cert, short_cert = (make_cert(ca, root / "pki", n, names, d) for n, d in (("good", 90), ("short", 2)))
    healthy = AppStub("healthy", token="bench-token").start()
    failing = AppStub("failing", "127.0.0.2").start()  # reachable from the "outside" address: an exposed port
    store = socket.socket()  # a listener standing in for the datastores: only connect time is measured
    store.bind(("127.0.0.1", 0))
    store.listen(1024)
    servers = []
    try:
        good = start_nginx(NginxSpec(good_cert, healthy.url, listen=("127.0.0.1", "127.0.0.2")), root / "good")
        servers.append(good)
        bad = start_nginx(NginxSpec(short_cert, failing.url, protocols="TLSv1 TLSv1.1 TLSv1.2",
                                    ciphers="DEFAULT:@SECLEVEL=0", headers=(), redirect=False, max_body="1m"),
                          root / "bad")
        servers.append(bad)
        frozen = socket.socket()
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(1024)
        sp = store.getsockname()[1]
        stores = {"redis": {"url": f"redis://127.0.0.1:{sp}/0"}, "postgres": {"dsn": f"postgresql://u@127.0.0.1:{sp}/d"},
                  "clickhouse": {"url": f"clickhouse://default@127.0.0.1:{sp}/default"}}

        def targets(name: str, nginx: Any, stub: AppStub, private: list[int]) -> Path:
            http: dict[str, Any] = {"base_url": f"https://127.0.0.1:{nginx.https_port}/", "ca_file": str(ca.cert),
                                    "http_url": f"http://127.0.0.1:{nginx.http_port}/", "worker_url": stub.url}
            if stub is healthy:
                http["metrics_token"] = "bench-token"
            data = {"preset": "langsight", "http": http, **stores,
                    "network": {"public_host": "127.0.0.2", "viewpoint": "127.0.0.2",
                                "public_ports": [good.http_port, good.https_port], "private_ports": private}}
            path = root / f"{name}.yaml"
            path.write_text(yaml.safe_dump(data))
            return path

        cases = {"good": targets("good", good, healthy, [healthy.port, sp]),
                 "bad": targets("bad", bad, failing, [healthy.port, failing.port])}
        for name, path in cases.items():
            rows = [one_run(path) for _ in range(runs)]
            walls = [r["wall_s"] for r in rows]
            last = rows[-1]
            print(f"{name}: {last['items']} items {last['statuses']}; wall median {statistics.median(walls):.3f}s "
                  f"(min {min(walls):.3f}, max {max(walls):.3f}); slowest {last['slowest_id']} "
                  f"{last['slowest_s']:.3f}s; http connections {last['http_connections']}, tcp connects "
                  f"{last['tcp_connects']} per run")
            if last["errors"]:
                print("  errors:", last["errors"])
        frozen_targets = yaml.safe_load(cases["good"].read_text())
        frozen_targets["http"] = {"base_url": f"https://127.0.0.1:{frozen.getsockname()[1]}/"}
        frozen_path = root / "frozen.yaml"
        frozen_path.write_text(yaml.safe_dump(frozen_targets))
        row = one_run(frozen_path, timeout=2.0)
        print(f"frozen endpoint (timeout 2s): wall {row['wall_s']:.3f}s for {row['items']} items "
              f"{row['statuses']}; http connections {row['http_connections']}")
        frozen.close()
    finally:
        for nginx in servers:
            nginx.stop()
        healthy.stop()
        failing.stop()
        store.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
