"""Anthropic's Messages API over the official ``anthropic`` SDK."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from evaltrace.exceptions import ConfigurationError, ProviderError
from evaltrace.providers._http import server_of
from evaltrace.providers._lazy import require
from evaltrace.providers._protocol import Completion, GenerationParams, StreamChunk
from evaltrace.providers._redact import redact
from evaltrace.records import Message

__all__ = ["AnthropicProvider"]

_DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider:
    """Claude models. System messages go in the ``system`` field; retries are evaltrace's."""

    name = "anthropic"
    operation = "chat"
    in_process = False

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        http_client: Any = None,
    ) -> None:
        anthropic = require("anthropic", "anthropic")
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if key is None:
            raise ConfigurationError(f"anthropic:{model} needs an API key: set ANTHROPIC_API_KEY")
        self.model = model
        self._secret = key
        self._client = anthropic.AsyncAnthropic(
            api_key=key, base_url=base_url, timeout=timeout, max_retries=0, http_client=http_client
        )
        self.server_address, self.server_port = server_of(self._client.base_url)

    def __repr__(self) -> str:
        return f"AnthropicProvider(model={self.model!r})"

    async def complete(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        """One Messages API request."""
        try:
            response = await self._client.messages.create(**self._request(messages, params))
        except Exception as exc:
            raise self._provider_error(exc) from None
        text = "".join(getattr(block, "text", "") for block in response.content)
        return Completion(
            text=text,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            response_model=response.model,
            response_id=response.id,
            finish_reason=response.stop_reason,
        )

    async def stream(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncIterator[StreamChunk]:
        """Stream a message: text deltas, input usage at the start, output usage at the end."""
        try:
            events = await self._client.messages.create(
                **self._request(messages, params), stream=True
            )
            async for event in events:
                chunk = _stream_chunk(event)
                if chunk is not None:
                    yield chunk
        except Exception as exc:
            raise self._provider_error(exc) from None

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.close()

    def _request(self, messages: Sequence[Message], params: GenerationParams) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": params.max_tokens or _DEFAULT_MAX_TOKENS,
            "messages": [
                {"role": m.role, "content": m.content} for m in messages if m.role != "system"
            ],
        }
        optional = {
            "system": system or None,
            "temperature": params.temperature,
            "stop_sequences": list(params.stop) or None,
        }
        request.update({k: v for k, v in optional.items() if v is not None})
        request.update(params.extra)
        return request

    def _provider_error(self, exc: Exception) -> ProviderError:
        anthropic = require("anthropic", "anthropic")
        message = redact(str(exc) or type(exc).__name__, self._secret)
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            retry_after = exc.response.headers.get("retry-after")
            return ProviderError(
                message,
                retryable=status in (408, 409, 429, 529) or status >= 500,
                status_code=status,
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
                error_type=type(exc).__name__,
            )
        retryable = isinstance(exc, anthropic.APITimeoutError | anthropic.APIConnectionError)
        return ProviderError(message, retryable=retryable, error_type=type(exc).__name__)


def _stream_chunk(event: Any) -> StreamChunk | None:
    kind = getattr(event, "type", "")
    if kind == "message_start":
        message = event.message
        return StreamChunk(
            input_tokens=message.usage.input_tokens,
            response_model=message.model,
            response_id=message.id,
        )
    if kind == "content_block_delta":
        return StreamChunk(text=getattr(event.delta, "text", "") or "")
    if kind == "message_delta":
        return StreamChunk(
            output_tokens=event.usage.output_tokens, finish_reason=event.delta.stop_reason
        )
    return None
