"""`readiness diff` and `readiness render` read a hostile report within the fleet's bounds (one guard, in
readiness/fleetstore.py): over the 16 MB cap it is refused unread, a parse bomb under the cap is refused unparsed,
and a deeply nested one is refused, each in one sentence, exit 2, in bounded time and memory."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import reportdata

MAX_RSS_KB = 150 * 1024  # the interpreter and the command's imports take ~40 MB; parsing the bomb ~600 MB


def bomb(path: Path) -> Path:
    """A well-formed report of 12 MB, under the byte cap, whose evidence is millions of empty lists."""
    report = reportdata.sample_report()
    report["results"][0]["evidence"] = {"pad": [[]] * (4 * 2**20)}
    path.write_text(json.dumps(report, separators=(",", ":")))
    return path


# The child's own peak (VmHWM of its address space): ru_maxrss would count the forking test process's pages too.
_PEAK = """import atexit, runpy, sys
OUT = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status, open(OUT, "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(peak)
sys.argv[0] = "readiness"
runpy.run_module("readiness", run_name="__main__", alter_sys=True)
"""


def measured(tmp_path: Path, *args: str) -> tuple[int, str, int, float]:
    """The installed command line: exit code, stderr, peak RSS (KB) and seconds of that process alone."""
    peak = tmp_path / "peak.txt"
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _PEAK, str(peak), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    return proc.returncode, proc.stderr, int(peak.read_text()), time.monotonic() - start


@pytest.mark.parametrize("command", ["diff", "render"])
def test_a_parse_bomb_under_the_cap_is_refused_unparsed_in_bounded_memory(tmp_path, command):
    path = bomb(tmp_path / "bomb.json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(reportdata.sample_report()))
    args = ("diff", str(good), str(path)) if command == "diff" else ("render", str(path), "--html", "x.html")
    code, err, rss, seconds = measured(tmp_path, *args)
    assert code == 2 and err.count("\n") == 1, err
    assert "parsing this report would take about" in err and str(path) in err
    assert rss < MAX_RSS_KB, f"peak RSS {rss / 1024:.0f} MB"
    assert seconds < 30
    assert not (tmp_path / "x.html").exists()


def test_a_report_over_the_fleets_cap_is_refused_unread(tmp_path):
    report = reportdata.sample_report()
    report["results"][0]["evidence"] = {"pad": "x" * (17 * 2**20)}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(report))
    code, err, rss, _ = measured(tmp_path, "render", str(path), "--html", "x.html")
    assert code == 2 and err.count("\n") == 1, err
    assert "files over 16 MB are refused" in err
    assert rss < MAX_RSS_KB, f"peak RSS {rss / 1024:.0f} MB"


def test_a_deeply_nested_report_is_refused_in_one_sentence_not_an_internal_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    code, err, _, _ = measured(tmp_path, "render", str(path), "--html", "x.html")
    assert code == 2 and err.count("\n") == 1, err
    assert "is not a JSON report: its values are nested too deeply" in err
