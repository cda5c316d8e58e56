"""The whole evaltrace error tree.

::

    EvaltraceError
     ├── ConfigurationError      the caller's mistake: bad arguments, missing extra or key
     │    └── DatasetError       a dataset file that cannot be read (file, line, field)
     ├── ProviderError           a model call failed (carries ``retryable``)
     │    └── JudgeReplyError    a judge answered, but not in a form we can score
     ├── SourceError             recorded spans could not be read (evaltrace.sources)
     │    ├── DecodeError        a document that is not OTLP/JSON (file and line, or ids)
     │    └── BackendError       a tracing backend failed to answer (after its retries)
     ├── StoreError              the run store failed (evaltrace.history; no credentials)
     └── ComparisonError         two results cannot be compared (evaltrace.compare)

Metric failures are recorded in results, not raised: ``JudgeReplyError`` is what a
metric records when a judge reply cannot be parsed.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "DatasetError",
    "EvaltraceError",
    "JudgeReplyError",
    "ProviderError",
]


class EvaltraceError(Exception):
    """Root of every error evaltrace raises."""


class ConfigurationError(EvaltraceError):
    """The caller asked for something that cannot work as configured."""


class DatasetError(ConfigurationError):
    """A dataset file could not be read; names the file, line and field."""

    def __init__(self, path: str, line: int | None, field: str | None, reason: str) -> None:
        where = path if line is None else f"{path}:{line}"
        if field:
            where = f"{where}: field {field!r}"
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.field = field
        self.reason = reason


class ProviderError(EvaltraceError):
    """A model call failed.

    ``retryable`` is True for rate limits, server errors, timeouts and dropped
    connections; ``status_code`` is the HTTP status when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status_code: int | None = None,
        retry_after: float | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code
        self.retry_after = retry_after
        self.error_type = error_type or type(self).__name__


class JudgeReplyError(ProviderError):
    """A judge replied with text that holds no score we can read."""

    def __init__(self, message: str, raw_reply: str) -> None:
        super().__init__(message, retryable=False, error_type="JudgeReplyError")
        self.raw_reply = raw_reply
