"""``evaltrace compare BASELINE CANDIDATE``: load both sides, compare, print, gate."""

from __future__ import annotations

import json
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evaltrace import Comparison, ComparisonError, ConfigurationError, EvaluationResult, compare
from evaltrace._values import one_line
from evaltrace.cli._exit import EXIT_BUDGET, EXIT_OK, EXIT_REGRESSION
from evaltrace.cli._report import clip, cost_text, seconds
from evaltrace.cli._saved import load_result_or_run
from evaltrace.compare import MetricComparison, UsageComparison

__all__ = ["CompareOptions", "cmd_compare", "load_side", "render_comparison"]

_VERDICT_STYLE = {"improved": "green", "regressed": "red", "unchanged": ""}
_TEXT = 36


@dataclass(frozen=True)
class CompareOptions:
    """The options of ``evaltrace compare``."""

    baseline: str
    candidate: str
    confidence: float = 0.95
    as_json: bool = False
    fail_on_regression: bool = False
    max_cost_increase: float | None = None
    max_latency_increase: float | None = None
    report: str | None = None
    moved: int = 10
    store: str | None = None


def load_side(arg: str, store: str | None = None) -> EvaluationResult:
    """One side of a comparison from its command-line argument, the one place a side is read.

    A results file (``results.json``, a ``.cases.jsonl`` stream), or a run
    recorded in the run store: its id, ``NAME@latest`` or ``NAME@COMMIT``.
    """
    return load_result_or_run(arg, store=store)


def cmd_compare(options: CompareOptions, out: Console, err: Console) -> int:
    """Compare, print (tables or ``--json``), write ``--report``, and apply the gates."""
    baseline = load_side(options.baseline, options.store)
    candidate = load_side(options.candidate, options.store)
    try:
        comparison = compare(
            baseline, candidate, confidence=options.confidence, moved=options.moved
        )
    except ComparisonError as error:
        raise ConfigurationError(
            f"cannot compare {options.baseline} with {options.candidate}: {error}"
        ) from None
    if options.as_json:
        out.print_json(json.dumps(comparison.model_dump(mode="json")), indent=2)
    else:
        render_comparison(comparison, out)
    if options.report is not None:
        from evaltrace.report import write_comparison_report

        path = write_comparison_report(comparison, options.report, baseline, candidate)
        (err if options.as_json else out).print(f"report: {path}", soft_wrap=True)
    return _gates(comparison, options, err)


def _gates(comparison: Comparison, options: CompareOptions, err: Console) -> int:
    code = EXIT_OK
    over = comparison.over_budget(
        max_cost_increase=options.max_cost_increase,
        max_latency_increase=options.max_latency_increase,
    )
    for line in over:
        err.print(f"evaltrace: budget: {line}", soft_wrap=True, markup=False)
        code = EXIT_BUDGET
    if options.fail_on_regression and comparison.regressed:
        for name in comparison.regressed:
            metric = comparison.metrics[name]
            err.print(
                f"evaltrace: regression: {name}: {metric.difference:+.4f} "
                f"[{metric.interval[0]:+.4f}, {metric.interval[1]:+.4f}], "
                f"p (Holm) {metric.p_adjusted:.3g}",
                soft_wrap=True,
                markup=False,
            )
        code = EXIT_REGRESSION
    return code


def render_comparison(comparison: Comparison, console: Console) -> None:
    """The header, metrics, pass rates, cases, usage, moved cases, then what was left out."""
    console.print(_header(comparison))
    console.print(_metrics_table(comparison))
    pass_rates = _pass_rate_table(comparison)
    if pass_rates is not None:
        console.print(pass_rates)
    _print_cases(comparison, console)
    console.print(_usage_table(comparison))
    if comparison.moved:
        console.print(_moved_table(comparison, console.width))
    for warning in comparison.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"), soft_wrap=True)


def _header(comparison: Comparison) -> Text:
    b, c, s = comparison.baseline, comparison.candidate, comparison.settings
    text = Text()
    text.append("comparison", style="bold")
    text.append(
        f": baseline {b.name!r} (run {b.run_id[:12] or '-'}, {b.cases} cases x {b.repeat}) vs "
        f"candidate {c.name!r} (run {c.run_id[:12] or '-'}, {c.cases} cases x {c.repeat}); "
        f"{comparison.cases.matched} matched cases; {s.confidence:.0%} intervals, "
        f"{s.n_resamples} resamples, seed {s.seed}"
    )
    return text


def _metrics_table(comparison: Comparison) -> Table:
    level = f"{comparison.settings.confidence:.0%}"
    table = Table(
        title="Metrics (candidate - baseline, paired over matched cases)", title_justify="left"
    )
    table.add_column("metric")
    for header in ("baseline", "candidate", "difference", f"{level} interval", "p", "p (Holm)"):
        table.add_column(header, justify="right")
    table.add_column("verdict")
    for metric in comparison.metrics.values():
        table.add_row(
            metric.metric,
            f"{metric.baseline_mean:.3f}",
            f"{metric.candidate_mean:.3f}",
            f"{metric.difference:+.3f}",
            _interval(metric.interval),
            f"{metric.p_value:.3g}",
            f"{metric.p_adjusted:.3g}",
            _verdict(metric),
        )
    return table


def _verdict(metric: MetricComparison) -> Text:
    text = Text(metric.verdict.value, style=_VERDICT_STYLE[metric.verdict.value])
    if metric.minimum_detectable_effect is not None:
        text.append(f" (MDE {metric.minimum_detectable_effect:.3f})", style="dim")
    return text


def _interval(interval: tuple[float, float]) -> str:
    return f"[{interval[0]:+.3f}, {interval[1]:+.3f}]"


def _pass_rate_table(comparison: Comparison) -> Table | None:
    rows = [(name, m.pass_rate) for name, m in comparison.metrics.items() if m.pass_rate]
    if not rows:
        return None
    table = Table(title="Pass rates (exact McNemar over case x trial pairs)", title_justify="left")
    table.add_column("metric")
    headers = ("baseline", "candidate", "difference", "interval", "lost/won", "p", "p (Holm)")
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("verdict")
    for name, rate in rows:
        assert rate is not None
        table.add_row(
            name,
            f"{rate.baseline_rate:.0%}",
            f"{rate.candidate_rate:.0%}",
            f"{rate.difference * 100:+.1f} pts",
            _interval(rate.interval),
            f"{rate.baseline_only}/{rate.candidate_only}",
            f"{rate.p_value:.3g}",
            f"{rate.p_adjusted:.3g}",
            Text(rate.verdict.value, style=_VERDICT_STYLE[rate.verdict.value]),
        )
    return table


def _print_cases(comparison: Comparison, console: Console) -> None:
    cases = comparison.cases
    console.print(
        f"cases: {cases.matched} matched, {len(cases.added)} added, {len(cases.removed)} "
        f"removed, {len(cases.errored)} errored (added, removed and errored trials are "
        "never scored as passes or zeros)",
        soft_wrap=True,
    )
    for label, ids in (("added", cases.added), ("removed", cases.removed)):
        if ids:
            more = f" (+{len(ids) - 10} more)" if len(ids) > 10 else ""
            console.print(f"  {label}: {', '.join(ids[:10])}{more}", soft_wrap=True)
    for errored in cases.errored_detail[:10]:
        trials = ",".join(map(str, errored.trials))
        console.print(
            f"  errored: {errored.case_id} ({errored.side}, trials {trials}): "
            f"{clip(errored.error, 80).plain}",
            soft_wrap=True,
        )


def _usage_table(comparison: Comparison) -> Table:
    table = Table(
        title="Model calls by purpose and model (baseline -> candidate)", title_justify="left"
    )
    for header in ("purpose", "model"):
        table.add_column(header, no_wrap=True)
    for header in ("calls", "errors", "tokens", "cost", "p50", "p95"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in comparison.usage:
        table.add_row(*_usage_cells(row))
    table.add_section()
    table.add_row(*_usage_cells(comparison.total, "total"))
    return table


def _usage_cells(row: UsageComparison, label: str | None = None) -> list[str]:
    b, c = row.baseline, row.candidate
    return [
        label or row.purpose or "",
        row.model or "",
        f"{b.calls:,} -> {c.calls:,}",
        f"{b.errors} -> {c.errors}",
        f"{b.tokens:,} -> {c.tokens:,} ({row.difference.tokens:+,})",
        f"{_cost(b.cost_usd, b.unpriced_calls)} -> {_cost(c.cost_usd, c.unpriced_calls)}",
        f"{seconds(b.latency_p50)} -> {seconds(c.latency_p50)}",
        f"{seconds(b.latency_p95)} -> {seconds(c.latency_p95)}",
    ]


def _cost(cost: float | None, unpriced: int) -> str:
    return cost_text(cost, unpriced=unpriced, local=False)


def _moved_table(comparison: Comparison, width: int) -> Table:
    text = max(10, min(_TEXT, (width - 80) // 3))
    table = Table(title="Cases that moved most (outputs of trial 0)", title_justify="left")
    table.add_column("case", no_wrap=True, max_width=20)
    table.add_column("moved", justify="right", no_wrap=True, min_width=6)
    for header in ("input", "baseline output", "candidate output"):
        table.add_column(header, no_wrap=True, max_width=text)
    table.add_column("calls (baseline / candidate)", no_wrap=True)
    for case in comparison.moved:
        calls = f"{_first(case.baseline_span_ids)} / {_first(case.candidate_span_ids)}"
        table.add_row(
            clip(case.case_id, 20),
            f"{case.movement:+.3f}",
            clip(one_line(case.input), text),
            clip(one_line(case.baseline_outputs[0]) if case.baseline_outputs else None, text),
            clip(one_line(case.candidate_outputs[0]) if case.candidate_outputs else None, text),
            calls,
        )
    return table


def _first(span_ids: list[str]) -> str:
    if not span_ids:
        return "-"
    more = f" +{len(span_ids) - 1}" if len(span_ids) > 1 else ""
    return f"{span_ids[0]}{more}"
