"""Cache files are read only when they are this user's alone: a planted symlink, FIFO, a file others can write, a
file in a directory others can write, or one owned by someone else is a miss - the command says what it says with no
cache, and in bounded time.  (The tests run as root: "another user" is uid 65534.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_helpcache import run

from readiness import cachefile, treecache
from readiness.checklist import default_path, load_checklist

NOBODY = 65534


def _symlink(kept: Path) -> None:
    copy = kept.parent.parent / "elsewhere.cache"
    copy.write_bytes(kept.read_bytes())  # well-formed, right key: only the symlink is wrong
    kept.unlink()
    kept.symlink_to(copy)


def _fifo(kept: Path) -> None:
    kept.unlink()
    os.mkfifo(kept)


PLANTED = {
    "a symlink": _symlink,
    "a FIFO": _fifo,
    "a group-writable file": lambda p: p.chmod(0o620),
    "a world-writable file": lambda p: p.chmod(0o602),
    "another user's file": lambda p: os.chown(p, NOBODY, -1),
    "a world-writable dir": lambda p: p.parent.chmod(0o777),
    "a dir of another user": lambda p: os.chown(p.parent, NOBODY, -1),
}


@pytest.mark.parametrize("plant", PLANTED)
def test_a_planted_help_cache_is_ignored(tmp_path, plant):
    cache = tmp_path / "cache"
    reference = run(cache, "--help")
    assert run(cache, "--help") == (0, reference[1], False)  # kept, and used
    for kept in (cache / "readiness").glob("help-*.cache"):
        PLANTED[plant](kept)
    code, out, used_click = run(cache, "--help", timeout=30)  # a FIFO opened blocking would hang here
    assert (code, out) == reference[:2] and used_click


def _tamper(cache: Path) -> Path:
    """The cached packaged checklist replaced by a well-formed one (right key, right checksum) with another name."""
    (kept,) = (cache / "readiness").glob("checklist-*.cache")
    key = cachefile.unpack(kept.read_bytes())[1]
    tree = treecache.decode(cachefile.read(str(kept), treecache.FORMAT, key))
    tree["name"] = "tampered"
    kept.unlink()
    cachefile.write(str(kept), treecache.FORMAT, key, treecache.encode(tree))
    return kept


@pytest.mark.parametrize("how", ["chown", "chmod"])
def test_a_tampered_cached_checklist_of_other_ownership_or_mode_is_not_used(tmp_path, monkeypatch, how):
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    real = load_checklist(default_path()).name
    kept = _tamper(cache)
    assert load_checklist(default_path()).name == "tampered"  # ours: it is used (so the test below means something)
    kept = _tamper(cache)
    if how == "chown":
        os.chown(kept, NOBODY, -1)
    else:
        kept.chmod(0o666)
    assert load_checklist(default_path()).name == real


def test_the_cache_is_written_private(tmp_path):
    where = tmp_path / "c" / "readiness" / "x.json"
    cachefile.write(str(where), 1, "k", "v")
    assert where.stat().st_mode & 0o777 == 0o600 and where.parent.stat().st_mode & 0o777 == 0o700
    assert cachefile.read(str(where), 1, "k") == "v"


@pytest.mark.parametrize("body", ["a lone surrogate \udcff,\nlines and \u00e9", "", {"k": [1, "\udc80"]}, "1"])
def test_every_body_and_key_comes_back_as_written(tmp_path, body):
    where = str(tmp_path / "readiness" / "x.cache")
    key = "a key\nwith a newline, spaces and \udcfe"
    assert cachefile.write(where, 7, key, body)
    assert cachefile.read(where, 7, key) == body
    assert cachefile.read(where, 7, key + " ") is None and cachefile.read(where, 8, key) is None


def test_any_damage_to_a_kept_file_is_a_miss(tmp_path):
    """Every truncation and every single changed byte: header, key or body (a text one read as JSON included)."""
    where = tmp_path / "readiness" / "x.cache"
    cachefile.write(str(where), 1, "k1", "12")
    good = where.read_bytes()
    damaged = [good[:n] for n in range(len(good))] + [good + b"3"]
    damaged += [good[:i] + bytes([b]) + good[i + 1:] for i in range(len(good))
                for b in (good[i] ^ 1, ord("j"), ord("9")) if b != good[i]]
    for data in damaged:
        where.write_bytes(data)
        assert cachefile.read(str(where), 1, "k1") is None, data


def test_a_symlink_at_the_temp_name_is_not_written_through(tmp_path):
    where = tmp_path / "readiness" / "x.json"
    where.parent.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    (where.parent / f"x.json.{os.getpid()}.tmp").symlink_to(victim)
    cachefile.write(str(where), 1, "k", "v")
    assert victim.read_text() == "untouched"


def test_a_relative_xdg_cache_home_is_ignored(tmp_path, monkeypatch):
    """The XDG spec: a relative path is invalid and ignored - ~/.cache, not no cache (nor one under the cwd)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert cachefile.path("x.json") == str(tmp_path / ".cache" / "readiness" / "x.json")


def test_readiness_no_cache_turns_every_cache_off(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("READINESS_NO_CACHE", "1")
    assert cachefile.path("x.json") is None
    load_checklist(default_path())
    for _ in range(2):
        code, out, used_click = run(cache, "--help")
        assert code == 0 and "Usage: readiness" in out and used_click
    assert not cache.exists()


def test_stamp_sees_size_and_mtime_and_a_missing_file(tmp_path):
    f = tmp_path / "a.py"
    f.write_text("x")
    first = cachefile.stamp([str(f)])
    os.utime(f, ns=(1, 1))
    touched = cachefile.stamp([str(f)])
    f.write_text("xy")
    os.utime(f, ns=(1, 1))
    assert len({first, touched, cachefile.stamp([str(f)])}) == 3
    assert cachefile.stamp([str(tmp_path / "gone.py")]) == f"{tmp_path / 'gone.py'}:-"


def test_every_cache_key_stamps_its_files_through_cachefile(monkeypatch):
    """One stamper: the schema index, the checklist parser and --help keys all change with what it says."""
    from readiness import schemaindex
    from readiness.cli import helpcache
    from readiness.entrypoints import entry_points

    eps = sorted(entry_points(group="readiness.probes"), key=lambda e: e.name)
    keys = [lambda: schemaindex.fingerprint(eps), treecache._parser_stamp, lambda: helpcache._key(["--help"], "r")]
    before = [k() for k in keys]
    monkeypatch.setattr(cachefile, "stamp", lambda paths: "another\0stamp")
    assert all(k() != b for k, b in zip(keys, before, strict=True))


def test_the_sha256_that_skips_hashlibs_import_gives_hashlibs_digests():
    import hashlib

    for data in (b"", b"readiness", bytes(range(256)) * 1000):
        assert cachefile.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    h = cachefile.sha256()
    h.update(b"read")
    h.update(b"iness")
    assert h.hexdigest() == hashlib.sha256(b"readiness").hexdigest()


def test_sha256_resolves_its_constructor_once_and_hands_big_inputs_to_openssl(monkeypatch):
    import hashlib

    calls = []
    real = cachefile._builtin
    monkeypatch.setattr(cachefile, "_new", None)
    monkeypatch.setattr(cachefile, "_builtin", lambda: calls.append(1) or real())
    for _ in range(3):  # on 3.11 a failed `from _sha2 import` was tried again on every call
        assert cachefile.sha256(b"x").hexdigest() == hashlib.sha256(b"x").hexdigest()
    assert calls == [1]
    big = b"\x01" * (2 * 1024 * 1024)  # above 1 MiB: OpenSSL is several times faster than CPython's own
    h = cachefile.sha256(big)
    assert type(h) is type(hashlib.sha256()) and h.hexdigest() == hashlib.sha256(big).hexdigest()
