"""The comparison report in a real browser (Debian chromium via playwright): offline, safe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from evaltrace import EvaluationResult, compare
from evaltrace.report import write_comparison_report
from tests.integration.test_report_browser import ARTIFACTS, Report, Watched, chromium, watching
from tests.unit.test_compare import fixed_values, result

pytestmark = pytest.mark.integration

SCRIPT_OUTPUT = "<script>window.pwned = 1</script><img src=x onerror=window.pwned=2>"


@pytest.fixture(scope="module")
def sides() -> tuple[EvaluationResult, EvaluationResult]:
    base = result(fixed_values(), name="base")
    worse = result(fixed_values(-0.3), name="worse", latency=0.3)
    first = worse.cases[0]
    worse.cases[0] = first.model_copy(update={"output": SCRIPT_OUTPUT})
    return base, worse


@pytest.fixture(scope="module")
def page_path(
    sides: tuple[EvaluationResult, EvaluationResult], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    base, worse = sides
    comparison = compare(base, worse, moved=40)
    return write_comparison_report(
        comparison, tmp_path_factory.mktemp("cmp") / "compare.html", base, worse
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def watched(browser: Browser, page_path: Path) -> Iterator[Watched]:
    with watching(browser, page_path.as_uri()) as seen:
        yield seen


def test_forest_scatter_usage_and_moved_cases_are_drawn(
    watched: Watched, page_path: Path, sides: tuple[EvaluationResult, EvaluationResult]
) -> None:
    page = watched.page
    assert page.locator("#forest-plot .metric-row.regressed").count() == 1
    assert page.locator("#scatter-plot circle").count() == 30
    assert page.locator("#metrics-table tbody tr").count() == 1
    assert "regressed" in (page.locator("#metrics-table").text_content() or "")
    usage = page.locator("#usage-table tbody tr")
    assert usage.count() == 2 and "60 → 60" in (usage.first.text_content() or "")
    moved = page.locator("article.moved-case")
    assert moved.count() == 30
    first = moved.first.text_content() or ""
    assert "worse answer" in first or SCRIPT_OUTPUT in first
    assert "span " in first and "prompt: p" in first  # the case's calls, side by side
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "compare-report.png"), full_page=True)
    watched.assert_quiet(Report(sides[0], page_path))


def test_markup_in_outputs_is_text_and_never_runs(
    watched: Watched, page_path: Path, sides: tuple[EvaluationResult, EvaluationResult]
) -> None:
    page = watched.page
    assert page.evaluate("window.pwned") is None
    assert page.locator("#moved img").count() == 0
    assert SCRIPT_OUTPUT in (page.locator("#moved").text_content() or "")
    watched.assert_quiet(Report(sides[0], page_path))
