"""PostgreSQL credentials in every DSN field and form are known to the scrubber (secrets()), are never printed by any
report format or the debug log, and DSNs that can never work are reported by `validate` without quoting them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from fixtures_postgres import PgStack
from helpers import write_yaml

from readiness.clients.postgres import config_problems, secrets

# Every character that breaks naive URL parsing, between distinctive pieces a leak would show.
PW = "Zq9Xk/Wv7Jr#Yt3Mp@Hs6Qa'Lb2Cc\"Nd8Ee?Fg5Rt"
PIECES = ["Zq9Xk", "Wv7Jr", "Yt3Mp", "Hs6Qa", "Lb2Cc", "Nd8Ee", "Fg5Rt"]
KV_QUOTED = "'" + PW.replace("\\", "\\\\").replace("'", "\\'") + "'"


def forms(port: int, user: str = "planted") -> dict[str, str]:
    return {
        "url-encoded": f"postgresql://{user}:{quote(PW, safe='')}@127.0.0.1:{port}/app",
        "url-raw": f"postgresql://{user}:{PW}@127.0.0.1:{port}/app",
        "url-scheme-postgres": f"postgres://{user}:{PW}@127.0.0.1:{port},127.0.0.2:{port}/app?sslmode=prefer",
        "url-sqlalchemy": f"postgresql+psycopg://{user}:{quote(PW, safe='')}@127.0.0.1:{port}/app",
        "url-query": f"postgresql://127.0.0.1:{port}/app?user={user}&password={quote(PW, safe='')}",
        "kv-quoted": f"host=127.0.0.1 port={port} dbname=app user={user} password={KV_QUOTED}",
        "kv-spaced": f"host=127.0.0.1 port={port} dbname=app user={user} password = {KV_QUOTED}",
    }


@pytest.mark.parametrize("form", list(forms(5432)))
@pytest.mark.parametrize("field", ["dsn", "pgbouncer_admin_dsn", "direct_dsn"])
def test_secrets_finds_the_password_in_every_form_and_field(form: str, field: str) -> None:
    config = {"dsn": "postgresql://app@127.0.0.1/app", field: forms(5432)[form]}
    found = secrets(config)
    assert PW in found, (form, found)
    if form in ("url-raw", "url-scheme-postgres"):
        assert "Zq9Xk" in found  # what a URL parser takes for the password when '/' is not encoded
    assert config_problems(config) == []


def test_secrets_never_raises_and_ignores_what_is_not_a_dsn() -> None:
    assert secrets({}) == set()
    assert secrets({"dsn": 42, "direct_dsn": None, "pgbouncer_admin_dsn": "host=x password='unterminated"}) >= set()
    assert secrets({"dsn": "postgresql://user@host/db"}) == set()
    assert "pw" in secrets({"dsn": "postgresql://:pw@host/db"})


@pytest.mark.parametrize("dsn, words", [
    ("http://u:Zq9Xk@host/db", "uses the http:// scheme"),
    ("mysql://u:Zq9Xk@host/db", "uses the mysql:// scheme"),
    ("u:Zq9Xk@host://db", "uses another scheme"),
    ("u:Zq9Xk@localhost:5432/db", "neither a postgresql:// URL nor libpq key=value pairs"),
    ("localhost:5432", "neither a postgresql:// URL nor libpq key=value pairs"),
    ("host=x password='Zq9Xk", "neither"),
    ("   ", "is empty"),
])
def test_config_problems_flags_dsns_that_can_never_work_without_quoting_them(dsn: str, words: str) -> None:
    for field in ("dsn", "direct_dsn", "pgbouncer_admin_dsn"):
        problems = config_problems({"dsn": "host=x", field: dsn})
        assert [f for f, _ in problems] == [field], problems
        assert words in problems[0][1] and "Zq9Xk" not in problems[0][1]
    assert config_problems({"dsn": 5432}) == [("dsn", "dsn must be text (a postgresql:// URL or key=value pairs)")]


def test_the_planted_password_is_in_no_output_format(pg_stack: PgStack, tmp_path: Path) -> None:
    pg_stack.good.execute("DROP ROLE IF EXISTS planted",
                          "CREATE ROLE planted LOGIN PASSWORD '" + PW.replace("'", "''") + "'")
    port = pg_stack.good.port
    all_forms = forms(port)
    outputs = []
    for form, dsn in all_forms.items():
        target = {"postgres": {"dsn": dsn, "direct_dsn": all_forms["url-raw"],
                               "pgbouncer_admin_dsn": all_forms["kv-quoted"].replace(f"port={port}",
                                                                                     f"port={pg_stack.bouncer.port}")}}
        targets = write_yaml(tmp_path / f"{form}.yaml", target)
        out = {fmt: tmp_path / f"{form}.{fmt}" for fmt in ("json", "html", "junit", "markdown", "sarif", "prometheus")}
        done = subprocess.run(
            [sys.executable, "-m", "readiness", "--debug", "audit", "-t", str(targets), "--only", "postgres",
             "--preset", "langfuse", "--timeout", "5", "--no-color", *[a for fmt, path in out.items()
                                                                     for a in (f"--{fmt}", str(path))]],
            capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, 1), (form, done.returncode, done.stderr[-2000:])
        texts = {"stdout": done.stdout, "stderr": done.stderr, **{f: p.read_text() for f, p in out.items()}}
        if form in ("url-encoded", "kv-quoted"):  # these forms connect: the report holds real verdicts
            assert '"status": "pass"' in texts["json"], form
        outputs.append((form, texts))
    leaks = {(form, where, piece) for form, texts in outputs for where, text in texts.items()
             for piece in [PW, *PIECES, quote(PW, safe="")] if piece in text}
    assert not leaks, (sorted(leaks), [t[w][max(0, t[w].find(pc) - 200):t[w].find(pc) + 50] for f, t in outputs
                                       for (lf, w, pc) in sorted(leaks)[:1] if f == lf])
