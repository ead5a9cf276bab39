"""Figures for the blob section against moto's S3 server: wall time, requests per audit (counted by the client's guard
and, independently, by the server's access log), and what a frozen endpoint costs.

Run from the repository root with the project installed:  .venv/bin/python bench/bench_s3.py [RUNS]
Starts moto_server on a free port with one well-configured bucket (lifecycle tiers, encryption, public access
block, versioning with noncurrent expiry); the blob section runs with the langsmith preset, read-only.

``bench/bench_s3.py growth [SIZES...]`` (default 10 10000 100000) measures how the section, with the opted-in
blob.round-trip, grows with the objects in the bucket: time, requests, peak RSS of a fresh process per size.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import yaml

from readiness.audit import load_inputs
from readiness.demo.process import Server, free_port
from readiness.runner import Options, close_sessions, plan, run

BUCKET = "bench-traces"


def seed(url: str) -> None:
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                      aws_secret_access_key="bench")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [
        {"ID": "short", "Status": "Enabled", "Filter": {"Prefix": "ttl_s/"}, "Expiration": {"Days": 14}},
        {"ID": "long", "Status": "Enabled", "Filter": {"Prefix": "ttl_l/"}, "Expiration": {"Days": 400}},
        {"ID": "versions", "Status": "Enabled", "Filter": {"Prefix": ""},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 30}, "Expiration": {"ExpiredObjectDeleteMarker": True}}]})
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={
        f: True for f in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")})


def server_requests(log: Path) -> int:
    return len(re.findall(r'"(?:GET|PUT|POST|DELETE|HEAD) \S+ HTTP', log.read_text(errors="replace")))


def one_run(targets: Path, log: Path | None, timeout: float = 10.0,
            only: tuple[str, ...] = ("blob",)) -> dict[str, Any]:
    inputs = load_inputs(None, str(targets))
    options = Options(profile="production", preset="langsmith", only=only, timeout=timeout)
    planned = plan(inputs.checklist, options)
    before = server_requests(log) if log else 0
    start = time.perf_counter()
    results, sessions = run(planned, inputs.targets, options)
    wall = time.perf_counter() - start
    handle = sessions["s3"]._client  # noqa: SLF001 - None when the connection failed
    close_sessions(sessions)
    probed = [r for r in results if r.section == "blob" and r.status != "skipped"]
    slowest = max(probed, key=lambda r: r.duration_s)
    return {"wall_s": wall, "slowest_s": slowest.duration_s, "slowest_id": slowest.id, "items": len(probed),
            "client_requests": handle.requests if handle else 0, "facts": sessions["s3"].round_trips,
            "server_requests": (server_requests(log) - before) if log else 0,
            "statuses": {s: sum(r.status == s for r in probed) for s in ("pass", "fail", "error")}}


def frozen(work: Path, timeout: float) -> tuple[dict[str, Any], int]:
    """The section against a port that accepts and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    targets = work / "frozen.yaml"
    targets.write_text(yaml.safe_dump({"s3": {"bucket": BUCKET, "endpoint_url": f"http://127.0.0.1:"
                                              f"{sock.getsockname()[1]}", "access_key_id": "bench",
                                              "secret_access_key": "bench"}}))
    try:
        figures = one_run(targets, None, timeout)
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        sock.close()
    return figures, len(accepted)


def fill(total: int) -> None:
    """Objects under the product's prefixes until the bucket holds ``total``, put straight into the in-process moto
    backend (over HTTP moto takes minutes per 10,000 keys: its listing and versioning walk every key)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    have = len(backend.get_bucket(BUCKET).keys)
    prefixes = ("ttl_s/", "ttl_l/", "media/")
    for i in range(have, total):
        backend.put_object(BUCKET, f"{prefixes[i % 3]}run-{i:07d}", b"x")


def growth_child(targets: str) -> None:
    """One measured run in a fresh process (its own peak RSS), printed as JSON."""
    path = Path(targets)
    one_run(path, None, only=("blob.round-trip",))  # warm-up: imports, botocore's model, the first connection
    figures = one_run(path, None)
    # VmHWM is this process's own peak: ru_maxrss carries the parent's across exec on Linux
    hwm = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    figures["peak_rss_mb"] = int(hwm.group(1)) / 1024 if hwm else float("nan")
    print(json.dumps(figures))


def growth(sizes: list[int]) -> None:
    from moto.server import ThreadedMotoServer

    work = Path(tempfile.mkdtemp(prefix="readiness-bench-s3-growth-"))
    port = free_port()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log, one line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    rows = []
    try:
        url = f"http://127.0.0.1:{port}"
        seed(url)
        targets = work / "targets.yaml"
        targets.write_text(yaml.safe_dump({
            "opt_in": ["blob.round-trip"],
            "s3": {"bucket": BUCKET, "endpoint_url": url, "region": "us-east-1", "access_key_id": "bench",
                   "secret_access_key": "bench", "allow_writes": True}}))
        for size in sorted(sizes):
            started = time.perf_counter()
            fill(size)
            filled = time.perf_counter() - started
            out = subprocess.run([sys.executable, __file__, "growth-child", str(targets)],
                                 capture_output=True, text=True, check=True).stdout
            rows.append((size, filled, json.loads(out.strip().splitlines()[-1])))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("blob section (with the opted-in round trip) against moto's server, by objects in the bucket")
    print(f"  {'objects':>8} {'wall ms':>8} {'slowest item':>28} {'requests':>8} {'peak RSS MB':>11} {'verdicts'}")
    for size, _, f in rows:
        slowest = f"{f['slowest_id']} {f['slowest_s'] * 1000:.0f}ms"
        print(f"  {size:>8} {f['wall_s'] * 1000:>8.1f} {slowest:>28} "
              f"{f['client_requests']:>8} {f['peak_rss_mb']:>11.1f} {f['statuses']}")
    print("  requests counted by the client's guard; seeding took " +
          ", ".join(f"{filled:.1f} s to {size}" for size, filled, _ in rows))


def main() -> None:
    if sys.argv[1:2] == ["growth"]:
        growth([int(a) for a in sys.argv[2:]] or [10, 10_000, 100_000])
        return
    if sys.argv[1:2] == ["growth-child"]:
        growth_child(sys.argv[2])
        return
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    work = Path(tempfile.mkdtemp(prefix="readiness-bench-s3-"))
    port = free_port()
    server = Server("moto", [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                    work / "moto", port=port).start()
    try:
        url = f"http://127.0.0.1:{port}"
        seed(url)
        targets = work / "targets.yaml"
        targets.write_text(yaml.safe_dump({"s3": {"bucket": BUCKET, "endpoint_url": url, "region": "us-east-1",
                                                  "access_key_id": "bench", "secret_access_key": "bench"}}))
        one_run(targets, server.log)  # warm-up: imports, botocore's service model
        figures = [one_run(targets, server.log) for _ in range(runs)]
        down, connections = frozen(work, 1.0)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    last = figures[-1]
    wall = statistics.median(f["wall_s"] for f in figures)
    slowest = statistics.median(f["slowest_s"] for f in figures)
    print(f"blob section against moto_server, preset langsmith, {last['items']} probed items, {runs} runs (median)")
    print(f"  verdicts (last run): {last['statuses']}")
    print(f"  total wall time:        {wall * 1000:7.1f} ms   (min {min(f['wall_s'] for f in figures) * 1000:.1f},"
          f" max {max(f['wall_s'] for f in figures) * 1000:.1f})")
    print(f"  slowest single item:    {slowest * 1000:7.1f} ms   ({last['slowest_id']} in the last run)")
    print(f"  requests per audit:     {last['client_requests']} counted by the client's guard, "
          f"{last['server_requests']} in moto's access log, {last['facts']} shared facts (+ HEAD at connect)")
    print(f"  frozen endpoint (1 s item timeout): {down['wall_s']:.2f} s wall for {down['items']} items, "
          f"{connections} connection(s) accepted, verdicts {down['statuses']}")


if __name__ == "__main__":
    main()
