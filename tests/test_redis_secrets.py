"""A planted Redis password in every credential field and URL form never appears in any output: JSON, HTML, JUnit,
Markdown, SARIF, Prometheus, the terminal text and the --debug log (against a real redis-server and a
password-protected Sentinel)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fixtures_redis import redis_checklist, scratch_redis
from helpers import write_yaml
from servers import Server

from readiness.demo.redis import start_sentinel

# Every character that breaks naive URL parsing ('/', '#', '@', '?'), between distinctive pieces a leak would show.
PW = "Rk4Tz/Wv7Jr#Yt3Mp@Hs6Qa?Lb2Cc"
PIECES = ["Rk4Tz", "Wv7Jr", "Yt3Mp", "Hs6Qa", "Lb2Cc"]
MASTER = "planted-master"


@pytest.fixture(scope="module")
def planted(server_root: Path) -> Iterator[tuple[Server, Server]]:
    with scratch_redis(server_root, "planted", password=PW, users=[f"user planted on >{PW} ~* +@all"]) as server:
        sentinel = start_sentinel(server_root / "redis-scratch" / "planted-sentinel", [(MASTER, server.port, PW)],
                                  password=PW)
        try:
            yield server, sentinel
        finally:
            sentinel.stop()


def forms(port: int, sentinel: int) -> dict[str, dict[str, object]]:
    here = f"127.0.0.1:{port}"
    return {
        "password-only": {"url": f"redis://{quote(PW, safe='')}@{here}/0"},
        "password-only-raw": {"url": f"redis://{PW}@{here}/0"},
        "url-raw": {"url": f"redis://:{PW}@{here}/0"},
        "url-encoded": {"url": f"redis://:{quote(PW, safe='')}@{here}/0"},
        "user-and-password": {"url": f"redis://planted:{PW}@{here}/0"},
        "query": {"url": f"redis://{here}/0?password={quote(PW, safe='')}"},
        "fields": {"url": f"redis://{here}/0", "username": "planted", "password": PW},
        "sentinel": {"url": f"redis+sentinel://:{PW}@[::1]:{sentinel},127.0.0.1:{sentinel}/{MASTER}/0",
                     "sentinel_password": PW},
        "unparseable": {"url": f"redis://:{PW}@127.0.0.1:notaport/0"},
        "wrong-scheme": {"url": f"http://:{PW}@{here}/0"},
    }


def _run(tmp_path: Path, form: str, target: dict[str, object], checklist: str) -> dict[str, str]:
    targets = write_yaml(tmp_path / f"{form}.yaml", {"preset": "langfuse", "redis": target})
    out = {fmt: tmp_path / f"{form}.{fmt}" for fmt in ("json", "html", "junit", "markdown", "sarif", "prometheus")}
    done = subprocess.run(
        [sys.executable, "-m", "readiness", "--debug", "audit", "-c", checklist, "-t", str(targets), "--only",
         "redis", "--timeout", "5", "--no-color", *[a for fmt, path in out.items() for a in (f"--{fmt}", str(path))]],
        capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1, 2), (form, done.returncode, done.stderr[-2000:])
    return {"stdout": done.stdout, "stderr": done.stderr, **{f: p.read_text() for f, p in out.items() if p.exists()}}


@pytest.fixture(scope="module")
def outputs(planted: tuple[Server, Server], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    server, sentinel = planted
    tmp_path = tmp_path_factory.mktemp("redis-secrets")
    checklist = redis_checklist(tmp_path)
    return {form: _run(tmp_path, form, target, checklist) for form, target in forms(server.port, sentinel.port).items()}


def _leaks(texts: dict[str, str]) -> list[tuple[str, str, str]]:
    return [(where, piece, text[max(0, text.find(piece) - 120):text.find(piece) + 40])
            for where, text in texts.items() for piece in [PW, quote(PW, safe=""), *PIECES] if piece in text]


def test_the_planted_password_reaches_no_message_evidence_or_log(outputs: dict[str, dict[str, str]]) -> None:
    """Everything the redis client and probes write: item messages and evidence in the JSON, the terminal text and
    the debug log (the report's targets section is the scrubber's, tested below)."""
    for form in ("password-only", "url-encoded", "user-and-password", "fields", "sentinel"):
        report = json.loads(outputs[form]["json"])
        statuses = {r["id"]: r["status"] for r in report["results"]}
        assert statuses["redis.reachable"] == "pass" and statuses["redis.auth-required"] == "pass", (form, statuses)
    for form in ("unparseable", "wrong-scheme"):
        text = outputs[form]["stdout"] + outputs[form]["stderr"]
        assert "port that is not a number" in text or "scheme is http://" in text, (form, text[-1500:])
    leaks = {}
    for form, texts in outputs.items():
        results = json.loads(texts["json"])["results"] if "json" in texts else []
        found = _leaks({"results": json.dumps(results, ensure_ascii=False), "stderr": texts["stderr"],
                        "stdout-results": texts["stdout"].split("targets", 1)[0]})
        if found:
            leaks[form] = found
    assert not leaks, leaks


def test_the_planted_password_is_in_no_output_format(outputs: dict[str, dict[str, str]]) -> None:
    leaks = {form: found for form, texts in outputs.items() if (found := _leaks(texts))}
    assert not leaks, leaks
