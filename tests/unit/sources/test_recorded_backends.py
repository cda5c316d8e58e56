"""score-spans over Jaeger and Tempo, against answers built from their documented formats.

No Jaeger or Tempo server can run here: the in-process ``FakeBackend`` serves
the fixtures of tests/fixtures/backends (each names the document it follows),
with message content added to their chat spans the way the GenAI
conventions write it. Tempo's answer also gets a prompt cut at its default
``max_attribute_bytes`` (2048): that call must be skipped, never scored.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import Metric, RegexMatch, SpanSelection, score_spans
from evaltrace.backfill import JaegerSpans, TempoSpans
from evaltrace.sources import JaegerClient, RetryPolicy, TempoClient
from tests.unit.sources._backend import FakeBackend, Reply, fixture, serve

WINDOW = SpanSelection(
    since=dt.datetime(2026, 5, 1, tzinfo=dt.UTC), until=dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
)


@pytest.fixture
async def backend() -> AsyncIterator[FakeBackend]:
    async for server in serve():
        yield server


def _text(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _with_content(document: dict[str, Any], prompt: str) -> dict[str, Any]:
    """Every chat span of an OTLP/JSON document gets a captured prompt and reply."""
    top = document.get("trace") or document.get("result") or document
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": prompt}]}])
    reply = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "42"}]}])
    for resource in top.get("resourceSpans") or top.get("batches") or ():
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                if span["name"].startswith("chat"):
                    span["attributes"] += [
                        _text("gen_ai.input.messages", messages),
                        _text("gen_ai.output.messages", reply),
                    ]
    return document


def _exporting() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def test_jaeger_calls_are_scored_and_written_back_under_them(backend: FakeBackend) -> None:
    answer = _with_content(fixture("jaeger_find_traces.json"), "Where is order 7?")
    backend.on("/api/v3/traces", Reply(body=answer))
    provider, exporter = _exporting()
    metrics: list[Metric] = [RegexMatch(r"\d")]
    source = JaegerSpans(JaegerClient(backend.base_url), service="support-bot")
    scored = await score_spans(source, metrics, selection=WINDOW, tracer_provider=provider)
    assert scored.scored == 1 and scored.read.skipped_by_reason() == {"failed": 1}
    (query,) = [dict(s.query) for s in backend.requests_to("/api/v3/traces")]
    assert query["query.service_name"] == "support-bot"
    (written,) = [s for s in exporter.get_finished_spans() if s.name == "evaluation regex_match"]
    (case,) = scored.results[0].cases
    assert written.parent is not None
    assert f"{written.parent.span_id:016x}" == case.case.metadata["span_id"]
    # Jaeger returns the whole trace: with the evaluation span in it, nothing is scored twice
    stored = json.loads(encode_spans([written]).to_json())["resourceSpans"]
    answer["result"]["resourceSpans"] += stored
    backend.on("/api/v3/traces", Reply(body=answer))
    again = await score_spans(source, metrics, selection=WINDOW, tracer_provider=provider)
    assert again.scored == 0 and again.read.already_scored == 1
    await source.aclose()


async def test_tempo_base64_trace_with_a_prompt_cut_at_2kb_is_skipped(backend: FakeBackend) -> None:
    search = fixture("tempo_search.json")
    backend.on("/api/search", Reply(body=search))
    full = _with_content(fixture("tempo_trace_v2.json"), "short question")
    cut = _with_content(fixture("tempo_trace_v2.json"), "q" * 3000)
    for span in cut["trace"]["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for attribute in span["attributes"]:
            if attribute["key"] == "gen_ai.input.messages":
                value = attribute["value"]["stringValue"]
                attribute["value"]["stringValue"] = value.encode()[:2048].decode()
    ids = [trace["traceID"].rjust(32, "0") for trace in search["traces"]]
    backend.on(f"/api/v2/traces/{ids[0]}", Reply(body=full))
    backend.on(f"/api/v2/traces/{ids[1]}", Reply(body=cut))
    backend.on(f"/api/v2/traces/{ids[2]}", Reply(503, "unavailable"))
    provider, _ = _exporting()
    retry = RetryPolicy(attempts=2, backoff=0.01)
    source = TempoSpans(TempoClient(backend.base_url, retry=retry))
    metrics: list[Metric] = [RegexMatch(r"\d")]
    scored = await score_spans(source, metrics, tracer_provider=provider)
    # both answers are the fixture's one trace: the cut copy decodes to the same span ids
    assert scored.read.skipped_by_reason() == {"truncated": 1}
    (skip,) = scored.read.skipped
    assert skip.reason.startswith("gen_ai.input.messages is not complete JSON (2048 bytes)")
    assert scored.scored == 1
    (problem,) = scored.read.problems  # the trace Tempo failed to give; the others are scored
    assert problem.startswith(f"trace {ids[2]}: tempo: ") and "503" in problem
    (case,) = scored.results[0].cases
    assert case.case.input == [{"role": "user", "content": "short question"}]
    await source.aclose()
