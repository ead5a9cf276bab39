"""Figures for the blob section against moto's S3 server: wall time, requests per audit (counted by the client's guard
and, independently, by the server's access log), and what a frozen endpoint costs.

Run from the repository root with the project installed:  .venv/bin/python bench/bench_s3.py [RUNS]
Starts moto_server on a free port with one well-configured bucket (lifecycle tiers, encryption, public access
block, versioning with noncurrent expiry); the blob section runs with the langsmith preset, read-only.
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
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


def one_run(targets: Path, log: Path | None, timeout: float = 10.0) -> dict[str, Any]:
    inputs = load_inputs(None, str(targets))
    options = Options(profile="production", preset="langsmith", only=("blob",), timeout=timeout)
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


def main() -> None:
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
