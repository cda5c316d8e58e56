"""``TracedStream``: a streamed model reply whose span ends however the stream ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from evaltrace.exceptions import ProviderError
from evaltrace.providers._protocol import Completion, StreamChunk
from evaltrace.records import ToolCall
from evaltrace.tracing._call import CallSpan

__all__ = ["INTERRUPTED", "TracedStream"]

#: Finish reason recorded when the reply stopped before the model finished it:
#: the consumer stopped reading, or the stream broke.
INTERRUPTED = "error"


class TracedStream:
    """Iterate a reply's text as it arrives; use it as an async context manager.

    ::

        async with model.stream("Tell me a story") as stream:
            async for text in stream:
                print(text, end="")
        print(stream.completion.output_tokens)

    Leaving the block ends the call's span even if you stopped reading early:
    the span and its interaction then hold the partial output with finish
    reason ``"error"``. A stream that breaks ends its span with ERROR status and
    the partial output, and raises ``ProviderError``.

    Only text is yielded; the tool calls the model asked for and its reasoning
    are in ``completion`` (``tool_calls``, ``reasoning``) once the stream ends.
    """

    def __init__(self, call: CallSpan, chunks: AsyncIterator[StreamChunk]) -> None:
        self._call = call
        self._chunks = chunks
        self._parts: list[str] = []
        self._reasoning: list[str] = []
        self._tool_calls: list[ToolCall] = []
        self._usage: dict[str, Any] = {}
        self._finished = False
        self.completion: Completion | None = None

    async def __aenter__(self) -> TracedStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> TracedStream:
        return self

    async def __anext__(self) -> str:
        while True:
            if self._finished:
                raise StopAsyncIteration
            try:
                with self._call.activate():
                    chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._finish(self._usage.get("finish_reason") or "stop")
                raise
            except BaseException as exc:
                self._fail(exc)
                if isinstance(exc, ProviderError) or not isinstance(exc, Exception):
                    raise
                raise ProviderError(
                    f"stream broke: {type(exc).__name__}: {exc}",
                    retryable=False,
                    error_type=type(exc).__name__,
                ) from exc
            self._absorb(chunk)
            if chunk.text:
                self._call.chunk()
                self._parts.append(chunk.text)
                return chunk.text

    async def aclose(self) -> None:
        """Stop reading; the span ends with the partial output if the reply was not complete."""
        if not self._finished:
            self._finish(INTERRUPTED)
        closer = getattr(self._chunks, "aclose", None)
        if closer is not None:
            await closer()

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self._parts)

    def _absorb(self, chunk: StreamChunk) -> None:
        if chunk.tool_calls:
            self._tool_calls += chunk.tool_calls
        if chunk.reasoning:
            self._reasoning.append(chunk.reasoning)
        for name in (
            "input_tokens",
            "output_tokens",
            "response_model",
            "response_id",
            "finish_reason",
        ):
            value = getattr(chunk, name)
            if value is not None:
                self._usage[name] = value

    def _describe(self, finish_reason: str) -> Completion:
        usage = self._usage
        self.completion = Completion(
            text=self.text,
            input_tokens=usage.get("input_tokens"),
            output_tokens=usage.get("output_tokens"),
            response_model=usage.get("response_model"),
            response_id=usage.get("response_id"),
            finish_reason=finish_reason,
            tool_calls=tuple(self._tool_calls),
            reasoning="".join(self._reasoning) or None,
        )
        return self.completion

    def _finish(self, finish_reason: str) -> None:
        self._finished = True
        self._call.succeed(self._describe(finish_reason))

    def _fail(self, exc: BaseException) -> None:
        self._finished = True
        partial = self._describe(INTERRUPTED)
        message = str(exc) or type(exc).__name__
        error_type = exc.error_type if isinstance(exc, ProviderError) else type(exc).__name__
        unexpected = None if isinstance(exc, ProviderError) else exc
        self._call.fail(error_type, message, unexpected, partial)
