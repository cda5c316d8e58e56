"""The HTML report in a real browser (Debian's chromium via playwright): offline, safe, usable.

Chromium comes from the Makefile (``make chromium``, a prerequisite of ``make test``),
never from ``playwright install``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

import evaltrace.report
from evaltrace import Case, CaseResult, EvaluationResult, LLMInteraction
from evaltrace.report import write_html_report
from tests.unit.test_report_html import IMG_INPUT, SCRIPT_INPUT, report_result

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
CALL_ROWS = "#interactions-table tbody tr.row"
CASE_ROWS = "#cases-table tbody tr.row"


@dataclass
class Report:
    result: EvaluationResult
    path: Path

    @property
    def url(self) -> str:
        return self.path.as_uri()


@dataclass
class Watched:
    """A page, and everything it asked the network for or complained about."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_quiet(self, report: Report) -> None:
        assert self.requests == [report.url], "the report made a request besides its own file"
        assert self.errors == []


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    # Delays give the calls latencies like real ones (two clusters: task and judge).
    result = report_result(TracerProvider(), task_delay=0.03, judge_delay=0.012)
    path = write_html_report(result, tmp_path_factory.mktemp("report") / "report.html")
    return Report(result, path)


@pytest.fixture(scope="module")
def browser(report: Report) -> Iterator[Browser]:
    """Chromium; after ``report``, since evaluate_sync cannot run in playwright's event loop."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def watched(browser: Browser, report: Report) -> Iterator[Watched]:
    with watching(browser, report.url) as seen:
        yield seen


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium through playwright (the test fails if it is not installed)."""
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run `make chromium` (Debian's package)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@contextmanager
def watching(browser: Browser, url: str) -> Iterator[Watched]:
    """A page open at ``url`` whose requests, console messages and errors are recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = Watched(page)
    page.on("request", lambda request: seen.requests.append(_url(request)))
    page.on("console", lambda message: _console(seen, message))
    page.on("pageerror", lambda error: seen.errors.append(f"page error: {error}"))
    page.goto(url)
    yield seen
    page.close()


def _url(request: Request) -> str:
    return request.url


def _console(seen: Watched, message: ConsoleMessage) -> None:
    if message.type in ("error", "warning"):
        seen.errors.append(f"console {message.type}: {message.text}")


def _row_indices(page: Page, selector: str) -> list[int]:
    return [
        int(i) for i in page.locator(selector).evaluate_all("rs => rs.map(r => r.dataset.index)")
    ]


def test_one_row_per_call_and_the_filters_narrow_them(watched: Watched, report: Report) -> None:
    page, calls = watched.page, report.result.interactions
    assert page.locator(CALL_ROWS).count() == len(calls) == 12
    assert page.locator(CASE_ROWS).count() == len(report.result.cases)

    page.fill("#filter-text", "Pacific")
    expected = [n for n, c in enumerate(calls) if "pacific" in (c.prompt + c.response).lower()]
    assert len(expected) == 1  # the judge's prompt for the ocean case
    assert _row_indices(page, CALL_ROWS) == expected
    assert page.locator("#filter-count").text_content() == "1 of 12 calls"

    page.fill("#filter-text", "")
    page.select_option("#filter-purpose", "task")
    assert page.locator(CALL_ROWS).count() == sum(c.purpose == "task" for c in calls) == 6
    page.select_option("#filter-purpose", "")
    page.select_option("#filter-status", "errors")
    (failed,) = _row_indices(page, CALL_ROWS)
    failed_error = calls[failed].error
    assert failed_error is not None and "judge overloaded" in failed_error
    page.select_option("#filter-status", "")
    page.select_option("#filter-model", "judge-model")
    assert page.locator(CALL_ROWS).count() == 6
    watched.assert_quiet(report)


def test_sorting_by_latency(watched: Watched, report: Report) -> None:
    page, calls = watched.page, report.result.interactions
    header = page.locator('#interactions-table th[data-column="latency"]')
    header.get_by_role("button").click()
    latencies = [calls[n].latency for n in _row_indices(page, CALL_ROWS)]
    assert latencies == sorted(latencies) and len(latencies) == 12
    assert header.get_attribute("aria-sort") == "ascending"
    header.get_by_role("button").click()
    latencies = [calls[n].latency for n in _row_indices(page, CALL_ROWS)]
    assert latencies == sorted(latencies, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    watched.assert_quiet(report)


def test_markup_in_prompts_is_shown_as_text_and_never_runs(
    watched: Watched, report: Report
) -> None:
    page = watched.page
    page.locator(CASE_ROWS, has_text="xss-script").click()
    detail = page.locator("#cases-table tr.detail")
    assert detail.locator("pre", has_text=f"{SCRIPT_INPUT} pwned?").first.is_visible()
    task_call = next(
        n
        for n, c in enumerate(report.result.interactions)
        if c.purpose == "task" and c.case_id == "xss-img"
    )
    page.locator(f'{CALL_ROWS}[data-index="{task_call}"]').click()
    prompt = page.locator("#interactions-table tr.detail pre", has_text=IMG_INPUT)
    assert prompt.first.is_visible()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    watched.assert_quiet(report)


def test_charts_and_trace_links(watched: Watched, report: Report) -> None:
    page, result = watched.page, report.result
    assert page.locator("svg#latency-histogram rect.bar-ok").count() > 0
    page.locator(CASE_ROWS, has_text="judge-down").click()
    waterfall = page.locator("#cases-table tr.detail svg.waterfall")
    case = next(c for c in result.cases if c.case_id == "judge-down")
    assert waterfall.locator("rect.call-bar").count() == len(case.interactions) == 2
    assert waterfall.locator("rect.call-bar.error").count() == 1
    assert waterfall.locator("rect.case-bar").count() == 1
    assert page.locator("a.trace-link").get_attribute("href") == result.trace_url
    links = page.locator("[href], [src]").evaluate_all(
        "els => els.map(e => e.getAttribute('href') || e.getAttribute('src'))"
    )
    assert {link for link in links if not link.startswith("#")} == {result.trace_url}
    watched.assert_quiet(report)


def test_screenshot(watched: Watched, report: Report) -> None:
    """A full-page picture, a case and a failed call opened, to look at in build/test-artifacts."""
    page = watched.page
    page.locator(CASE_ROWS, has_text="xss-script").click()
    (failed,) = [n for n, c in enumerate(report.result.interactions) if c.error]
    page.locator(f'{CALL_ROWS}[data-index="{failed}"]').click()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    assert (ARTIFACTS / "report.png").stat().st_size > 50_000
    watched.assert_quiet(report)


def big_result(calls: int) -> EvaluationResult:
    """A run of ``calls`` one-call cases, built directly (no event loop next to playwright's)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cases = []
    for n in range(calls):
        call = LLMInteraction(
            prompt=f"question {n}",
            response="yes",
            model="app-model",
            tokens_used=3,
            latency=0.001 * (n % 97),
            timestamp=start + timedelta(seconds=n),
            purpose="task",
            input_tokens=2,
            output_tokens=1,
            provider="llama.cpp",
            trace_id="ab" * 16,
            span_id=f"{n:016x}",
            case_id=f"c{n}",
        )
        cases.append(
            CaseResult(
                case=Case(id=f"c{n}", input=f"question {n}"),
                case_id=f"c{n}",
                output="yes",
                interactions=[call],
                started_at=call.timestamp,
                duration=call.latency,
            )
        )
    return EvaluationResult.build(
        name="big",
        run_id="r",
        trace_id="ab" * 16,
        started_at=start,
        finished_at=start + timedelta(seconds=calls),
        cases=cases,
        interactions=[c.interactions[0] for c in cases],
    )


def test_long_tables_list_a_page_of_rows_and_show_more_on_request(
    browser: Browser, tmp_path: Path
) -> None:
    path = write_html_report(big_result(1_234), tmp_path / "big.html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri())
    more = page.locator("#interactions-table button.more")
    assert page.locator(CALL_ROWS).count() == 500
    assert more.inner_text() == "Show 500 more (734 not shown)"
    assert page.locator("#filter-count").inner_text() == "1234 of 1234 calls (first 500 listed)"
    more.click()
    assert page.locator(CALL_ROWS).count() == 1_000
    more.click()
    assert page.locator(CALL_ROWS).count() == 1_234 and more.count() == 0
    assert page.locator("#filter-count").inner_text() == "1234 of 1234 calls"
    page.fill("#filter-text", "question 12")  # 12, 120-129 and 1200-1233: 45 calls
    assert page.locator(CALL_ROWS).count() == 45 and more.count() == 0
    page.fill("#filter-text", "")  # a new filter starts again from one page
    assert page.locator(CALL_ROWS).count() == 500
    assert page.locator("#cases-table tbody tr.row").count() == 500
    page.close()


def test_banners_say_what_the_run_misses(browser: Browser, tmp_path: Path) -> None:
    result = big_result(3).model_copy(
        update={"complete": False, "dropped_spans": 4, "unrecorded_calls": 2}
    )
    page = browser.new_page()
    page.goto(write_html_report(result, tmp_path / "partial.html").as_uri())
    banners = page.locator("p.banner").all_inner_texts()
    assert banners == [
        "This run is incomplete: it was interrupted or failed, so some cases are missing.",
        "4 spans were dropped by the exporter: the trace backend misses them "
        "(this report still lists their calls).",
        "2 model calls could not be recorded as interactions: "
        "the calls, tokens and cost below miss them.",
    ]
    page.close()
    clean = browser.new_page()
    clean.goto(write_html_report(big_result(3), tmp_path / "clean.html").as_uri())
    assert clean.locator("p.banner").count() == 0
    clean.close()


def test_the_histogram_takes_the_range_of_any_number_of_calls(browser: Browser) -> None:
    """``Math.min(...values)`` overflowed the stack at ~130k values; a 100k-call run is normal."""
    source = (Path(evaltrace.report.__file__).parent / "report.js").read_text(encoding="utf-8")
    start = source.index("  function histogramBins(")
    function = source[start : source.index("\n  }\n", start) + 4]
    page = browser.new_page()
    bins = page.evaluate(
        f"() => {{ {function}; const v = Array.from({{length: 300000}}, (_, i) => i / 1000);"
        " const r = histogramBins(v, 20); return [r.start, r.width, r.bins.length]; }"
    )
    page.close()
    assert bins == [0, pytest.approx(299.999 / 20), 20]
