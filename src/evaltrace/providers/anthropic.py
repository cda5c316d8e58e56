"""Anthropic's Messages API over the official ``anthropic`` SDK.

Tools and tool calls are written in the API's own terms: a tool definition
becomes ``{name, description, input_schema}``, an assistant message's tool
calls ``tool_use`` blocks, and ``tool`` messages ``tool_result`` blocks of a
user turn (consecutive ones in one turn, as the API wants them). A reply's
``tool_use`` blocks are its ``tool_calls``, its ``thinking`` blocks its
``reasoning``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from evaltrace.exceptions import ConfigurationError, ProviderError
from evaltrace.providers._http import server_of
from evaltrace.providers._lazy import require
from evaltrace.providers._portable import Rebuild, rebuilt_as
from evaltrace.providers._protocol import Completion, GenerationParams, StreamChunk
from evaltrace.providers._redact import redact
from evaltrace.providers._tools import FunctionTool, StreamedToolCalls
from evaltrace.records import Message, ToolCall
from evaltrace.tracing._conventions import parse_json_value

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
        self._options = {"base_url": base_url, "timeout": timeout}  # what a pickle carries
        self._client = anthropic.AsyncAnthropic(
            api_key=key, base_url=base_url, timeout=timeout, max_retries=0, http_client=http_client
        )
        self.server_address, self.server_port = server_of(self._client.base_url)

    def __reduce__(self) -> Rebuild:
        """Pickled as its model, base URL and timeout: the key stays here (see ``_portable``)."""
        return rebuilt_as(type(self), (self.model,), self._options)

    def __repr__(self) -> str:
        return f"AnthropicProvider(model={self.model!r})"

    async def complete(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        """One Messages API request."""
        try:
            response = await self._client.messages.create(**self._request(messages, params))
        except Exception as exc:
            raise self._provider_error(exc) from None
        return _completion(response)

    async def stream(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncIterator[StreamChunk]:
        """Stream a message: text deltas, input usage at the start, output usage at the end."""
        tool_calls = StreamedToolCalls()
        try:
            events = await self._client.messages.create(
                **self._request(messages, params), stream=True
            )
            async for event in events:
                chunk = _stream_chunk(event, tool_calls)
                if chunk is not None:
                    yield chunk
            left = tool_calls.take()  # a stream that ended without its message_delta
            if left:
                yield StreamChunk(tool_calls=left)
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
            "messages": _messages(messages),
        }
        optional = {
            "system": system or None,
            "temperature": params.temperature,
            "stop_sequences": list(params.stop) or None,
        }
        request.update({k: v for k, v in optional.items() if v is not None})
        if params.tools:
            request["tools"] = [_tool(t) for t in params.tools]
        request.update(params.extra)
        if "tool_choice" in params.extra:
            request["tool_choice"] = _tool_choice(params.extra["tool_choice"])
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


def _messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The conversation as Messages API turns (system messages go in ``system``)."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            _add_tool_result(turns, message)
        elif message.tool_calls:
            turns.append({"role": message.role, "content": _tool_use_blocks(message)})
        else:
            turns.append({"role": message.role, "content": message.content})
    return turns


def _tool_use_blocks(message: Message) -> list[dict[str, Any]]:
    """An assistant turn that asked for tools: its text, then one ``tool_use`` block per call."""
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    blocks += [
        {"type": "tool_use", "id": call.call_id, "name": call.name, "input": _input(call)}
        for call in message.tool_calls
    ]
    return blocks


def _input(call: ToolCall) -> dict[str, Any]:
    """A call's arguments as the object ``tool_use.input`` must be."""
    arguments = parse_json_value(call.arguments)
    if isinstance(arguments, dict):
        return arguments
    return {} if arguments is None else {"arguments": arguments}


def _add_tool_result(turns: list[dict[str, Any]], message: Message) -> None:
    """A ``tool`` message as a ``tool_result`` block, in the user turn of its fellow results."""
    block = {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}
    last = turns[-1] if turns else None
    if last is not None and last["role"] == "user" and _all_tool_results(last["content"]):
        last["content"].append(block)
    else:
        turns.append({"role": "user", "content": [block]})


def _all_tool_results(content: Any) -> bool:
    return isinstance(content, list) and all(b.get("type") == "tool_result" for b in content)


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tool definition as the Messages API takes it (one of its own kinds as it is)."""
    function = FunctionTool.of(tool)
    if function is None:
        return dict(tool)  # a server tool (web search...): the API's own form
    spec: dict[str, Any] = {"name": function.name, "input_schema": function.parameters}
    if function.description is not None:
        spec["description"] = function.description
    return spec


#: OpenAI's ``tool_choice`` words, in Anthropic's terms.
_CHOICES = {"auto": "auto", "required": "any", "none": "none"}


def _tool_choice(choice: Any) -> Any:
    """``tool_choice`` as the API takes it; OpenAI's forms are translated."""
    if isinstance(choice, str) and choice in _CHOICES:
        return {"type": _CHOICES[choice]}
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        function = choice.get("function")
        if isinstance(function, Mapping):
            return {"type": "tool", "name": function.get("name")}
    return choice


def _completion(response: Any) -> Completion:
    """A Messages API response as a ``Completion``: text, tool_use calls and thinking apart."""
    text: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    for block in response.content:
        kind = getattr(block, "type", "")
        if kind == "text":
            text.append(block.text)
        elif kind == "tool_use":
            calls.append(ToolCall(name=block.name, arguments=block.input, call_id=block.id))
        elif kind == "thinking":
            thinking.append(block.thinking)
    return Completion(
        text="".join(text),
        input_tokens=response.usage.input_tokens,
        output_tokens=response.usage.output_tokens,
        response_model=response.model,
        response_id=response.id,
        finish_reason=response.stop_reason,
        tool_calls=tuple(calls),
        reasoning="\n\n".join(thinking) or None,
    )


def _stream_chunk(event: Any, tool_calls: StreamedToolCalls) -> StreamChunk | None:
    """A stream event as a chunk; a ``tool_use`` block's pieces wait for the finish reason."""
    kind = getattr(event, "type", "")
    if kind == "message_start":
        message = event.message
        return StreamChunk(
            input_tokens=message.usage.input_tokens,
            response_model=message.model,
            response_id=message.id,
        )
    if kind == "content_block_start" and getattr(event.content_block, "type", "") == "tool_use":
        block = event.content_block
        tool_calls.add(event.index, call_id=block.id, name=block.name, initial=block.input)
        return None
    if kind == "content_block_delta":
        return _delta_chunk(event, tool_calls)
    if kind == "message_delta":
        return StreamChunk(
            output_tokens=event.usage.output_tokens,
            finish_reason=event.delta.stop_reason,
            tool_calls=tool_calls.take(),
        )
    return None


def _delta_chunk(event: Any, tool_calls: StreamedToolCalls) -> StreamChunk | None:
    delta = event.delta
    kind = getattr(delta, "type", "")
    if kind == "input_json_delta":
        tool_calls.add(event.index, arguments=delta.partial_json)
        return None
    if kind == "thinking_delta":
        return StreamChunk(reasoning=delta.thinking or "")
    return StreamChunk(text=getattr(delta, "text", "") or "")
