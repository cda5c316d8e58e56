"""The errors of the span sources, under evaltrace's root error.

::

    EvaltraceError
     └── SourceError            reading recorded spans failed
          ├── DecodeError       (also a ValueError) a document is not readable spans;
          │                     says where: file and line, or trace and span id
          └── BackendError      a tracing backend did not answer usefully
                                (HTTP status, retryable, after how many attempts)

A decoder raises nothing but ``DecodeError`` on any JSON input. Neither error
ever carries a token, API key or Authorization header.
"""

from __future__ import annotations

import logging

from evaltrace.exceptions import EvaltraceError

__all__ = ["BackendError", "DecodeError", "SourceError", "log_skipped"]


class SourceError(EvaltraceError):
    """Reading spans recorded in a file or a tracing backend failed."""


class DecodeError(SourceError, ValueError):
    """A document could not be decoded into span records.

    ``path`` and ``line`` locate it in a file (``line`` is 1-based: the line of
    a JSON-lines file, or the record of a length-prefixed one); ``trace_id``
    and ``span_id`` name the span as the document spelled them (truncated).
    ``reason`` is the message without the location.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | None = None,
        line: int | None = None,
        trace_id: str | None = None,
        span_id: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        self.trace_id = trace_id
        self.span_id = span_id
        super().__init__(self._message())

    def _message(self) -> str:
        where: list[str] = []
        if self.path is not None:
            where.append(self.path if self.line is None else f"{self.path}:{self.line}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.trace_id is not None or self.span_id is not None:
            where.append(f"trace {self.trace_id or '?'} span {self.span_id or '?'}")
        return ": ".join([*where, self.reason])

    def located(self, *, path: str | None = None, line: int | None = None) -> DecodeError:
        """A copy of this error placed at ``path`` / ``line`` (its own kept if given)."""
        return DecodeError(
            self.reason,
            path=self.path if self.path is not None else path,
            line=self.line if self.line is not None else line,
            trace_id=self.trace_id,
            span_id=self.span_id,
        )

    def __reduce__(self) -> tuple[object, ...]:
        state = (self.reason, self.path, self.line, self.trace_id, self.span_id)
        return (_rebuild_decode_error, state)


def _rebuild_decode_error(
    reason: str, path: str | None, line: int | None, trace_id: str | None, span_id: str | None
) -> DecodeError:
    return DecodeError(reason, path=path, line=line, trace_id=trace_id, span_id=span_id)


class BackendError(SourceError):
    """A tracing backend failed to answer, or answered something unusable.

    ``status_code`` is the last HTTP status (None for a timeout or a dropped
    connection); ``retryable`` says whether trying later may help;
    ``attempts`` how many requests were made.
    """

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        status_code: int | None = None,
        retryable: bool = False,
        attempts: int = 1,
    ) -> None:
        super().__init__(f"{backend}: {message}")
        self.message = message
        self.backend = backend
        self.status_code = status_code
        self.retryable = retryable
        self.attempts = attempts

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_backend_error,
            (self.message, self.backend, self.status_code, self.retryable, self.attempts),
        )


def _rebuild_backend_error(
    message: str, backend: str, status_code: int | None, retryable: bool, attempts: int
) -> BackendError:
    return BackendError(
        message, backend=backend, status_code=status_code, retryable=retryable, attempts=attempts
    )


def log_skipped(error: DecodeError) -> None:
    """The default ``on_error``: a warning on the ``evaltrace.sources`` logger."""
    logging.getLogger("evaltrace.sources").warning("skipped: %s", error)
