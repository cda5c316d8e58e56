"""A batching span processor whose flush has a deadline and whose drops are counted.

The SDK's ``BatchSpanProcessor`` flushes synchronously with no deadline (an
unreachable collector blocks ``force_flush`` for the exporter's whole retry
budget) and only logs spans it drops. An evaluation must never wait on a
collector and must tell the user what did not leave the process, so evaltrace
exports its own provider's spans through this processor.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["BoundedBatchSpanProcessor"]

_log = logging.getLogger(__name__)


class BoundedBatchSpanProcessor(SpanProcessor):
    """Queue finished spans and export them from one background thread.

    Sizes default to the standard ``OTEL_BSP_MAX_QUEUE_SIZE`` (8192),
    ``OTEL_BSP_MAX_EXPORT_BATCH_SIZE`` (512) and ``OTEL_BSP_SCHEDULE_DELAY``
    (500 ms) variables.

    ``dropped`` counts spans refused because the queue was full or the
    processor shut down; ``failed`` counts spans whose export the exporter
    reported as failed. ``force_flush`` waits at most its timeout.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue_size: int | None = None,
        max_export_batch_size: int | None = None,
        schedule_delay: float | None = None,
    ) -> None:
        max_queue_size = max_queue_size or _env_int("OTEL_BSP_MAX_QUEUE_SIZE", 8192)
        max_export_batch_size = max_export_batch_size or _env_int(
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512
        )
        if schedule_delay is None:
            schedule_delay = _env_int("OTEL_BSP_SCHEDULE_DELAY", 500) / 1000
        self._exporter = exporter
        self._queue: deque[ReadableSpan] = deque()
        self._max_queue_size = max_queue_size
        self._batch_size = max_export_batch_size
        self._delay = schedule_delay
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._shutdown = False
        self.dropped = 0
        self.failed = 0
        self.exported = 0
        self.consecutive_failures = 0  # exports failed since the last one that worked
        self._worker = threading.Thread(target=self._run, name="evaltrace-export", daemon=True)
        self._worker.start()

    def on_start(self, span: Span, parent_context: object = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Queue a sampled span, counting it as dropped when the queue is full."""
        if not span.context.trace_flags.sampled:
            return
        with self._lock:
            if self._shutdown or len(self._queue) >= self._max_queue_size:
                self.dropped += 1
                return
            self._queue.append(span)
            if len(self._queue) >= self._batch_size:
                self._wake.set()

    def force_flush(self, timeout_millis: int = 2000) -> bool:
        """Ask the worker to export everything queued; wait at most ``timeout_millis``.

        A collector whose last export failed is not waited for at all: the
        worker keeps trying in the background, the caller goes on at once.
        """
        if self.consecutive_failures:
            self._wake.set()
            return not (self._queue or self._in_flight)
        return self._drain(timeout_millis)

    def _drain(self, timeout_millis: int) -> bool:
        deadline = time.monotonic() + timeout_millis / 1000
        self._wake.set()
        with self._idle:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
                self._wake.set()
        return True

    def shutdown(self, timeout_millis: int = 2000) -> None:
        """Give the queue one last chance within the deadline, then stop worker and exporter."""
        self._drain(timeout_millis)
        with self._lock:
            self._shutdown = True
            self.dropped += len(self._queue)
            self._queue.clear()
        self._wake.set()
        self._worker.join(timeout=max(timeout_millis / 1000, 0.1))
        try:
            self._exporter.shutdown()
        except Exception:  # an exporter failing to close must not reach the host
            _log.debug("exporter shutdown failed", exc_info=True)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._delay)
            self._wake.clear()
            while self._export_one_batch():
                pass
            if self._shutdown:
                return

    def _export_one_batch(self) -> bool:
        with self._lock:
            if not self._queue or self._shutdown:
                self._idle.notify_all()
                return False
            batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
            self._in_flight = len(batch)
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            result = self._exporter.export(batch)
        except Exception:
            _log.debug("span export raised", exc_info=True)
            result = SpanExportResult.FAILURE
        finally:
            detach(token)
        with self._lock:
            self._in_flight = 0
            if result is SpanExportResult.SUCCESS:
                self.exported += len(batch)
                self.consecutive_failures = 0
            else:
                self.failed += len(batch)
                self.consecutive_failures += 1
            self._idle.notify_all()
        return True


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        _log.warning("%s is not an integer; using %d", name, default)
        return default
    return value if value > 0 else default
