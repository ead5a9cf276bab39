"""Throwaway real servers for the demo stack and the tests: start a process on 127.0.0.1, wait for its port, stop it
by PID, keep its log."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 30.0, proc: subprocess.Popen | None = None,
              log: Path | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}:\n{tail}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class Server:
    """One server process.  ``user`` runs it through runuser (PostgreSQL and PgBouncer refuse root)."""

    stop_signal = signal.SIGTERM  # PostgreSQL: SIGINT (a fast shutdown, not waiting for clients to leave)

    def __init__(self, name: str, argv: Sequence[str], workdir: Path, *, port: int | None = None,
                 user: str | None = None, env: dict[str, str] | None = None, host: str = "127.0.0.1"):
        self.name, self.argv, self.workdir = name, list(argv), workdir
        self.port, self.user, self.host = port, user, host
        self.env = {**os.environ, **(env or {})}
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = ["runuser", "-u", self.user, "--", *self.argv] if self.user and os.geteuid() == 0 else self.argv
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.workdir, env=self.env, start_new_session=True)
        if self.port is not None:
            try:
                wait_port(self.port, self.host, timeout, self.proc, self.log)
            except Exception:
                self.stop()
                raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, self.stop_signal)
            self.proc.wait(timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)

    def keep_log(self, into: Path, label: str) -> None:
        if self.log.exists():
            into.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.log, into / f"{label}-{self.log.name}")
