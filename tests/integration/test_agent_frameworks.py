"""Real agent frameworks, offline, traced by their real GenAI instrumentations.

Each agent (LangGraph, the OpenAI Agents SDK, a plain hand-instrumented loop)
plays the scripted weather conversation under a fresh ``TracerProvider``; its
tools record what really ran. The spans must name exactly those tools with
their arguments (and results and call ids, where the spelling carries them),
the model's tool-call requests must match the script, there must be one
inference span per model request, and nothing may stay patched afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.integration._agent_spellings import SPELLINGS, Spelling, ToolSpan, attr
from tests.support.agents import (
    FINAL_ANSWER,
    INSTRUMENTATIONS,
    WEATHER_SCRIPT,
    AgentRun,
    ToolInvocation,
    run_langgraph_agent,
    run_openai_agents_agent,
    run_plain_agent,
    tool_requests,
)
from tests.support.agents._pristine import pristine_modules
from tests.support.openai_sdk import _resource_classes

pytestmark = pytest.mark.integration

EXPECTED_TOOLS = [
    ("get_weather", {"city": "Paris"}),
    ("get_weather", {"city": "Oslo"}),
    ("convert_temperature", {"value": 18.0, "unit": "fahrenheit"}),
]


@pytest.fixture(scope="module", autouse=True)
def _imports_done() -> None:
    """Import the ``openai`` resources once (the openai SDK instrumentations' clean-up walks
    them all), so no test pays for it."""
    _resource_classes()


def _descends_from(
    span: ReadableSpan, ancestor: ReadableSpan, spans: Sequence[ReadableSpan]
) -> bool:
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    parent = span.parent
    while parent is not None:
        if ancestor.context is not None and parent.span_id == ancestor.context.span_id:
            return True
        above = by_id.get(parent.span_id)
        parent = above.parent if above is not None else None
    return False


def _check_ground_truth(run: AgentRun) -> None:
    """The agent really ran the script: tools, results fed back, answer, model requests."""
    assert run.answer == FINAL_ANSWER
    assert [(t.name, dict(t.arguments)) for t in run.tool_invocations] == EXPECTED_TOOLS
    assert run.model_requests == len(WEATHER_SCRIPT)
    for request, call, invocation in zip(
        run.model_inputs[1:], tool_requests(WEATHER_SCRIPT), run.tool_invocations, strict=True
    ):
        fed_back = [m for m in request if m.get("role") == "tool"]
        assert fed_back[-1]["tool_call_id"] == call.call_id
        assert fed_back[-1]["content"] == invocation.result


def _same_arguments(seen: ToolSpan, invocation: ToolInvocation) -> bool:
    if set(seen.arguments) == {"<single>"}:  # OpenInference LangChain: the bare value
        (value,) = invocation.arguments.values()
        return bool(seen.arguments["<single>"] == str(value))
    return dict(seen.arguments) == dict(invocation.arguments)


def _check_spans(run: AgentRun, spans: Sequence[ReadableSpan], spelling: Spelling) -> None:
    assert spans, "no span reached the test's tracer provider"
    assert len({s.context.trace_id for s in spans if s.context is not None}) == 1
    agents = [s for s in spans if spelling.is_agent(s)]
    assert len(agents) == spelling.agent_spans, [s.name for s in agents]
    root_agent = min(agents, key=lambda s: s.start_time or 0)
    tools = sorted((s for s in spans if spelling.is_tool(s)), key=lambda s: s.start_time or 0)
    inference = sorted(
        (s for s in spans if spelling.is_inference(s)), key=lambda s: s.start_time or 0
    )
    assert len(inference) == run.model_requests
    for span in [*tools, *inference]:
        assert _descends_from(span, root_agent, spans), span.name
    seen = [spelling.tool(span) for span in tools]
    assert [s.name for s in seen] == [t.name for t in run.tool_invocations]
    for tool_span, invocation in zip(seen, run.tool_invocations, strict=True):
        assert _same_arguments(tool_span, invocation), (tool_span, invocation)
        assert tool_span.result == invocation.result
    expected_ids = [c.call_id for c in tool_requests(WEATHER_SCRIPT)]
    ids = [s.call_id for s in seen]
    assert ids == (expected_ids if spelling.tool_call_ids else [None] * len(seen))
    _check_output_calls(inference, spelling)


def _check_output_calls(inference: Sequence[ReadableSpan], spelling: Spelling) -> None:
    """The tool calls the model asked for, read from the inference spans, are the script's."""
    per_span = [spelling.output_calls(span) for span in inference]
    if not spelling.output_calls_recorded:
        assert per_span == [None] * len(inference)
        return
    assert None not in per_span
    requested = [call for calls in per_span for call in calls or ()]
    assert requested == [
        (c.call_id, c.name, dict(c.arguments)) for c in tool_requests(WEATHER_SCRIPT)
    ]


def _finished(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(exporter.get_finished_spans())


@pytest.mark.parametrize("instrumentation", INSTRUMENTATIONS)
async def test_langgraph_agent_spans_name_the_tools_it_ran(
    instrumentation: str, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    with pristine_modules("langchain", "langgraph") as left_patched:
        run = await run_langgraph_agent(
            tracer_provider=tracer_provider, instrumentation=instrumentation
        )
    assert left_patched == [], "the run's own clean-up missed a patch"
    _check_ground_truth(run)
    _check_spans(run, _finished(span_exporter), SPELLINGS["langgraph", instrumentation])


@pytest.mark.parametrize("instrumentation", INSTRUMENTATIONS)
async def test_openai_agents_spans_name_the_tools_it_ran(
    instrumentation: str, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    # The OTel project's agents instrumentation leaves model calls to its openai one.
    openai_sdk = "otel-genai" if instrumentation == "otel-genai" else None
    with pristine_modules("agents") as left_patched:
        run = await run_openai_agents_agent(
            tracer_provider=tracer_provider, instrumentation=instrumentation, openai_sdk=openai_sdk
        )
    assert left_patched == [], "the run's own clean-up missed a patch"
    _check_ground_truth(run)
    _check_spans(run, _finished(span_exporter), SPELLINGS["openai-agents", run.instrumentation])
    _check_no_sdk_processor_left()


def _check_no_sdk_processor_left() -> None:
    from agents.tracing import get_trace_provider

    processors = getattr(getattr(get_trace_provider(), "_multi_processor", None), "_processors", ())
    names = {type(p).__module__ for p in processors}
    assert not any("openinference" in n or "opentelemetry" in n for n in names), names


async def test_plain_agent_spans_follow_the_genai_conventions(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    run = await run_plain_agent(tracer_provider=tracer_provider)
    _check_ground_truth(run)
    spans = _finished(span_exporter)
    _check_spans(run, spans, SPELLINGS["plain", "plain"])
    assert sorted(s.name for s in spans) == sorted(
        ["invoke_agent weather_agent"]
        + ["chat scripted-weather-1"] * 4
        + ["execute_tool get_weather"] * 2
        + ["execute_tool convert_temperature"]
    )


async def test_plain_agent_without_content_capture_keeps_names_and_ids_only(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    await run_plain_agent(tracer_provider=tracer_provider, capture_content=False)
    spans = _finished(span_exporter)
    content = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments"}
    content |= {"gen_ai.tool.call.result", "gen_ai.tool.definitions"}
    assert all(not content & set(s.attributes or {}) for s in spans)
    tools = [s for s in spans if attr(s, "gen_ai.operation.name") == "execute_tool"]
    assert [attr(s, "gen_ai.tool.call.id") for s in tools] == ["call_w1", "call_w2", "call_c1"]


@pytest.mark.parametrize(
    ("agents_instrumentation", "openai_sdk", "model_span_scopes"),
    [
        (
            "openinference",
            "openinference",
            ["openinference.instrumentation.openai_agents", "openinference.instrumentation.openai"],
        ),
        (
            "openllmetry",
            "openllmetry",
            [
                "opentelemetry.instrumentation.openai_agents",
                "opentelemetry.instrumentation.openai.v1",
            ],
        ),
        (
            "openinference",
            "otel-genai",
            [
                "openinference.instrumentation.openai_agents",
                "opentelemetry.instrumentation.genai.openai",
            ],
        ),
    ],
)
async def test_an_openai_sdk_instrumentation_doubles_each_model_request(
    agents_instrumentation: str,
    openai_sdk: str,
    model_span_scopes: list[str],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    """The agents span of a model request and the SDK span of the same HTTP call, nested."""
    run = await run_openai_agents_agent(
        tracer_provider=tracer_provider,
        instrumentation=agents_instrumentation,
        openai_sdk=openai_sdk,
    )
    spans = _finished(span_exporter)
    model_spans = [s for s in spans if _is_model_span(s)]
    assert len(model_spans) == 2 * run.model_requests
    outer_scope, inner_scope = model_span_scopes
    outer = [s for s in model_spans if _scope(s) == outer_scope]
    inner = [s for s in model_spans if _scope(s) == inner_scope]
    assert len(outer) == len(inner) == run.model_requests
    outer_ids = {s.context.span_id for s in outer if s.context is not None}
    assert all(s.parent is not None and s.parent.span_id in outer_ids for s in inner)


def _is_model_span(span: ReadableSpan) -> bool:
    return bool(
        attr(span, "openinference.span.kind") == "LLM"
        or attr(span, "gen_ai.operation.name") == "chat"
    )


def _scope(span: ReadableSpan) -> str | None:
    return span.instrumentation_scope.name if span.instrumentation_scope else None


@pytest.mark.parametrize("instrumentation", INSTRUMENTATIONS)
async def test_sdk_tracing_disabled_hides_the_run_from_every_agents_instrumentation(
    instrumentation: str, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    """``tracing_disabled`` (per run; ``set_tracing_disabled(True)`` globally) stops the SDK's
    traces, which are all an agents instrumentation sees: it is no way to keep traces off
    OpenAI's servers. Only an ``openai`` SDK instrumentation still sees the model calls."""
    openai_sdk = "otel-genai" if instrumentation == "otel-genai" else None
    run = await run_openai_agents_agent(
        tracer_provider=tracer_provider,
        instrumentation=instrumentation,
        openai_sdk=openai_sdk,
        tracing_disabled=True,
    )
    assert run.answer == FINAL_ANSWER
    spans = _finished(span_exporter)
    assert [_scope(s) for s in spans] == (
        ["opentelemetry.instrumentation.genai.openai"] * run.model_requests if openai_sdk else []
    )


def test_no_instrumentation_set_a_global_tracer_provider() -> None:
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
