"""Sources of recorded spans: OTLP files and tracing backends, decoded into ``SpanRecord``.

Every reader produces ``evaltrace.tracing._record.SpanRecord``, the same plain
record a live span becomes, so a span read from Jaeger and one that just
ended in this process go through one converter.

* ``decode_json`` / ``decode_traces``: OTLP/JSON ``TracesData`` in any
  spelling and any backend's envelope.
* ``OtlpFileSource`` / ``read_otlp_files``: the Collector ``file`` exporter's
  output (JSON lines, rotated, zstd or gzip), streamed.
* ``JaegerClient`` (api_v3), ``TempoClient`` (search + trace by id),
  ``PhoenixClient`` (spans, annotations): async httpx clients with retries.

Sources never import evaltrace's runner.
"""

from evaltrace.sources._errors import BackendError, DecodeError, SourceError
from evaltrace.sources._files import OtlpFileSource, otlp_file_paths, read_otlp_files
from evaltrace.sources._http import RetryPolicy, Secret
from evaltrace.sources._jaeger import JAEGER_TOKEN_ENV, JaegerClient
from evaltrace.sources._otlp_json import decode_json, decode_traces, iter_json_documents
from evaltrace.sources._phoenix import PHOENIX_API_KEY_ENV, PhoenixAnnotation, PhoenixClient
from evaltrace.sources._phoenix_json import flatten_attributes, phoenix_span
from evaltrace.sources._tempo import TEMPO_TOKEN_ENV, TempoClient

__all__ = [
    "BackendError",
    "DecodeError",
    "JAEGER_TOKEN_ENV",
    "JaegerClient",
    "OtlpFileSource",
    "PHOENIX_API_KEY_ENV",
    "PhoenixAnnotation",
    "PhoenixClient",
    "RetryPolicy",
    "Secret",
    "SourceError",
    "TEMPO_TOKEN_ENV",
    "TempoClient",
    "decode_json",
    "decode_traces",
    "flatten_attributes",
    "iter_json_documents",
    "otlp_file_paths",
    "phoenix_span",
    "read_otlp_files",
]
