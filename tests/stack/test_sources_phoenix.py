"""PhoenixClient against a real Phoenix: spans sent over OTLP by the SDK come back as records.

The sending side is only the OpenTelemetry SDK and its OTLP/HTTP exporter;
Phoenix stores the spans and answers its REST API; evaltrace's client reads
them back (cursor paging, time window) and writes span annotations, read back
from Phoenix too. Waits poll with a generous deadline; nothing is timed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from evaltrace.sources import BackendError, PhoenixClient, RetryPolicy
from evaltrace.tracing._record import SpanRecord
from tests.support import servers

pytestmark = pytest.mark.integration

CHAT: dict[str, Any] = {
    "openinference.span.kind": "LLM",
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.request.temperature": 0.25,
    "gen_ai.usage.input_tokens": 12,
    "gen_ai.response.finish_reasons": ("stop",),
    "evaltrace.streamed": False,
    "llm.model_name": "gpt-4o-mini",
    "llm.input_messages.0.message.role": "user",
    "llm.input_messages.0.message.content": "What is OTLP?",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.content": "A protocol.",
}


def _send(phoenix: servers.PhoenixServer, project: str, tools: int = 0) -> list[ReadableSpan]:
    """One trace (root -> chat, plus ``tools`` tool spans) to Phoenix over OTLP/HTTP."""
    kept = InMemorySpanExporter()
    resource = Resource.create(
        {"service.name": "sources-phoenix", servers.PHOENIX_PROJECT_RESOURCE_ATTRIBUTE: project}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(kept))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=phoenix.otlp_http_traces_url, timeout=30))
    )
    tracer = provider.get_tracer("evaltrace.sources-test")
    with tracer.start_as_current_span("evaluate demo"):
        with tracer.start_as_current_span(
            "chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=CHAT
        ) as chat:
            chat.add_event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "relevance"})
            chat.set_status(Status(StatusCode.ERROR, "upstream timed out"))
        for number in range(tools):
            with tracer.start_as_current_span(f"execute_tool t{number}"):
                pass
    provider.shutdown()
    return list(kept.get_finished_spans())


async def _wait(
    client: PhoenixClient, project: str, done: Callable[[list[SpanRecord]], bool], **filters: Any
) -> list[SpanRecord]:
    deadline = time.monotonic() + 120
    while True:
        try:
            spans = await client.spans(project, **filters)
        except BackendError as exc:  # the project appears with its first span
            if exc.status_code != 404 or time.monotonic() > deadline:
                raise
            spans = []
        if done(spans) or time.monotonic() > deadline:
            return spans
        await asyncio.sleep(0.5)


def _client(phoenix: servers.PhoenixServer) -> PhoenixClient:
    return PhoenixClient(phoenix.base_url, retry=RetryPolicy(attempts=3, backoff=0.2))


def _project() -> str:
    return f"sources-{uuid.uuid4().hex[:10]}"


async def test_spans_sent_over_otlp_come_back_as_records(phoenix: servers.PhoenixServer) -> None:
    project = _project()
    sent = {s.context.span_id: s for s in _send(phoenix, project)}
    async with _client(phoenix) as client:
        records = await _wait(client, project, lambda r: len(r) >= 2)
    got = {r.span_id: r for r in records}
    assert set(got) == set(sent)
    for span_id, span in sent.items():
        record = got[span_id]
        assert record.trace_id == span.context.trace_id
        assert record.parent_span_id == (span.parent.span_id if span.parent else None)
        assert record.name == span.name
        # Phoenix keeps microseconds, through a float of seconds: within 2 µs.
        assert abs(record.start_time - (span.start_time or 0)) <= 2000
        assert abs(record.end_time - (span.end_time or 0)) <= 2000
    chat = next(r for r in records if r.name.startswith("chat"))
    assert chat.status == "error" and chat.status_message == "upstream timed out"
    assert {k: chat.attributes.get(k) for k in CHAT} == CHAT
    assert [(e.name, dict(e.attributes)) for e in chat.events] == [
        ("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "relevance"})
    ]


async def test_cursor_paging_and_time_window(phoenix: servers.PhoenixServer) -> None:
    project = _project()
    sent = _send(phoenix, project, tools=5)
    async with _client(phoenix) as client:
        await _wait(client, project, lambda r: len(r) >= 7)
        by_pages_of_2 = await client.spans(project, page_size=2)
        assert sorted(r.span_id for r in by_pages_of_2) == sorted(s.context.span_id for s in sent)
        first = min(s.start_time or 0 for s in sent)
        before = dt.datetime.fromtimestamp(first / 1e9 - 3600, tz=dt.UTC)
        assert await client.spans(project, start=before, end=before + dt.timedelta(minutes=1)) == []
        one_trace = await client.spans(project, trace_ids=[f"{sent[0].context.trace_id:032x}"])
        assert len(one_trace) == 7


async def test_annotations_are_written_and_read_back(phoenix: servers.PhoenixServer) -> None:
    project = _project()
    _send(phoenix, project)
    async with _client(phoenix) as client:
        records = await _wait(client, project, lambda r: len(r) >= 2)
        chat = next(r for r in records if r.name.startswith("chat"))
        first = await client.annotate_span(
            chat.span_id, "relevance", label="relevant", score=0.75,
            explanation="on topic", metadata={"evaltrace.run.id": "run-1"}, identifier="evaltrace",
        )  # fmt: skip
        assert first
        again = await client.annotate_span(
            chat.span_hex, "relevance", score=1.0, identifier="evaltrace"
        )  # same name and identifier: an update
        (annotation,) = await client.span_annotations(project, [chat.span_id])
    assert annotation.span_id == chat.span_hex and annotation.name == "relevance"
    assert annotation.score == 1.0 and annotation.identifier == "evaltrace"
    assert annotation.annotator_kind == "LLM" and annotation.id in (first, again)


async def test_unknown_spans_and_projects_are_backend_errors(
    phoenix: servers.PhoenixServer,
) -> None:
    async with _client(phoenix) as client:
        with pytest.raises(BackendError) as unknown_span:
            await client.annotate_span("00000000000000ff", "relevance", score=1.0)
        with pytest.raises(BackendError) as unknown_project:
            await client.spans(f"no-such-project-{uuid.uuid4().hex[:8]}")
    assert unknown_span.value.status_code == 404 and not unknown_span.value.retryable
    assert unknown_project.value.status_code == 404
