"""Sources of recorded spans: OTLP files and tracing backends, decoded into ``SpanRecord``."""
