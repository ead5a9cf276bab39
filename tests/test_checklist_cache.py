"""The parsed-checklist cache: a file read again unchanged is not parsed again, says exactly what a parse says
(every message with its file:line:col), and a changed file or a corrupt cache entry is parsed afresh."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from readiness import cachefile, treecache, yamlsrc
from readiness.checklist import default_path, load_checklist
from readiness.errors import ConfigError

BAD = """\
version: 1
name: t
sections:
  - id: s
    title: S
    items:
      - id: s.one
        title: One
        level: required
        probe: test.constant
        with: {status: maybe, mesage: 0755}
        rationale: r
      - id: S.two
        title: Two
        level: sometimes
        probe: test.nope
        rationale: r
"""


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "readiness"


@pytest.fixture
def packaged(tmp_path, monkeypatch) -> Path:
    """A checklist file of the test's own, cached as the packaged one is (no other checklist is cached)."""
    from readiness import checklist

    path = tmp_path / "checklist.yaml"
    monkeypatch.setattr(checklist, "default_path", lambda: str(path))
    return path


def _said(path: str) -> str:
    with pytest.raises(ConfigError) as exc:
        load_checklist(path)
    return exc.value.text


def _items(path: str | None) -> list[tuple]:
    return [(i.id, i.line, i.level, i.probe, repr(i.params), repr(i.preset_params), i.timeout, i.deployments)
            for i in load_checklist(path).items]


def test_the_packaged_checklist_from_the_cache_is_the_parsed_one(cache, monkeypatch):
    parsed = _items(None)
    assert list(cache.glob("checklist-*.cache"))
    with monkeypatch.context() as m:
        m.setattr(yamlsrc, "load_text", lambda *a, **k: pytest.fail("parsed again"))
        assert _items(None) == parsed
        assert load_checklist(None).sha256 == load_checklist(default_path()).sha256


def test_every_message_and_place_is_the_same_from_the_cache(cache, packaged, monkeypatch):
    path = packaged
    path.write_text(BAD)
    first = _said(str(path))
    assert f"{path}:11:" in first and "unknown probe kind 'test.nope'" in first
    monkeypatch.setattr(yamlsrc, "load_text", lambda *a, **k: pytest.fail("parsed again"))
    assert _said(str(path)) == first


def test_a_changed_file_is_parsed_again(cache, packaged):
    path = packaged
    path.write_text(BAD)
    _said(str(path))
    path.write_text(BAD.replace("level: sometimes", "level: optional"))
    assert "sometimes" not in _said(str(path))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "edited", "wrong shape"])
def test_a_corrupt_cache_entry_is_parsed_afresh(cache, packaged, damage):
    path = packaged
    path.write_text(BAD)
    first = _said(str(path))
    kept = next(cache.glob("checklist-*.cache"))
    raw = kept.read_bytes()
    if damage == "garbage":
        kept.write_bytes(b"\xff\x00")
    elif damage == "truncated":
        kept.write_bytes(raw[: len(raw) // 2])
    elif damage == "edited":  # a value changed without the digest
        assert b'"test.nope"' in raw
        kept.write_bytes(raw.replace(b'"test.nope"', b'"test.nopf"'))
    else:  # signed, but not a tree this code writes
        fmt, key, _, _ = cachefile.unpack(raw)
        kept.write_bytes(cachefile.pack(fmt, key, {"m": [1, 1, [["a", 1, 1, "x", 1, None, 1]]]}))
    assert _said(str(path)) == first


@pytest.mark.parametrize("value", [None, True, 0, -7, 1.5, float("inf"), "0755", "", dt.date(2030, 1, 2),
                                   dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)])
def test_scalars_come_back_as_they_were_loaded(value):
    tree = yamlsrc.load_text("a: 1\n", "x.yaml")
    tree["a"] = value
    back = treecache.decode(json.loads(json.dumps(treecache.encode(tree))))
    assert type(back["a"]) is type(value) and back["a"] == value
    assert (back.pos, back.key_pos, back.value_pos, back.value_text) == \
           (tree.pos, tree.key_pos, tree.value_pos, tree.value_text)


def test_a_value_no_yaml_file_loads_into_is_not_kept():
    tree = yamlsrc.load_text("a: 1\n", "x.yaml")
    tree["a"] = {1, 2}
    with pytest.raises(TypeError):
        treecache.encode(tree)


def test_another_parser_parses_again(cache, packaged, monkeypatch):
    """PyYAML upgraded, or this parser's code changed: the kept tree is not theirs."""
    path = packaged
    path.write_text(BAD)
    first = _said(str(path))
    calls = []
    real = yamlsrc.load_text
    monkeypatch.setattr(yamlsrc, "load_text", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(treecache, "_parser_stamp", lambda: "another PyYAML")
    assert _said(str(path)) == first and calls


def test_only_the_packaged_checklist_is_cached(cache, tmp_path):
    """A cache file per path would pile up for every checklist ever validated."""
    path = tmp_path / "mine.yaml"
    path.write_text(BAD)
    _said(str(path))
    assert not list(cache.glob("checklist-*.cache"))
    load_checklist(None)
    assert len(list(cache.glob("checklist-*.cache"))) == 1


def test_the_key_covers_the_parser_limits_and_this_encoding():
    """yamlsrc holds the parse's limits and treecache the encoding: a change to either is another tree."""
    stamp = treecache._parser_stamp()
    here = Path(treecache.__file__).parent
    for name in ("yamlparse.py", "ytree.py", "yamlsrc.py", "treecache.py"):
        assert f"{here / name}:" in stamp
