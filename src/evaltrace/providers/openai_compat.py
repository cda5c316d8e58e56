"""OpenAI, and any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, LM Studio)."""

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
from evaltrace.providers._tools import FunctionTool, StreamedToolCalls, arguments_json
from evaltrace.records import Message, ToolCall
from evaltrace.tracing._conventions import parse_json_value

__all__ = ["OpenAIProvider"]

_DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Response formats tried in order for structured output. llama.cpp's server
# answers HTTP 500 to ``json_schema`` but honours ``json_object`` with a schema.
# A format is given up only on evidence that the server does not support it
# (see OpenAIProvider._rejects_format): a transient 500 must not switch a
# shared judge's structured output off for good.
_JSON_FORMATS = ("json_schema", "json_object_with_schema", "json_object", "none")
_RETRYABLE_STATUS = frozenset({408, 409, 429})
_CHAT_PATH = "/chat/completions"


class OpenAIProvider:
    """Chat completions over the ``openai`` SDK.

    With ``base_url`` (or ``OPENAI_BASE_URL``) it talks to any OpenAI-compatible
    server, and no API key is needed. The SDK's own retries are off: evaltrace
    retries, so that every attempt is a span.

    Requests go through the client's generic ``post`` with the JSON body as
    built here, and the reply is read as plain JSON: the SDK's typed request
    transform and response models cost a third of the client's CPU per call
    and carry nothing a ``Completion`` needs (see docs/benchmarks.md, P2).
    Status, timeout and connection errors are the SDK's own, as with ``create``.
    """

    name = "openai"
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
        openai = require("openai", "openai")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if key is None and base_url is None:
            raise ConfigurationError(
                f"openai:{model} needs an API key: set OPENAI_API_KEY, or pass base_url= "
                "for an OpenAI-compatible server"
            )
        self.model = model
        self._secret = key
        self._options = {"base_url": base_url, "timeout": timeout}  # what a pickle carries
        self._client = openai.AsyncOpenAI(
            api_key=key or "unused",
            base_url=base_url or _DEFAULT_BASE_URL,
            timeout=timeout,
            max_retries=0,
            http_client=http_client,
        )
        self.server_address, self.server_port = server_of(self._client.base_url)
        self._json_format = 0
        self._format_worked = False  # a structured reply came back in the current format
        self._format_500s = 0  # consecutive HTTP 500s to the current format

    def __reduce__(self) -> Rebuild:
        """Pickled as its model, base URL and timeout: the key stays here (see ``_portable``)."""
        return rebuilt_as(type(self), (self.model,), self._options)

    def __repr__(self) -> str:
        return (
            f"OpenAIProvider(model={self.model!r}, server={self.server_address}:{self.server_port})"
        )

    async def complete(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        """One chat completion request."""
        used_format = self._json_format
        request = self._request(messages, params)
        structured = "response_format" in request
        try:
            body = await self._client.post(_CHAT_PATH, body=request, cast_to=object)
        except Exception as exc:
            raise self._provider_error(
                exc, structured=structured, used_format=used_format
            ) from None
        completion = _completion(body)
        if structured:
            self._format_worked, self._format_500s = True, 0
        return completion

    async def stream(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncIterator[StreamChunk]:
        """Stream a chat completion, asking for usage in the final chunk."""
        used_format = self._json_format
        request = self._request(messages, params)
        request.update(stream=True, stream_options={"include_usage": True})
        tool_calls = StreamedToolCalls()
        try:
            response = await self._client.chat.completions.create(**request)
            async for chunk in response:
                yield _stream_chunk(chunk, tool_calls)
            left = tool_calls.take()  # a stream that ended without a finish reason
            if left:
                yield StreamChunk(tool_calls=left)
        except Exception as exc:
            raise self._provider_error(
                exc, structured="response_format" in request, used_format=used_format
            ) from None

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.close()

    def _request(self, messages: Sequence[Message], params: GenerationParams) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [
                _message(m)
                if m.tool_calls or m.tool_call_id is not None
                else {"role": m.role, "content": m.content}  # most messages: inline, cheaper
                for m in messages
            ],
        }
        optional = {
            "temperature": params.temperature,
            "max_tokens": params.max_tokens,
            "seed": params.seed,
            "stop": list(params.stop) or None,
        }
        request.update({k: v for k, v in optional.items() if v is not None})
        if params.tools:
            request["tools"] = [_tool(t) for t in params.tools]
        if params.json_schema is not None:
            response_format = self._response_format(params.json_schema)
            if response_format is not None:
                request["response_format"] = response_format
        request.update(params.extra)
        return request

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any] | None:
        kind = _JSON_FORMATS[self._json_format]
        if kind == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
        if kind == "json_object_with_schema":
            return {"type": "json_object", "schema": schema}
        if kind == "json_object":
            return {"type": "json_object"}
        return None

    def _provider_error(
        self, exc: Exception, *, structured: bool, used_format: int
    ) -> ProviderError:
        openai = require("openai", "openai")
        message = redact(str(exc) or type(exc).__name__, self._secret)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if (
                structured
                and self._rejects_format(status, message)
                and self._downgrade(used_format)
            ):
                return ProviderError(
                    f"{message} (server rejected the structured-output format; retrying with "
                    f"{_JSON_FORMATS[self._json_format]})",
                    retryable=True,
                    status_code=status,
                    retry_after=0.0,
                    error_type="UnsupportedResponseFormat",
                )
            return ProviderError(
                message,
                retryable=status in _RETRYABLE_STATUS or status >= 500,
                status_code=status,
                retry_after=_retry_after(exc.response.headers),
                error_type=type(exc).__name__,
            )
        if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
            return ProviderError(message, retryable=True, error_type=type(exc).__name__)
        if isinstance(exc, ValueError | openai.APIResponseValidationError):
            # A 200 whose body is not the JSON it should be: a proxy or server
            # hiccup; the request may well succeed again.
            return ProviderError(message, retryable=True, error_type=type(exc).__name__)
        return ProviderError(message, retryable=False, error_type=type(exc).__name__)

    def _rejects_format(self, status: int, message: str) -> bool:
        """Whether an error says the server does not support the structured-output format.

        Only for a format that never worked with this server: 400/422/500 that
        name the format (llama.cpp's server answers ``json_schema`` with a 500
        saying so), or a 500 that comes twice in a row. A healthy API's
        occasional 500 is retried like any other.
        """
        if self._format_worked or status not in (400, 422, 500):
            return False
        if any(word in message for word in ("response_format", "json_schema")):
            return True
        if status == 500:
            self._format_500s += 1
            return self._format_500s >= 2
        return False

    def _downgrade(self, used_format: int) -> bool:
        """Step past the format the failed request used (once, however many requests failed)."""
        if self._json_format != used_format:
            return True  # a concurrent request already stepped past it: just retry
        if self._json_format + 1 >= len(_JSON_FORMATS):
            return False
        self._json_format += 1
        self._format_500s = 0
        return True


def _completion(body: Any) -> Completion:
    """A chat.completion JSON body as a ``Completion``; a body that is not one is retryable."""
    if not isinstance(body, dict):
        raise ProviderError(
            f"the server answered with a body that is not a JSON object: {str(body)[:200]!r}",
            retryable=True,
            error_type="MalformedResponse",
        )
    choices = body.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise ProviderError(
            "the server answered with no choices", retryable=True, error_type="EmptyResponse"
        )
    choice = choices[0]
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    usage = body.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    return Completion(
        text=_text(message.get("content")),
        input_tokens=_count(usage.get("prompt_tokens")),
        output_tokens=_count(usage.get("completion_tokens")),
        response_model=_string(body.get("model")),
        response_id=_string(body.get("id")),
        finish_reason=_string(choice.get("finish_reason")),
        tool_calls=_tool_calls(message.get("tool_calls")),
        reasoning=_reasoning(message),
    )


def _message(message: Message) -> dict[str, Any]:
    """A message as the API takes it, with its tool calls or the id of the call it answers."""
    sent: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        sent["content"] = message.content or None
        sent["tool_calls"] = [
            {
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": arguments_json(call.arguments)},
            }
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        sent["tool_call_id"] = message.tool_call_id
    return sent


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tool definition in the Chat Completions form (one already in it, as it is)."""
    if isinstance(tool.get("function"), Mapping):
        return {"type": "function", **tool}
    function = FunctionTool.of(tool)
    if function is None:
        return dict(tool)  # a server's own kind of tool
    spec: dict[str, Any] = {"name": function.name, "parameters": function.parameters}
    if function.description is not None:
        spec["description"] = function.description
    if "strict" in tool:
        spec["strict"] = tool["strict"]
    return {"type": "function", "function": spec}


def _tool_calls(value: Any) -> tuple[ToolCall, ...]:
    """``message.tool_calls`` as ``ToolCall``s: arguments parsed when JSON, the API's id."""
    if not isinstance(value, list):
        return ()
    calls: list[ToolCall] = []
    for item in value:
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict):
            continue
        calls.append(
            ToolCall(
                name=str(function.get("name") or ""),
                arguments=parse_json_value(function.get("arguments")),
                call_id=_string(item.get("id")),
            )
        )
    return tuple(calls)


def _reasoning(message: Mapping[str, Any]) -> str | None:
    """The reasoning text servers send beside the answer (``reasoning_content``, ``reasoning``)."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _text(content: Any) -> str:
    """Message content: a string, or (some servers) a list of ``{"type": "text"}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text") or ""
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _stream_chunk(chunk: Any, tool_calls: StreamedToolCalls) -> StreamChunk:
    """One streamed chunk; tool call pieces are kept until the finish reason comes."""
    choice = chunk.choices[0] if getattr(chunk, "choices", None) else None
    delta = getattr(choice, "delta", None)
    for position, piece in enumerate(getattr(delta, "tool_calls", None) or ()):
        function = getattr(piece, "function", None)
        index = getattr(piece, "index", None)
        tool_calls.add(
            index if isinstance(index, int) else position,
            call_id=getattr(piece, "id", None),
            name=getattr(function, "name", None),
            arguments=getattr(function, "arguments", None),
        )
    finish_reason = choice.finish_reason if choice is not None else None
    usage = getattr(chunk, "usage", None)
    return StreamChunk(
        text=getattr(delta, "content", None) or "",
        input_tokens=getattr(usage, "prompt_tokens", None),
        output_tokens=getattr(usage, "completion_tokens", None),
        response_model=getattr(chunk, "model", None),
        response_id=getattr(chunk, "id", None),
        finish_reason=finish_reason,
        tool_calls=tool_calls.take() if finish_reason is not None else (),
        reasoning=_delta_reasoning(delta),
    )


def _delta_reasoning(delta: Any) -> str:
    for key in ("reasoning_content", "reasoning"):
        value = getattr(delta, key, None)
        if isinstance(value, str) and value:
            return value
    return ""


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    try:
        return None if value is None else max(float(value), 0.0)
    except ValueError:
        return None
