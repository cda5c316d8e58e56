"""The data an HTML report embeds: an ``EvaluationResult`` as plain JSON-ready values.

Everything the page shows that needs Python (prices, local models, timeline
offsets, usage groups) is computed here, so the page's script only formats and
draws. The result is a dict of str/int/float/bool/None/list/dict only (floats
may be NaN or infinite: ``embed_json`` writes those as null).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from evaltrace._values import as_text
from evaltrace.records import CaseResult, LLMInteraction
from evaltrace.results import EvaluationResult, UsageSummary

__all__ = ["build_payload", "finite", "safe_trace_url", "usd"]

_Json = dict[str, Any]
_K = TypeVar("_K", bound=Hashable)


def build_payload(result: EvaluationResult) -> _Json:
    """The whole report's data: run, summary, usage groups, interactions and cases."""
    calls = result.interactions
    positions = _Positions(calls)
    return {
        "run": _run(result),
        "metrics": [m.model_dump(mode="json") for m in result.metrics.values()],
        "totals": _usage(result.totals, calls),
        "cases_summary": _cases_summary(result.cases),
        "by_purpose": _by_purpose(result),
        "by_model": _by_model(calls),
        "interactions": [_interaction(i) for i in calls],
        "cases": [_case(case, positions) for case in result.cases],
        "trials": [t.model_dump(mode="json") for t in result.trials],
    }


def usd(amount: float) -> str:
    """A price in dollars with as many decimals as small amounts need."""
    if amount == 0:
        return "$0.00"
    if amount < 0.01:
        return f"${amount:.6f}"
    return f"${amount:.4f}" if amount < 1 else f"${amount:,.2f}"


def safe_trace_url(url: str | None) -> str | None:
    """The trace link if it is an http(s) URL (never ``javascript:`` or ``data:``)."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


def _run(result: EvaluationResult) -> _Json:
    return {
        "name": result.name,
        "run_id": result.run_id,
        "trace_id": result.trace_id,
        "trace_url": safe_trace_url(result.trace_url),
        "started_at": result.started_at.isoformat(),
        "finished_at": result.finished_at.isoformat(),
        "duration": result.duration,
        "complete": result.complete,
        "dropped_spans": result.dropped_spans,
        "unrecorded_calls": result.unrecorded_calls,
        "schema_version": result.schema_version,
        "metadata": dict(result.metadata),
        "repeat": result.repeat,
        "dataset_fingerprint": result.dataset_fingerprint,
    }


def _usage(usage: UsageSummary, calls: Sequence[LLMInteraction]) -> _Json:
    return {**usage.model_dump(mode="json"), "cost_label": _group_cost_label(usage, calls)}


def _group_cost_label(usage: UsageSummary, calls: Sequence[LLMInteraction]) -> str:
    local = usage.cost_usd == 0 and bool(calls) and all(i.is_local for i in calls)
    return _cost_label(usage.cost_usd, local=local, unpriced=usage.unpriced_calls)


def _cost_label(cost: float | None, *, local: bool, unpriced: int = 0) -> str:
    """ "$0.00 (local)", "unknown", or an amount (+ the calls with no known price)."""
    if cost is None:
        return "unknown"
    if cost == 0 and local:
        return "$0.00 (local)"
    amount = usd(cost)
    return f"{amount} + {unpriced} unpriced" if unpriced else amount


def _cases_summary(cases: Sequence[CaseResult]) -> _Json:
    return {
        "total": len(cases),
        "errors": sum(1 for c in cases if c.error is not None),
        "metric_failures": sum(1 for c in cases for s in c.scores if s.failed),
        "cases_with_metric_failures": sum(1 for c in cases if any(s.failed for s in c.scores)),
    }


def _by_purpose(result: EvaluationResult) -> list[_Json]:
    return [
        {"purpose": purpose, "model": model, **_usage(UsageSummary.of(calls), calls)}
        for (purpose, model), calls in result.calls_by_purpose().items()
    ]


def _by_model(calls: Sequence[LLMInteraction]) -> list[_Json]:
    groups = _group(calls, lambda i: i.model)
    return [
        {"model": model, **_usage(UsageSummary.of(group), group)}
        for model, group in sorted(groups.items())
    ]


def _group(
    calls: Sequence[LLMInteraction], key: Callable[[LLMInteraction], _K]
) -> dict[_K, list[LLMInteraction]]:
    groups: dict[_K, list[LLMInteraction]] = {}
    for call in calls:
        groups.setdefault(key(call), []).append(call)
    return groups


def _interaction(call: LLMInteraction) -> _Json:
    data = call.model_dump(mode="json")
    cost = call.cost()
    data["cost"] = None if cost is None else float(cost)
    data["is_local"] = call.is_local
    data["cost_label"] = _cost_label(data["cost"], local=data["is_local"])
    if call.shape.layout is not None:
        data["messages"] = [m.model_dump() for m in call.messages]
    return data


class _Positions:
    """Where each of a case's interactions sits in the run's list (by span, else by value)."""

    def __init__(self, calls: Sequence[LLMInteraction]) -> None:
        self._calls = calls
        self._by_span = {(c.trace_id, c.span_id): n for n, c in enumerate(calls) if c.span_id}

    def find(self, call: LLMInteraction) -> int | None:
        if call.span_id:
            return self._by_span.get((call.trace_id, call.span_id))
        return next((n for n, c in enumerate(self._calls) if c == call), None)


def _case(case: CaseResult, positions: _Positions) -> _Json:
    refs = [positions.find(call) for call in case.interactions]
    return {
        "case_id": case.case_id,
        "trial": case.trial,
        "input": _shown(case.case.input),
        "context": case.case.context_text,
        "expected": _shown(case.case.expected),
        "output": _shown(case.output),
        "error": case.error,
        "error_summary": case.error_summary,
        "duration": case.duration,
        "started_at": None if case.started_at is None else case.started_at.isoformat(),
        "metadata": case.case.model_dump(mode="json")["metadata"],
        "scores": [s.model_dump(mode="json") for s in case.scores],
        "interactions": [n for n in refs if n is not None],
        # Calls that are not in the run's list (a hand-built result): embedded whole.
        "own_interactions": [
            _interaction(call) for call, n in zip(case.interactions, refs, strict=True) if n is None
        ],
        "timeline": _timeline(case),
    }


def _timeline(case: CaseResult) -> _Json | None:
    """The case's span and one bar per call, as offsets in seconds from the case's start.

    Results saved before schema 2 have no ``started_at``: the first call's start stands in.
    """
    calls = sorted(case.interactions, key=lambda i: i.timestamp)
    start: datetime | None = case.started_at or (calls[0].timestamp if calls else None)
    if start is None:
        return None
    bars: list[dict[str, Any]] = [
        {
            "offset": (c.timestamp - start).total_seconds(),
            "latency": c.latency,
            "purpose": c.purpose,
            "model": c.model,
            "error": c.error,
        }
        for c in calls
    ]
    end = max([case.duration, *(b["offset"] + b["latency"] for b in bars)])
    return {
        "start": start.isoformat(),
        "start_known": case.started_at is not None,
        "duration": case.duration,
        "span": end,
        "bars": bars,
    }


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


def _shown(value: Any) -> str | None:
    """A case's value as the report shows it: text, readable JSON, or None when absent."""
    return None if value is None else as_text(value)
