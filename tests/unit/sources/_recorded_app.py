"""A small instrumented 'application' recorded with the real SDK: the calls score-spans reads.

Spans are written to OTLP JSON lines by OpenTelemetry's own encoder
(``opentelemetry-exporter-otlp-json-common``), as the Collector's ``file``
exporter would hold them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

SERVICE = "support-bot"


def chat_attributes(question: str, answer: str, model: str = "gpt-4o") -> dict[str, Any]:
    """A chat span in the current GenAI conventions, content captured."""
    inputs = [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": question}]},
    ]
    outputs = [{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": model,
        "gen_ai.response.id": f"chatcmpl-{len(question)}-{len(answer)}",
        "gen_ai.usage.input_tokens": 20,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.input.messages": json.dumps(inputs),
        "gen_ai.output.messages": json.dumps(outputs),
    }


QUESTIONS = [(f"What is {n} + {n}?", f"{2 * n}") for n in range(1, 7)]


def record_app() -> list[ReadableSpan]:
    """Six good calls (two models), and one each of: no content, truncated, failed, nested."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("app")
    for index, (question, answer) in enumerate(QUESTIONS):
        model = "gpt-4o" if index % 2 == 0 else "gpt-4o-mini"
        with tracer.start_as_current_span("handle request"):
            with tracer.start_as_current_span(
                f"chat {model}",
                kind=SpanKind.CLIENT,
                attributes=chat_attributes(question, answer, model),
            ):
                pass
    with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as bare:
        bare.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})
    cut = chat_attributes("long question", "long answer")
    cut["gen_ai.input.messages"] = str(cut["gen_ai.input.messages"])[:40]
    with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes=cut):
        pass
    with tracer.start_as_current_span(
        "chat gpt-4o", kind=SpanKind.CLIENT, attributes=chat_attributes("fails", "x")
    ) as failed:
        failed.set_status(Status(StatusCode.ERROR, "timeout"))
    with tracer.start_as_current_span(
        "chat gpt-4o", kind=SpanKind.CLIENT, attributes=chat_attributes("outer", "same")
    ):
        with tracer.start_as_current_span(
            "chat gpt-4o", kind=SpanKind.CLIENT, attributes=chat_attributes("outer", "same")
        ):
            pass
    provider.shutdown()
    return list(exporter.get_finished_spans())


def write_otlp_lines(
    path: Path, batches: Sequence[Sequence[ReadableSpan]], mode: str = "w"
) -> Path:
    """Each batch as one JSON line (OTel's own encoder)."""
    with path.open(mode) as file:
        for batch in batches:
            file.write(encode_spans(batch).to_json() + "\n")
    return path
