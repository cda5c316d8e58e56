"""The tables the CLI prints for an ``EvaluationResult``: scores, cases, model usage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evaltrace import (
    CaseResult,
    CaseTrials,
    EvaluationResult,
    LLMInteraction,
    MetricTrials,
    Score,
    UsageSummary,
)
from evaltrace._values import one_line

__all__ = [
    "WORST_CASES",
    "case_table",
    "clip",
    "cost_text",
    "errors_table",
    "holds_summaries_only",
    "metric_table",
    "render_result",
    "seconds",
    "trials_table",
    "usage_table",
    "worst_first",
]

#: Runs with more cases than this show only their worst cases at the end.
WORST_CASES = 10
_ERROR_ROWS = 20

_ID_WIDTH = 28
_INPUT_WIDTH = 40
_OUTPUT_WIDTH = 40
_EXPECTED_WIDTH = 24
_ERROR_WIDTH = 48
_MIN_TEXT_WIDTH = 6
_COMFORTABLE_TEXT_WIDTH = 60  # input + output + expected
_USAGE_HEADERS = (
    "purpose",
    "model",
    "calls",
    "errors",
    "in tokens",
    "out tokens",
    "p50",
    "p95",
    "cost",
)


def render_result(
    result: EvaluationResult, console: Console, *, streamed_cases: int | None = None
) -> None:
    """Print the run header, scores by metric, the (worst) cases, usage by model, errors.

    ``streamed_cases`` is given for a run that kept only summaries: how many
    case results its results stream holds (the result holds none). A saved
    summaries-only result is told apart by its scores without cases.
    """
    summaries_only = streamed_cases is not None or holds_summaries_only(result)
    console.print(_header(result, streamed_cases, summaries_only=summaries_only))
    console.print(metric_table(result, streamed_cases))
    if summaries_only:
        console.print("Cases: only in the results stream (the run kept summaries only).")
    elif result.trials:
        console.print(trials_table(result, console.width))
    elif len(result.cases) <= WORST_CASES:
        console.print(case_table(result, console.width))
    else:
        worst = worst_first(result.cases)[:WORST_CASES]
        title = f"Worst cases ({len(worst)} of {len(result.cases)}, lowest mean score first)"
        console.print(case_table(result, console.width, cases=worst, title=title))
    if result.interactions or result.totals.calls:
        console.print(usage_table(result, console.width))
    else:
        console.print("No model calls were made.")
    errors = errors_table(result, console.width)
    if errors is not None:
        console.print(errors)


def holds_summaries_only(result: EvaluationResult) -> bool:
    """Whether ``result`` has scores or calls but no case: a run that kept summaries only."""
    scored = any(m.count or m.failures for m in result.metrics.values())
    return not result.cases and (scored or result.totals.calls > 0)


def worst_first(cases: Sequence[CaseResult]) -> list[CaseResult]:
    """Failed cases first, then by mean score (a metric that failed counts 0), lowest first."""
    return sorted(cases, key=_badness)


def _badness(case: CaseResult) -> tuple[bool, float]:
    values = [0.0 if s.value is None else s.value for s in case.scores]
    return (case.error is None, sum(values) / len(values) if values else 1.0)


def errors_table(result: EvaluationResult, width: int = 160) -> Table | None:
    """Failed cases, metrics and model calls (retried attempts included); None if there are none."""
    rows = _error_rows(result)
    if not rows:
        return None
    shown = rows[:_ERROR_ROWS]
    title = f"Errors ({len(rows)})"
    if len(shown) < len(rows):
        title = f"Errors ({len(shown)} of {len(rows)}; all: evaltrace show RESULTS --errors)"
    table = Table(title=title, title_justify="left")
    table.add_column("case", no_wrap=True, max_width=_ID_WIDTH)
    table.add_column("where", no_wrap=True)
    table.add_column("error", style="red")
    message_width = max(20, width - _ID_WIDTH - 40)
    for case_id, where, message in shown:
        table.add_row(clip(case_id, _ID_WIDTH), Text(where), clip(message, message_width))
    return table


def _error_rows(result: EvaluationResult) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for case in result.cases:
        if case.error is not None:
            rows.append((case.case_id, "task", case.error))
        for score in case.scores:
            if score.error is not None:
                rows.append((case.case_id, f"metric {score.metric}", score.error))
        for call in case.interactions:
            if call.error is not None:
                attempt = call.attempt
                detail = f" attempt {attempt}" if attempt else ""
                where = f"call {call.purpose}{detail} ({call.span_id[:8] or '-'})"
                rows.append((case.case_id, where, call.error))
    return rows


def _header(result: EvaluationResult, streamed_cases: int | None, *, summaries_only: bool) -> Text:
    text = Text()
    text.append(f"evaluation {result.name!r}", style="bold")
    status = "complete" if result.complete else "INCOMPLETE (interrupted or failed)"
    count = f"{len(result.cases)} cases"
    if streamed_cases is not None:
        count = f"{streamed_cases} case results"
    elif summaries_only:
        count = "summaries only"
    elif result.repeat > 1:
        count = f"{len(result.trials)} cases x {result.repeat} trials"
    text.append(f": {count}, {status}, {result.duration:.1f} s, run {result.run_id}")
    return text


def metric_table(result: EvaluationResult, cases: int | None = None) -> Table:
    """Mean, pass rate, number scored and failures of every metric.

    ``cases``: how many case results were scored (default: the result's; none
    shown for a summaries-only result, which does not say).
    """
    trials = result.repeat > 1
    scored_of = f"/{len(result.cases) if cases is None else cases}"
    if cases is None and holds_summaries_only(result):
        scored_of = ""
    table = Table(title="Scores by metric", title_justify="left")
    table.add_column("metric")
    headers = ("mean", "interval", "pass rate", "scored trials", "failures")
    for name in headers if trials else ("mean", "pass rate", "scored", "failures"):
        table.add_column(name, justify="right")
    for summary in result.metrics.values():
        failures = Text(str(summary.failures), style="red" if summary.failures else "")
        interval = [_interval(summary.interval, summary.confidence)] if trials else []
        table.add_row(
            summary.metric,
            _fraction(summary.mean),
            *interval,
            _percent(summary.pass_rate),
            f"{summary.count}{scored_of}",
            failures,
        )
    if trials:
        table.caption = "mean over cases of each case's mean over its trials; interval: "
        table.caption += "bootstrap over cases (a case's trials stay together)"
    return table


def _interval(interval: tuple[float, float] | None, confidence: float | None) -> str:
    if interval is None:
        return "-"
    level = f"{confidence:.0%} " if confidence is not None else ""
    return f"{level}[{interval[0]:.3f}, {interval[1]:.3f}]"


def trials_table(result: EvaluationResult, width: int = 160) -> Table:
    """One row per case across its trials: per metric the mean, the spread and the passes."""
    metrics = list(result.metrics)
    rows = sorted(result.trials, key=_trial_badness)
    shown = rows[:WORST_CASES] if len(rows) > WORST_CASES else rows
    title = f"Cases across {result.repeat} trials (mean ±sd, passes)"
    if len(shown) < len(rows):
        title = f"Worst cases ({len(shown)} of {len(rows)}) across {result.repeat} trials"
    inputs = {c.case_id: c.case.input for c in result.cases}
    table = Table(title=title, title_justify="left")
    table.add_column("id", no_wrap=True, max_width=_ID_WIDTH)
    text_width = max(_MIN_TEXT_WIDTH, min(_INPUT_WIDTH, width - 24 * len(metrics) - 50))
    table.add_column("input", no_wrap=True, max_width=text_width)
    for name in metrics:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("errors", justify="right")
    for row in shown:
        cells = [_trial_cell(row.metrics.get(name)) for name in metrics]
        errors = Text(str(row.errors), style="red" if row.errors else "")
        input_text = clip(one_line(inputs.get(row.case_id)), text_width)
        table.add_row(clip(row.case_id, _ID_WIDTH), input_text, *cells, errors)
    return table


def _trial_badness(row: CaseTrials) -> float:
    means = [m.mean if m.mean is not None else 0.0 for m in row.metrics.values()]
    return sum(means) / len(means) if means else 1.0


def _trial_cell(trials: MetricTrials | None) -> Text:
    if trials is None or trials.mean is None:
        return Text("-", style="dim")
    spread = f" ±{trials.sd:.2f}" if trials.sd is not None else ""
    passes = f" {trials.passes}/{trials.verdicts}" if trials.verdicts else ""
    return Text(f"{trials.mean:.2f}{spread}{passes}")


def case_table(
    result: EvaluationResult,
    width: int = 160,
    *,
    cases: Sequence[CaseResult] | None = None,
    title: str = "Cases",
) -> Table:
    """One row per case: what was asked, answered and expected, each score, any error.

    Texts are clipped to one line each so that a row fits in ``width`` columns;
    when space is short, metric headers wrap at their underscores.
    """
    metrics = list(result.metrics)
    rows = result.cases if cases is None else cases
    widths = _case_widths(rows, metrics, width)
    table = Table(title=title, title_justify="left")
    table.add_column("id", no_wrap=True, max_width=widths.id)
    table.add_column("input", no_wrap=True, max_width=widths.input)
    table.add_column("output", no_wrap=True, max_width=widths.output)
    table.add_column("expected", no_wrap=True, max_width=widths.expected)
    for name in metrics:
        header = name.replace("_", " ") if widths.compact else name
        table.add_column(header, justify="right", width=_header_width(header))
    table.add_column("error", no_wrap=True, max_width=widths.error, style="red")
    for case in rows:
        table.add_row(
            clip(case.case_id, widths.id),
            clip(one_line(case.case.input), widths.input),
            clip(one_line(case.output), widths.output),
            clip(one_line(case.case.expected), widths.expected),
            *(_score_cell(case.score(name)) for name in metrics),
            clip(case.error_summary, widths.error),
        )
    return table


@dataclass(frozen=True)
class _Widths:
    id: int
    input: int
    output: int
    expected: int
    error: int
    compact: bool


def _case_widths(cases: Sequence[CaseResult], metrics: Sequence[str], width: int) -> _Widths:
    """Column widths of the case table: ids, scores and errors first, texts share the rest."""
    ids = min(_ID_WIDTH, max(8, width // 6), max([2, *(len(c.case_id) for c in cases)]))
    errors = min(_ERROR_WIDTH, max([5, *(len(c.error_summary or "") for c in cases)]))
    borders = 3 * (len(metrics) + 5) + 1  # "│ cell " per column, then the closing "│"
    free = width - borders - ids - errors - sum(_header_width(m) for m in metrics)
    compact = free < _COMFORTABLE_TEXT_WIDTH
    if compact:  # headers wrap at underscores: "semantic similarity" needs 10, not 19
        free = width - borders - ids - errors
        free -= sum(_header_width(m.replace("_", " ")) for m in metrics)
    caps = (_INPUT_WIDTH, _OUTPUT_WIDTH, _EXPECTED_WIDTH)
    shares = [min(cap, max(_MIN_TEXT_WIDTH, cap * free // sum(caps))) for cap in caps]
    input_width, output_width, expected_width = shares
    return _Widths(ids, input_width, output_width, expected_width, errors, compact)


def _header_width(header: str) -> int:
    """The narrowest a score column can be: its longest header word, or a score."""
    return max(5, *(len(word) for word in header.split()))


def usage_table(result: EvaluationResult, width: int = 160) -> Table:
    """Calls, tokens, latency and cost per (purpose, model), then the totals.

    When ``width`` is short, purpose and model are clipped first (numbers only below ~85).
    """
    rows = [
        [Text(purpose), Text(model), *_usage_cells(UsageSummary.of(calls), calls)]
        for (purpose, model), calls in result.calls_by_purpose().items()
    ]
    total = [
        Text("total", style="bold"),
        Text(""),
        *_usage_cells(result.totals, result.interactions),
    ]
    widths = [
        max(len(h), *(len(r[i].plain) for r in [*rows, total]))
        for i, h in enumerate(_USAGE_HEADERS)
    ]
    free = width - (3 * len(widths) + 1) - sum(widths[2:])
    if widths[0] + widths[1] > free:
        widths[0], widths[1] = (
            max(_MIN_TEXT_WIDTH + 2, w * free // (widths[0] + widths[1])) for w in widths[:2]
        )
    table = Table(title="Model calls by purpose (latency p50/p95)", title_justify="left")
    for index, (header, column_width) in enumerate(zip(_USAGE_HEADERS, widths, strict=True)):
        table.add_column(
            header, width=column_width, no_wrap=True, justify="left" if index < 2 else "right"
        )
    for cells in rows:
        table.add_row(clip(cells[0].plain, widths[0]), clip(cells[1].plain, widths[1]), *cells[2:])
    table.add_section()
    table.add_row(*total)
    return table


def _usage_cells(usage: UsageSummary, calls: Sequence[LLMInteraction]) -> list[Text]:
    return [
        Text(str(usage.calls)),
        Text(str(usage.errors), style="red" if usage.errors else ""),
        Text(f"{usage.input_tokens:,}"),
        Text(f"{usage.output_tokens:,}"),
        Text(seconds(usage.latency_p50)),
        Text(seconds(usage.latency_p95)),
        Text(_cost(usage, calls)),
    ]


def _cost(usage: UsageSummary, calls: Sequence[LLMInteraction]) -> str:
    local = bool(calls) and all(i.is_local for i in calls)
    return cost_text(usage.cost_usd, unpriced=usage.unpriced_calls, local=local)


def cost_text(cost: float | Decimal | None, *, unpriced: int, local: bool) -> str:
    """A price for a table: "$0.0012", "$0.00 (local)", "n/a" when no price is known."""
    if cost is None:
        return "n/a"
    if cost == 0 and local:
        return "$0.00 (local)"
    amount = f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"
    return f"{amount} + {unpriced} unpriced" if unpriced else amount


def _score_cell(score: Score | None) -> Text:
    if score is None:
        return Text("-", style="dim")
    if score.value is None:
        return Text("error", style="yellow")
    style = "" if score.passed is None else ("green" if score.passed else "red")
    return Text(f"{score.value:.2f}", style=style)


def clip(text: str | None, width: int) -> Text:
    if text is None:
        return Text("-", style="dim")
    flat = " ".join(text.split())
    if len(flat) > width:
        flat = flat[: width - 1] + "…"
    return Text(flat)


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
