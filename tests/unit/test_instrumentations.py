"""Calls traced by real third-party instrumentations become interactions, once each.

The instrumentations are the real packages (the OTel project's
``opentelemetry-instrumentation-genai-openai``, Arize's
``openinference-instrumentation-openai`` and Traceloop's OpenLLMetry
``opentelemetry-instrumentation-openai``) around the real ``openai`` SDK; only
the HTTP transport is local.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import openai
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import Case, SemanticSimilarity, evaluate
from evaltrace.providers.openai_compat import OpenAIProvider
from evaltrace.tracing import _attributes as attr
from tests.support.openai_sdk import instrumented_openai

from ._helpers import chat_completion_body, inference_spans

JUDGE_REPLY = '{"score": 0.9, "explanation": "same"}'


class Server:
    """Counts requests and answers each with a chat completion."""

    def __init__(self, text: str = "Paris") -> None:
        self.requests = 0
        self.text = text

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        return httpx2.Response(200, json=chat_completion_body(self.text))

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))


@pytest.fixture(params=["otel-genai", "openinference", "openllmetry"])
def instrumented(request: pytest.FixtureRequest, tracer_provider: TracerProvider) -> Iterator[str]:
    with instrumented_openai(request.param, tracer_provider):
        yield request.param


def _task(server: Server):  # type: ignore[no-untyped-def]
    client = openai.AsyncOpenAI(
        api_key="sk-x", base_url="http://llm.local/v1", http_client=server.client()
    )

    async def task(question: str) -> str:
        reply = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": question},
            ],
        )
        return reply.choices[0].message.content or ""

    return task


@pytest.fixture
def content_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ask every instrumentation to record content (set before they are instrumented)."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    monkeypatch.setenv("TRACELOOP_TRACE_CONTENT", "true")


async def test_instrumented_task_calls_are_interactions(
    content_env: None,
    instrumented: str,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    server = Server()
    result = await evaluate(
        [Case(input=f"Capital of country {i}?") for i in range(3)],
        task=_task(server),
        tracer_provider=tracer_provider,
    )
    assert server.requests == 3
    assert len(result.interactions) == 3
    for case in result.cases:
        (call,) = case.interactions
        assert call.purpose == "task"
        assert (call.input_tokens, call.output_tokens, call.tokens_used) == (11, 5, 16)
        assert call.model.startswith("gpt-4o-mini")
        assert call.provider == "openai"
        assert call.response == "Paris"
        assert call.prompt == f"system: Be brief.\n\nuser: {case.case.input}"
        assert call.content_captured is True
        assert call.shape.convention == (
            "openinference" if instrumented == "openinference" else "gen_ai"
        )


async def test_instrumentation_without_content_gives_empty_text_never_invented(
    tracer_provider: TracerProvider,
) -> None:
    with instrumented_openai("otel-genai", tracer_provider):
        result = await evaluate(
            [Case(input="Capital?")], task=_task(Server()), tracer_provider=tracer_provider
        )
    (call,) = result.interactions
    assert (call.prompt, call.response) == ("", "")
    assert call.content_captured is False
    assert call.tokens_used == 16


async def test_our_provider_inside_an_instrumented_sdk_counts_each_request_once(
    instrumented: str,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    server = Server(JUDGE_REPLY)
    judge = OpenAIProvider("gpt-4o-mini", api_key="sk-x", http_client=server.client())
    result = await evaluate(
        [Case(input=f"q{i}", output="a", expected="a") for i in range(4)],
        metrics=[SemanticSimilarity()],
        judge=judge,
        tracer_provider=tracer_provider,
    )
    assert server.requests == 4
    assert len(result.interactions) == 4
    assert {i.purpose for i in result.interactions} == {"semantic_evaluation"}
    assert all(i.instrumentation == "evaltrace" for i in result.interactions)


async def test_aggregating_parent_spans_are_not_calls(tracer_provider: TracerProvider) -> None:
    tracer = tracer_provider.get_tracer("agent.framework")

    def task(question: str) -> str:
        with tracer.start_as_current_span(
            "invoke_agent planner",
            attributes={
                attr.OPERATION_NAME: "invoke_agent",
                attr.PROVIDER_NAME: "openai",
                attr.REQUEST_MODEL: "gpt-4o-mini",
            },
        ) as agent:
            for _ in range(2):
                with tracer.start_as_current_span(
                    "chat gpt-4o-mini",
                    attributes={
                        attr.OPERATION_NAME: "chat",
                        attr.PROVIDER_NAME: "openai",
                        attr.REQUEST_MODEL: "gpt-4o-mini",
                        attr.USAGE_INPUT_TOKENS: 10,
                        attr.USAGE_OUTPUT_TOKENS: 2,
                    },
                ):
                    pass
            agent.set_attribute(attr.USAGE_INPUT_TOKENS, 20)  # the agent sums its calls
            agent.set_attribute(attr.USAGE_OUTPUT_TOKENS, 4)
        with tracer.start_as_current_span(
            "Agent",
            attributes={
                "openinference.span.kind": "AGENT",
                "llm.model_name": "x",
                "llm.token_count.prompt": 99,
            },
        ):
            pass
        return "done"

    result = await evaluate([Case(input="plan")], task=task, tracer_provider=tracer_provider)
    assert len(result.interactions) == 2
    assert result.totals.tokens == 24


async def test_spans_outside_the_run_trace_are_ignored(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    tracer = tracer_provider.get_tracer("elsewhere")

    def task(question: str) -> str:
        # A call the application makes in a brand-new trace (context deliberately detached).
        with tracer.start_as_current_span(
            "chat m",
            context=trace.set_span_in_context(trace.INVALID_SPAN),
            attributes={
                attr.OPERATION_NAME: "chat",
                attr.PROVIDER_NAME: "openai",
                attr.REQUEST_MODEL: "m",
            },
        ):
            return "x"

    result = await evaluate([Case(input="q")], task=task, tracer_provider=tracer_provider)
    assert result.interactions == []
    assert len(inference_spans(span_exporter.get_finished_spans())) == 1
