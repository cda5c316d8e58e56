"""``Model``: a provider whose every call is a GenAI span, retried and rate-limited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from typing import Any

from evaltrace.exceptions import ConfigurationError, ProviderError
from evaltrace.providers._portable import Rebuild, rebuilt_as
from evaltrace.providers._protocol import (
    Completion,
    Embedder,
    Embeddings,
    GenerationParams,
    Provider,
    StreamChunk,
    StreamingProvider,
)
from evaltrace.providers._retry import RetryPolicy
from evaltrace.providers._stream import TracedStream
from evaltrace.records import Message
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing import current_telemetry
from evaltrace.tracing._call import CallRequest, CallTarget
from evaltrace.tracing._record import CallContent

__all__ = ["DEFAULT_PROVIDER_CONCURRENCY", "EmbeddingModel", "Model"]

#: Calls in flight at once per model unless told otherwise.
DEFAULT_PROVIDER_CONCURRENCY = 16


class Model:
    """Calls a ``Provider`` with tracing, retries and a concurrency limit.

    Every attempt is one ``chat``/``text_completion`` span (and so one
    interaction), with ``evaltrace.purpose`` and ``evaltrace.attempt`` set; a
    failed attempt ends its span with ERROR and ``error.type``.
    """

    def __init__(
        self,
        provider: Provider,
        *,
        retry: RetryPolicy | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self._slots = _LoopSemaphores(_concurrency(provider, max_concurrency))
        self._requested_concurrency = max_concurrency
        self._target = CallTarget(
            provider.name,
            provider.model,
            provider.operation,
            provider.server_address,
            provider.server_port,
            provider.in_process,
        )

    def __reduce__(self) -> Rebuild:
        """Pickled as its provider (rebuilt without its key), retry policy and limit.

        The limit applies in each process the model is unpickled in (per worker).
        """
        options = {"retry": self.retry, "max_concurrency": self._requested_concurrency}
        return rebuilt_as(type(self), (self.provider,), options)

    @property
    def name(self) -> str:
        """``provider:model``."""
        return f"{self.provider.name}:{self.provider.model}"

    def __repr__(self) -> str:
        return f"Model({self.provider!r})"

    async def complete(
        self,
        prompt: str | Sequence[Message],
        *,
        purpose: str = "task",
        system: str | None = None,
        params: GenerationParams | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Completion:
        """Send a prompt (text or messages); retry retryable failures; return the completion."""
        params = params or GenerationParams()
        request = self._request(_messages(prompt, system), params, purpose, attributes)
        while True:
            try:
                async with self._slots():
                    return await self._attempt(request, params)
            except ProviderError as error:
                wait = self.retry.delay(request.attempt, error)
                if wait is None:
                    raise
                await asyncio.sleep(wait)
                request = request._replace(attempt=request.attempt + 1)

    def stream(
        self,
        prompt: str | Sequence[Message],
        *,
        purpose: str = "task",
        system: str | None = None,
        params: GenerationParams | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> TracedStream:
        """Stream the reply (see ``TracedStream``); one span for the whole stream, no retries.

        A provider that cannot stream answers in one piece.
        """
        messages = _messages(prompt, system)
        params = params or GenerationParams()
        request = self._request(messages, params, purpose, attributes, streaming=True)
        return TracedStream(current_telemetry().start_call(request), self._chunks(messages, params))

    async def _chunks(
        self, messages: list[Message], params: GenerationParams
    ) -> AsyncIterator[StreamChunk]:
        provider = self.provider
        async with self._slots():
            if isinstance(provider, StreamingProvider):
                async for chunk in provider.stream(messages, params):
                    yield chunk
                return
            completion = await self._call(messages, params)
            yield StreamChunk(
                text=completion.text,
                input_tokens=completion.input_tokens,
                output_tokens=completion.output_tokens,
                response_model=completion.response_model,
                response_id=completion.response_id,
                finish_reason=completion.finish_reason,
                tool_calls=completion.tool_calls,
                reasoning=completion.reasoning or "",
            )

    async def aclose(self) -> None:
        """Close the provider."""
        await self.provider.aclose()

    @property
    def max_concurrency(self) -> int:
        """Calls of this model in flight at once."""
        return self._slots.limit

    async def _attempt(self, request: CallRequest, params: GenerationParams) -> Completion:
        call = current_telemetry().start_call(request)
        try:
            completion = await self._call(request.messages, params)
        except BaseException as exc:
            error = _as_provider_error(exc, self.retry.timeout)
            error_type, message = _failure(error)
            call.fail(error_type, message, exc if error is not exc else None)
            if error is exc:
                raise
            raise error from exc
        call.succeed(completion)
        return completion

    def _request(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        purpose: str,
        attributes: dict[str, Any] | None,
        *,
        streaming: bool = False,
    ) -> CallRequest:
        """The call's request (its first attempt); what it asks of whom, for its span."""
        return CallRequest(
            target=self._target,
            messages=messages,
            purpose=purpose,
            temperature=params.temperature,
            max_tokens=params.max_tokens,
            stop=params.stop,
            seed=params.seed,
            output_type="json" if params.json_schema is not None else None,
            attributes=attributes,
            tool_definitions=params.tools or None,
            streaming=streaming,
        )

    async def _call(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        call = self.provider.complete(messages, params)
        if self.retry.timeout is None:
            return await call
        async with asyncio.timeout(self.retry.timeout):  # no extra Task, unlike wait_for
            return await call


class EmbeddingModel:
    """Calls an ``Embedder`` with one ``embeddings`` span per call (concurrency-limited)."""

    def __init__(self, embedder: Embedder, *, max_concurrency: int | None = None) -> None:
        self.embedder = embedder
        self._slots = _LoopSemaphores(_concurrency(embedder, max_concurrency))
        self._requested_concurrency = max_concurrency

    def __reduce__(self) -> Rebuild:
        """Pickled as its embedder (loaded again where unpickled) and its limit."""
        options = {"max_concurrency": self._requested_concurrency}
        return rebuilt_as(type(self), (self.embedder,), options)

    async def embed(self, texts: Sequence[str], *, purpose: str = "task") -> Embeddings:
        """Embed ``texts``; the interaction's prompt lists them.

        The span starts once a slot is free, so its latency is the call's own.
        """
        async with self._slots():
            return await self._embed(texts, purpose)

    async def _embed(self, texts: Sequence[str], purpose: str) -> Embeddings:
        embedder = self.embedder
        telemetry = current_telemetry()
        invocation = telemetry.handler(in_process=embedder.in_process).embedding(
            embedder.name,
            request_model=embedder.model,
            server_address=embedder.server_address,
            server_port=embedder.server_port,
        )
        invocation.attributes[attr.PURPOSE] = purpose
        try:
            result = await embedder.embed(texts)
        except BaseException as exc:
            invocation.fail(exc)
            raise
        invocation.input_tokens = result.input_tokens
        invocation.response_model_name = result.response_model
        if result.vectors:
            invocation.dimension_count = len(result.vectors[0])
        summary = f"{len(result.vectors)} vectors of {invocation.dimension_count} dimensions"
        telemetry.collector.attach(
            invocation.span.get_span_context().span_id,
            CallContent(
                [Message(role="user", content=t) for t in texts],
                [Message(role="assistant", content=summary)],
            ),
        )
        invocation.stop()
        return result


class _LoopSemaphores:
    """A semaphore per event loop: a model may serve several ``asyncio.run()`` calls."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ConfigurationError("max_concurrency must be at least 1")
        self.limit = limit
        self._by_loop: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    def __call__(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop not in self._by_loop:
            self._by_loop = {k: v for k, v in self._by_loop.items() if not k.is_closed()}
            self._by_loop[loop] = asyncio.Semaphore(self.limit)
        return self._by_loop[loop]


def _concurrency(provider: object, requested: int | None) -> int:
    """The requested limit, else the provider's own (``max_concurrency``), else the default.

    A model that serves one call at a time (an in-process model) says so with
    ``max_concurrency = 1``; waiting for it then happens before its span starts.
    """
    if requested is not None:
        return requested
    own = getattr(provider, "max_concurrency", None)
    return own if isinstance(own, int) and own > 0 else DEFAULT_PROVIDER_CONCURRENCY


def _messages(prompt: str | Sequence[Message], system: str | None) -> list[Message]:
    messages = [Message(role="user", content=prompt)] if isinstance(prompt, str) else list(prompt)
    if system is not None:
        messages.insert(0, _system_message(system))
    return messages


@lru_cache(maxsize=64)
def _system_message(system: str) -> Message:
    """One (frozen) message per system prompt: a judge sends the same one with every call."""
    return Message(role="system", content=system)


def _as_provider_error(exc: BaseException, timeout: float | None) -> BaseException:
    if isinstance(exc, ProviderError) or not isinstance(exc, Exception):
        return exc  # ProviderError as is; CancelledError and friends propagate untouched
    if isinstance(exc, TimeoutError):
        return ProviderError(f"no reply within {timeout} s", retryable=True, error_type="Timeout")
    return ProviderError(
        str(exc) or type(exc).__name__, retryable=False, error_type=type(exc).__name__
    )


def _failure(error: BaseException) -> tuple[str, str]:
    """``error.type`` and the message of a failed attempt, from ``_as_provider_error``'s error."""
    if isinstance(error, ProviderError):
        return error.error_type, str(error)
    name = type(error).__name__  # CancelledError and friends, as they were raised
    return name, name
