"""Throwaway real servers for the tests: start a process on 127.0.0.1, wait for its port, stop it by PID,
keep its log (copied into artifacts/ when a test using it failed)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


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

    def __init__(self, name: str, argv: Sequence[str], workdir: Path, *, port: int | None = None,
                 user: str | None = None, env: dict[str, str] | None = None, host: str = "127.0.0.1"):
        self.name, self.argv, self.workdir, self.port, self.user, self.host = name, list(argv), workdir, port, user, host
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
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)

    def keep_log(self, label: str) -> None:
        if self.log.exists():
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(self.log, ARTIFACTS / f"{label}-{self.log.name}")


class BlackHole:
    """A port that accepts connections and never answers: the worst kind of broken target."""

    def __init__(self, host: str = "127.0.0.1"):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(128)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.accepted.append(conn)
            except OSError:
                continue

    def close(self) -> None:
        self._stop = True
        for conn in self.accepted:
            conn.close()
        self.sock.close()
