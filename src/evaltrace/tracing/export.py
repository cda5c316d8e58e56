"""Exporters built from the standard ``OTEL_*`` environment variables.

Only standard variables configure export: ``OTEL_TRACES_EXPORTER`` /
``OTEL_METRICS_EXPORTER`` / ``OTEL_LOGS_EXPORTER`` (``otlp``, ``console``,
``none``), ``OTEL_EXPORTER_OTLP_[TRACES_|METRICS_|LOGS_]ENDPOINT``, ``..._PROTOCOL`` (``grpc`` or
``http/protobuf``, the default), ``..._HEADERS``, ``..._TIMEOUT`` (seconds, as
the Python SDK reads it) and ``OTEL_SERVICE_NAME``. With no endpoint and no
exporter named, nothing is exported: evaltrace runs offline.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    ConsoleLogRecordExporter,
    LogRecordExporter,
)
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from evaltrace.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_EXPORT_TIMEOUT",
    "build_log_processors",
    "build_metric_readers",
    "build_resource",
    "build_span_exporters",
    "otlp_endpoint",
]

#: Per-request export timeout (seconds) when the user set none; the SDK's own
#: default of 10 s with retries would hold spans long after a run.
DEFAULT_EXPORT_TIMEOUT = 5.0
_PROTOCOLS = ("grpc", "http/protobuf")


def otlp_endpoint(signal: str, env: Mapping[str, str] | None = None) -> str | None:
    """The OTLP endpoint configured for ``signal`` (``traces`` or ``metrics``), if any."""
    env = os.environ if env is None else env
    return env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )


def build_resource(run_name: str | None = None, run_id: str | None = None) -> Resource:
    """Resource with ``service.name`` (``OTEL_SERVICE_NAME`` or ``evaltrace``), version and run."""
    from evaltrace._version import __version__

    attributes: dict[str, str] = {"service.version": __version__}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = "evaltrace"
    if run_name:
        attributes["evaltrace.run.name"] = run_name
    if run_id:
        attributes["evaltrace.run.id"] = run_id
    return Resource.create(attributes)


def build_span_exporters(env: Mapping[str, str] | None = None) -> list[SpanExporter]:
    """The span exporters the environment asks for (none when offline)."""
    env = os.environ if env is None else env
    exporters: list[SpanExporter] = []
    for name in _exporter_names("traces", env):
        if name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            exporters.append(_otlp_span_exporter(env))
    return exporters


def build_metric_readers(env: Mapping[str, str] | None = None) -> list[MetricReader]:
    """Periodic metric readers for the exporters the environment asks for."""
    env = os.environ if env is None else env
    readers: list[MetricReader] = []
    for name in _exporter_names("metrics", env):
        exporter: MetricExporter
        if name == "console":
            exporter = ConsoleMetricExporter()
        elif name == "otlp":
            exporter = _otlp_metric_exporter(env)
        else:
            continue
        readers.append(PeriodicExportingMetricReader(exporter, export_interval_millis=10_000))
    return readers


def build_log_processors(env: Mapping[str, str] | None = None) -> list[LogRecordProcessor]:
    """Batch processors for the log exporters the environment asks for (GenAI events)."""
    env = os.environ if env is None else env
    processors: list[LogRecordProcessor] = []
    for name in _exporter_names("logs", env):
        if name == "console":
            processors.append(BatchLogRecordProcessor(ConsoleLogRecordExporter()))
        elif name == "otlp":
            processors.append(BatchLogRecordProcessor(_otlp_log_exporter(env)))
    return processors


def _exporter_names(signal: str, env: Mapping[str, str]) -> list[str]:
    raw = env.get(f"OTEL_{signal.upper()}_EXPORTER")
    if raw is None:
        return ["otlp"] if otlp_endpoint(signal, env) else []
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in ("otlp", "console", "none")]
    if unknown:
        raise ConfigurationError(
            f"OTEL_{signal.upper()}_EXPORTER={raw!r}: evaltrace supports otlp, console and none"
        )
    return [n for n in names if n != "none"]


def _protocol(signal: str, env: Mapping[str, str]) -> str:
    protocol = (
        env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol not in _PROTOCOLS:
        raise ConfigurationError(
            f"OTLP protocol {protocol!r} is not supported; use 'grpc' or 'http/protobuf'"
        )
    return protocol


def _timeout(signal: str, env: Mapping[str, str]) -> float | None:
    if env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT") or env.get(
        "OTEL_EXPORTER_OTLP_TIMEOUT"
    ):
        return None  # the exporter reads it itself
    return DEFAULT_EXPORT_TIMEOUT


def _otlp_span_exporter(env: Mapping[str, str]) -> SpanExporter:
    timeout = _timeout("traces", env)
    if _protocol("traces", env) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(timeout=timeout)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    return Http(timeout=timeout)


def _otlp_metric_exporter(env: Mapping[str, str]) -> MetricExporter:
    timeout = _timeout("metrics", env)
    if _protocol("metrics", env) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter(timeout=timeout)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetrics,
    )

    return HttpMetrics(timeout=timeout)


def _otlp_log_exporter(env: Mapping[str, str]) -> LogRecordExporter:
    timeout = _timeout("logs", env)
    if _protocol("logs", env) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        return OTLPLogExporter(timeout=timeout)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogs

    return HttpLogs(timeout=timeout)
