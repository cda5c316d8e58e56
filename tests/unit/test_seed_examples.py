"""The examples of the LLMInteraction page run verbatim against a real result.

Each runs twice: on the result ``evaluate`` returned, and on the same result saved
to a results file and read back with ``EvaluationResult.load``.
"""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import Case, EvaluationResult, ScriptedProvider, SemanticSimilarity, evaluate


@pytest.fixture(params=["returned", "loaded"])
async def result(request, tracer_provider: TracerProvider, tmp_path):  # type: ignore[no-untyped-def]
    returned = await evaluate(
        [
            Case(
                input="What is the capital of France?",
                output="Paris is the capital.",
                expected="Paris",
            )
        ],
        metrics=[SemanticSimilarity()],
        judge=ScriptedProvider(
            '{"score": 0.95, "explanation": "same meaning"}', model="gpt-4o-mini"
        ),
        tracer_provider=tracer_provider,
    )
    if request.param == "returned":
        return returned
    loaded = EvaluationResult.load(returned.save(tmp_path / "results.json"))
    assert loaded == returned
    return loaded


def test_issue_example(result, capsys) -> None:  # type: ignore[no-untyped-def]
    for interaction in result.interactions:
        print(interaction.purpose, interaction.model, interaction.tokens_used, interaction.latency)
    out = capsys.readouterr().out
    assert out.startswith("semantic_evaluation gpt-4o-mini ")


def test_cost_tracking(result, capsys) -> None:  # type: ignore[no-untyped-def]
    cost_per_1k_tokens = 0.00015
    for interaction in result.interactions:
        cost = (interaction.tokens_used / 1000) * cost_per_1k_tokens
        print(f"{interaction.purpose}: {interaction.tokens_used} tokens = ${cost:.6f}")
    tokens = result.interactions[0].tokens_used
    assert tokens > 0
    assert capsys.readouterr().out == (
        f"semantic_evaluation: {tokens} tokens = ${tokens / 1000 * cost_per_1k_tokens:.6f}\n"
    )


def test_performance_monitoring(result, capsys) -> None:  # type: ignore[no-untyped-def]
    total_latency = sum(i.latency for i in result.interactions)
    avg_latency = total_latency / len(result.interactions)
    print(f"Average latency: {avg_latency:.3f}s")
    assert capsys.readouterr().out.startswith("Average latency: 0.0")


def test_debugging(result, capsys) -> None:  # type: ignore[no-untyped-def]
    # Inspect exact prompt and response
    interaction = result.interactions[0]
    print(f"Prompt: {interaction.prompt}")
    print(f"Response: {interaction.response}")
    out = capsys.readouterr().out
    assert "Paris is the capital." in out
    assert 'Response: {"score": 0.95, "explanation": "same meaning"}' in out


def test_audit_trail(result, capsys) -> None:  # type: ignore[no-untyped-def]
    # Complete audit trail
    for interaction in result.interactions:
        print(f"{interaction.timestamp}: {interaction.purpose}")
        print(f"  Model: {interaction.model}")
        print(f"  Tokens: {interaction.tokens_used}")
        print(f"  Latency: {interaction.latency:.3f}s")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("+00:00: semantic_evaluation")
    assert lines[1] == "  Model: gpt-4o-mini"


def test_enumerate_example(result, capsys) -> None:  # type: ignore[no-untyped-def]
    # Access interactions
    for i, interaction in enumerate(result.interactions, 1):
        print(f"Interaction {i}:")
        print(f"  Purpose: {interaction.purpose}")
        print(f"  Model: {interaction.model}")
        print(f"  Tokens: {interaction.tokens_used:,}")
        print(f"  Latency: {interaction.latency:.3f}s")
        print(f"  Timestamp: {interaction.timestamp}")
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["Interaction 1:", "  Purpose: semantic_evaluation", "  Model: gpt-4o-mini"]
