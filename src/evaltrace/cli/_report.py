"""The tables the CLI prints for an ``EvaluationResult``: scores, cases, model usage."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evaltrace import CaseResult, EvaluationResult, LLMInteraction, Score, UsageSummary

__all__ = ["render_result"]

_INPUT_WIDTH = 40
_OUTPUT_WIDTH = 40
_EXPECTED_WIDTH = 24
_ERROR_WIDTH = 48


def render_result(result: EvaluationResult, console: Console) -> None:
    """Print the run header, the per-metric, per-case and per-model tables."""
    console.print(_header(result))
    console.print(metric_table(result))
    console.print(case_table(result))
    if result.interactions:
        console.print(usage_table(result))
    else:
        console.print("No model calls were made.")


def _header(result: EvaluationResult) -> Text:
    text = Text()
    text.append(f"evaluation {result.name!r}", style="bold")
    status = "complete" if result.complete else "INCOMPLETE (interrupted or failed)"
    text.append(
        f": {len(result.cases)} cases, {status}, {result.duration:.1f} s, run {result.run_id}"
    )
    return text


def metric_table(result: EvaluationResult) -> Table:
    """Mean, pass rate, number scored and failures of every metric."""
    table = Table(title="Scores by metric", title_justify="left")
    table.add_column("metric")
    for name in ("mean", "pass rate", "scored", "failures"):
        table.add_column(name, justify="right")
    for summary in result.metrics.values():
        failures = Text(str(summary.failures), style="red" if summary.failures else "")
        table.add_row(
            summary.metric,
            _fraction(summary.mean),
            _percent(summary.pass_rate),
            f"{summary.count}/{len(result.cases)}",
            failures,
        )
    return table


def case_table(result: EvaluationResult) -> Table:
    """One row per case: what was asked, answered and expected, each score, any error."""
    metrics = list(result.metrics)
    table = Table(title="Cases", title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("input", max_width=_INPUT_WIDTH, no_wrap=True)
    table.add_column("output", max_width=_OUTPUT_WIDTH, no_wrap=True)
    table.add_column("expected", max_width=_EXPECTED_WIDTH, no_wrap=True)
    for name in metrics:
        table.add_column(name, justify="right")
    table.add_column("error", max_width=_ERROR_WIDTH, no_wrap=True, style="red")
    for case in result.cases:
        table.add_row(
            case.case_id,
            _clip(case.case.input, _INPUT_WIDTH),
            _clip(case.output, _OUTPUT_WIDTH),
            _clip(case.case.expected, _EXPECTED_WIDTH),
            *(_score_cell(case.score(name)) for name in metrics),
            _clip(_case_error(case), _ERROR_WIDTH),
        )
    return table


def usage_table(result: EvaluationResult) -> Table:
    """Calls, tokens, latency and cost per (purpose, model), then the totals."""
    table = Table(title="Model calls by purpose", title_justify="left")
    table.add_column("purpose")
    table.add_column("model")
    for name in (
        "calls",
        "errors",
        "input tokens",
        "output tokens",
        "p50 latency",
        "p95 latency",
        "cost",
    ):
        table.add_column(name, justify="right")
    groups = _groups(result.interactions)
    for (purpose, model), usage in result.by_purpose().items():
        table.add_row(purpose, model, *_usage_cells(usage, groups[(purpose, model)]))
    table.add_section()
    table.add_row(
        Text("total", style="bold"), "", *_usage_cells(result.totals, result.interactions)
    )
    return table


def _usage_cells(usage: UsageSummary, calls: Sequence[LLMInteraction]) -> list[str | Text]:
    errors = Text(str(usage.errors), style="red" if usage.errors else "")
    return [
        str(usage.calls),
        errors,
        f"{usage.input_tokens:,}",
        f"{usage.output_tokens:,}",
        _seconds(usage.latency_p50),
        _seconds(usage.latency_p95),
        _cost(usage, calls),
    ]


def _groups(interactions: Sequence[LLMInteraction]) -> dict[tuple[str, str], list[LLMInteraction]]:
    groups: dict[tuple[str, str], list[LLMInteraction]] = {}
    for interaction in interactions:
        groups.setdefault((interaction.purpose, interaction.model), []).append(interaction)
    return groups


def _cost(usage: UsageSummary, calls: Sequence[LLMInteraction]) -> str:
    if usage.cost_usd is None:
        return "n/a"
    if usage.cost_usd == 0 and calls and all(_is_local(i) for i in calls):
        return "$0.00 (local)"
    amount = f"${usage.cost_usd:.4f}" if usage.cost_usd < 1 else f"${usage.cost_usd:,.2f}"
    if usage.unpriced_calls:
        return f"{amount} + {usage.unpriced_calls} unpriced"
    return amount


def _is_local(interaction: LLMInteraction) -> bool:
    """A call that cost nothing because it ran in this process or on this machine."""
    if interaction.cost() != 0:
        return False
    if interaction.metadata.get("span_kind") == "INTERNAL":
        return True
    address = interaction.metadata.get("server_address")
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(address)).is_loopback
    except ValueError:
        return False


def _score_cell(score: Score | None) -> Text:
    if score is None:
        return Text("-", style="dim")
    if score.value is None:
        return Text("error", style="yellow")
    style = "" if score.passed is None else ("green" if score.passed else "red")
    return Text(f"{score.value:.2f}", style=style)


def _case_error(case: CaseResult) -> str | None:
    if case.error is not None:
        return case.error
    failed = [f"{s.metric}: {s.error}" for s in case.scores if s.error is not None]
    return "; ".join(failed) or None


def _clip(text: str | None, width: int) -> Text:
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


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
