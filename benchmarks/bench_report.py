"""R1: opening the HTML report of a large run, paged (500 rows per table) vs every row at once.

The same result is written twice in one run: as shipped, and with the page size
raised past the row count (the script's CSP hash recomputed, so it still runs).
Each is opened in headless Debian chromium until its calls table has rows;
medians of ``--rounds`` loads, alternating. Usage::

    .venv/bin/python benchmarks/bench_report.py --cases 10000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from unittest import mock

from _common import machine, median, work_dir
from playwright.sync_api import Browser, sync_playwright

from evaltrace import Case, Contains, Correctness, ScriptedProvider, evaluate_sync
from evaltrace.report import _html, write_html_report

PAGED = "const PAGE_ROWS = 500;"
ALL_ROWS = "const PAGE_ROWS = 1e9;"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def build(cases: int, folder: Path) -> dict[str, Path]:
    dataset = [
        Case(id=f"c{i}", input=f"Question {i}: " + "lorem ipsum " * 85, expected="yes")
        for i in range(cases)
    ]
    result = evaluate_sync(
        dataset,
        [Contains(), Correctness()],
        task=ScriptedProvider("yes " * 40),
        judge=ScriptedProvider('{"score": 1, "explanation": "ok"}'),
        max_concurrency=64,
    )
    paths = {"paged": write_html_report(result, folder / "paged.html")}
    shipped = _html._asset
    assert PAGED in shipped("report.js"), "the page size moved: update the benchmark"

    def unpaged(name: str) -> str:
        text = shipped(name)
        return text.replace(PAGED, ALL_ROWS) if name == "report.js" else text

    with mock.patch.object(_html, "_asset", unpaged):
        paths["all rows"] = write_html_report(result, folder / "all-rows.html")
    return paths


def open_seconds(browser: Browser, path: Path) -> float:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    started = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_selector("#interactions-table tbody tr.row")
    elapsed = time.perf_counter() - started
    page.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    paths = build(args.cases, work_dir("report"))
    times: dict[str, list[float]] = {name: [] for name in paths}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        for _ in range(args.rounds):
            for name, path in paths.items():
                times[name].append(open_seconds(browser, path))
        browser.close()
    paged, every = median(times["paged"]), median(times["all rows"])
    print(
        json.dumps(
            {
                "benchmark": "R1 report open time",
                "cases": args.cases,
                "calls": 2 * args.cases,
                "file_mb": round(paths["paged"].stat().st_size / 1e6, 1),
                "seconds": {name: [round(t, 2) for t in ts] for name, ts in times.items()},
                "median_paged_s": round(paged, 2),
                "median_all_rows_s": round(every, 2),
                "all_rows_over_paged": round(every / paged, 2),
                "machine": machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
