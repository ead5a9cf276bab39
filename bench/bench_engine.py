"""Engine benchmarks (figures printed, nothing asserted): CLI start-up, runner overhead, concurrency, black hole.

    .venv/bin/python bench/bench_engine.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "plugin")]
import conftest  # noqa: E402,F401  registers the test plugin's testdb target kind
import readiness_testplugin as plugin  # noqa: E402
from servers import BlackHole  # noqa: E402

from readiness.audit import execute, load_inputs  # noqa: E402
from readiness.runner import Options  # noqa: E402

BIN = str(Path(sys.executable).parent / "readiness")


def wall(argv: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def checklist(tmp: Path, items: list[str]) -> str:
    path = tmp / "checklist.yaml"
    path.write_text("version: 1\nname: bench\nsections:\n  - id: s\n    title: S\n    items:\n"
                    + textwrap.indent("".join(items), "      "))
    return str(path)


def item(i: int, probe: str, with_: str) -> str:
    return f"- id: s.i{i}\n  title: t\n  level: required\n  probe: {probe}\n  with: {with_}\n  rationale: r\n"


def main() -> None:
    base = wall([sys.executable, "-c", "pass"])
    print(f"python -c pass              {base * 1000:7.1f} ms")
    for args in (["--help"], ["validate"], ["list"]):
        t = wall([BIN, *args])
        print(f"readiness {' '.join(args):<17} {t * 1000:7.1f} ms  (+{(t - base) * 1000:.1f} ms over python)")

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cl = checklist(tmp, [item(i, "test.constant", "{status: pass}") for i in range(1000)])
        inputs = load_inputs(cl, None)
        for conc in (1, 16):
            start = time.perf_counter()
            _, results = execute(inputs, Options(concurrency=conc), "required")
            took = time.perf_counter() - start
            print(f"1000 no-op items, concurrency {conc:>2}: {took * 1000:7.1f} ms total, "
                  f"{took / len(results) * 1e6:6.0f} us per item")

        cl = checklist(tmp, [item(i, "test.sleep", "{seconds: 1}") for i in range(32)])
        start = time.perf_counter()
        _, results = execute(load_inputs(cl, None), Options(concurrency=32), "required")
        took = time.perf_counter() - start
        total = sum(r.duration_s for r in results)
        print(f"32 items of 1 s, concurrency 32: wall {took:.2f} s, sum of items {total:.1f} s, "
              f"wall/sum {took / total:.3f}")

        hole = BlackHole()
        cl = checklist(tmp, [item(i, "test.echo", "{expect: {present: true}}") for i in range(50)])
        targets = tmp / "targets.yaml"
        targets.write_text(f"testdb: {{port: {hole.port}}}\n")
        plugin.Client.connects = 0
        start = time.perf_counter()
        _, results = execute(load_inputs(cl, str(targets)), Options(timeout=2, concurrency=8), "required")
        took = time.perf_counter() - start
        hole.close()
        print(f"50 items on a black-holed target, --timeout 2: wall {took:.2f} s, connection attempts "
              f"{plugin.Client.connects}, statuses {sorted({r.status for r in results})}")


if __name__ == "__main__":
    main()
