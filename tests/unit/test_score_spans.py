"""score-spans on OTLP files written by OpenTelemetry's own JSON encoder from real SDK spans.

Recorded calls become cases (skips counted with their reason), sampling is
deterministic, scores go back as evaluation spans under the recorded spans
(in-memory exporter), the judge's run links to them, and a second run over a
file that holds the evaluation spans scores nothing twice.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from scipy import stats

from evaltrace import (
    ConfigurationError,
    Criteria,
    Metric,
    RegexMatch,
    ScriptedProvider,
    SpanSelection,
    load_cases,
    read_recorded_cases,
    score_spans,
)
from evaltrace.backfill import in_sample, open_source
from evaltrace.backfill._calls import recorded_calls
from evaltrace.backfill._recorded import FileSpans, JaegerSpans, PhoenixSpans, TempoSpans
from evaltrace.cli.main import main
from evaltrace.tracing._record import SpanRecord
from tests.support.openai_sdk import instrumented_openai
from tests.unit.sources._recorded_app import QUESTIONS, SERVICE, record_app, write_otlp_lines
from tests.unit.test_instrumentations import Server


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, list[ReadableSpan]]:
    spans = record_app()
    return write_otlp_lines(tmp_path / "traces.json", [spans[:5], spans[5:]]), spans


def _exporting() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def test_recorded_calls_become_cases_and_the_rest_is_skipped_with_reasons(
    recorded: tuple[Path, list[ReadableSpan]],
) -> None:
    path, spans = recorded
    found = await read_recorded_cases(str(path))
    assert found.skipped_by_reason() == {"no content": 1, "truncated": 1, "failed": 1, "nested": 1}
    questions = {q: a for q, a in QUESTIONS} | {"outer": "same"}
    assert len(found.cases) == len(questions)
    by_span = {f"{s.context.span_id:016x}": s for s in spans if s.context is not None}
    for case in found.cases:
        assert isinstance(case.input, list)
        system, user = case.input
        assert system == {"role": "system", "content": "Be brief."}
        assert isinstance(user, dict)
        assert case.output == questions[str(user["content"])]
        span = by_span[case.metadata["span_id"]]
        assert span.context is not None
        assert case.metadata["trace_id"] == f"{span.context.trace_id:032x}"
        assert case.metadata["model"] == span.attributes["gen_ai.request.model"]  # type: ignore[index]
        assert case.metadata["service"] == SERVICE
        assert (case.metadata["input_tokens"], case.metadata["output_tokens"]) == (20, 5)
        assert case.metadata["response_id"].startswith("chatcmpl-")
        assert case.id == case.metadata["span_id"]


def _text_span(content: str) -> SpanRecord:
    attributes = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "m",
        "input.value": content,
        "output.value": "an answer",
    }
    return SpanRecord(
        trace_id=1, span_id=2, name="llm", start_time=0, end_time=1, attributes=attributes
    )


@pytest.mark.parametrize(
    ("content", "cut"),
    [
        ("x" * 2048, True),  # Tempo's default max_attribute_bytes, ASCII
        ("é" * 1023 + "\ufffd", False),  # 2049 bytes: over, not at, the limit
        ("é" * 1022 + "\ufffd", True),  # a character cut in two at the limit (2047 bytes)
        ("x" * 2047, False),
        ("short", False),
    ],
)
def test_text_content_at_the_truncation_limit_is_skipped(content: str, cut: bool) -> None:
    (found,) = recorded_calls([_text_span(content)])
    assert (getattr(found, "kind", None) == "truncated") is cut


def test_sampling_is_deterministic_nested_and_near_its_rate() -> None:
    ids = list(range(1, 20_001))
    at_10 = {i for i in ids if in_sample(i, 0.1)}
    assert at_10 == {i for i in ids if in_sample(i, 0.1)}
    assert at_10 <= {i for i in ids if in_sample(i, 0.2)}
    assert stats.binomtest(len(at_10), len(ids), 0.1).pvalue > 1e-6


async def test_selection_filters_samples_and_limits(
    recorded: tuple[Path, list[ReadableSpan]],
) -> None:
    path, _ = recorded
    only_mini = SpanSelection(filters={"gen_ai.request.model": "gpt-4o-mini"})
    found = await read_recorded_cases(str(path), only_mini)
    assert {c.metadata["model"] for c in found.cases} == {"gpt-4o-mini"} and len(found.cases) == 3
    first = await read_recorded_cases(str(path), SpanSelection(sample=0.5))
    again = await read_recorded_cases(str(path), SpanSelection(sample=0.5))
    assert [c.id for c in first.cases] == [c.id for c in again.cases]
    limited = await read_recorded_cases(str(path), SpanSelection(limit=2))
    assert len(limited.cases) == 2
    with pytest.raises(ConfigurationError, match="--sample"):
        SpanSelection(sample=0.0)


def _evaluation_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("evaluation ")]


async def test_scores_go_back_under_each_recorded_span_and_are_not_scored_twice(
    recorded: tuple[Path, list[ReadableSpan]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    path, spans = recorded
    provider, exporter = _exporting()
    judge = ScriptedProvider('{"score": 0.9, "explanation": "clear"}')
    metrics: list[Metric] = [RegexMatch(r"\d"), Criteria("brief", "Is the answer brief?")]
    first = await score_spans(str(path), metrics, judge=judge, tracer_provider=provider)
    assert first.scored == 7 and first.evaluation_spans == 14
    written = _evaluation_spans(exporter)
    recorded_ids = {(s.context.trace_id, s.context.span_id) for s in spans if s.context}
    (result,) = first.results
    judge_calls = {int(c.span_id, 16) for c in result.interactions if c.purpose != "task"}
    for span in written:
        assert span.parent is not None and span.parent.is_remote
        assert span.context is not None
        assert (span.context.trace_id, span.parent.span_id) in recorded_ids
        (event,) = span.events
        assert event.name == "gen_ai.evaluation.result"
        assert event.attributes is not None
        assert str(event.attributes["gen_ai.response.id"]).startswith("chatcmpl-")
        metric = event.attributes["gen_ai.evaluation.name"]
        if metric == "brief":
            assert event.attributes["gen_ai.evaluation.score.value"] == 0.9
            assert {link.context.span_id for link in span.links} <= judge_calls
            assert span.links
    case_spans = [s for s in exporter.get_finished_spans() if s.name.startswith("case ")]
    linked = {(k.context.trace_id, k.context.span_id) for s in case_spans for k in s.links}
    assert linked <= recorded_ids and len(linked) == 7
    # the collector's file now also holds the evaluation spans and the judge's run (its calls
    # with content): nothing is scored twice, and the judge's calls are not recorded calls
    write_otlp_lines(path, [exporter.get_finished_spans()], mode="a")
    second = await score_spans(str(path), metrics, judge=judge, tracer_provider=provider)
    assert second.scored == 0 and second.read.already_scored == 7 and not second.results
    assert second.read.skipped_by_reason()["evaltrace"] == len(judge_calls) == 7
    # a new metric scores only what it has not scored
    third = await score_spans(
        str(path), [RegexMatch(r"^\d+$", name="digits")], tracer_provider=provider
    )
    assert third.scored == 7


async def test_a_corrupt_line_is_reported_with_file_and_line_and_the_rest_is_scored(
    recorded: tuple[Path, list[ReadableSpan]],
) -> None:
    path, _ = recorded
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], '{"resourceSpans": [', lines[1]]) + "\n")
    provider, _ = _exporting()
    scored = await score_spans(str(path), [RegexMatch(r"\d")], tracer_provider=provider)
    assert scored.scored == 7
    (problem,) = scored.read.problems
    assert problem.startswith(f"{path}:2: ")


def test_sources_are_named_by_scheme(
    tmp_path: Path, recorded: tuple[Path, list[ReadableSpan]]
) -> None:
    async def opened(spec: str) -> Any:
        source = open_source(spec, token="s3cret")
        await source.aclose()
        return source

    phoenix = asyncio.run(opened("phoenix:http://127.0.0.1:6006#support"))
    assert isinstance(phoenix, PhoenixSpans) and phoenix.project == "support"
    jaeger = asyncio.run(opened("jaeger:http://127.0.0.1:16686?serviceName=bot&limit=5"))
    assert isinstance(jaeger, JaegerSpans) and (jaeger.service, jaeger.traces) == ("bot", 5)
    tempo = asyncio.run(opened("tempo:http://127.0.0.1:3200?q=%7B%7D"))
    assert isinstance(tempo, TempoSpans) and tempo.query == "{}"
    assert isinstance(asyncio.run(opened(str(recorded[0]))), FileSpans)
    for source in (phoenix, jaeger, tempo):
        assert "s3cret" not in source.description and "s3cret" not in repr(source.client)
    with pytest.raises(ConfigurationError, match="given twice"):
        open_source("jaeger:http://h:1?service=a&service_name=b")


def test_export_cases_writes_a_dataset_and_score_spans_runs_from_the_cli(
    tmp_path: Path, recorded: tuple[Path, list[ReadableSpan]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = recorded
    cases_path = tmp_path / "cases.jsonl"
    assert main(["export-cases", str(path), "-o", str(cases_path)]) == 0
    cases = load_cases(cases_path)
    assert len(cases) == 7 and all(c.has_output for c in cases)
    first = json.loads(cases_path.read_text().splitlines()[0])
    assert set(first) == {"id", "input", "output", "metadata"}
    out = tmp_path / "results.json"
    assert main(["score-spans", str(path), "-m", "regex:\\d", "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert "7 scored" in printed.out and "nested: 1" in printed.out
    assert "skipped: trace" in printed.err
    assert main(["score-spans", str(path), "-m", "regex:\\d", "--since", "soon"]) == 2
    assert "--since 'soon'" in capsys.readouterr().err


@pytest.mark.parametrize("instrumentation", ["otel-genai", "openinference", "openllmetry"])
async def test_calls_of_real_instrumentations_written_by_otels_encoder_become_cases(
    instrumentation: str,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    monkeypatch.setenv("TRACELOOP_TRACE_CONTENT", "true")
    server = Server("Paris")
    with instrumented_openai(instrumentation, tracer_provider):
        client = openai.AsyncOpenAI(
            api_key="sk-x", base_url="http://llm.local/v1", http_client=server.client()
        )
        await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Capital of France?"},
            ],
        )
    path = write_otlp_lines(tmp_path / "traces.json", [span_exporter.get_finished_spans()])
    found = await read_recorded_cases(str(path))
    (case,) = found.cases
    assert case.input == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert case.output == "Paris"
    assert str(case.metadata["model"]).startswith("gpt-4o-mini")
    assert "sk-x" not in path.read_text()
