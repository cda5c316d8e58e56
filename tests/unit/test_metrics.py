"""Deterministic metrics, judge-reply parsing, and judge failures recorded rather than raised."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import (
    AnswerRelevance,
    Case,
    ConfigurationError,
    Contains,
    Correctness,
    Criteria,
    ExactMatch,
    Faithfulness,
    JSONValid,
    JudgeReplyError,
    Metric,
    MetricContext,
    RegexMatch,
    Score,
    ScriptedProvider,
    SemanticSimilarity,
    evaluate,
)
from evaltrace.metrics import parse_verdict


async def _score(metric: Metric, output: str | None, **case: Any) -> Score:
    return await metric.score(MetricContext(case=Case(input="q", **case), output=output))


@pytest.mark.parametrize(
    ("metric", "output", "case", "value"),
    [
        (ExactMatch(), "  paris ", {"expected": "Paris"}, 1.0),
        (ExactMatch(case_sensitive=True), "paris", {"expected": "Paris"}, 0.0),
        (Contains(), "It is Paris, of course", {"expected": "paris"}, 1.0),
        (Contains(), "London", {"expected": "Paris"}, 0.0),
        (Contains(substring="42"), "The answer is 42.", {}, 1.0),
        (RegexMatch(r"^\d+$"), "56", {}, 1.0),
        (RegexMatch(r"^\d+$"), "fifty-six", {}, 0.0),
        (JSONValid(), '{"a": 1}', {}, 1.0),
        (JSONValid(), "{not json", {}, 0.0),
        (JSONValid(required_keys=("b",)), '{"a": 1}', {}, 0.0),
    ],
)
async def test_deterministic_metrics(
    metric: Metric, output: str, case: dict[str, Any], value: float
) -> None:
    score = await _score(metric, output, **case)
    assert score.value == value
    assert score.passed is (value == 1.0)
    assert score.explanation


async def test_missing_expected_is_a_recorded_failure() -> None:
    score = await _score(ExactMatch(), "x")
    assert score.value is None and "expected" in (score.error or "")


def test_bad_regex_fails_when_the_metric_is_made() -> None:
    with pytest.raises(Exception, match="unterminated|missing"):
        RegexMatch("(unclosed")


@pytest.mark.parametrize(
    ("reply", "score", "explanation"),
    [
        ('{"score": 0.8, "explanation": "close"}', 0.8, "close"),
        ('```json\n{"score": 1, "reason": "same"}\n```', 1.0, "same"),
        (
            'Sure! Here is my verdict: {"rating": 0.25, "explanation": "weak"} Hope it helps.',
            0.25,
            "weak",
        ),
        ("Score: 7/10 - mostly right", 0.7, None),
        ("score = 80%", 0.8, None),
        ('{"score": "0.6", "explanation": "string number"}', 0.6, "string number"),
    ],
)
def test_parse_verdict_is_tolerant(reply: str, score: float, explanation: str | None) -> None:
    verdict = parse_verdict(reply)
    assert verdict.score == pytest.approx(score)
    if explanation is not None:
        assert verdict.explanation == explanation


@pytest.mark.parametrize(
    "reply", ["I cannot rate this.", '{"score": 7}', '{"verdict": "good"}', ""]
)
def test_parse_verdict_rejects_replies_without_a_score(reply: str) -> None:
    with pytest.raises(JudgeReplyError) as raised:
        parse_verdict(reply)
    assert raised.value.raw_reply == reply


async def test_unparseable_judge_reply_is_recorded_with_the_raw_reply(
    tracer_provider: TracerProvider,
) -> None:
    result = await evaluate(
        [Case(input="q", output="a", expected="a"), Case(input="q2", output="b", expected="b")],
        metrics=[SemanticSimilarity()],
        judge=ScriptedProvider(["I refuse to give numbers.", '{"score": 0.9, "explanation": "x"}']),
        max_concurrency=1,
        tracer_provider=tracer_provider,
    )
    first, second = (c.scores[0] for c in result.cases)
    assert first.value is None
    assert first.raw_reply == "I refuse to give numbers."
    assert "no score" in (first.error or "")
    assert second.value == 0.9
    assert result.metrics["semantic_similarity"].failures == 1
    assert result.complete


@pytest.mark.parametrize(
    ("metric", "case", "needle"),
    [
        (Correctness(), {"expected": "Paris"}, "Reference answer:\nParis"),
        (Faithfulness(), {"context": ["Doc one.", "Doc two."]}, "Context:\nDoc one.\n\nDoc two."),
        (AnswerRelevance(), {}, "addresses the question"),
        (Criteria("politeness", "Is the answer polite?"), {}, "Is the answer polite?"),
    ],
)
async def test_judge_metrics_send_their_rubric(metric, case, needle, tracer_provider) -> None:  # type: ignore[no-untyped-def]
    judge = ScriptedProvider('{"score": 0.4, "explanation": "meh"}')
    result = await evaluate(
        [Case(input="Where?", output="Paris", **case)],
        metrics=[metric],
        judge=judge,
        tracer_provider=tracer_provider,
    )
    (messages,) = judge.calls
    assert needle in messages[-1].content
    assert judge.params[0].json_schema is not None
    (score,) = result.cases[0].scores
    assert (score.metric, score.value, score.passed) == (metric.name, 0.4, False)
    assert result.interactions[0].purpose == metric.purpose


async def test_faithfulness_without_context_is_a_recorded_failure(tracer_provider) -> None:  # type: ignore[no-untyped-def]
    judge = ScriptedProvider('{"score": 1, "explanation": "x"}')
    result = await evaluate(
        [Case(input="q", output="a")],
        metrics=[Faithfulness()],
        judge=judge,
        tracer_provider=tracer_provider,
    )
    assert "context" in (result.cases[0].scores[0].error or "")
    assert judge.calls == []


async def test_judge_metric_without_a_judge_is_a_configuration_error(tracer_provider) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError, match="needs a judge"):
        await evaluate(
            [Case(input="q", output="a")], metrics=[Correctness()], tracer_provider=tracer_provider
        )


def test_criteria_needs_a_rubric() -> None:
    with pytest.raises(ConfigurationError):
        Criteria("empty", "  ")
