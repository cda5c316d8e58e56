"""A collector that takes its time must not freeze the event loop the run shares.

At its end a run flushes its spans, waiting at most ``FLUSH_DEADLINE`` (1.5 s).
That wait should leave the event loop free: other coroutines (another run, a
web server's handlers) keep running while the spans leave the process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from evaltrace import Case, Contains, evaluate
from evaltrace.tracing._batch import BoundedBatchSpanProcessor


class GatedExporter(SpanExporter):
    """Blocks every export until ``release`` is set (a collector that is slow to answer)."""

    def __init__(self) -> None:
        self.exporting = threading.Event()
        self.release = threading.Event()
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exporting.set()
        self.release.wait(30)
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


async def test_the_end_of_run_flush_leaves_the_event_loop_free() -> None:
    exporter = GatedExporter()
    # Exports only when flushed, so the export starts exactly at the end of the run.
    processor = BoundedBatchSpanProcessor(
        exporter, schedule_delay=3600, max_export_batch_size=1_000_000
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    order: list[str] = []

    async def answer_the_export() -> None:
        # What any other coroutine of the process would be doing meanwhile.
        while not exporter.exporting.is_set():
            await asyncio.sleep(0.001)
        exporter.release.set()
        order.append("collector answered")

    helper = asyncio.create_task(answer_the_export())
    try:
        result = await evaluate(
            [Case(input="q", output="yes", expected="yes")],
            [Contains()],
            tracer_provider=provider,
        )
        order.append("run returned")
        assert result.complete
    finally:
        exporter.release.set()
        await helper
        processor.shutdown()
    # The export was answered while the run was still waiting for its flush.
    assert order == ["collector answered", "run returned"]
