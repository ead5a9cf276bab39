"""The probe schema index: the same schemas as importing every probe module, rebuilt when a plugin is installed,
upgraded or edited after it was built, and never trusted when its file is corrupt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from helpers import install_probe_plugin, probe_source

from readiness import cachefile, registry, schemaindex
from readiness.entrypoints import entry_points

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIR = Path(__file__).parent / "plugin"

# What a run saw: every probe's schema, the broken entry points, and which probe modules it imported.
SHOW = """
import json, sys
from readiness.registry import probes
reg = probes()
out = {k: [p.target, p.summary, p.module, p.writes, list(p.reads) if not callable(p.reads) else "callable",
           {n: [q.type, q.required, None if q.required else repr(q.default), q.help, repr(q.choices)]
            for n, q in p.params.items()}] for k, p in reg.probes.items()}
imported = sorted(m for m in sys.modules if m.startswith(("readiness.checks.", "stale_plug")))
print(json.dumps({"probes": out, "broken": reg.broken, "imported": imported}))
"""

CLI = """
import sys
from readiness.cli import main
try:
    main(sys.argv[1:])
finally:
    print("IMPORTED", sorted(m for m in sys.modules if m.startswith("readiness.checks.")), file=sys.stderr)
"""


def _env(cache: Path, *path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "XDG_CACHE"))}
    env["XDG_CACHE_HOME"] = str(cache)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a rewritten plugin of the same size must not run from stale bytecode
    if path:
        env["PYTHONPATH"] = os.pathsep.join(map(str, path))
    return env


def show(cache: Path, *path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", SHOW], capture_output=True, text=True, env=_env(cache, *path),
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def cli(cache: Path, *args: str) -> tuple[str, str, list[str]]:
    done = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, env=_env(cache),
                          timeout=120, cwd=ROOT)
    err, _, imported = done.stderr.rpartition("IMPORTED ")
    return done.stdout, f"exit {done.returncode}\n{err}", json.loads(imported.replace("'", '"'))


def index_files(cache: Path) -> list[Path]:
    return sorted((cache / "readiness").glob("probes-*.cache"))


def install_plugin(site: Path, version: str, default: int) -> None:
    """A plugin whose schema changes with its version."""
    install_probe_plugin(site, "stale_plug", version, probe_source(
        "stale.kind", f'"n": Param("int", {default}, help="v{version}")',
        "A probe whose schema changes with its version.", 'str(p["n"])'))


def test_index_gives_the_imported_schema_of_every_probe_kind_test_plugin_included():
    eps = sorted(entry_points(group=registry.PROBE_GROUP), key=lambda e: e.name)
    reg, entries = registry.imported(eps)
    assert "test.constant" in reg.probes and "redis.info" in reg.probes
    kept = json.loads(json.dumps([schemaindex.encode_probe(p, entries[k]) for k, p in reg.probes.items()]))
    for d in kept:
        lazy = schemaindex.decode_probe(d, registry._lazy)
        real = reg.probes[lazy.kind]
        assert (lazy.target, dict(lazy.params), lazy.summary, lazy.module, lazy.writes) == \
               (real.target, dict(real.params), real.summary, real.module, real.writes), lazy.kind
        for name, param in lazy.params.items():  # == says 1 == 1.0 == True: the types must be the same too
            assert type(param.default) is type(real.params[name].default), (lazy.kind, name)
        if callable(real.reads):
            assert callable(lazy.reads)
        else:
            assert lazy.reads == real.reads
        assert registry.resolved(lazy) is real  # running it imports the module and runs the very probe


def test_commands_say_the_same_from_the_index_and_import_no_probe_module(tmp_path):
    cache = tmp_path / "cache"
    for args in (["list"], ["validate"], ["probes"], ["explain", "redis.maxmemory-policy"],
                 ["validate", "-t", str(ROOT / "examples" / "targets.yaml")]):
        built = cli(cache, *args)
        assert index_files(cache), "the first run keeps the index"
        again = cli(cache, *args)
        assert again[:2] == built[:2], args
        assert again[2] == [], f"{args}: imported {again[2]}"


def test_a_plugin_installed_after_the_index_was_built_is_seen(tmp_path):
    cache, site = tmp_path / "cache", tmp_path / "site"
    site.mkdir()
    before = show(cache, site)
    assert "stale.kind" not in before["probes"] and index_files(cache)
    install_plugin(site, "1.0", 10)
    after = show(cache, site)
    assert after["probes"]["stale.kind"][5]["n"] == ["int", False, "10", "v1.0", "()"]
    assert "stale_plug" in after["imported"]  # rebuilt: every module imported once
    assert show(cache, site)["imported"] == []  # and kept


@pytest.mark.parametrize("edit", ["upgrade", "edit in place"])
def test_a_plugin_upgraded_or_edited_after_the_index_was_built_is_seen(tmp_path, edit):
    cache, site = tmp_path / "cache", tmp_path / "site"
    install_plugin(site, "1.0", 10)
    assert show(cache, site)["probes"]["stale.kind"][5]["n"][2] == "10"
    assert show(cache, site)["imported"] == []
    key = index_files(cache)[0].read_text()
    install_plugin(site, "2.0" if edit == "upgrade" else "1.0", 2000)  # an editable install: same version
    seen = show(cache, site)
    assert seen["probes"]["stale.kind"][5]["n"][2] == "2000"
    assert index_files(cache)[0].read_text() != key


def _rewrite(path: Path, change) -> None:
    """Change the body and sign it again, as a file of the right key and digest but the wrong contents."""
    fmt, key, _, body = cachefile.unpack(path.read_bytes())
    doc = {"body": json.loads(body)}
    change(doc)
    if isinstance(doc["body"], bytes):  # not JSON: packed by hand, as the writer packs it
        k, data = key.encode(), doc["body"]
        path.write_bytes(b"%d j %d %08x\n" % (fmt, len(k), zlib.crc32(b"j" + k + data)) + k + data)
    else:
        path.write_bytes(cachefile.pack(fmt, key, doc["body"]))


def _first_param(doc: dict) -> dict:
    return next(d for d in doc["body"] if d["params"])["params"][0][1]


def _bad_type(doc: dict) -> None:
    _first_param(doc)["type"] = "bogus"


def _list_key(doc: dict) -> None:
    _first_param(doc)["choices"] = {"d": [[{"l": []}, 1]]}


def _float_default(doc: dict) -> None:
    _first_param(doc).update(required=False, default=1.5)


def _foreign_entry(doc: dict) -> None:
    for d in doc["body"]:
        d["entry"] = "antigravity"


HOSTILE = {
    "not JSON": lambda p: p.write_bytes(b"\x00\xffnot json"),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "edited without its digest": lambda p: p.write_text(p.read_text().replace('"int"', '"str"', 1)),
    "nested 100,000 deep": lambda p: _rewrite(p, lambda d: d.update(body=b"[" * 100_000 + b"]" * 100_000)),
    "an unknown parameter type": lambda p: _rewrite(p, _bad_type),
    "an unhashable key": lambda p: _rewrite(p, _list_key),
    "an untagged float": lambda p: _rewrite(p, _float_default),
    "probes not a list": lambda p: _rewrite(p, lambda d: d.update(body={"a": 1})),
    "a directory": lambda p: (p.unlink(), p.mkdir()),
    "an entry without its kind": lambda p: _rewrite(p, lambda d: d["body"][0].pop("kind")),
    "a kind twice": lambda p: _rewrite(p, lambda d: d["body"].append(d["body"][0])),
    # a cache file must not choose what is imported: only the installed entry points' values are
    "an entry that is no entry point": lambda p: _rewrite(p, _foreign_entry),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_corrupt_index_is_ignored_and_rebuilt(tmp_path, name):
    cache, site = tmp_path / "cache", tmp_path / "site"
    install_plugin(site, "1.0", 10)
    reference = show(cache, site)
    HOSTILE[name](index_files(cache)[0])
    seen = show(cache, site)
    assert seen["probes"] == reference["probes"]
    assert "stale_plug" in seen["imported"]  # built again by importing, not read from the file
    if name != "a directory":
        assert show(cache, site)["imported"] == []  # and written over with a good one


def test_an_unwritable_cache_dir_builds_in_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    site = tmp_path / "site"
    install_plugin(site, "1.0", 10)
    first, second = show(blocker, site), show(blocker, site)
    assert first == second and "stale_plug" in second["imported"]


def test_a_broken_plugin_is_said_every_run_not_kept(tmp_path):
    cache = tmp_path / "cache"
    for _ in range(2):
        seen = show(cache, PLUGIN_DIR)
        assert "broken = readiness_testplugin_missing" in seen["broken"]
        assert "test.constant" in seen["probes"]


def test_a_probe_whose_module_no_longer_imports_is_an_error_never_a_pass(tmp_path):
    """The index was built while the plugin's dependency was installed; it is gone when the item runs."""
    cache, site, deps = tmp_path / "cache", tmp_path / "site", tmp_path / "deps"
    install_plugin(site, "1.0", 10)
    deps.mkdir()
    (deps / "stale_dep.py").write_text("")
    module = site / "stale_plug.py"
    module.write_text("import stale_dep  # noqa: F401\n" + module.read_text())
    assert "stale.kind" in show(cache, site, deps)["probes"]
    (deps / "stale_dep.py").unlink()
    checklist = tmp_path / "checklist.yaml"
    checklist.write_text("version: 1\nname: t\nsections:\n  - id: s\n    title: S\n    items:\n"
                         "      - {id: s.one, title: One, level: required, probe: stale.kind, rationale: r}\n")
    done = subprocess.run([sys.executable, "-c", CLI, "audit", "-c", str(checklist), "--json", "-"],
                          capture_output=True, text=True, env=_env(cache, site, deps), timeout=120, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)["results"][0]
    assert result["status"] == "error"
    assert "could not be loaded: ModuleNotFoundError: No module named 'stale_dep'" in result["message"]


def test_a_stale_index_whose_key_matches_is_an_error_never_a_pass(tmp_path):
    """An index that says n defaults to 99 (the key still matching) while the module says 10: the item was planned
    with 99, so it is an error, the index is deleted, and the next run (built again) passes with 10."""
    cache, site = tmp_path / "cache", tmp_path / "site"
    install_plugin(site, "1.0", 10)
    show(cache, site)
    _rewrite(index_files(cache)[0], lambda d: next(p for p in d["body"] if p["kind"] == "stale.kind")["params"][0][1]
             .update(default=99))
    assert show(cache, site)["probes"]["stale.kind"][5]["n"][2] == "99"  # the planted index is used for planning
    checklist = tmp_path / "checklist.yaml"
    checklist.write_text("version: 1\nname: t\nsections:\n  - id: s\n    title: S\n    items:\n"
                         "      - {id: s.one, title: One, level: required, probe: stale.kind, rationale: r}\n")

    def audit() -> dict:
        done = subprocess.run([sys.executable, "-c", CLI, "audit", "-c", str(checklist), "--json", "-"],
                              capture_output=True, text=True, env=_env(cache, site), timeout=120, cwd=ROOT)
        assert done.returncode in (0, 1), done.stderr
        return json.loads(done.stdout)["results"][0]

    first = audit()
    assert (first["status"], first["message"]) == ("error", "the probe schema index was stale; run again")
    assert index_files(cache) == []
    again = audit()
    assert (again["status"], again["message"]) == ("pass", "10")


@pytest.mark.parametrize("reads, why", [
    ('("*",)', "the Kubernetes read '*' names no single resource"),
    ('("apps/*",)', "the Kubernetes read 'apps/*' names no single resource"),
    ('"deployments"', "reads 'deployments' is one string, not a tuple of reads"),
    ('(7,)', "its read 7 is not a string"),
])
def test_a_plugin_whose_fixed_reads_are_not_one_resource_each_is_broken_when_validated(tmp_path, reads, why):
    """validate imports no probe module: a probe's fixed `reads` are checked where the index is built, so the
    plugin is refused by validate and `probes`, not first by `rbac` (which would grant '*') or during an audit."""
    cache, site = tmp_path / "cache", tmp_path / "site"
    install_probe_plugin(site, "wide_plug", "1.0", (
        "from readiness.probe import passed, probe\n\n\n"
        f'@probe("wide.kind", target="kubernetes", reads={reads})\n'
        "def kind(ctx, p):\n"
        '    """Reads too much."""\n'
        '    return passed("read")\n'))
    checklist = tmp_path / "checklist.yaml"
    checklist.write_text("version: 1\nname: t\nsections:\n  - id: s\n    title: S\n    items:\n"
                         "      - {id: s.one, title: One, level: required, probe: wide.kind, rationale: r}\n")
    for _ in range(2):  # said every run, never kept
        seen = show(cache, site)
        assert "wide.kind" not in seen["probes"] and why in seen["broken"]["wide = wide_plug"]
        done = subprocess.run([sys.executable, "-c", CLI, "validate", "-c", str(checklist)], capture_output=True,
                              text=True, env=_env(cache, site), timeout=120, cwd=ROOT)
        assert done.returncode == 2 and "unknown probe kind 'wide.kind'" in done.stderr and why in done.stderr
