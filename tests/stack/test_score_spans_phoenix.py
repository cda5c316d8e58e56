"""score-spans round trip through a real Phoenix.

An application using the ``openai`` SDK, instrumented by the OTel project's
OpenAI instrumentation or by OpenLLMetry (content capture on), calls a local
OpenAI-compatible server (``ScriptedChatServer``); its spans go to Phoenix
over OTLP/HTTP. ``score_spans`` reads them back from Phoenix's REST API,
scores them with a scripted judge, writes span annotations and evaluation
spans (exported to the same Phoenix project); the test reads both back from
Phoenix and checks each hangs off the right span; a second run scores
nothing. Waits poll with a generous deadline; nothing is timed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import openai
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from evaltrace import Criteria, Metric, ScriptedProvider, score_spans
from evaltrace.backfill import PhoenixSpans
from evaltrace.sources import BackendError, PhoenixClient, RetryPolicy
from evaltrace.tracing._record import SpanRecord
from tests.support import servers
from tests.support.agents._scenario import MODEL_NAME, ModelTurn
from tests.support.agents._server import ScriptedChatServer
from tests.support.openai_sdk import instrumented_openai

pytestmark = pytest.mark.integration
QUESTIONS = ["What is OTLP?", "What is a span?", "What is a trace?"]


def _provider(phoenix: servers.PhoenixServer, project: str) -> TracerProvider:
    resource = Resource.create(
        {"service.name": "support-bot", servers.PHOENIX_PROJECT_RESOURCE_ATTRIBUTE: project}
    )
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=phoenix.otlp_http_traces_url, timeout=30)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


async def _application(phoenix: servers.PhoenixServer, project: str, instrumentation: str) -> None:
    """The instrumented app: one chat call per question, to the scripted server."""
    provider = _provider(phoenix, project)
    script = [ModelTurn(text=f"Answer {n}.") for n in range(len(QUESTIONS))]
    async with ScriptedChatServer(script) as server:
        with instrumented_openai(instrumentation, provider):
            client = openai.AsyncOpenAI(base_url=server.base_url, api_key="unused")
            for question in QUESTIONS:
                await client.chat.completions.create(
                    model=MODEL_NAME,
                    messages=[
                        {"role": "system", "content": "Be brief."},
                        {"role": "user", "content": question},
                    ],
                )
            await client.close()
    provider.shutdown()


async def _wait(
    client: PhoenixClient, project: str, done: Callable[[list[SpanRecord]], bool]
) -> list[SpanRecord]:
    deadline = time.monotonic() + 120
    while True:
        try:
            spans = await client.spans(project)
        except BackendError as exc:  # the project appears with its first span
            if exc.status_code != 404 or time.monotonic() > deadline:
                raise
            spans = []
        if done(spans) or time.monotonic() > deadline:
            return spans
        await asyncio.sleep(0.5)


def _calls(spans: list[SpanRecord]) -> list[SpanRecord]:
    return [s for s in spans if s.name.startswith("chat") or s.name.startswith("openai.chat")]


def _evaluations(spans: list[SpanRecord]) -> list[SpanRecord]:
    return [s for s in spans if s.name.startswith("evaluation ")]


@pytest.mark.parametrize("instrumentation", ["otel-genai", "openllmetry"])
async def test_recorded_calls_are_scored_and_the_scores_come_back_on_their_spans(
    phoenix: servers.PhoenixServer, instrumentation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    monkeypatch.setenv("TRACELOOP_TRACE_CONTENT", "true")
    project = f"score-{instrumentation}-{uuid.uuid4().hex[:8]}"
    await _application(phoenix, project, instrumentation)
    client = PhoenixClient(phoenix.base_url, retry=RetryPolicy(attempts=3, backoff=0.2))
    recorded = _calls(await _wait(client, project, lambda s: len(_calls(s)) >= len(QUESTIONS)))
    assert len(recorded) == len(QUESTIONS)

    judge = ScriptedProvider('{"score": 0.8, "explanation": "to the point"}')
    metrics: list[Metric] = [Criteria("brief", "Is the answer brief?")]
    writer = _provider(phoenix, project)  # the user's exporters: the same Phoenix project
    first = await score_spans(
        PhoenixSpans(client, project), metrics, judge=judge, tracer_provider=writer
    )
    assert first.read.problems == []
    assert (first.scored, first.backend_scores, first.evaluation_spans) == (3, 3, 3)
    (result,) = first.results
    by_span = {case.case.metadata["span_id"]: case for case in result.cases}
    assert set(by_span) == {span.span_hex for span in recorded}
    for span in recorded:
        case = by_span[span.span_hex].case
        assert isinstance(case.input, list) and isinstance(case.input[-1], dict)
        question = str(case.input[-1]["content"])
        assert case.output == f"Answer {QUESTIONS.index(question)}."

    notes = await client.span_annotations(project, [s.span_hex for s in recorded])
    assert sorted(n.span_id for n in notes) == sorted(s.span_hex for s in recorded)
    assert {(n.name, n.score, n.identifier) for n in notes} == {(("brief", 0.8, "evaltrace"))}

    spans = await _wait(client, project, lambda s: len(_evaluations(s)) >= len(QUESTIONS))
    evaluations = _evaluations(spans)
    assert len(evaluations) == len(QUESTIONS)
    parents = {(s.trace_id, s.span_id) for s in recorded}
    for evaluation in evaluations:
        assert (evaluation.trace_id, evaluation.parent_span_id) in parents
        (event,) = [e for e in evaluation.events if e.name == "gen_ai.evaluation.result"]
        assert _attribute(event.attributes, "gen_ai.evaluation.name") == "brief"

    second = await score_spans(
        PhoenixSpans(client, project), metrics, judge=judge, tracer_provider=writer
    )
    assert second.scored == 0 and second.read.already_scored == len(QUESTIONS)
    writer.shutdown()
    await client.aclose()


def _attribute(attributes: Any, key: str) -> Any:
    return attributes.get(key)
