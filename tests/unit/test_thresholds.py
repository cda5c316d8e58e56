"""evaltrace.testing: thresholds in a project's own tests, with the model calls in the message."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import (
    Case,
    ConfigurationError,
    Contains,
    Correctness,
    EvaluationResult,
    ScriptedProvider,
    evaluate,
)
from evaltrace.testing import ThresholdError, assert_thresholds, check_thresholds


def judge_reply(messages: object) -> str:
    text = str(messages)
    if "Lyon" in text:
        return '{"score": 0.1, "explanation": "Lyon is not the capital"}'
    return '{"score": 1.0, "explanation": "right"}'


@pytest.fixture
async def result(tracer_provider: TracerProvider) -> EvaluationResult:
    return await evaluate(
        [
            Case(id="france", input="Capital of France?", expected="Paris"),
            Case(id="japan", input="Capital of Japan?", expected="Tokyo"),
        ],
        [Correctness(), Contains()],
        task=ScriptedProvider(["Lyon", "Tokyo"], model="app-model"),
        judge=ScriptedProvider(judge_reply, model="judge-model"),
        tracer_provider=tracer_provider,
    )


def test_met_thresholds_pass_silently(result: EvaluationResult) -> None:
    assert_thresholds(result, correctness=0.5, contains=0.5)
    assert check_thresholds(result, {"correctness": 0.55}) == []


def test_a_miss_names_the_metric_and_shows_the_worst_cases_calls(
    result: EvaluationResult,
) -> None:
    with pytest.raises(ThresholdError) as info:
        assert_thresholds(result, correctness=0.9)
    message = str(info.value)
    assert isinstance(info.value, AssertionError)
    assert message.splitlines()[:2] == [
        f"evaluation {result.name!r} missed 1 threshold(s):",
        "  correctness: mean 0.550 < 0.900 (2 cases scored, 0 failures)",
    ]
    worst = message.index("case 'france': correctness 0.100")
    assert worst < message.index("case 'japan': correctness 1.000")
    assert "explanation: Lyon is not the capital" in message
    france = result.cases[0]
    for interaction in france.interactions:  # the task call and the judge call, in full
        assert f"span {interaction.span_id}" in message
        assert f"[{interaction.purpose}] {interaction.model}" in message
    assert "response: Lyon" in message
    assert [m.metric for m in info.value.misses] == ["correctness"]


def test_metrics_not_run_or_never_scored_miss(result: EvaluationResult) -> None:
    misses = check_thresholds(result, {"faithfulness": 0.1, "contains": 0.6})
    assert [str(m) for m in misses] == [
        "faithfulness: not run in this evaluation (minimum 0.100)",
        "contains: mean 0.500 < 0.600 (2 cases scored, 0 failures)",
    ]


@pytest.mark.parametrize(
    ("minimums", "message"),
    [({}, "at least one metric=minimum"), ({"contains": 1.5}, "between 0 and 1")],
)
def test_bad_minimums_are_configuration_errors(
    result: EvaluationResult, minimums: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        assert_thresholds(result, minimums)


def test_the_testing_page_fails_as_it_shows() -> None:
    from tests.unit.test_docs import DOCS, run_page

    printed = run_page(DOCS / "testing.md")
    assert printed.startswith("evaluation 'evaluation' missed 1 threshold(s):\n")
    assert "  correctness: mean 0.500 < 0.900 (2 cases scored, 0 failures)" in printed
    assert 'response: {"score": 0.0, "explanation": "Lyon is not the capital"}' in printed
