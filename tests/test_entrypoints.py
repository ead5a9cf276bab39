"""The light entry-point reader answers as importlib.metadata does, for every group of every installed package."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

from readiness import entrypoints
from readiness.entrypoints import EntryPoint, _normalized


def slow_groups() -> dict[str, list[tuple[str, str]]]:
    names = {ep.group for dist in metadata.distributions() for ep in dist.entry_points}
    return {g: sorted((ep.name, ep.value) for ep in metadata.entry_points(group=g)) for g in names}


def test_every_group_matches_importlib_metadata():
    slow = slow_groups()
    assert {"readiness.probes", "readiness.reporters", "console_scripts"} <= set(slow)
    for group, expected in slow.items():
        assert sorted((ep.name, ep.value) for ep in entrypoints.entry_points(group)) == expected, group


def test_the_test_plugin_on_sys_path_is_found_and_loads():
    found = {ep.name: ep for ep in entrypoints.entry_points("readiness.probes")}
    assert found["testplugin"].value == "readiness_testplugin"
    assert found["broken"].value == "readiness_testplugin_missing"
    assert found["testplugin"].load().__name__ == "readiness_testplugin"
    with pytest.raises(ModuleNotFoundError):
        found["broken"].load()
    kinds = {ep.name: ep for ep in entrypoints.entry_points("readiness.targets")}
    assert kinds["testdb"].load().name == "testdb"


def test_a_new_path_entry_is_read_again(tmp_path, monkeypatch):
    dist = tmp_path / "extra_thing-2.0.dist-info"
    dist.mkdir()
    (dist / "entry_points.txt").write_text("# comment\n[readiness.probes]\nextra = os.path:join [x]\n\n[other]\na=b\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = [ep for ep in entrypoints.entry_points("readiness.probes") if ep.name == "extra"]
    assert found == [EntryPoint("extra", "os.path:join [x]", "readiness.probes")]
    import os.path

    assert found[0].load() is os.path.join


def test_a_zipped_path_entry_asks_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "lib.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    monkeypatch.syspath_prepend(str(archive))
    assert sorted((e.name, e.value) for e in entrypoints.entry_points("readiness.reporters")) == \
        slow_groups()["readiness.reporters"]


@pytest.mark.parametrize("dirname, name", [("Foo.Bar-1.0.dist-info", "foo_bar"), ("foo_bar.egg-info", "foo_bar"),
                                           ("foo-1.0-py3.11.egg-info", "foo")])
def test_distribution_names_are_normalised(dirname, name):
    assert _normalized(dirname) == name


def test_reading_entry_points_does_not_import_importlib_metadata():
    code = ("import sys\nfrom readiness.entrypoints import entry_points\nassert entry_points('readiness.probes')\n"
            "print('importlib.metadata' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"


def test_an_entry_point_cannot_change_after_it_is_made():
    # its hash is its fields and the process cache hands one instance to every caller
    ep = EntryPoint("a", "m:x", "readiness.probes", "d-1.0.dist-info")
    before = hash(ep)
    for name in ("name", "value", "group", "dist", "other"):
        with pytest.raises(AttributeError):
            setattr(ep, name, "changed")
        with pytest.raises(AttributeError):
            delattr(ep, name)
    assert (ep.name, ep.value, ep.group, ep.dist, hash(ep)) == ("a", "m:x", "readiness.probes", "d-1.0.dist-info",
                                                                before)
