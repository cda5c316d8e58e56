"""Where a run's spans and metrics go, and how they are flushed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import weakref
from collections.abc import Callable

from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider as SdkLoggerProvider
from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.util.genai.environment_variables import OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT
from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.types import ContentCapturingMode

from evaltrace.exceptions import ConfigurationError
from evaltrace.tracing._batch import BoundedBatchSpanProcessor
from evaltrace.tracing._call import CallRequest, CallSpan
from evaltrace.tracing._content import CAPTURE_CONTENT_ENV, content_mode
from evaltrace.tracing._install import installed_exporters
from evaltrace.tracing._kind import InternalKindTracerProvider
from evaltrace.tracing._sampling import RecordingTracerProvider
from evaltrace.tracing._span import CallTracer, OwnCall
from evaltrace.tracing._util_call import UtilCall
from evaltrace.tracing.export import (
    build_log_processors,
    build_metric_readers,
    build_resource,
    build_span_exporters,
)
from evaltrace.tracing.processor import InteractionCollector

__all__ = ["FLUSH_DEADLINE", "Telemetry", "telemetry_for_run"]

#: The most a run waits at its end for spans and metrics to leave the process.
FLUSH_DEADLINE = 1.5
_SCOPE = "evaltrace"

# One collector per application tracer provider, however many runs use it.
_collectors: weakref.WeakKeyDictionary[SdkTracerProvider, InteractionCollector] = (
    weakref.WeakKeyDictionary()
)
_collectors_lock = threading.Lock()
_HandlerKey = tuple[bool, ContentCapturingMode, int, int]
_NO_METERS = metrics.NoOpMeterProvider()
_NO_LOGGERS = _logs.NoOpLoggerProvider()
_handlers_by_provider: weakref.WeakKeyDictionary[
    SdkTracerProvider, dict[_HandlerKey, TelemetryHandler]
] = weakref.WeakKeyDictionary()


class Telemetry:
    """A tracer provider with evaltrace's collector on it, plus meter and logger providers.

    ``owned`` is True when evaltrace built the providers for this run (no SDK
    provider was installed): it then exports through bounded processors and
    shuts them down when the run ends. ``events`` is the logger that emits
    log-based GenAI events (``gen_ai.evaluation.result``).
    """

    def __init__(
        self,
        tracer_provider: SdkTracerProvider,
        collector: InteractionCollector,
        meter_provider: metrics.MeterProvider,
        *,
        owned: bool,
        exporters: list[BoundedBatchSpanProcessor] | None = None,
        logger_provider: _logs.LoggerProvider = _NO_LOGGERS,
        installed: bool = False,
    ) -> None:
        from evaltrace._version import __version__

        self.tracer_provider = tracer_provider
        self.collector = collector
        self.meter_provider = meter_provider
        self.logger_provider = logger_provider
        self.events = logger_provider.get_logger(_SCOPE, __version__)
        self.owned = owned
        self._installed = installed  # made by install_tracer_provider: its exporters are known
        self._exporters = exporters or []
        self._dropped_elsewhere = 0
        self._handlers: dict[_HandlerKey, TelemetryHandler] = {}
        self._calls: dict[bool, CallTracer | None] = {}
        self._own_spans = own_spans_allowed()
        self._lock = threading.Lock()
        self._recording = RecordingTracerProvider(tracer_provider)
        self.tracer = self._recording.get_tracer(_SCOPE, __version__)

    @property
    def exports(self) -> bool:
        """True when spans leave the process (our exporters, or the application's provider).

        A provider made by ``install_tracer_provider`` exports when it has exporters.
        """
        return bool(self._exporters) or (not self.owned and not self._installed)

    @property
    def dropped_spans(self) -> int:
        """Spans our exporters dropped (queue full) or failed to deliver.

        For a run on other processes it includes what their exporters dropped
        (``count_dropped_elsewhere``).
        """
        return sum(p.dropped + p.failed for p in self._exporters) + self._dropped_elsewhere

    def count_dropped_elsewhere(self, spans: int) -> None:
        """Count spans of this run that another process's exporters dropped (e.g. a worker's)."""
        with self._lock:
            self._dropped_elsewhere += spans

    def handler(self, *, in_process: bool = False) -> TelemetryHandler:
        """The util-genai handler for model calls (INTERNAL spans when in-process).

        Handlers (and the metric instruments they create) are made once per
        application provider, not once per run.
        """
        mode = content_mode()
        key = (in_process, mode, id(self.meter_provider), id(self.logger_provider))
        handlers = self._handlers if self.owned else _shared_handlers(self.tracer_provider)
        with self._lock:
            if key not in handlers:
                handlers[key] = self._new_handler(in_process, mode)
            return handlers[key]

    def calls(self, *, in_process: bool = False) -> CallTracer | None:
        """evaltrace's own call spans (``OwnCall``); None when the util must emit them.

        None when the capture mode puts message content on spans or events, or
        when GenAI events are asked for: the util's invocation (``handler``)
        serialises content and emits events. The variables are read when the
        telemetry is made (once per run).
        """
        try:
            return self._calls[in_process]
        except KeyError:
            pass
        calls = None
        if self._own_spans:
            handler = self.handler(in_process=in_process)
            # The util handler's own tracer and instruments: same scope, same metric streams.
            instruments = handler._instruments  # noqa: SLF001
            calls = CallTracer(
                handler._tracer,  # noqa: SLF001
                instruments.operation_duration,
                instruments.token_usage,
                self.collector,
            )
        with self._lock:
            self._calls[in_process] = calls
        return calls

    def start_call(self, request: CallRequest) -> CallSpan:
        """Open the span of one model call (made current, unless it streams)."""
        in_process = request.target.in_process
        calls = None if request.streaming else self.calls(in_process=in_process)
        if calls is None:
            handler = self.handler(in_process=in_process)
            return UtilCall(handler, request, self.collector)
        return OwnCall(calls, request)

    async def flush(self, deadline: float = FLUSH_DEADLINE) -> bool:
        """Push finished spans and metrics out, waiting at most ``deadline`` seconds.

        The export runs on a daemon thread; the event loop stays free while it
        waits. Spans not out by the deadline keep going in the background.
        """
        done = await _run_with_deadline(self._flush_all, deadline)
        if self.owned:
            threading.Thread(target=self._shutdown, name="evaltrace-shutdown", daemon=True).start()
        return done

    def _new_handler(self, in_process: bool, mode: ContentCapturingMode) -> TelemetryHandler:
        from evaltrace._version import __version__

        provider: trace.TracerProvider = self._recording
        if in_process:
            provider = InternalKindTracerProvider(provider)
        handler = TelemetryHandler(
            tracer_provider=provider,
            meter_provider=self.meter_provider,
            logger_provider=self.logger_provider,
            instrumentation_scope_name=_SCOPE,
            instrumentation_scope_version=__version__,
        )
        # The util reads the variable itself but knows no legacy true/false values.
        handler._content_capturing_mode = mode  # noqa: SLF001
        return handler

    def _flush_all(self) -> None:
        # Metrics and logs only when spans got through: a collector known to be down
        # would hold their export (which has no such shortcut) for its whole timeout.
        if not self.tracer_provider.force_flush():
            return
        if isinstance(self.meter_provider, SdkMeterProvider):
            self.meter_provider.force_flush()
        if isinstance(self.logger_provider, SdkLoggerProvider):
            self.logger_provider.force_flush()

    def shutdown(self) -> None:
        """Flush and shut down the providers evaltrace built (nothing of the application's)."""
        if self.owned:
            self._shutdown()

    def _shutdown(self) -> None:
        self.tracer_provider.shutdown()
        if isinstance(self.meter_provider, SdkMeterProvider):
            self.meter_provider.shutdown()
        if isinstance(self.logger_provider, SdkLoggerProvider):
            self.logger_provider.shutdown()


def telemetry_variables() -> tuple[str | None, str | None]:
    """The variables that decide who emits evaltrace's call spans (see ``own_spans_allowed``)."""
    return os.environ.get(CAPTURE_CONTENT_ENV), os.environ.get(
        OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT
    )


def own_spans_allowed() -> bool:
    """True when evaltrace may emit its call spans itself: no content and no events in telemetry."""
    events = (telemetry_variables()[1] or "").strip().lower() == "true"
    return content_mode() is ContentCapturingMode.NO_CONTENT and not events


def telemetry_for_run(
    run_name: str,
    run_id: str,
    *,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    logger_provider: _logs.LoggerProvider | None = None,
) -> Telemetry:
    """The telemetry a run uses.

    An explicit SDK ``tracer_provider``, else the application's global SDK
    provider, gets evaltrace's collector added (once) and carries the run.
    With neither, evaltrace builds a provider for this run alone from the
    ``OTEL_*`` variables and never installs it globally.
    """
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    if isinstance(provider, SdkTracerProvider):
        meter = meter_provider if meter_provider is not None else _default_meter_provider()
        loggers = logger_provider if logger_provider is not None else _default_logger_provider()
        installed = installed_exporters(provider)
        return Telemetry(
            provider,
            _collector_on(provider),
            meter,
            owned=False,
            exporters=installed or [],
            logger_provider=loggers,
            installed=installed is not None,
        )
    if tracer_provider is not None:
        raise ConfigurationError(
            "tracer_provider must be an opentelemetry.sdk.trace.TracerProvider, "
            f"not {type(tracer_provider).__name__}"
        )
    return _own_telemetry(run_name, run_id, meter_provider, logger_provider)


def _collector_on(provider: SdkTracerProvider) -> InteractionCollector:
    with _collectors_lock:
        collector = _collectors.get(provider)
        if collector is None:
            collector = InteractionCollector()
            provider.add_span_processor(collector)
            _collectors[provider] = collector
        return collector


def _own_telemetry(
    run_name: str,
    run_id: str,
    meter_provider: metrics.MeterProvider | None,
    logger_provider: _logs.LoggerProvider | None,
) -> Telemetry:
    resource = build_resource(run_name, run_id)
    # Shut down by the run itself; atexit hooks would keep every run's provider alive.
    provider = SdkTracerProvider(resource=resource, shutdown_on_exit=False)
    collector = InteractionCollector()
    provider.add_span_processor(collector)
    exporters = [BoundedBatchSpanProcessor(e) for e in build_span_exporters()]
    for processor in exporters:
        provider.add_span_processor(processor)
    if meter_provider is None:
        readers = build_metric_readers()
        meter_provider = (
            SdkMeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
            if readers
            else _default_meter_provider()
        )
    if logger_provider is None:
        log_processors = build_log_processors()
        logger_provider = _default_logger_provider()
        if log_processors:
            logger_provider = SdkLoggerProvider(resource=resource, shutdown_on_exit=False)
            for log_processor in log_processors:
                logger_provider.add_log_record_processor(log_processor)
    return Telemetry(
        provider,
        collector,
        meter_provider,
        owned=True,
        exporters=exporters,
        logger_provider=logger_provider,
    )


async def _run_with_deadline(work: Callable[[], None], deadline: float) -> bool:
    """Run ``work`` on a daemon thread; True if it finished within ``deadline`` seconds."""
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()

    def run() -> None:
        try:
            work()
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may be gone by then
                loop.call_soon_threadsafe(finished.set)

    threading.Thread(target=run, name="evaltrace-flush", daemon=True).start()
    try:
        await asyncio.wait_for(finished.wait(), deadline)
    except TimeoutError:
        return False
    return True


def _shared_handlers(provider: SdkTracerProvider) -> dict[_HandlerKey, TelemetryHandler]:
    with _collectors_lock:
        return _handlers_by_provider.setdefault(provider, {})


def _default_meter_provider() -> metrics.MeterProvider:
    """The application's SDK meter provider, else a no-op one.

    The API's proxy provider keeps every meter asked of it for ever; asking it
    on each run would grow without bound.
    """
    provider = metrics.get_meter_provider()
    return provider if isinstance(provider, SdkMeterProvider) else _NO_METERS


def _default_logger_provider() -> _logs.LoggerProvider:
    """The application's SDK logger provider, else a no-op one (as for meters)."""
    provider = _logs.get_logger_provider()
    return provider if isinstance(provider, SdkLoggerProvider) else _NO_LOGGERS
