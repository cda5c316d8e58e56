"""Helpers for the span-source tests: real SDK spans, OTel's own JSON encoder, respellings.

* ``genai_spans`` records a small GenAI trace with the real OpenTelemetry SDK.
* ``otlp_json`` encodes spans with ``opentelemetry-exporter-otlp-json-common``
  (``opentelemetry.exporter.otlp.json.common.trace_encoder.encode_spans``), the
  OTel Python project's own OTLP/JSON encoder: hex ids, numeric enums, string
  64-bit ints, camelCase keys.
* ``respell`` rewrites such a document into the other spellings seen in the
  wild (base64 ids, enum names, numeric or string ints, snake_case keys,
  legacy ``instrumentationLibrarySpans``), so one oracle checks them all.
* ``expected`` is the oracle: the ``SpanRecord`` a ``ReadableSpan`` must decode to.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from evaltrace.tracing._record import SpanEvent, SpanLink, SpanRecord

CHAT_ATTRIBUTES: dict[str, Any] = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.request.temperature": 0.25,
    "gen_ai.request.max_tokens": 256,
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.response.id": "chatcmpl-123",
    "gen_ai.response.finish_reasons": ("stop",),
    "gen_ai.usage.input_tokens": 12,
    "gen_ai.usage.output_tokens": 7,
    "server.address": "api.example.test",
    "server.port": 443,
    "evaltrace.streamed": False,
    "gen_ai.request.stop_sequences": ("\n\n", "END"),
    "evaltrace.scores": (0.5, 1.0),
    "evaltrace.flags": (True, False),
    "evaltrace.ids": (1, 2, 3),
}
_KINDS = {
    SpanKind.INTERNAL: "internal",
    SpanKind.SERVER: "server",
    SpanKind.CLIENT: "client",
    SpanKind.PRODUCER: "producer",
    SpanKind.CONSUMER: "consumer",
}
_STATUSES = {StatusCode.UNSET: "unset", StatusCode.OK: "ok", StatusCode.ERROR: "error"}


def genai_spans(service: str = "sources-test", traces: int = 1) -> list[ReadableSpan]:
    """``traces`` traces of: evaluate (root) -> chat (client, error, event, link) + tool."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("evaltrace.sources-test", "1.0")
    for number in range(traces):
        with tracer.start_as_current_span(f"evaluate run-{number}") as root:
            root.set_attribute("evaltrace.run.id", f"run-{number}")
            link = Link(root.get_span_context(), {"evaltrace.link": "judged"})
            with tracer.start_as_current_span(
                "chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=CHAT_ATTRIBUTES, links=[link]
            ) as chat:
                chat.add_event(
                    "gen_ai.evaluation.result",
                    {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.75},
                )
                chat.set_status(Status(StatusCode.ERROR, "upstream timed out"))
            with tracer.start_as_current_span("execute_tool get_weather") as tool:
                tool.set_attribute("gen_ai.tool.name", "get_weather")
                tool.set_status(Status(StatusCode.OK))
    provider.shutdown()
    return list(exporter.get_finished_spans())


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """The spans as OTel's own encoder writes OTLP/JSON (as a parsed document)."""
    document: dict[str, Any] = json.loads(encode_spans(spans).to_json())
    return document


def otlp_json_line(spans: Sequence[ReadableSpan]) -> str:
    """One line of a Collector ``file`` exporter file, by OTel's own encoder."""
    line: str = encode_spans(spans).to_json()
    assert "\n" not in line
    return line


def expected(span: ReadableSpan) -> SpanRecord:
    """The record the decoder must produce for ``span`` (the test oracle)."""
    context = span.get_span_context()
    assert context is not None
    parent = span.parent
    return SpanRecord(
        trace_id=context.trace_id,
        span_id=context.span_id,
        name=span.name,
        start_time=span.start_time or 0,
        end_time=span.end_time or 0,
        attributes=dict(span.attributes or {}),
        parent_span_id=parent.span_id if parent else None,
        kind=_KINDS[span.kind],
        status=_STATUSES[span.status.status_code],
        status_message=span.status.description or None,
        events=tuple(SpanEvent(e.name, e.timestamp, dict(e.attributes or {})) for e in span.events),
        links=tuple(
            SpanLink(link.context.trace_id, link.context.span_id, dict(link.attributes or {}))
            for link in span.links
        ),
        scope=span.instrumentation_scope.name if span.instrumentation_scope else None,
        resource=dict(span.resource.attributes),
        parent_is_remote=bool(parent and parent.is_remote),
    )


# --------------------------------------------------------------------------
# Respelling a canonical (camelCase, hex, numeric enum) OTLP/JSON document
# --------------------------------------------------------------------------

_KIND_NAMES = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
               "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"]  # fmt: skip
_STATUS_NAMES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]
_ID_KEYS = {"traceId", "spanId", "parentSpanId"}
_INT_KEYS = {"startTimeUnixNano", "endTimeUnixNano", "timeUnixNano", "intValue"}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def respell(
    node: Any,
    *,
    ids: str = "hex",
    enums: str = "numbers",
    ints: str = "strings",
    keys: str = "camel",
    legacy_scope: bool = False,
    _key: str | None = None,
) -> Any:
    """``node`` with ids hex/HEX/base64/base64url, enums numbers/names/lower,
    ints strings/numbers, keys camel/snake, and optionally the legacy
    ``instrumentationLibrarySpans`` / ``instrumentationLibrary`` names."""
    options: dict[str, Any] = {
        "ids": ids,
        "enums": enums,
        "ints": ints,
        "keys": keys,
        "legacy_scope": legacy_scope,
    }
    if isinstance(node, list):
        return [respell(item, **options, _key=_key) for item in node]
    if not isinstance(node, dict):
        return _leaf(node, _key, ids=ids, enums=enums, ints=ints)
    out: dict[str, Any] = {}
    for key, value in node.items():
        new_value = respell(value, **options, _key=key)
        if key == "status" and isinstance(value, dict) and "code" in value:
            new_value = {**new_value, "code": _enum(value["code"], _STATUS_NAMES, enums)}
        if legacy_scope:
            key = {
                "scopeSpans": "instrumentationLibrarySpans",
                "scope": "instrumentationLibrary",
            }.get(key, key)
        out[_snake(key) if keys == "snake" else key] = new_value
    return out


def _enum(value: Any, names: list[str], enums: str) -> Any:
    if enums == "numbers":
        return value
    name = names[int(value)]
    return name.lower() if enums == "lower" else name


def _leaf(value: Any, key: str | None, *, ids: str, enums: str, ints: str) -> Any:
    if key in _ID_KEYS and isinstance(value, str) and value:
        raw = bytes.fromhex(value)
        if ids == "base64":
            return base64.b64encode(raw).decode()
        if ids == "base64url":
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return value.upper() if ids == "HEX" else value
    if key in _INT_KEYS and isinstance(value, str | int):
        return int(value) if ints == "numbers" else str(value)
    if key == "kind":
        return _enum(value, _KIND_NAMES, enums)
    return value
