"""Secrets of a clickhouse target in every form: the client parses each credential (secrets()) and flags settings
that can never work (config_problems()) without echoing any piece of a URL; planted passwords never appear in any
output format, the terminal, or the --debug log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from readiness.clients import clickhouse_url as chc

FORMS = [  # (URL, the password as the server would get it)
    ("clickhouse://app:plain-Secret1@h:9000/db", "plain-Secret1"),
    ("clickhouse://app:sl/ash#hash@at-Secret2@h:9000/db", "sl/ash#hash@at-Secret2"),
    ("clickhouse://app:enc%2Fod%40ed%23-Secret3@h/db", "enc/od@ed#-Secret3"),
    ("clickhouse://:only-Secret4@h:9000", "only-Secret4"),
    ("clickhouses://app:tls-Secret5@[::1]:9440/db?secure=1", "tls-Secret5"),
    ("clickhouse://app:co:lon-Secret6@h:9000/db", "co:lon-Secret6"),
]


@pytest.mark.parametrize(("url", "password"), FORMS)
def test_every_url_form_gives_its_password(url, password):
    assert password in chc.secrets({"url": url})
    assert password in chc.secrets({"urls": ["clickhouse://other@h2", url]})
    assert chc.parse_url(url, {}).password == password
    assert chc.config_problems({"url": url}) == []


def test_the_password_field_query_secrets_and_unreadable_urls_are_secrets():
    assert chc.secrets({"url": "clickhouse://app@h", "password": "field-Secret"}) == {"field-Secret"}
    assert "q-Secret" in chc.secrets({"url": "clickhouse://h/db?password=q-Secret"})
    # Not a URL at all: what could be its user info is still a secret.
    assert "noscheme-Secret" in chc.secrets({"url": "app:noscheme-Secret@h:9000"})
    assert chc.secrets({"url": 42, "urls": [None], "password": None}) == set()  # never raises


@pytest.mark.parametrize(("config", "field", "text"), [
    ({"url": "ch-0.example:9000"}, "url", "starts with clickhouse:// or clickhouses://"),
    ({"url": "postgres://u:pw-Secret@h/db"}, "url", "not postgres://"),
    ({"url": "http://u:pw-Secret@h:8123"}, "url", "http:// is ClickHouse's HTTP interface"),
    ({"url": "clickhouse://u:pw-Secret@h:pw-Secret/db"}, "url", "port of the ClickHouse URL is not a number"),
    ({"url": "clickhouse://u:pw-Secret@:9000/db"}, "url", "needs a host"),
    ({"urls": ["clickhouse://h1", "h2:9000"]}, "urls", "URL 2: a ClickHouse URL starts with"),
    ({"cluster": "x"}, "url", "needs 'url' (one node) or 'urls' (one per node)"),
])
def test_settings_that_can_never_work_are_problems_that_echo_nothing(config, field, text):
    problems = chc.config_problems(config)
    assert [f for f, _ in problems] == [field]
    assert text in problems[0][1], problems
    assert "pw-Secret" not in problems[0][1] and "h2" not in problems[0][1]
    with pytest.raises(chc.ClickHouseError) as err:
        chc.endpoints(config)
    assert "pw-Secret" not in str(err.value)


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "readiness", *argv], capture_output=True, text=True, timeout=120)


def test_planted_passwords_appear_in_no_output(tmp_path, ch_cluster):
    port = ch_cluster.nodes[0].port
    forms = [u.replace("@h:9000", f"@127.0.0.1:{port}").replace("@h/", f"@127.0.0.1:{port}/")
             .replace("@[::1]:9440", f"@127.0.0.1:{port}") for u, _ in FORMS]
    planted = [p for _, p in FORMS] + ["field-Secret7"]
    planted += [chc._split(u).password for u, _ in FORMS if isinstance(chc._split(u), chc._Url)]  # as written
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"clickhouse": {"urls": forms[:-1], "url": forms[-1],
                                                      "password": "field-Secret7", "cluster": "readiness"}}))
    out = tmp_path / "out"
    out.mkdir()
    proc = _run("--debug", "audit", "-t", str(targets), "--only", "clickhouse", "--timeout", "3",
                "--json", str(out / "r.json"), "--html", str(out / "r.html"), "--junit", str(out / "r.xml"),
                "--markdown", str(out / "r.md"))
    texts = {"stdout": proc.stdout, "stderr (--debug)": proc.stderr}
    texts.update({p.name: p.read_text() for p in out.iterdir()})
    assert set(texts) == {"stdout", "stderr (--debug)", "r.json", "r.html", "r.xml", "r.md"}, proc.stderr
    assert "Wrong password" in texts["r.json"] or "Authentication failed" in texts["r.json"], texts["r.json"][:2000]
    for where, text in texts.items():
        for secret in {s for s in planted if s}:
            assert secret not in text, (where, secret)
        for piece in ("Secret1", "Secret2", "Secret3", "Secret4", "Secret5", "Secret6", "Secret7"):
            assert piece not in text, (where, piece)


def test_a_url_that_can_never_work_is_reported_by_validate_without_its_password(tmp_path: Path):
    targets = tmp_path / "targets.yaml"
    targets.write_text("clickhouse:\n  url: \"clickhouse://app:bad/port#-Secret8@127.0.0.1:9x9/db\"\n"
                       "  urls: [\"app:noscheme-Secret9@127.0.0.1:9000\"]\n")
    for argv in (("validate", "-t", str(targets)), ("--debug", "audit", "-t", str(targets), "--only", "clickhouse")):
        proc = _run(*argv)
        assert proc.returncode == 2, (argv, proc.stdout, proc.stderr)
        both = proc.stdout + proc.stderr
        assert "targets.yaml:2:" in both and "port of the ClickHouse URL is not a number" in both, both
        assert "starts with clickhouse:// or clickhouses://" in both, both
        assert "Secret8" not in both and "Secret9" not in both and "bad/port" not in both, both
