"""Helpers shared by unit tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.util._once import Once

from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import is_inference


def inference_spans(spans: Iterable[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if is_inference(s.attributes or {})]


def span_text(span: ReadableSpan) -> str:
    """Everything a span would export, as one string (attributes, events, status, resource)."""
    parts = [span.name, json.dumps(dict(span.attributes or {}), default=str)]
    for event in span.events:
        parts.append(event.name)
        parts.append(json.dumps(dict(event.attributes or {}), default=str))
    parts.append(str(span.status.description))
    parts.append(json.dumps(dict(span.resource.attributes), default=str))
    return "\n".join(parts)


def chat_completion_body(
    text: str,
    *,
    prompt_tokens: int = 11,
    completion_tokens: int = 5,
    model: str = "gpt-4o-mini-2024-07-18",
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test123",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def mock_openai_client(handler: Callable[[httpx2.Request], httpx2.Response]) -> httpx2.AsyncClient:
    """An HTTP client for the openai SDK that answers from ``handler`` (no network)."""
    return httpx2.AsyncClient(transport=httpx2.MockTransport(handler))


@contextmanager
def global_tracer_provider(provider: trace.TracerProvider) -> Iterator[None]:
    """Install ``provider`` as the global one for the block, then restore the unset state."""
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE)
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace.set_tracer_provider(provider)
    try:
        yield
    finally:
        trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved


PURPOSE = attr.PURPOSE


@contextmanager
def no_global_tracer_provider() -> Iterator[None]:
    """Run the block as if no application had installed a tracer provider; restore after."""
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE)
    trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = None, Once()
    try:
        yield
    finally:
        trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved
