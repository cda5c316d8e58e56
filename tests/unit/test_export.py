"""Export from standard OTEL_* variables, bounded flushes, counted drops."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from evaltrace import Case, ConfigurationError, ScriptedProvider, evaluate
from evaltrace.tracing._batch import BoundedBatchSpanProcessor
from evaltrace.tracing.export import build_resource, build_span_exporters


class BlockingExporter(SpanExporter):
    """Holds every export until released, like a collector that never answers."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.exported: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.entered.set()
        self.release.wait(30)
        self.exported.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


def _spans(n: int) -> list[ReadableSpan]:
    provider = TracerProvider()
    tracer = provider.get_tracer("t")
    spans: list[ReadableSpan] = []
    for i in range(n):
        span = tracer.start_span(f"s{i}")
        span.end()
        assert isinstance(span, ReadableSpan)  # the SDK's span
        spans.append(span)
    return spans


def test_flush_returns_at_its_deadline_while_the_exporter_hangs() -> None:
    exporter = BlockingExporter()
    processor = BoundedBatchSpanProcessor(exporter, max_export_batch_size=1)
    for span in _spans(3):
        processor.on_end(span)
    assert processor.force_flush(timeout_millis=50) is False
    assert exporter.entered.is_set() and not exporter.release.is_set()
    exporter.release.set()
    assert processor.force_flush(timeout_millis=10_000) is True
    assert len(exporter.exported) == 3 and processor.exported == 3
    processor.shutdown()


def test_full_queue_drops_are_counted() -> None:
    exporter = BlockingExporter()
    processor = BoundedBatchSpanProcessor(exporter, max_queue_size=2, max_export_batch_size=1)
    spans = _spans(6)
    processor.on_end(spans[0])
    exporter.entered.wait(5)  # the worker holds span 0; the queue is empty again
    for span in spans[1:]:
        processor.on_end(span)
    assert processor.dropped == 3
    exporter.release.set()
    processor.shutdown()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
async def test_unreachable_collector_never_fails_the_run(
    protocol: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    caplog.set_level(logging.INFO, logger="evaltrace")
    result = await evaluate([Case(input=f"q{i}") for i in range(5)], task=ScriptedProvider("a"))
    assert result.complete and len(result.interactions) == 5
    assert any(result.trace_id in r.getMessage() for r in caplog.records)


def test_exporters_follow_the_standard_variables() -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    assert build_span_exporters({}) == []
    (http,) = build_span_exporters({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert isinstance(http, Http)
    (grpc,) = build_span_exporters(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
        }
    )
    assert isinstance(grpc, Grpc)
    assert (
        build_span_exporters(
            {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1"}
        )
        == []
    )
    with pytest.raises(ConfigurationError, match="protocol"):
        build_span_exporters(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            }
        )
    with pytest.raises(ConfigurationError, match="zipkin"):
        build_span_exporters({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_resource_names_service_version_and_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from evaltrace import __version__

    attributes = build_resource("nightly", "r1").attributes
    assert attributes["service.name"] == "evaltrace"
    assert attributes["service.version"] == __version__
    assert (attributes["evaltrace.run.name"], attributes["evaltrace.run.id"]) == ("nightly", "r1")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout-evals")
    assert build_resource("nightly").attributes["service.name"] == "checkout-evals"


class FailingExporter(SpanExporter):
    """Fails the first export at once, then hangs like a collector that is gone."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        if self.calls > 1:
            self.release.wait(30)
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self.release.set()


def test_a_collector_known_to_be_down_is_not_waited_for() -> None:
    exporter = FailingExporter()
    processor = BoundedBatchSpanProcessor(exporter, max_export_batch_size=1)
    first, second = _spans(2)
    processor.on_end(first)
    assert processor.force_flush(timeout_millis=10_000) is True  # that export failed
    assert processor.consecutive_failures == 1 and processor.failed == 1
    processor.on_end(second)
    # The worker is stuck on the dead collector; a flush with a long deadline returns at once.
    assert processor.force_flush(timeout_millis=60_000) is False
    exporter.release.set()
    processor.shutdown()
