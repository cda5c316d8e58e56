"""Fixtures for the load and fault tests: the fault-injecting OpenAI-compatible server.

``fault_server`` is a started ``FaultServer`` that answers OK until the test sets
``fault_server.schedule``; ``start_fault_server(schedule, **options)`` starts more
(each stopped at teardown). Spans go to a fresh SDK ``TracerProvider`` per test
with no exporter (``bare_tracer_provider``): the collector alone sees them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

from tests.support.fault_server import FaultServer, Schedule

StartFaultServer = Callable[..., Awaitable[FaultServer]]


class SpanCounter(SpanProcessor):
    """Counts spans started and ended (a span left open shows as a difference)."""

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0
        self.open_names: dict[int, str] = {}

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        self.started += 1
        self.open_names[span.context.span_id] = span.name

    def on_end(self, span: ReadableSpan) -> None:
        self.ended += 1
        self.open_names.pop(span.context.span_id, None)


@pytest.fixture
async def start_fault_server() -> AsyncIterator[StartFaultServer]:
    servers: list[FaultServer] = []

    async def start(schedule: Schedule | None = None, **options: Any) -> FaultServer:
        server = await FaultServer(schedule, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def fault_server(start_fault_server: StartFaultServer) -> FaultServer:
    return await start_fault_server()


@pytest.fixture
def span_counter() -> SpanCounter:
    return SpanCounter()


@pytest.fixture
def bare_tracer_provider(span_counter: SpanCounter) -> TracerProvider:
    """A fresh SDK provider with no exporter; only a span counter (and evaltrace's collector)."""
    provider = TracerProvider()
    provider.add_span_processor(span_counter)
    return provider
