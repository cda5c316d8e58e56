"""Trajectory metrics: ToolCalled, ToolSequence, Budget and TrajectoryJudge over a case's trace."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import (
    Budget,
    Case,
    ConfigurationError,
    MetricContext,
    Model,
    ScriptedProvider,
    ToolCalled,
    ToolSequence,
    TrajectoryJudge,
    evaluate,
)
from evaltrace.metrics import ExpectedTool
from evaltrace.tracing import CaseTrace
from tests.unit.test_case_trace import chat_span, span, tool_span, trace_of

CASE = Case(id="c", input="Weather in Paris and Oslo, in Fahrenheit?", expected="64.4F")


def shop_trace() -> CaseTrace:
    """An agent that searched, looked up twice and bought, with one model call in between."""
    return trace_of(
        span(1, None, "invoke_agent shop", attributes={"gen_ai.operation.name": "invoke_agent"}),
        tool_span(2, 1, "search", {"q": "red shoes", "size": 42}, "3 hits", "t1"),
        chat_span(3, 1),
        tool_span(4, 1, "lookup", {"id": 7}, "in stock", "t2"),
        tool_span(5, 1, "lookup", {"id": 9}, "sold out", "t3"),
        tool_span(6, 1, "buy", {"id": 7, "quantity": 1}, "order 55", "t4"),
    )


def context(trace: CaseTrace | None = None, **fields: Any) -> MetricContext:
    return MetricContext(
        case=fields.pop("case", CASE),
        output=fields.pop("output", "done"),
        trace=trace if trace is not None else shop_trace(),
        **fields,
    )


# -- ToolCalled -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "passed"),
    [
        (ToolCalled("search"), True),
        (ToolCalled("refund"), False),
        (ToolCalled("refund", called=False), True),
        (ToolCalled("buy", called=False), False),
        (ToolCalled("search", {"q": "red shoes"}), True),  # a subset of the arguments
        (ToolCalled("search", {"q": "red shoes"}, match="exact"), False),
        (ToolCalled("search", {"q": "red shoes", "size": 42}, match="exact"), True),
        (ToolCalled("lookup", {"id": 9}), True),  # any one of the calls
        (ToolCalled("lookup", {"id": 8}), False),
        (ToolCalled("buy", {"quantity": 1.0}), True),  # numbers compare as numbers
    ],
)
async def test_tool_called(metric: ToolCalled, passed: bool) -> None:
    score = await metric.score(context())
    assert (score.passed, score.value) == (passed, float(passed))
    assert score.metric == metric.name and metric.name.startswith("tool_called:")


async def test_tool_called_explains_what_was_called_instead() -> None:
    score = await ToolCalled("lookup", {"id": 8}).score(context())
    assert score.explanation is not None
    assert 'lookup was called, but never lookup with arguments {"id":8}' in score.explanation
    assert '{"id":7}' in score.explanation and '{"id":9}' in score.explanation


async def test_arguments_that_are_not_json_are_compared_as_the_raw_string() -> None:
    trace = trace_of(tool_span(2, None, "shell", "ls -la /tmp"))
    assert (await ToolCalled("shell", "ls -la /tmp", match="exact").score(context(trace))).passed
    assert not (await ToolCalled("shell", {"cmd": "ls"}).score(context(trace))).passed


async def test_judged_arguments_ask_the_judge_with_every_call() -> None:
    judge = ScriptedProvider('{"score": 0.2, "explanation": "no call bought two"}')
    metric = ToolCalled("buy", "buys two pairs", match="judged")
    score = await metric.score(context(judge=Model(judge)))
    assert (score.value, score.passed) == (0.2, False)
    (messages,) = judge.calls
    assert "buys two pairs" in messages[-1].content
    assert '{"id":7,"quantity":1}' in messages[-1].content
    negated = await ToolCalled("buy", "buys two", match="judged", called=False).score(
        context(judge=Model(ScriptedProvider('{"score": 0.2, "explanation": "no"}')))
    )
    assert negated.passed is True


async def test_judged_arguments_need_a_judge() -> None:
    with pytest.raises(ConfigurationError, match="judge="):
        await ToolCalled("buy", "anything", match="judged").score(context())


def test_a_bad_match_mode_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="exact, subset, judged"):
        ToolCalled("x", match="fuzzy")  # type: ignore[arg-type]


# -- ToolSequence -----------------------------------------------------------------

ALL = ["search", "lookup", "lookup", "buy"]


@pytest.mark.parametrize(
    ("expected", "mode", "value", "passed"),
    [
        (ALL, "exact", 1.0, True),
        (["search", "lookup", "buy"], "exact", 2 / 3, False),  # a call in between
        (["search", "lookup", "buy"], "in_order", 1.0, True),
        (["buy", "search"], "in_order", 0.5, False),
        (["buy", "search"], "any_order", 1.0, True),
        (["lookup", "lookup", "lookup"], "any_order", 2 / 3, False),
        (["search", {"name": "buy", "arguments": {"id": 7}}], "in_order", 1.0, True),
        (["search", {"name": "buy", "arguments": {"id": 9}}], "in_order", 0.5, False),
        ([{"name": "lookup", "arguments": {"id": 9}}, "lookup"], "any_order", 1.0, True),
    ],
)
async def test_tool_sequence(expected: list[Any], mode: str, value: float, passed: bool) -> None:
    score = await ToolSequence(expected, mode=mode).score(context())  # type: ignore[arg-type]
    assert score.value == pytest.approx(value)
    assert score.passed is passed


async def test_any_order_finds_the_best_matching_not_the_first() -> None:
    # Greedy would give the unconstrained "lookup" the first lookup, the only one with id 7.
    expected: list[ExpectedTool] = ["lookup", {"name": "lookup", "arguments": {"id": 7}}]
    score = await ToolSequence(expected, mode="any_order").score(context())
    assert score.passed is True


async def test_each_case_may_give_its_expected_tools() -> None:
    case = CASE.model_copy(update={"metadata": {"expected_tools": ["search", "buy"]}})
    assert (await ToolSequence().score(context(case=case))).passed
    missing = await ToolSequence().score(context())
    assert missing.value is None and "metadata['expected_tools']" in (missing.error or "")
    bad = CASE.model_copy(update={"metadata": {"expected_tools": "search"}})
    wrong = await ToolSequence().score(context(case=bad))
    assert wrong.value is None and "case c metadata['expected_tools']" in (wrong.error or "")


async def test_no_tool_calls_expected_and_none_made() -> None:
    score = await ToolSequence([], mode="exact").score(context(CaseTrace.empty()))
    assert (score.value, score.passed) == (1.0, True)
    extra = await ToolSequence([], mode="exact").score(context())
    assert (extra.value, extra.passed) == (0.0, False)


# -- Budget -----------------------------------------------------------------------


async def test_budget_checks_each_limit_and_names_the_ones_exceeded() -> None:
    trace = shop_trace()  # one gpt-4o call of 12 tokens, four tool calls
    within = await Budget(max_model_calls=1, max_tokens=12, max_seconds=2).score(
        context(trace, task_duration=1.5)
    )
    assert within.passed is True
    assert within.metadata["tokens"] == 12 and within.metadata["tool_calls"] == 4
    over = await Budget(max_model_calls=1, max_tool_calls=3, max_seconds=1).score(
        context(trace, task_duration=1.5)
    )
    assert over.passed is False
    assert over.explanation is not None
    assert over.explanation.startswith("over budget on tool_calls, seconds: ")


async def test_budget_on_cost_uses_known_prices_and_never_guesses() -> None:
    priced = await Budget(max_cost_usd=1.0).score(context())
    assert priced.passed is True and 0 < priced.metadata["cost_usd"] < 1.0
    unknown = trace_of(
        span(3, None, "chat x", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "nobody",
            "gen_ai.request.model": "no-such-model", "gen_ai.usage.input_tokens": 5,
        })
    )  # fmt: skip
    unscored = await Budget(max_cost_usd=1.0).score(context(unknown))
    assert unscored.value is None and unscored.error == "the case's cost_usd is unknown"


async def test_a_budget_on_wall_time_needs_a_task() -> None:
    score = await Budget(max_seconds=1).score(context())  # the case came with its output
    assert score.value is None and "seconds" in (score.error or "")


def test_a_budget_with_no_limit_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="at least one limit"):
        Budget()


# -- TrajectoryJudge and the run ---------------------------------------------------


async def test_the_trajectory_judge_reads_the_steps_and_is_traced_with_its_purpose(
    tracer_provider: TracerProvider,
) -> None:
    judge = ScriptedProvider('{"score": 0.8, "explanation": "fine"}', model="judge-m")
    tracer = tracer_provider.get_tracer("an.agent")

    def agent(question: str) -> str:
        with tracer.start_as_current_span("invoke_agent helper") as agent_span:
            agent_span.set_attribute("gen_ai.operation.name", "invoke_agent")
            agent_span.set_attribute("gen_ai.agent.name", "helper")
            with tracer.start_as_current_span("execute_tool get_weather") as tool:
                tool.set_attribute("gen_ai.operation.name", "execute_tool")
                tool.set_attribute("gen_ai.tool.name", "get_weather")
                tool.set_attribute("gen_ai.tool.call.arguments", json.dumps({"city": "Oslo"}))
                tool.set_attribute("gen_ai.tool.call.result", "7C")
        return "7C"

    result = await evaluate(
        [CASE], [TrajectoryJudge(max_chars=2000)], task=agent, judge=judge,
        tracer_provider=tracer_provider,
    )  # fmt: skip
    (score,) = result.cases[0].scores
    assert (score.metric, score.value) == ("trajectory", 0.8)
    text = judge.calls[0][-1].content
    for part in ("Task:\nWeather in Paris", "Expected outcome:\n64.4F", "get_weather", "Oslo"):
        assert part in text
    assert "agent helper" in text and text.endswith("Final output:\n7C")
    (call,) = result.interactions
    assert (call.purpose, call.model, call.case_id) == ("trajectory_evaluation", "judge-m", "c")
    assert result.cases[0].trajectory is None  # kept only when asked


async def test_the_trajectory_judge_says_when_nothing_was_recorded() -> None:
    judge = ScriptedProvider('{"score": 0.1, "explanation": "no steps"}')
    await TrajectoryJudge().score(context(CaseTrace.empty(), judge=Model(judge)))
    assert "Trajectory:\n(no steps)\n" in judge.calls[0][-1].content


async def test_trace_cases_off_gives_metrics_an_empty_trace(
    tracer_provider: TracerProvider,
) -> None:
    tracer = tracer_provider.get_tracer("an.agent")

    def agent(question: str) -> str:
        with tracer.start_as_current_span("execute_tool search") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "search")
        return "x"

    on, off = [
        await evaluate([CASE], [ToolCalled("search")], task=agent,
                       tracer_provider=tracer_provider, trace_cases=flag)
        for flag in (True, False)
    ]  # fmt: skip
    assert on.cases[0].scores[0].passed is True
    assert off.cases[0].scores[0].passed is False
