"""`readiness fleet` against a hostile fleet: reports over the per-report cap are never read past it (from a directory
and from moto's S3), show as unreadable for their cluster, reports that would parse to too much memory are
not parsed, and huge reports are read a few at a time."""

from __future__ import annotations

import json
import threading
import time

import boto3
from test_fleet import NEWEST, OLDER, report_for, rows, run, stamp, uploaded_dir

from readiness import fleet, fleetstore

OVER = 17 * 2**20  # a report just over the 16 MB cap


def padded(cluster: str, finished: str, size: int) -> bytes:
    """A well-formed, ready report of about ``size`` bytes: what a run would write, only bigger."""
    report = report_for(cluster, finished, False)
    report["results"][0]["evidence"] = {"pad": "x" * size}
    return json.dumps(report).encode()


def test_a_directory_report_over_the_cap_is_unreadable_for_its_cluster_not_read(tmp_path):
    # the older report is ready, and so is the huge newest one: under the old 64 MB cap it was read and trusted
    source = uploaded_dir(tmp_path / "reports", {"huge": [(OLDER, False)], "fine": [(NEWEST, False)]})
    (source / "huge" / stamp(NEWEST)).write_bytes(padded("huge", NEWEST, OVER))
    out = tmp_path / "fleet.html"
    proc = run("fleet", str(source), "-o", str(out))
    assert proc.returncode == 1, proc.stderr  # unreadable is never ready
    assert "2 clusters, 1 not ready (1 unreadable)" in proc.stderr
    found = rows(out.read_text())
    assert found["huge"]["data-verdict"] == "unreadable" and found["fine"]["data-verdict"] == "ready"
    assert "files over 16 MB are refused" in out.read_text()


def test_an_s3_report_over_the_cap_is_unreadable_and_never_read_past_the_cap(moto, monkeypatch):
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
    s3.create_bucket(Bucket="fleet-huge")
    key = {c: f"nightly/{c}/{stamp(NEWEST)}" for c in ("huge", "fine", "liar")}
    s3.put_object(Bucket="fleet-huge", Key=f"nightly/huge/{stamp(OLDER)}", Body=padded("huge", OLDER, 10))
    s3.put_object(Bucket="fleet-huge", Key=key["huge"], Body=padded("huge", NEWEST, OVER))
    s3.put_object(Bucket="fleet-huge", Key=key["fine"], Body=padded("fine", NEWEST, 10))
    s3.put_object(Bucket="fleet-huge", Key=key["liar"], Body=padded("liar", NEWEST, 3 * 2**20))
    read: dict[str, int] = {}

    def count(http_response, parsed, model, **_):  # every byte the reader takes from each body
        if model.name != "GetObject":
            return
        body, name = parsed["Body"], http_response.url.rsplit("/", 2)[-2]
        if name == "liar":  # a stream whose stated length is missing: the bounded read must hold alone
            parsed.pop("ContentLength", None)
        real = body.read

        def counted(amt=None):
            data = real(amt)
            read[name] = read.get(name, 0) + len(data)
            return data

        body.read = counted

    s3.meta.events.register("after-call.s3.GetObject", count)
    got = fleet.collect("s3://fleet-huge/nightly/", ".", s3=s3)
    by = {r.cluster: r for r in got.rows}
    assert {c: r.verdict for c, r in by.items()} == {"huge": "unreadable", "fine": "ready", "liar": "ready"}
    assert "reports over 16 MB are not read" in by["huge"].problem and by["huge"].finished_at == NEWEST
    assert read.get("huge", 0) == 0  # its stated length refused it before a byte was read
    monkeypatch.setattr(fleetstore, "MAX_REPORT_BYTES", 2**20)  # now the liar is over the cap too
    read.clear()
    got = fleet.collect("s3://fleet-huge/nightly/", ".", s3=s3)
    by = {r.cluster: r for r in got.rows}
    assert by["liar"].verdict == "unreadable" and "reports over 1 MB are not read" in by["liar"].problem
    assert 0 < read["liar"] <= 2**20 + 1


def test_a_report_that_would_take_too_much_memory_to_parse_is_unreadable_not_parsed(tmp_path):
    # 12 MB of "[]," is under the byte cap, but would parse to ~260 MB of Python lists
    report = report_for("bomb", NEWEST, False)
    report["results"][0]["evidence"] = {"pad": [[]] * (4 * 2**20)}
    page = _one_unreadable(tmp_path, "bomb", json.dumps(report, separators=(",", ":")), [(OLDER, False)])
    assert "parsing this report would take about" in page


def test_huge_reports_are_read_a_few_at_a_time_not_one_per_worker(tmp_path):
    size = 5 * 2**20  # each costs three times that while parsed: four fit in the budget (64 MB), not five
    source = uploaded_dir(tmp_path / "r", {f"c{n}": [(NEWEST, False)] for n in range(6)})
    for n in range(6):
        (source / f"c{n}" / stamp(NEWEST)).write_bytes(padded(f"c{n}", NEWEST, size))
    lock, now, peak = threading.Lock(), [0], [0]

    class Watched(fleet.Directory):
        def read(self, where: str) -> bytes:
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            time.sleep(0.2)  # long enough for every free worker to start its own
            try:
                return super().read(where)
            finally:
                with lock:
                    now[0] -= 1

    got = fleet._collect(Watched(str(source), str(tmp_path)), max_clusters=10, workers=6)
    assert {r.verdict for r in got.rows} == {"ready"} and len(got.rows) == 6
    assert peak[0] == 4


def test_an_unreadable_reports_bytes_are_freed_at_once_not_at_the_next_garbage_collection(tmp_path):
    import gc
    import tracemalloc

    source = uploaded_dir(tmp_path / "r", {f"c{n}": [(NEWEST, False)] for n in range(8)})
    for n in range(8):  # corrupt: 4 MB that are not JSON
        (source / f"c{n}" / stamp(NEWEST)).write_bytes(b"{" + b"x" * (4 * 2**20))
    gc.collect()
    gc.disable()  # what a cycle holds stays held: the gc would only hide it sometimes
    tracemalloc.start()
    try:
        got = fleet._collect(fleet.Directory(str(source), str(tmp_path)), max_clusters=10, workers=1)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    assert {r.verdict for r in got.rows} == {"unreadable"} and len(got.rows) == 8
    assert held < 2**20, f"{held / 2**20:.0f} MB still held after the run"


def test_a_deeply_nested_report_is_unreadable_for_its_cluster_not_an_internal_error(tmp_path):
    # "[[[[..." is a few hundred KB under every bound, but the JSON decoder gives up on its depth (RecursionError)
    assert "nested too deeply" in _one_unreadable(tmp_path, "deep", "[" * 100_000, [(NEWEST, False)])


def _one_unreadable(tmp_path, name, text, older):
    """A fleet of a cluster ``name`` whose newest report is ``text`` (after ``older``) and a fine one: the page says
    ``name`` is unreadable and the other ready, and the command exits 1.  The page's text."""
    source = uploaded_dir(tmp_path / "reports", {name: older, "fine": [(NEWEST, False)]})
    (source / name / stamp(NEWEST)).write_text(text)
    out = tmp_path / "fleet.html"
    proc = run("fleet", str(source), "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    found = rows(out.read_text())
    assert found[name]["data-verdict"] == "unreadable" and found["fine"]["data-verdict"] == "ready"
    return out.read_text()


def test_a_report_waiting_for_room_to_parse_holds_none_of_its_bytes_outside_the_budget(tmp_path):
    # The read's reservation (three times the size) is the least a parse costs; the parse's counts the values too.
    # Here the read fits beside another worker's parse and the parse does not: the report once waited for room
    # holding its bytes, uncounted (the budget overshot by up to a report per waiting worker); now it holds nothing.
    import tracemalloc

    from readiness.fleetstore import Budget, Directory, Found

    source = uploaded_dir(tmp_path / "r", {"c0": [(NEWEST, False)]})
    path = source / "c0" / stamp(NEWEST)
    path.write_bytes(padded("c0", NEWEST, 4 * 2**20))
    size = path.stat().st_size
    assert fleetstore.parse_cost(path.read_bytes()) > 3 * size
    waiting = threading.Event()

    class Watched(Budget):
        def hold(self, want: int) -> int:
            with self.cond:
                if self.used and self.used + want > self.total:
                    waiting.set()
            return super().hold(want)

    budget = Watched(3 * size + 2**20)
    other = budget.hold(2**20)  # another worker's parse
    got: list[object] = []
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        worker = threading.Thread(target=lambda: got.append(fleet._read(
            Directory(str(source), str(tmp_path)), Found("c0", path.name, str(path)), "c0", budget)))
        worker.start()
        assert waiting.wait(30)
        time.sleep(0.2)  # it is waiting now
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        budget.free(other)
        worker.join(30)
        tracemalloc.stop()
    assert held < size // 4, f"{held / 2**20:.1f} MB held outside the budget while waiting for room"
    assert [r.verdict for r in got] == ["ready"] and budget.used == 0  # type: ignore[attr-defined]


def test_a_report_that_never_fits_is_refused_without_waiting_for_room_after_its_last_read(tmp_path):
    # The third read that still does not fit ends the tries: it once let go of its reservation and waited in
    # hold() for room for a parse that would never come, before saying "grew each time".
    from readiness.fleetstore import Budget, Directory, Found

    source = uploaded_dir(tmp_path / "r", {"c0": [(NEWEST, False)]})
    path = source / "c0" / stamp(NEWEST)
    reads: list[int] = []

    class Full(Budget):
        def resize(self, held: int, size: int) -> int | None:
            reads.append(size)
            return None  # never room to grow

        def hold(self, size: int) -> int:
            if len(reads) >= 3:
                raise AssertionError("waited for room after the last read")
            return super().hold(size)

    budget = Full(2**30)
    row = fleet._read(Directory(str(source), str(tmp_path)), Found("c0", path.name, str(path)), "c0", budget)
    assert isinstance(row, fleet.Row) and row.verdict == "unreadable", row
    assert "grew each time it was read" in row.problem and len(reads) == 3
    assert budget.used == 0


def _parse_peak(data: bytes) -> int:
    """What parsing ``data`` as diff, render and fleet do takes at its peak, its bytes included."""
    import tracemalloc

    from readiness.diffing import parse_report

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        report = parse_report(data, "r.json")
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert report["summary"]["verdict"] == "ready"
    return peak + len(data)


def test_the_parse_cost_counts_one_character_outside_the_bmp_widening_the_whole_report():
    # Reports are written ensure_ascii=False: one emoji made the decoded text 4 bytes per character, and the
    # estimate (3 bytes per byte) was half the real peak: 391 KB parsed to 2.38 MB, estimated 1.20 MB.
    ascii_report = padded("c0", NEWEST, 400_000)
    end = ascii_report.index(b'x"') + 1
    for name, text in (("an emoji", "\U0001F600".encode()), ("an escaped emoji", b"\\ud83d\\ude00"),
                       ("CJK", "\u6f22".encode()), ("escaped CJK", b"\\u6f22"), ("an escaped e-acute", b"\\u00e9"),
                       ("a newline", b"\\n")):
        for data in (ascii_report.replace(b'"pad": "', b'"pad": "' + text, 1),
                     ascii_report[:end] + text + ascii_report[end:]):  # widened at the start, or at the end
            peak = _parse_peak(data)
            assert fleetstore.parse_cost(data) >= peak, f"{name}: estimated {fleetstore.parse_cost(data)}, took {peak}"
    # and plain ASCII keeps its estimate: no report that fitted before is refused now
    assert fleetstore.parse_cost(ascii_report) < 4 * len(ascii_report)
