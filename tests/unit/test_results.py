"""EvaluationResult: summaries, JSON round trip, files."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from pydantic import ValidationError

from evaltrace import (
    Case,
    CaseResult,
    Contains,
    EvaluationResult,
    ExactMatch,
    LLMInteraction,
    Score,
    ScriptedProvider,
    SemanticSimilarity,
    evaluate,
    evaluate_sync,
)
from evaltrace.runner._plan import content_id


def _interaction(**overrides: object) -> LLMInteraction:
    fields: dict[str, object] = dict(
        prompt="p",
        response="r",
        model="gpt-4o-mini",
        tokens_used=1500,
        latency=0.5,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        purpose="task",
        input_tokens=1000,
        output_tokens=500,
        provider="openai",
    )
    fields.update(overrides)
    return LLMInteraction(**fields)  # type: ignore[arg-type]


def test_interaction_is_frozen_and_utc() -> None:
    interaction = _interaction()
    with pytest.raises(FrozenInstanceError):
        interaction.prompt = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        _interaction(timestamp=datetime(2026, 1, 1))
    local = datetime(2026, 1, 1, 12, tzinfo=UTC).astimezone(
        __import__("datetime").timezone(timedelta(hours=2))
    )
    assert _interaction(timestamp=local).timestamp.utcoffset() == timedelta(0)


def test_interaction_behaves_like_a_pydantic_model() -> None:
    interaction = _interaction(metadata={"attempt": 2})
    assert LLMInteraction.model_validate_json(interaction.model_dump_json()) == interaction
    assert LLMInteraction.model_validate(interaction.model_dump()) == interaction
    assert interaction.model_dump(mode="json")["timestamp"] == "2026-01-01T00:00:00Z"
    assert interaction.model_copy(update={"purpose": "x"}).purpose == "x"
    with pytest.raises(ValidationError):
        _interaction(tokens_used="many")
    assert not hasattr(interaction, "__dict__")  # slots: no per-instance dict


def test_cost_uses_genai_prices_and_is_none_when_unknown() -> None:
    # gpt-4o-mini: $0.15 / M input, $0.60 / M output.
    assert _interaction().cost() == Decimal("0.00015") + Decimal("0.0003")
    assert _interaction(model="no-such-model-anywhere").cost() is None
    assert _interaction(provider="llama.cpp", model="gemma-3-270m").cost() == 0
    assert _interaction(input_tokens=None, output_tokens=None).cost() is None


async def test_json_round_trip(tracer_provider: TracerProvider, tmp_path: Path) -> None:
    result = await evaluate(
        [Case(input="q", expected="Paris", metadata={"k": [1, 2]}), Case(input="q2", id="named")],
        metrics=[SemanticSimilarity(), Contains(), ExactMatch()],
        task=ScriptedProvider("Paris"),
        judge=ScriptedProvider("score: 7/10 because close"),
        tracer_provider=tracer_provider,
    )
    again = EvaluationResult.model_validate_json(result.model_dump_json())
    assert again == result
    path = result.save(tmp_path / "results.json")
    assert EvaluationResult.load(path) == result
    # a case without an id gets one from its content (input and expected), not its position
    assert [c.case_id for c in again.cases] == [
        content_id(Case(input="q", expected="Paris")),
        "named",
    ]
    score = again.cases[0].score("semantic_similarity")
    assert score is not None
    assert score.value == pytest.approx(0.7)


async def test_totals_and_aggregates(tracer_provider: TracerProvider) -> None:
    result = await evaluate(
        [Case(input=f"q{i}", expected="yes") for i in range(4)],
        metrics=[Contains()],
        task=ScriptedProvider(["yes", "no"]),
        tracer_provider=tracer_provider,
    )
    assert result.metrics["contains"].mean == 0.5
    assert result.metrics["contains"].pass_rate == 0.5
    assert result.totals.calls == 4
    assert result.totals.tokens == sum(i.tokens_used for i in result.interactions)
    assert result.totals.latency_p50 is not None
    assert result.totals.latency_p95 is not None
    assert result.totals.latency_p95 >= result.totals.latency_p50
    assert result.totals.cost_usd == 0.0  # scripted models run locally
    (key,) = result.by_purpose()
    assert key == ("task", "scripted-model")


def test_evaluate_sync_for_scripts(tracer_provider: TracerProvider) -> None:
    result = evaluate_sync(
        [Case(input="q")], task=ScriptedProvider("a"), tracer_provider=tracer_provider
    )
    assert len(result.interactions) == 1 and result.complete


def test_error_summary_is_the_task_error_else_the_metric_failures() -> None:
    scores = [
        Score(metric="contains", value=1.0),
        Score(metric="correctness", value=None, error="judge unreachable"),
        Score(metric="faithfulness", value=None, error="unreadable reply"),
    ]
    case = CaseResult(case=Case(input="q"), case_id="c", output="a", scores=scores)
    assert case.error_summary == ("correctness: judge unreachable; faithfulness: unreadable reply")
    assert case.model_copy(update={"error": "task failed"}).error_summary == "task failed"
    assert case.model_copy(update={"scores": scores[:1]}).error_summary is None
