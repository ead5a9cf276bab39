"""Run a command as if the machine were heavily loaded, without loading anyone else's CPU: the command's process
group is stopped and continued in turn (SIGSTOP/SIGCONT), so its threads' deadlines and timeouts see long pauses.

    python3 tests/slowdown.py RUN_MS STOP_MS -- .venv/bin/pytest tests/test_fail_closed.py

The exit status is the command's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    run, stop = float(argv[1]) / 1000, float(argv[2]) / 1000
    proc = subprocess.Popen(argv[argv.index("--") + 1:], start_new_session=True)
    try:
        while proc.poll() is None:
            time.sleep(run)
            try:
                os.killpg(proc.pid, signal.SIGSTOP)
                time.sleep(stop)
                os.killpg(proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                break
    finally:
        try:
            os.killpg(proc.pid, signal.SIGCONT)  # never leave the group stopped (an interrupt mid-pause)
        except ProcessLookupError:
            pass
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
