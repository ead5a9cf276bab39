"""Redis URL forms, parsed the same on every Python (Debian 12's 3.11.2 included), the credentials they hold, and
errors that never echo a piece of the URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from fixtures_redis import AUDITOR, RedisStack

from readiness.clients.redis import config_problems, connect, parse_url, secrets
from readiness.context import TargetUnavailable

REPO = Path(__file__).resolve().parent.parent

FORMS = {
    # url: (topology, tls, hosts, db, master, username, password, unix_path)
    "redis://h": ("standalone", False, [["h", 6379]], 0, None, None, None, None),
    "redis://h:6380/3": ("standalone", False, [["h", 6380]], 3, None, None, None, None),
    "rediss://user:pw@cache.example.com:6380/1": ("standalone", True, [["cache.example.com", 6380]], 1, None, "user",
                                                   "pw", None),
    "redis://onlypassword@h:6379/0": ("standalone", False, [["h", 6379]], 0, None, None, "onlypassword", None),
    "redis://:pa/ss#wo?rd@h:6379/2": ("standalone", False, [["h", 6379]], 2, None, None, "pa/ss#wo?rd", None),
    "redis://u:p@ss@h/0": ("standalone", False, [["h", 6379]], 0, None, "u", "p@ss", None),
    "redis://:p%40ss%2Fw@h": ("standalone", False, [["h", 6379]], 0, None, None, "p@ss/w", None),
    "redis://user@h": ("standalone", False, [["h", 6379]], 0, None, None, "user", None),  # redis-py: a password
    "redis://[::1]:6390/0": ("standalone", False, [["::1", 6390]], 0, None, None, None, None),
    "redis://[::1]": ("standalone", False, [["::1", 6379]], 0, None, None, None, None),
    "redis://h/0?protocol=3": ("standalone", False, [["h", 6379]], 0, None, None, None, None),
    "redis://h?db=4": ("standalone", False, [["h", 6379]], 4, None, None, None, None),
    # credentials in the query, as redis-py reads them (the userinfo wins when both are given)
    "redis://h/0?username=qu&password=q%2Fpw": ("standalone", False, [["h", 6379]], 0, None, "qu", "q/pw", None),
    "redis://:upw@h/0?password=qpw": ("standalone", False, [["h", 6379]], 0, None, None, "upw", None),
    "redis://h:6379/0#ignored": ("standalone", False, [["h", 6379]], 0, None, None, None, None),
    "unix:///run/redis.sock?db=2": ("standalone", False, [["localhost", 0]], 2, None, None, None, "/run/redis.sock"),
    "unix://:pw/x@/run/redis.sock": ("standalone", False, [["localhost", 0]], 0, None, None, "pw/x", "/run/redis.sock"),
    "redis+sentinel://:pw@s1:26379,s2,[::1]:26380/mymaster/2": (
        "sentinel", False, [["s1", 26379], ["s2", 26379], ["::1", 26380]], 2, "mymaster", None, "pw", None),
    "redis+sentinel://[::1]:26379,127.0.0.1:26380/mymaster/0": (
        "sentinel", False, [["::1", 26379], ["127.0.0.1", 26380]], 0, "mymaster", None, None, None),
    "redis+sentinel://127.0.0.1:26380,[::1]:26379/mymaster": (
        "sentinel", False, [["127.0.0.1", 26380], ["::1", 26379]], 0, "mymaster", None, None, None),
    "rediss+sentinel://u:p#w@[2001:db8::5]:26379,s2:26380/m1/5": (
        "sentinel", True, [["2001:db8::5", 26379], ["s2", 26380]], 5, "m1", "u", "p#w", None),
    "redis+cluster://n1:7000,n2:7001,n3": ("cluster", False, [["n1", 7000], ["n2", 7001], ["n3", 6379]], 0, None,
                                           None, None, None),
    "rediss+cluster://user:pw@n1:7000, n2:7001 ,[fd00::1]:7002": (
        "cluster", True, [["n1", 7000], ["n2", 7001], ["fd00::1", 7002]], 0, None, "user", "pw", None),
}


def _fields(url: str) -> list[object]:
    ep = parse_url(url)
    return [ep.topology, ep.tls, [list(h) for h in ep.hosts], ep.db, ep.master, ep.username, ep.password,
            ep.unix_path]


@pytest.mark.parametrize("url", list(FORMS))
def test_every_url_form_parses(url: str) -> None:
    assert _fields(url) == list(FORMS[url])


def test_the_same_parse_on_debians_own_python() -> None:
    """Debian 12's /usr/bin/python3 (3.11.2) refuses these URLs in urlsplit; the parser must not care."""
    if not Path("/usr/bin/python3").exists():
        pytest.skip("no /usr/bin/python3 on this machine")
    code = ("import json, sys; from readiness.clients.redis import parse_url; "
            "e = [parse_url(u) for u in json.loads(sys.stdin.read())]; "
            "print(json.dumps([[x.topology, x.tls, [list(h) for h in x.hosts], x.db, x.master, x.username, "
            "x.password, x.unix_path] for x in e]))")
    out = subprocess.run(["/usr/bin/python3", "-c", code], input=json.dumps(list(FORMS)), capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == [list(v) for v in FORMS.values()]


BAD = {
    "http://h": "scheme is http://",
    "h:6379": "no scheme",
    "redis+sentinel://h:26379": "master's name",
    "redis://h/x": "not a number",
    "redis://:S3CRETPW@h:S3CRETPORT/0": "port that is not a number",
    "redis://:S3CRETPW@h:99999/0": "port that is not a number",
    "redis://:S3CRETPW@[::1/0": "IPv6",
    "redis://:S3CRETPW@/0": "names no host",
    "redis://:S3CRETPW@h,,h2/0": "is empty",
    "redis://:S3CRETPW@h/0/S3CRETDB": "not a number",
    "S3CRETPW://h": "another scheme",
}


@pytest.mark.parametrize("url", list(BAD))
def test_bad_urls_say_what_is_wrong_without_echoing_the_url(url: str) -> None:
    with pytest.raises(TargetUnavailable) as caught:
        parse_url(url)
    message = str(caught.value)
    assert BAD[url] in message, message
    assert "S3CRET" not in message and "h:" not in message
    problems = config_problems({"url": url})
    assert [field for field, _ in problems] == ["url"] and "S3CRET" not in problems[0][1]


def test_config_problems_is_quiet_for_good_urls_and_unresolved_variables() -> None:
    assert config_problems({"url": "redis+sentinel://[::1]:26379,127.0.0.1:26380/mymaster/0"}) == []
    assert config_problems({"url": "redis://:${REDIS_PASSWORD}@h:6379/0"}) == []
    assert config_problems({}) == []
    assert config_problems({"url": 12}) == [("url", config_problems({"url": "12"})[0][1])]


def test_secrets_finds_every_credential_form() -> None:
    cases = {
        "redis://PWONLY@h:6379/0": {"PWONLY"},
        "redis://:pa/ss#wo?rd@h:6379/0": {"pa/ss#wo?rd"},
        "redis://user:p%40ss@h": {"p%40ss", "p@ss"},
        "redis://u:p@ss@h/0": {"p@ss"},
        "redis+sentinel://:SENT/PW@[::1]:26379,h2/m/0": {"SENT/PW"},
        "redis://h:S3CRET/0": set(),  # unparseable, and no userinfo: nothing to mask but nothing echoed either
        "redis://h/0?password=QPW": {"QPW"},
    }
    for url, expected in cases.items():
        assert secrets({"url": url}) == expected, url
    full = secrets({"url": "redis://user:URLPW@h", "password": "FIELDPW", "sentinel_password": "SENTPW",
                    "username": "someone"})
    assert full == {"URLPW", "FIELDPW", "SENTPW"}
    assert secrets({"url": None, "password": 1234}) == {"1234"}
    assert secrets({}) == set() and secrets({"url": object()}) == set()


def test_secrets_and_problems_need_no_client_library() -> None:
    code = ("import sys; from readiness.clients.redis import secrets, config_problems; "
            "secrets({'url': 'redis://:x@h'}); config_problems({'url': 'http://h'}); print('redis' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_validate_reports_a_redis_url_that_can_never_work_at_its_line(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text('preset: langfuse\nredis:\n  url: "redis://:S3CRETPW@h:S3CRETPORT/0"\n')
    done = subprocess.run([sys.executable, "-m", "readiness", "validate", "-t", str(targets)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{targets}:3:8: host 1 of the redis url has a port that is not a number" in done.stderr, done.stderr
    assert "S3CRET" not in done.stdout + done.stderr


# --- against redis-py's own parse_url ------------------------------------------------------------------------------
# Where redis-py reads a form, it reads it as we do; where it differs, ours is the stricter reading, and the test
# below says how.  (Ours stays: validate and the secret scrubber run without redis-py, and the host lists are not
# redis-py's forms.)

AGREED = ["redis://h", "redis://h:6380/3", "rediss://user:pw@cache.example.com:6380/1", "redis://:p%40ss%2Fw@h",
          "redis://u:p@ss@h/0", "redis://[::1]:6390/0", "redis://h?db=4", "redis://h/0?protocol=3",
          "redis://h:6379/0#ignored", "unix:///run/redis.sock?db=2", "redis://h/0?username=qu&password=q%2Fpw",
          "redis://:upw@h/0?password=qpw"]


@pytest.mark.parametrize("url", AGREED)
def test_forms_redis_py_reads_are_read_the_same(url: str) -> None:
    from redis.connection import SSLConnection, UnixDomainSocketConnection
    from redis.connection import parse_url as redis_py

    theirs, ours = redis_py(url), parse_url(url)
    if ours.unix_path:
        assert theirs["connection_class"] is UnixDomainSocketConnection and theirs["path"] == ours.unix_path
    else:
        assert (theirs["host"], theirs.get("port", 6379)) == ours.hosts[0]
        assert (theirs.get("connection_class") is SSLConnection) == ours.tls
    assert (theirs.get("db", 0), theirs.get("username"), theirs.get("password")) == (ours.db, ours.username,
                                                                                    ours.password)
    assert theirs.get("protocol") == ours.protocol


def test_where_redis_py_reads_a_form_differently_ours_is_stricter() -> None:
    from redis.connection import parse_url as redis_py

    # A db that is not a number: redis-py drops it silently (the audit would judge db 0); ours refuses.
    assert "db" not in redis_py("redis://h/x")
    with pytest.raises(TargetUnavailable, match="not a number"):
        parse_url("redis://h/x")
    # An unencoded '/' in a password: redis-py's error echoes a piece of it; ours reads the password whole.
    with pytest.raises(ValueError, match="'pa'"):
        redis_py("redis://:pa/ss#wo?rd@h:6379/2")
    assert parse_url("redis://:pa/ss#wo?rd@h:6379/2").password == "pa/ss#wo?rd"
    # A port that is not a number: redis-py echoes it; ours names only the host's position.
    with pytest.raises(ValueError, match="S3CRETPORT"):
        redis_py("redis://:S3CRETPW@h:S3CRETPORT/0")
    # user@host: redis-py takes a username (and sends no password); ours the old password-only form, so the
    # scrubber masks it wherever it would appear.
    assert redis_py("redis://word@h") == {"username": "word", "host": "h"}
    assert (parse_url("redis://word@h").username, parse_url("redis://word@h").password) == (None, "word")
    assert secrets({"url": "redis://word@h"}) == {"word"}
    # Connection options in the query: redis-py applies them (ssl_cert_reqs=none turns verification off); ours
    # reads db and protocol only, so verification is the target's `verify` field alone and cannot be turned off by
    # a URL pasted from elsewhere.
    assert redis_py("rediss://h/0?ssl_cert_reqs=none")["ssl_cert_reqs"] == "none"
    assert parse_url("rediss://h/0?ssl_cert_reqs=none") == parse_url("rediss://h/0")
    # Host lists: not redis-py's forms at all.
    with pytest.raises(ValueError, match="schemes"):
        redis_py("redis+sentinel://s1:26379,s2:26379/mymaster/0")


def test_credentials_in_the_url_query_log_in_as_redis_py_would(redis_stack: RedisStack) -> None:
    """redis://host/0?username=...&password=... is a form redis-py's from_url takes: the audit must log in with it
    rather than try without credentials."""
    user, password = AUDITOR
    handle = connect({"url": f"redis://127.0.0.1:{redis_stack.good.port}/0?username={quote(user)}"
                             f"&password={quote(password, safe='')}"}, 2.0)
    try:
        assert handle.call(handle.primary, "PING") is True  # this server refuses PING without credentials
    finally:
        handle.close()
