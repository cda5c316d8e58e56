"""``Model``: a provider whose every call is a GenAI span, retried and rate-limited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from typing import Any

from opentelemetry.util.genai.types import Error, InputMessage, OutputMessage, TextPart

from evaltrace.exceptions import ConfigurationError, ProviderError
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
from evaltrace.tracing._span import OwnCall

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
        messages = _messages(prompt, system)
        params = params or GenerationParams()
        attempt = 1
        while True:
            try:
                async with self._slots():
                    return await self._attempt(messages, params, purpose, attempt, attributes)
            except ProviderError as error:
                wait = self.retry.delay(attempt, error)
                if wait is None:
                    raise
                await asyncio.sleep(wait)
                attempt += 1

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
        invocation = self._start(messages, params, purpose, 1, attributes, streaming=True)
        return TracedStream(invocation, self._chunks(messages, params), messages)

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
            )

    async def aclose(self) -> None:
        """Close the provider."""
        await self.provider.aclose()

    @property
    def max_concurrency(self) -> int:
        """Calls of this model in flight at once."""
        return self._slots.limit

    async def _attempt(
        self,
        messages: list[Message],
        params: GenerationParams,
        purpose: str,
        attempt: int,
        attributes: dict[str, Any] | None,
    ) -> Completion:
        provider = self.provider
        calls = current_telemetry().calls(in_process=provider.in_process)
        if calls is None:  # content or events go to telemetry: the util's invocation
            return await self._attempt_with_util(messages, params, purpose, attempt, attributes)
        call = calls.start(
            provider.name,
            provider.model,
            provider.operation,
            provider.server_address,
            provider.server_port,
        )
        end = _request_attributes(params, purpose, attempt, attributes)
        try:
            completion = await self._call(messages, params)
        except BaseException as exc:
            error = _as_provider_error(exc, self.retry.timeout)
            call.fail(end, messages, *_failure(error))
            raise error from None
        stop_own_call(call, end, messages, completion)
        return completion

    async def _attempt_with_util(
        self,
        messages: list[Message],
        params: GenerationParams,
        purpose: str,
        attempt: int,
        attributes: dict[str, Any] | None,
    ) -> Completion:
        invocation = self._start(messages, params, purpose, attempt, attributes)
        try:
            completion = await self._call(messages, params)
        except BaseException as exc:
            error = _as_provider_error(exc, self.retry.timeout)
            error_type, message = _failure(error)
            invocation.fail(Error(message=message, type=error_type))
            raise error from None
        describe_response(invocation, completion, messages)
        invocation.stop()
        return completion

    def _start(
        self,
        messages: list[Message],
        params: GenerationParams,
        purpose: str,
        attempt: int,
        attributes: dict[str, Any] | None,
        *,
        streaming: bool = False,
    ) -> Any:
        """Open the call's span (an opentelemetry-util-genai inference invocation)."""
        provider = self.provider
        handler = current_telemetry().handler(in_process=provider.in_process)
        invocation = handler.inference(
            provider.name,
            request_model=provider.model,
            server_address=provider.server_address,
            server_port=provider.server_port,
            operation_name=provider.operation,
            # A stream's span is made current only while a chunk is read (TracedStream).
            _attach_to_context=not streaming,
        )
        _describe_request(invocation, messages, params)
        content_for_interaction(invocation, messages)
        if streaming:
            invocation.request_stream = True
        invocation.attributes.update({attr.PURPOSE: purpose, attr.ATTEMPT: attempt})
        invocation.attributes.update(attributes or {})
        return invocation

    async def _call(self, messages: list[Message], params: GenerationParams) -> Completion:
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
        telemetry.collector.attach_content(
            invocation.span.get_span_context().span_id,
            [Message(role="user", content=t) for t in texts],
            [Message(role="assistant", content=summary)],
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


def content_for_interaction(
    invocation: Any, messages: Sequence[Message], reply: str | None = None
) -> None:
    """Hand the call's messages to the collector for its interaction (spans may not carry them)."""
    outputs = () if reply is None else (Message(role="assistant", content=reply),)
    current_telemetry().collector.attach_content(
        invocation.span.get_span_context().span_id, messages, outputs
    )


def _describe_request(invocation: Any, messages: list[Message], params: GenerationParams) -> None:
    if invocation.should_capture_content:  # on the span: only when the user opted in
        invocation.system_instruction = [
            TextPart(content=m.content) for m in messages if m.role == "system"
        ]
        invocation.input_messages = [
            InputMessage(role=m.role, parts=[TextPart(content=m.content)])
            for m in messages
            if m.role != "system"
        ]
    invocation.temperature = params.temperature
    invocation.max_tokens = params.max_tokens
    invocation.seed = params.seed
    invocation.stop_sequences = list(params.stop) or None
    if params.json_schema is not None:
        invocation.output_type = "json"


def describe_response(invocation: Any, completion: Completion, messages: Sequence[Message]) -> None:
    """Set the response attributes, and hand the reply to the collector."""
    content_for_interaction(invocation, messages, completion.text)
    if invocation.should_capture_content:
        invocation.output_messages = [
            OutputMessage(
                role="assistant",
                parts=[TextPart(content=completion.text)],
                finish_reason=completion.finish_reason or "stop",
            )
        ]
    invocation.input_tokens = completion.input_tokens
    invocation.output_tokens = completion.output_tokens
    invocation.response_model_name = completion.response_model
    invocation.response_id = completion.response_id
    if completion.finish_reason:
        invocation.finish_reasons = [completion.finish_reason]


def _request_attributes(
    params: GenerationParams, purpose: str, attempt: int, attributes: dict[str, Any] | None
) -> dict[str, Any]:
    """The attributes an own call's span ends with, before the response (as the util sets them)."""
    end: dict[str, Any] = {}
    if params.temperature is not None:
        end[attr.REQUEST_TEMPERATURE] = params.temperature
    if params.max_tokens is not None:
        end[attr.REQUEST_MAX_TOKENS] = params.max_tokens
    if params.stop:
        end[attr.REQUEST_STOP_SEQUENCES] = list(params.stop)
    if params.seed is not None:
        end[attr.REQUEST_SEED] = params.seed
    if params.json_schema is not None:
        end[attr.OUTPUT_TYPE] = "json"
    end[attr.PURPOSE] = purpose
    end[attr.ATTEMPT] = attempt
    if attributes:
        end.update(attributes)
    return end


def stop_own_call(
    call: OwnCall, end: dict[str, Any], messages: Sequence[Message], completion: Completion
) -> None:
    """End an own call's span with ``end`` plus the completion's response and usage."""
    call.stop(
        _response_attributes(completion, end),
        messages,
        completion.text,
        completion.response_model,
        completion.input_tokens,
        completion.output_tokens,
    )


def _response_attributes(completion: Completion, end: dict[str, Any]) -> dict[str, Any]:
    """``end`` plus the response and usage; the caller's own attributes keep the last word."""
    response: dict[str, Any] = {}
    if completion.finish_reason:
        response[attr.RESPONSE_FINISH_REASONS] = [completion.finish_reason]
    if completion.response_model is not None:
        response[attr.RESPONSE_MODEL] = completion.response_model
    if completion.response_id is not None:
        response[attr.RESPONSE_ID] = completion.response_id
    if completion.input_tokens is not None:
        response[attr.USAGE_INPUT_TOKENS] = completion.input_tokens
    if completion.output_tokens is not None:
        response[attr.USAGE_OUTPUT_TOKENS] = completion.output_tokens
    response.update(end)
    return response


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
