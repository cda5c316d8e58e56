"""The span-to-interaction mappings, on spans recorded from real instrumentations.

``tests/fixtures/spans/*.json`` were written by ``tests/fixtures/record_legacy_spans.py``
from older instrumentation releases still found in applications; the current
instrumentations are exercised live in ``test_instrumentations.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode

from evaltrace.tracing import span_to_interaction
from evaltrace.tracing._conventions import is_inference

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "spans"


def load_span(name: str) -> ReadableSpan:
    record: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return ReadableSpan(
        name=record["name"],
        context=SpanContext(int(record["trace_id"], 16), int(record["span_id"], 16), False),
        attributes={
            k: tuple(v) if isinstance(v, list) else v for k, v in record["attributes"].items()
        },
        events=[Event(e["name"], e["attributes"]) for e in record["events"]],
        kind=SpanKind[record["kind"]],
        status=Status(StatusCode[record["status"]]),
        start_time=record["start_time"],
        end_time=record["end_time"],
        instrumentation_scope=InstrumentationScope(record["scope"]),
    )


def test_openllmetry_indexed_prompt_and_completion_attributes() -> None:
    span = load_span("openllmetry-0.47.5")
    assert span.attributes is not None
    assert is_inference(span.attributes)
    call = span_to_interaction(span, purpose=None, case_id="c7")
    assert call.prompt == "system: Answer in one word.\n\nuser: What is the capital of France?"
    assert call.response == "Paris"
    assert (call.input_tokens, call.output_tokens, call.tokens_used) == (21, 2, 23)
    assert (call.model, call.provider, call.operation) == ("gpt-4o-mini", "openai", "chat")
    assert call.purpose == "task" and call.case_id == "c7"
    assert call.shape.convention == "gen_ai.legacy"
    assert call.content_captured is True
    assert call.response_id == "chatcmpl-legacy1"
    assert span.end_time is not None and span.start_time is not None
    assert call.latency == pytest.approx((span.end_time - span.start_time) / 1e9)
    assert call.span_id == "71569e2acf877c6b"


def test_gen_ai_system_with_content_only_in_log_events() -> None:
    span = load_span("openai-v2-2.1b0")
    assert span.attributes is not None
    assert is_inference(span.attributes)
    call = span_to_interaction(span, purpose="task")
    assert (call.prompt, call.response) == ("", "")  # content went to log events, not the span
    assert call.content_captured is False
    assert (call.provider, call.model, call.tokens_used) == ("openai", "gpt-4o-mini", 23)
    assert call.server_address == "llm.local"


def _span(attributes: dict[str, Any], events: list[Event] | None = None) -> ReadableSpan:
    return ReadableSpan(
        name="s",
        context=SpanContext(1, 2, False),
        attributes=attributes,
        events=events or [],
        start_time=1_000_000_000,
        end_time=1_500_000_000,
        status=Status(StatusCode.ERROR, "boom"),
    )


def test_per_message_span_events_of_older_instrumentations() -> None:
    events = [
        Event("gen_ai.system.message", {"content": "Be brief."}),
        Event("gen_ai.user.message", {"content": '{"content": "Hi?"}'}),
        Event("gen_ai.choice", {"message": '{"content": "Hello"}'}),
    ]
    call = span_to_interaction(
        _span({"gen_ai.system": "openai", "gen_ai.request.model": "m"}, events)
    )
    assert call.prompt == "system: Be brief.\n\nuser: Hi?"
    assert call.response == "Hello"
    assert call.error == "boom" and call.latency == 0.5


def test_prompt_and_completion_content_events() -> None:
    events = [
        Event("gen_ai.content.prompt", {"gen_ai.prompt": '[{"role": "user", "content": "Q?"}]'}),
        Event(
            "gen_ai.content.completion",
            {"gen_ai.completion": '[{"role": "assistant", "content": "A."}]'},
        ),
    ]
    call = span_to_interaction(
        _span({"gen_ai.system": "openai", "gen_ai.request.model": "m"}, events)
    )
    assert (call.prompt, call.response) == ("Q?", "A.")


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"gen_ai.operation.name": "chat"}, True),
        ({"gen_ai.operation.name": "embeddings"}, True),
        ({"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "m"}, False),
        ({"gen_ai.operation.name": "execute_tool"}, False),
        ({"openinference.span.kind": "LLM"}, True),
        ({"openinference.span.kind": "CHAIN", "llm.model_name": "m"}, False),
        ({"gen_ai.system": "openai", "gen_ai.request.model": "m"}, True),
        ({"http.method": "POST"}, False),
    ],
)
def test_what_counts_as_a_model_call(attributes: dict[str, Any], expected: bool) -> None:
    assert is_inference(attributes) is expected


def test_message_offsets_rebuild_every_message_exactly() -> None:
    from evaltrace._interaction import render_prompt
    from evaltrace.records import Message

    messages = [
        Message(role="system", content="Be brief.\n\nReally."),
        Message(role="user", content="Q: what?"),
        Message(role="assistant", content=""),
        Message(role="user", content="again: ünïcode ✓"),
    ]
    prompt, layout = render_prompt(messages)
    assert layout is not None
    rebuilt = [Message(role=r, content=prompt[a:b]) for r, a, b in layout.offsets(len(prompt))]
    assert rebuilt == messages
