"""Engine benchmarks (figures printed, nothing asserted): CLI start-up, hostile files through the loaders (both YAML
parsers), runner overhead, concurrency, black hole.

    .venv/bin/python bench/bench_engine.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "plugin")]
import conftest  # noqa: E402,F401  registers the test plugin's testdb target kind
import readiness_testplugin as plugin  # noqa: E402
from servers import BlackHole  # noqa: E402

from readiness import yamlsrc  # noqa: E402
from readiness.audit import execute, load_inputs  # noqa: E402
from readiness.runner import Options  # noqa: E402

BIN = str(Path(sys.executable).parent / "readiness")


# As users run it: bytecode cached (this environment sets PYTHONDONTWRITEBYTECODE, which would time compiling).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(argv: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, env=ENV)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def side_by_side(commands: dict[str, list[str]], rounds: int = 15, env: dict[str, str] | None = None
                 ) -> dict[str, float]:
    """Median wall time of each command, the commands interleaved round by round so that load from other work on
    the machine falls on all of them alike."""
    env = env or ENV
    for argv in commands.values():
        subprocess.run(argv, capture_output=True, env=env)  # warm the page cache and write the bytecode
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, env=env)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def installed(tmp: Path) -> Path:
    """The package as users install it, offline: a wheel built from the source (pip's build isolation takes the
    backend from the configured index), installed with --no-deps into a fresh venv that finds the dependencies in
    this environment's site-packages through a .pth file (not a site dir: this venv's editable finder stays out)."""
    root = HERE.parent
    src = tmp / "src"  # a copy: building in the tree would leave build/ and egg-info there
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    for name in ("readiness", "checks", "reports"):
        shutil.copytree(root / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check", "-w",
                    str(tmp / "dist"), str(src)], check=True, capture_output=True, timeout=900)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = str(venv / "bin" / "python")
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    Path(site, "_readiness_bench_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next((tmp / "dist").glob("readiness-*.whl"))
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True, timeout=900)
    return venv


def startup(tmp: Path, rounds: int = 9) -> None:
    """As the issue measures it: whole processes of an installed copy, each paired run by run with
    ``python -c pass`` of the same venv; the median of the per-round ratios.  `validate` and `list` both warm (their
    kept answer present) and cold (READINESS_NO_CACHE=1: every probe module imported, the checklist parsed and
    validated every run), and "new" between them: the kept answer deleted before each run (a checklist just edited:
    the probe index and the parsed packaged checklist still kept)."""
    venv = installed(tmp)
    env = {**ENV, "XDG_CACHE_HOME": str(tmp / "cache")}
    cold = {**env, "READINESS_NO_CACHE": "1"}
    py, bin_ = str(venv / "bin" / "python"), str(venv / "bin" / "readiness")
    start = time.perf_counter()
    subprocess.run([bin_, "validate"], capture_output=True, env=env, check=True)
    print(f"installed copy: first `readiness validate` (builds the probe index, caches the checklist) "
          f"{(time.perf_counter() - start) * 1000:.0f} ms")
    # the aims hold for the runs it measures: an installed copy run again and again (the first run builds the
    # caches).  "new" and "cold" are printed to show what the caches save, with no aim
    runs = {"--help": (["--help"], env, 2), "validate warm": (["validate"], env, 3), "list warm": (["list"], env, 3),
            "validate new": (["validate"], env, None), "list new": (["list"], env, None),
            "validate cold": (["validate"], cold, None), "list cold": (["list"], cold, None)}
    for argv, run_env, _ in runs.values():
        subprocess.run([bin_, *argv], capture_output=True, env=run_env)
    ratios: dict[str, list[float]] = {a: [] for a in runs}
    walls: dict[str, list[float]] = {a: [] for a in ["pass", *runs]}
    for _ in range(rounds):
        for name, (argv, run_env, _) in runs.items():
            kept = {p: p.read_bytes() for p in (tmp / "cache" / "readiness").glob("result-*.cache")}
            if name.endswith(" new"):  # the answers aside for this run, back for the warm ones
                for path in kept:
                    path.unlink()
            t0 = time.perf_counter()
            subprocess.run([py, "-c", "pass"], capture_output=True, env=run_env)
            t1 = time.perf_counter()
            subprocess.run([bin_, *argv], capture_output=True, env=run_env)
            t2 = time.perf_counter()
            for path, data in kept.items():
                path.write_bytes(data)
            ratios[name].append((t2 - t1) / (t1 - t0))
            walls["pass"].append(t1 - t0)
            walls[name].append(t2 - t1)
    print(f"installed copy, median of {rounds} paired runs:  python -c pass "
          f"{statistics.median(walls['pass']) * 1000:6.1f} ms  (load average {os.getloadavg()[0]:.2f})")
    for name, (_, _, aim) in runs.items():
        ratio = statistics.median(ratios[name])
        verdict = f"aim {aim}x  {'met' if ratio <= aim else 'NOT met'}" if aim else "(no aim)"
        wall_ms = statistics.median(walls[name]) * 1000
        print(f"  readiness {name:<14} {wall_ms:7.1f} ms  {ratio:4.1f}x python  {verdict}")


LOAD = """
import resource, sys, time
from readiness import yamlsrc
from readiness.errors import ConfigError
from readiness.waivers import load_waivers
if sys.argv[2] == "pure":
    yamlsrc._FAST = None
start = time.perf_counter()
try:
    load_waivers(sys.argv[1])
    said = "loaded"
except ConfigError as exc:
    said = exc.text.splitlines()[0].split(": ", 1)[-1][:60]
print(f"{time.perf_counter() - start:7.3f} s  {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.0f} MB"
      f"  {said}")
"""


def loaders(tmp: Path) -> None:
    """Hostile files through the loader, each in its own process (time to refusal, peak memory of the process)."""
    bomb = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
    files = {
        "alias bomb, 9 lines": bomb,
        "3.9 MB of '['": "[" * 3_900_000,
        "3.9 MB of '{a: '": "{a: " * 975_000,
        "3.9 MB list of numbers": "- 1\n" * 975_000,
        "3.9 MB of 'k: v' lines": "".join(f"key{i:07d}: value{i:07d}\n" for i in range(150_000)),
        "13,500 waivers (94,501 values)": "".join(f"- {{id: s.i{i}, justification: j, expires: 2030-01-01}}\n"
                                                  for i in range(13_500)),
    }
    shipped = Path(__file__).resolve().parent.parent / "readiness" / "checklist.yaml"
    for parser in ("libyaml", "pure"):
        for name, text in files.items():
            path = tmp / "hostile.yaml"
            path.write_text(text)
            run = subprocess.run([sys.executable, "-c", LOAD, str(path), parser], capture_output=True, text=True,
                                 env=ENV, timeout=600)
            print(f"{parser:<7} {name:<30} {(run.stdout or run.stderr).strip().splitlines()[-1]}")
        start = time.perf_counter()
        for _ in range(20):
            yamlsrc.load_text(shipped.read_text(), str(shipped), libyaml=parser == "libyaml")
        print(f"{parser:<7} {'packaged checklist.yaml':<30} {(time.perf_counter() - start) / 20 * 1000:7.1f} ms")


def checklist(tmp: Path, items: list[str]) -> str:
    path = tmp / "checklist.yaml"
    path.write_text("version: 1\nname: bench\nsections:\n  - id: s\n    title: S\n    items:\n"
                    + textwrap.indent("".join(items), "      "))
    return str(path)


def item(i: int, probe: str, with_: str) -> str:
    return f"- id: s.i{i}\n  title: t\n  level: required\n  probe: {probe}\n  with: {with_}\n  rationale: r\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        startup(Path(d))
    timed = side_by_side({"python -c pass": [sys.executable, "-c", "pass"],
                          **{f"readiness {a}": [BIN, a] for a in ("--help", "validate", "list")}})
    base = timed["python -c pass"]
    print("this (development) environment, for comparison:")
    for name, t in timed.items():
        print(f"  {name:<24} {t * 1000:7.1f} ms  {t / base:4.1f}x python")

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        loaders(tmp)
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
