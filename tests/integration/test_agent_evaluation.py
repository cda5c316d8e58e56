"""Real agents evaluated end to end: what a metric sees of the trajectory is what the agent did.

Each agent (LangGraph, the OpenAI Agents SDK, a plain hand-instrumented loop)
is the task of an ``evaluate`` run, traced by a real GenAI instrumentation.
The tools record their own invocations and the model its requests; the
trajectory metrics must see exactly those tools, the interactions must be
exactly those requests (plus the judge's), and nothing may be counted twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import (
    Budget,
    Case,
    MetricContext,
    Score,
    ScriptedProvider,
    ToolCalled,
    ToolSequence,
    TrajectoryJudge,
    evaluate,
)
from evaltrace.records import ToolCall
from tests.support.agents import (
    FINAL_ANSWER,
    INSTRUMENTATIONS,
    QUESTION,
    WEATHER_SCRIPT,
    AgentRun,
    run_langgraph_agent,
    run_openai_agents_agent,
    run_plain_agent,
)
from tests.support.agents._pristine import pristine_modules

pytestmark = pytest.mark.integration

AgentRunner = Callable[[TracerProvider, str], Awaitable[AgentRun]]


async def _langgraph(provider: TracerProvider, instrumentation: str) -> AgentRun:
    with pristine_modules("langchain", "langgraph"):
        return await run_langgraph_agent(tracer_provider=provider, instrumentation=instrumentation)


async def _openai_agents(provider: TracerProvider, instrumentation: str) -> AgentRun:
    # The OTel project's agents instrumentation leaves model calls to its openai one.
    openai_sdk = "otel-genai" if instrumentation == "otel-genai" else None
    with pristine_modules("agents"):
        return await run_openai_agents_agent(
            tracer_provider=provider, instrumentation=instrumentation, openai_sdk=openai_sdk
        )


async def _plain(provider: TracerProvider, instrumentation: str) -> AgentRun:
    return await run_plain_agent(tracer_provider=provider)


AGENTS: list[tuple[str, AgentRunner, str]] = [
    *[("langgraph", _langgraph, name) for name in INSTRUMENTATIONS],
    *[("openai-agents", _openai_agents, name) for name in INSTRUMENTATIONS],
    ("plain", _plain, "plain"),
]


@dataclass
class SeenTrajectory:
    """A user-written metric: records what it read of each case's trace."""

    tool_calls: list[ToolCall] = field(default_factory=list)
    model_calls: int = 0
    name: str = "seen"
    purpose: str = "seen"

    async def score(self, context: MetricContext) -> Score:
        """Keep the trace's tool calls and model calls; always passes."""
        self.tool_calls = context.trace.tool_calls()
        self.model_calls = len(context.trace.model_calls())
        return Score(metric=self.name, value=1.0, passed=True)


def _as_invoked(call: ToolCall) -> tuple[str, Any]:
    return call.name, call.arguments


@pytest.mark.parametrize(("framework", "runner", "instrumentation"), AGENTS)
async def test_the_trajectory_a_metric_sees_is_what_the_agent_did(
    framework: str, runner: AgentRunner, instrumentation: str, tracer_provider: TracerProvider
) -> None:
    runs: list[AgentRun] = []

    async def agent(question: str) -> str:
        runs.append(await runner(tracer_provider, instrumentation))
        return runs[-1].answer

    seen = SeenTrajectory()
    judge = ScriptedProvider('{"score": 0.9, "explanation": "sensible steps"}', model="judge-m")
    result = await evaluate(
        [Case(id="weather", input=QUESTION, expected=FINAL_ANSWER)],
        [
            seen,
            ToolSequence(["get_weather", "get_weather", "convert_temperature"], mode="exact"),
            ToolCalled("get_weather", {"city": "Oslo"}),
            ToolCalled("delete_account", called=False),
            Budget(max_model_calls=len(WEATHER_SCRIPT), max_tool_calls=3),
            TrajectoryJudge(),
        ],
        task=agent,
        judge=judge,
        tracer_provider=tracer_provider,
        keep_trajectory=True,
    )
    (run,) = runs
    (case,) = result.cases
    assert case.error is None, case.error
    # The tools the metric saw are the tools that ran, once each, in order.
    assert [_as_invoked(c) for c in seen.tool_calls] == [
        (t.name, dict(t.arguments)) for t in run.tool_invocations
    ]
    assert [c.result for c in seen.tool_calls] == [t.result for t in run.tool_invocations]
    # The interactions are the model's requests, plus the trajectory judge's one call.
    task_calls = [i for i in result.interactions if i.purpose == "task"]
    assert len(task_calls) == run.model_requests == seen.model_calls
    assert [i.purpose for i in result.interactions if i.purpose != "task"] == [
        "trajectory_evaluation"
    ]
    assert len({i.span_id for i in result.interactions}) == len(result.interactions)
    failed = {s.metric: s.explanation for s in case.scores if not s.passed}
    assert failed == {}, failed
    # The judge read the trajectory: each tool with its arguments.
    (prompt,) = judge.calls
    text = prompt[-1].content
    assert "get_weather" in text and "Oslo" in text and "convert_temperature" in text
    # The kept trajectory has each tool call and model call once.
    assert case.trajectory is not None
    assert [s.name for s in case.trajectory if s.kind == "tool"] == [
        t.name for t in run.tool_invocations
    ]
    assert sum(s.kind == "model" for s in case.trajectory) == run.model_requests
