"""The targets file: interpolation, validation with locations, and secrets that never come out."""

from __future__ import annotations

import pytest

from readiness.errors import ConfigError
from readiness.redact import Scrubber, redact_config, redact_text
from readiness.targets import interpolate, load_targets


def load(tmp_path, text, env=None):
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    return load_targets(path, env=env or {})


def test_variables_defaults_and_escapes_are_substituted(tmp_path):
    t = load(tmp_path, 'preset: langfuse\nredis: {url: "redis://:${PW}@${HOST:-cache}:6379/0"}\n'
                       'http: {base_url: "https://x/$${literal}"}\n', env={"PW": "s3cret"})
    assert t.configs["redis"]["url"] == "redis://:s3cret@cache:6379/0"
    assert t.configs["http"]["base_url"] == "https://x/${literal}"
    assert t.preset == "langfuse"


def test_an_empty_variable_takes_the_default_only_with_the_colon_form():
    assert interpolate("${A:-d}", {"A": ""}) == ("d", [])
    assert interpolate("${A}", {"A": ""}) == ("", [])


def test_a_missing_variable_is_named_with_its_line(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "profile: production\nredis:\n  url: ${REDIS_URL}\npostgres: {dsn: '${PG_DSN}'}\n")
    text = info.value.text
    assert "targets.yaml:3:8: ${REDIS_URL} is not set (export it, or write ${REDIS_URL:-default})" in text
    assert "targets.yaml:4:17: ${PG_DSN} is not set" in text


def test_bad_references_are_reported(tmp_path):
    with pytest.raises(ConfigError, match=r"unterminated \$\{"):
        load(tmp_path, "redis: {url: 'redis://${HOST'}\n")
    with pytest.raises(ConfigError, match=r"\$\{1X\} is not a valid variable reference"):
        load(tmp_path, "redis: {url: 'redis://${1X}'}\n")


@pytest.mark.parametrize("text, expected", [
    ("- redis\n- postgres\n", ":1:1: a targets file must be a mapping of backends (redis, postgres,"),
    ("redis: {url: redis://x, pasword: y}\n", ":1:25: unknown key 'pasword' in redis target (did you mean 'passwo"),
    ("rediss: {url: redis://x}\n", ":1:1: unknown key 'rediss' in targets file (did you mean 'redis'?)"),
    ("redis: {}\n", "redis target is missing 'url'"),
    ("redis: redis://x\n", ":1:8: redis target must be a mapping, not 'redis://x'"),
    ("preset: langsmit\n", ":1:9: preset must be one of langsmith, langfuse, langsight, not 'langsmit' (did you mean"),
    ("network: {public_host: x, public_ports: [80, '443']}\n", "public_ports must be a list of integers"),
    ("s3: {bucket: b, addressing_style: sideways}\n", "addressing_style must be one of auto, path, virtual"),
])
def test_bad_targets_are_one_located_sentence(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    assert expected in info.value.text


def test_relative_paths_are_resolved_against_the_targets_file(tmp_path):
    t = load(tmp_path, "files: {compose: deploy/docker-compose.yml}\n")
    assert t.configs["files"]["compose"] == str(tmp_path / "deploy" / "docker-compose.yml")


def test_redaction_masks_passwords_in_urls_fields_and_dsns():
    assert redact_text("redis://:hunter22@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redact_text("postgresql://app:pw%40x@db/app?sslpassword=k&sslmode=require") == \
        "postgresql://app:***@db/app?sslpassword=***&sslmode=require"
    assert redact_text("host=db user=app password='a b' dbname=x") == "host=db user=app password=*** dbname=x"
    assert redact_text("https://x/?token=abc&page=2") == "https://x/?token=***&page=2"
    shown = redact_config({"url": "redis://u:pw1@h", "password": "pw2", "verify": True, "urls": ["ch://a:pw3@n1"]})
    assert shown == {"url": "redis://u:***@h", "password": "***", "verify": True, "urls": ["ch://a:***@n1"]}


def test_the_scrubber_blanks_every_secret_value_wherever_it_appears(tmp_path):
    t = load(tmp_path, "redis: {url: 'redis://:p%40ss-word@h:1/0'}\npostgres: {dsn: 'host=db password=pg-secret'}\n"
                       "s3: {bucket: bkt, access_key_id: AKIDEXAMPLE, secret_access_key: AKIA-secret}\n")
    scrub: Scrubber = t.scrubber()
    seen = scrub({"msg": "auth failed for p@ss-word and pg-secret", "list": ["AKIA-secret", 3]})
    assert seen == {"msg": "auth failed for *** and ***", "list": ["***", 3]}
