"""``keep_cases=False``: the driver keeps summaries only; the stream keeps every case."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaltrace import (
    Case,
    ConfigurationError,
    Contains,
    ExactMatch,
    Metric,
    ScriptedProvider,
    UsageSummary,
    evaluate,
    read_case_results,
)


def _cases() -> list[Case]:
    return [Case(id=f"k{i}", input=f"q{i}", expected="yes") for i in range(9)]


async def test_summaries_equal_those_of_a_run_that_keeps_its_cases(tmp_path: Path) -> None:
    replies = ["yes", "no", "yes it is"]
    metrics: list[Metric] = [Contains(), ExactMatch()]
    full = await evaluate(_cases(), metrics, task=ScriptedProvider(replies))
    stream = tmp_path / "cases.jsonl"
    lean = await evaluate(
        _cases(), metrics, task=ScriptedProvider(replies), results_path=stream, keep_cases=False
    )
    assert lean.cases == [] and lean.interactions == []
    assert lean.metrics == full.metrics
    latency = {"latency_p50", "latency_p95"}  # two runs: same calls, their own timings
    assert lean.totals.model_dump(exclude=latency) == full.totals.model_dump(exclude=latency)
    assert lean.complete
    saved = read_case_results(stream)
    assert sorted(c.case_id for c in saved) == sorted(c.case_id for c in full.cases)
    assert sum(len(c.interactions) for c in saved) == full.totals.calls == 9
    calls = [i for c in saved for i in c.interactions]
    assert lean.totals.model_dump() == UsageSummary.of(calls).model_dump()


async def test_summaries_only_needs_a_results_file() -> None:
    with pytest.raises(ConfigurationError, match="results_path"):
        await evaluate(_cases(), [Contains()], keep_cases=False)
