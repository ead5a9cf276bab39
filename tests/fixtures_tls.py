"""A scratch directory the postgres user can enter, and one CA + server certificate for every TLS server."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import ARTIFACTS, Server

from readiness.demo.tls import TlsFiles, make_tls


@pytest.fixture(scope="session")
def server_root() -> Iterator[Path]:
    """Work dirs of the session's servers; traversable by the postgres user (PostgreSQL refuses root)."""
    root = Path(tempfile.mkdtemp(prefix="readiness-servers-"))
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_files(server_root: Path) -> TlsFiles:
    files = make_tls(server_root / "tls")
    os.chmod(server_root / "tls", 0o755)
    for path in (files.ca, files.cert, files.key):
        os.chmod(path, 0o644)  # the servers copy them; the postgres user must be able to read them
    return files


def stop_all(request: pytest.FixtureRequest, servers: list[Server], label: str) -> None:
    """Stop servers by PID; keep their logs in artifacts/ when a test failed."""
    failed = request.session.testsfailed > 0
    for server in servers:
        server.stop()
        if failed:
            server.keep_log(ARTIFACTS, label)
