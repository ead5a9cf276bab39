"""The kept answers of plain `validate` and `list` (readiness/cli/resultcache.py): used only for exactly the inputs
they were made from; an edited checklist, a plugin installed or upgraded, READINESS_NO_CACHE=1, a file someone else
could have written: each runs the command again and says the true result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import install_probe_plugin, probe_source

from readiness import cachefile

# Runs the CLI, then says on stderr whether the checklist loader ran (a kept answer imports none of it, nor json).
RUN = """
import atexit, sys
atexit.register(lambda: sys.stderr.write('LOADED\\n' if 'readiness.checklist' in sys.modules
                                         else 'KEPT, json imported\\n' if 'json' in sys.modules else 'KEPT\\n'))
from readiness.cli import main
main(sys.argv[1:])
"""
ITEM = """\
version: 1
name: kept
sections:
  - id: s
    title: S
    items:
      - id: s.a
        title: A
        level: required
        {how}
        rationale: r
"""


def run(tmp_path: Path, *args: str, site: Path | None = None, **env: str) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "XDG_CACHE", "READINESS_"))}
    base["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    base["PYTHONDONTWRITEBYTECODE"] = "1"  # a rewritten plugin of the same size must not run from stale bytecode
    if site:
        base["PYTHONPATH"] = str(site)
    done = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, cwd=tmp_path,
                          env={**base, **env}, timeout=120)
    err, _, how = done.stderr.rstrip("\n").rpartition("\n")
    return done.returncode, done.stdout + (err and f"\n{err}"), how or err


def results(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "readiness").glob("result-*.cache"))


def test_a_kept_answer_is_used_only_for_the_same_command_and_arguments(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(ITEM.format(how="manual: true"))
    first = run(tmp_path, "validate", "-c", str(path))
    assert first == (0, f"{path}: valid: 1 items in 1 sections (0 probed, 1 manual)\n", "LOADED")
    assert run(tmp_path, "validate", "-c", str(path)) == (*first[:2], "KEPT")
    assert [p.stat().st_mode & 0o777 for p in results(tmp_path)] == [0o600]
    listed = run(tmp_path, "list", "-c", str(path))
    assert listed[0] == 0 and "s.a" in listed[1] and listed[2] == "LOADED"
    assert run(tmp_path, "list", "-c", str(path)) == (*listed[:2], "KEPT")
    other = run(tmp_path, "list", "-c", str(path), "--profile", "non-production")
    assert other[2] == "LOADED"  # another profile is another answer
    assert run(tmp_path, "validate", "-c", str(path))[2] == "KEPT"  # one file per command


@pytest.mark.parametrize("edit", ["valid", "broken"])
def test_an_edited_checklist_of_the_same_size_and_mtime_is_read_again(tmp_path, edit):
    path = tmp_path / "c.yaml"
    path.write_text(ITEM.format(how="manual: true".ljust(17)))
    st = path.stat()
    assert run(tmp_path, "validate", "-c", str(path))[:2] == \
        (0, f"{path}: valid: 1 items in 1 sections (0 probed, 1 manual)\n")
    assert run(tmp_path, "validate", "-c", str(path))[2] == "KEPT"
    now = ITEM.format(how="probe: redis.ping" if edit == "valid" else "manual: maybe".ljust(17))
    assert len(now) == st.st_size
    path.write_text(now)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns
    code, out, how = run(tmp_path, "validate", "-c", str(path))
    assert how == "LOADED"
    if edit == "valid":
        assert (code, out) == (0, f"{path}: valid: 1 items in 1 sections (1 probed, 0 manual)\n")
    else:
        assert code == 2 and f"{path}:10:17: item 's.a': manual must be true or false, not 'maybe'" in out


def install(site: Path, version: str, param: str) -> None:
    """A plugin whose probe's parameter changes name with its version."""
    install_probe_plugin(site, "kept_plug", version, probe_source(
        "kept.kind", f'"{param}": Param("int")', "A probe whose parameter changes name with its version.", '"n"'))


def test_a_plugin_installed_or_upgraded_after_the_answer_was_kept_is_seen(tmp_path):
    site, path = tmp_path / "site", tmp_path / "c.yaml"
    site.mkdir()
    path.write_text(ITEM.format(how="probe: kept.kind\n        with: {n: 5}"))
    code, out, _ = run(tmp_path, "list", "-c", str(path), site=site)
    assert code == 2 and "unknown probe kind 'kept.kind'" in out  # not installed yet: not kept either
    install(site, "1.0", "n")
    assert run(tmp_path, "list", "-c", str(path), site=site)[:2] == (0, "s: S\n  s.a  required     kept.kind\n")
    assert run(tmp_path, "list", "-c", str(path), site=site)[2] == "KEPT"
    install(site, "2.0", "count")  # the upgrade makes the kept item invalid
    code, out, how = run(tmp_path, "list", "-c", str(path), site=site)
    assert how == "LOADED" and code == 2 and "configuration error" in out and "kept.kind" in out
    install(site, "2.0", "n")  # an edit in place, same version: the module file's stamp changes
    assert run(tmp_path, "list", "-c", str(path), site=site)[:2] == (0, "s: S\n  s.a  required     kept.kind\n")
    (site / "other_plug-1.0.dist-info").mkdir()  # any new plugin: answers are made again
    (site / "other_plug-1.0.dist-info" / "entry_points.txt").write_text("[readiness.probes]\nother = kept_plug\n")
    assert run(tmp_path, "list", "-c", str(path), site=site)[2] == "LOADED"


def test_no_cache_means_every_run_loads_and_nothing_is_kept(tmp_path):
    for _ in range(2):
        code, out, how = run(tmp_path, "validate", READINESS_NO_CACHE="1")
        assert code == 0 and "valid:" in out and how == "LOADED"
    assert results(tmp_path) == []


def _forge(path: Path) -> None:
    """A kept answer for the right key that lies: what someone who could write the file could make it say."""
    fmt, key, _, _ = cachefile.unpack(path.read_bytes())
    path.write_bytes(cachefile.pack(fmt, key, "forged\n"))


@pytest.mark.parametrize("how", ["loose permissions", "another owner", "a symlink"])
def test_a_kept_answer_others_could_have_written_is_not_used(tmp_path, how):
    first = run(tmp_path, "validate")
    assert first[0] == 0 and run(tmp_path, "validate")[2] == "KEPT"
    kept = results(tmp_path)[0]
    _forge(kept)
    assert run(tmp_path, "validate")[1] == "forged\n"  # the forgery is well-made: only its file's owner can tell
    if how == "loose permissions":
        kept.chmod(0o666)
    elif how == "another owner":
        if os.getuid() != 0:
            pytest.skip("chown to another user needs root")
        os.chown(kept, 65534, 65534)
    else:
        forged = kept.with_name("elsewhere.cache")
        kept.rename(forged)
        kept.symlink_to(forged)
    assert run(tmp_path, "validate") == (*first[:2], "LOADED")


def install_importing(site: Path, param: str) -> None:
    """A plugin whose probe's default is not plain data (so the schema index cannot hold it: every run imports it)
    and whose parameter's name comes from a file in a subpackage (which no fingerprint stamps)."""
    sub = site / "nd_plug" / "names"
    sub.mkdir(parents=True, exist_ok=True)
    dist = site / "nd_plug-1.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nd-plug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[readiness.probes]\nnd = nd_plug\n")
    (sub / "__init__.py").write_text("")
    (sub / "spec.py").write_text(f"NAME = {param!r}\n")
    (site / "nd_plug" / "__init__.py").write_text(
        "from readiness.probe import Param, passed, probe\n"
        "from nd_plug.names.spec import NAME\n\n\n"
        '@probe("nd.kind", target=None, params={NAME: Param("any", default=frozenset())})\n'
        "def kind(ctx, p):\n"
        '    """A probe the index cannot describe."""\n'
        '    return passed("n")\n')


def test_probes_imported_every_run_are_never_kept(tmp_path):
    # the registry came from importing the plugin, which read a file no key stamps: its answer must not be kept
    site, path = tmp_path / "site", tmp_path / "c.yaml"
    site.mkdir()
    path.write_text(ITEM.format(how="probe: nd.kind\n        with: {n: 5}"))
    install_importing(site, "n")
    want = (0, f"{path}: valid: 1 items in 1 sections (1 probed, 0 manual)\n")
    assert run(tmp_path, "validate", "-c", str(path), site=site)[:2] == want
    assert run(tmp_path, "validate", "-c", str(path), site=site) == (*want, "LOADED")
    install_importing(site, "count")  # same size, other name: what click says is now exit 2
    code, out, how = run(tmp_path, "validate", "-c", str(path), site=site)
    assert (code, how) == (2, "LOADED") and "configuration error" in out and "'n'" in out
    assert results(tmp_path) == []


def _indexes(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "readiness").glob("probes-*.cache"))


def test_a_deleted_or_rebuilt_probe_index_invalidates_kept_answers(tmp_path):
    # an audit that finds the index stale deletes it (registry.resolved): answers made from it must go with it
    first = run(tmp_path, "list")
    assert first[0] == 0 and run(tmp_path, "list") == (*first[:2], "KEPT")
    [index] = _indexes(tmp_path)
    index.unlink()
    assert run(tmp_path, "list") == (*first[:2], "LOADED")  # and the index is written again
    assert run(tmp_path, "list") == (*first[:2], "KEPT")
    st = index.stat()
    os.utime(index, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # rebuilt: another stamp
    assert run(tmp_path, "list") == (*first[:2], "LOADED")


def _origin(name: str) -> str:
    from importlib.util import find_spec

    spec = find_spec(name)
    assert spec is not None and spec.origin
    return spec.origin


@pytest.mark.parametrize("what", ["yaml", "packaging", "readiness.probe", "readiness.cli.plain"])
def test_touching_the_parser_packaging_or_readiness_code_invalidates_kept_answers(tmp_path, what):
    first = run(tmp_path, "validate")
    assert first[0] == 0 and run(tmp_path, "validate") == (*first[:2], "KEPT")
    origin = _origin(what)
    st = os.stat(origin)
    try:
        os.utime(origin, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        assert run(tmp_path, "validate") == (*first[:2], "LOADED")
    finally:
        os.utime(origin, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_miss_stamps_the_probe_plugins_once(tmp_path, monkeypatch, capsys):
    # the key's fingerprint is the registry's: a second one would stat every plugin file again
    from readiness import registry, schemaindex
    from readiness.cli import plain

    path = tmp_path / "c.yaml"
    path.write_text(ITEM.format(how="probe: redis.ping"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("READINESS_NO_CACHE", "READINESS_DEBUG", "READINESS_TARGETS"):
        monkeypatch.delenv(name, raising=False)
    calls = []
    real = schemaindex.fingerprint
    monkeypatch.setattr(schemaindex, "fingerprint", lambda eps: calls.append(1) or real(eps))
    registry.probes.cache_clear()
    try:
        assert plain.run(["validate", "-c", str(path)]) == 0
    finally:
        registry.probes.cache_clear()
    assert capsys.readouterr().out == f"{path}: valid: 1 items in 1 sections (1 probed, 0 manual)\n"
    assert calls == [1]
