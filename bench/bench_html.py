"""Figures for the HTML report at 500 items: render time, size, and (with Chromium) load and filter time.

Run from the repository root with the project installed:  python bench/bench_html.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import reportdata  # noqa: E402
from readiness.reports import html, junit, markdown  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def best_ms(fn: Callable[[], object], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def browser_figures(path: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"load": [], "status": [], "search": [], "reset": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for _ in range(5):
            start = time.perf_counter()
            page.goto(path.as_uri(), wait_until="load")
            out["load"].append((time.perf_counter() - start) * 1000)
            # Filter time measured inside the page: the handler's work plus the style and layout it forces.
            out["status"].append(page.evaluate("""() => {
                const box = document.querySelector('input[data-filter=status][value=pass]');
                const t = performance.now(); box.click(); document.body.offsetHeight;
                return performance.now() - t; }"""))
            out["search"].append(page.evaluate("""() => {
                const q = document.getElementById('filter-text'); q.value = 'explanation';
                const t = performance.now(); q.dispatchEvent(new Event('input')); document.body.offsetHeight;
                return performance.now() - t; }"""))
            out["reset"].append(page.evaluate("""() => {
                const t = performance.now(); document.getElementById('reset-filters').click();
                document.body.offsetHeight; return performance.now() - t; }"""))
        browser.close()
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    report = reportdata.big_report(n)
    page = html.render(report)
    print(f"items: {n}")
    print(f"html render: {best_ms(lambda: html.render(report)):.1f} ms, "
          f"size {len(page.encode()) / 1024:.0f} KiB")
    print(f"junit render: {best_ms(lambda: junit.render(report)):.1f} ms, "
          f"size {len(junit.render(report).encode()) / 1024:.0f} KiB")
    print(f"markdown render: {best_ms(lambda: markdown.render(report)):.1f} ms, "
          f"size {len(markdown.render(report).encode()) / 1024:.1f} KiB")
    if not os.path.exists(CHROMIUM):
        print(f"browser: skipped ({CHROMIUM} is absent)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        path.write_text(page, encoding="utf-8")
        figures = browser_figures(path)
    print(f"browser page load (median of 5): {figures['load']:.0f} ms")
    print(f"browser filter by status: {figures['status']:.1f} ms, text search: {figures['search']:.1f} ms, "
          f"reset: {figures['reset']:.1f} ms")


if __name__ == "__main__":
    main()
