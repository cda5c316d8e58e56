"""One self-contained, offline HTML page for a ``Comparison`` (the run report's CSP discipline).

The page is ``compare.html`` with ``report.css`` + ``compare.css`` and
``compare.js`` inlined and the comparison embedded as a JSON data block: the
Content-Security-Policy allows only that script and that stylesheet (by hash).
"""

from __future__ import annotations

import html
import statistics
from functools import cache
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

from evaltrace._version import __version__
from evaltrace.compare import Comparison
from evaltrace.records import CaseResult, LLMInteraction, write_text_atomically
from evaltrace.report._html import DATA_ELEMENT_ID, _asset, content_security_policy, embed_json
from evaltrace.results import EvaluationResult

__all__ = ["render_comparison_report", "write_comparison_report"]

#: Points per metric in the scatter (a sample of the matched cases beyond it).
MAX_POINTS = 5000
_EXCERPT = 2000


def render_comparison_report(
    comparison: Comparison,
    baseline: EvaluationResult | None = None,
    candidate: EvaluationResult | None = None,
) -> str:
    """The comparison as one HTML document; with both results, the scatter and the calls."""
    script = _asset("compare.js")
    style = _asset("report.css") + "\n" + _asset("compare.css")
    b, c = comparison.baseline, comparison.candidate
    data = {
        "comparison": comparison.model_dump(mode="json"),
        "scatter": _scatter(comparison, baseline, candidate),
        "calls": _moved_calls(comparison, baseline, candidate),
    }
    meta = f"baseline {b.name} (run {b.run_id}) vs candidate {c.name} (run {c.run_id})"
    meta += f" · {comparison.cases.matched} matched cases"
    return _template().substitute(
        csp=html.escape(content_security_policy(script, style)),
        title=html.escape(f"{b.name} vs {c.name} · evaltrace comparison"),
        name=html.escape(f"{b.name} → {c.name}"),
        run_meta=html.escape(meta),
        style=style,
        data_id=DATA_ELEMENT_ID,
        data=embed_json(data),
        script=script,
        version=html.escape(__version__),
    )


def write_comparison_report(
    comparison: Comparison,
    path: str | Path,
    baseline: EvaluationResult | None = None,
    candidate: EvaluationResult | None = None,
) -> Path:
    """Write the comparison page to ``path`` (atomically) and return the path."""
    target = Path(path)
    write_text_atomically(target, render_comparison_report(comparison, baseline, candidate))
    return target


def _case_means(result: EvaluationResult, metric: str) -> dict[str, float]:
    values: dict[str, list[float]] = {}
    for case in result.cases:
        score = case.score(metric)
        if case.error is None and score is not None and score.value is not None:
            values.setdefault(case.case_id, []).append(score.value)
    return {case_id: statistics.fmean(v) for case_id, v in values.items()}


def _scatter(
    comparison: Comparison, baseline: EvaluationResult | None, candidate: EvaluationResult | None
) -> dict[str, list[list[Any]]]:
    if baseline is None or candidate is None:
        return {}
    points = {}
    for metric in comparison.metrics:
        base, cand = _case_means(baseline, metric), _case_means(candidate, metric)
        ids = sorted(base.keys() & cand.keys())
        step = max(1, len(ids) // MAX_POINTS)
        points[metric] = [[base[i], cand[i], i] for i in ids[::step]]
    return points


def _moved_calls(
    comparison: Comparison, baseline: EvaluationResult | None, candidate: EvaluationResult | None
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    if baseline is None or candidate is None:
        return {}
    wanted = {m.case_id for m in comparison.moved}
    calls: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for side, result in (("baseline", baseline), ("candidate", candidate)):
        for case in result.cases:
            if case.case_id in wanted:
                entry = calls.setdefault(case.case_id, {"baseline": [], "candidate": []})
                entry[side] += [_call(case, call) for call in case.interactions]
    return calls


def _call(case: CaseResult, call: LLMInteraction) -> dict[str, Any]:
    return {
        "trial": case.trial,
        "purpose": call.purpose,
        "model": call.model,
        "tokens": call.tokens_used,
        "latency": call.latency,
        "span_id": call.span_id,
        "trace_id": call.trace_id,
        "error": call.error,
        "prompt": call.prompt[:_EXCERPT],
        "response": call.response[:_EXCERPT],
    }


@cache
def _template() -> Template:
    return Template(files("evaltrace.report").joinpath("compare.html").read_text("utf-8"))
