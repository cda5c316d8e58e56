"""One model call's span, behind one interface whoever emits it.

``Telemetry.start_call(request)`` opens the span of one model call and
returns a ``CallSpan``; the caller ends it with ``succeed`` or ``fail``.
Behind it are evaltrace's own spans (``OwnCall``: the attributes are all
known, so they are set directly) and opentelemetry-util-genai's invocations
(``UtilCall``: when message content goes on spans or events, or the reply is
streamed, which the util knows how to record).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol

from evaltrace._interaction import Message, ToolCall
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import readable_tool_call
from evaltrace.tracing._record import CallContent

__all__ = [
    "CallRequest",
    "CallResult",
    "CallSpan",
    "CallTarget",
    "call_content",
    "request_attributes",
    "response_attributes",
]


class CallTarget(NamedTuple):
    """Whom a model call asks: the same for every call of one model."""

    provider: str
    model: str
    operation: str = "chat"
    server_address: str | None = None
    server_port: int | None = None
    in_process: bool = False


class CallRequest(NamedTuple):
    """What a model call asks, and of whom: everything its span starts with.

    ``attributes`` are the caller's own span attributes (they have the last
    word); ``tool_definitions`` the tools offered to the model, recorded on
    the span only when the user opts in to content capture.
    """

    target: CallTarget
    messages: Sequence[Message]
    purpose: str
    attempt: int = 1
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    output_type: str | None = None
    attributes: Mapping[str, Any] | None = None
    tool_definitions: Sequence[Mapping[str, Any]] | None = None
    streaming: bool = False


class CallResult(Protocol):
    """What a model answered: the reply, usage and response metadata.

    ``evaltrace.Completion`` is one; the span reads these attributes only.
    """

    @property
    def text(self) -> str: ...
    @property
    def input_tokens(self) -> int | None: ...
    @property
    def output_tokens(self) -> int | None: ...
    @property
    def response_model(self) -> str | None: ...
    @property
    def response_id(self) -> str | None: ...
    @property
    def finish_reason(self) -> str | None: ...
    @property
    def reasoning(self) -> str | None: ...
    @property
    def tool_calls(self) -> tuple[ToolCall, ...]: ...


class CallSpan(Protocol):
    """The span of one model call in flight."""

    def succeed(self, result: CallResult) -> None:
        """End the span with the reply's attributes."""
        ...

    def fail(
        self,
        error_type: str,
        message: str,
        exception: BaseException | None = None,
        partial: CallResult | None = None,
    ) -> None:
        """End the span with ERROR status, ``error.type`` and ``message``.

        ``exception`` is recorded on the span when the failure was unexpected
        (a bug, not an error the provider reported); ``partial`` is what
        arrived of the reply before it broke.
        """
        ...

    def activate(self) -> AbstractContextManager[None]:
        """Make the span current inside the block (a stream's span, while a chunk is read)."""
        ...

    def chunk(self) -> None:
        """Record one streamed chunk arriving."""
        ...


def request_attributes(request: CallRequest) -> dict[str, Any]:
    """The attributes a call's span ends with before the response (as the util sets them)."""
    end: dict[str, Any] = {}
    if request.temperature is not None:
        end[attr.REQUEST_TEMPERATURE] = request.temperature
    if request.max_tokens is not None:
        end[attr.REQUEST_MAX_TOKENS] = request.max_tokens
    if request.stop:
        end[attr.REQUEST_STOP_SEQUENCES] = list(request.stop)
    if request.seed is not None:
        end[attr.REQUEST_SEED] = request.seed
    if request.output_type is not None:
        end[attr.OUTPUT_TYPE] = request.output_type
    end[attr.PURPOSE] = request.purpose
    end[attr.ATTEMPT] = request.attempt
    if request.attributes:
        end.update(request.attributes)
    return end


def response_attributes(result: CallResult, end: Mapping[str, Any]) -> dict[str, Any]:
    """``end`` plus the response and usage; ``end`` (the caller's attributes) has the last word."""
    response: dict[str, Any] = {}
    if result.finish_reason:
        response[attr.RESPONSE_FINISH_REASONS] = [result.finish_reason]
    if result.response_model is not None:
        response[attr.RESPONSE_MODEL] = result.response_model
    if result.response_id is not None:
        response[attr.RESPONSE_ID] = result.response_id
    if result.input_tokens is not None:
        response[attr.USAGE_INPUT_TOKENS] = result.input_tokens
    if result.output_tokens is not None:
        response[attr.USAGE_OUTPUT_TOKENS] = result.output_tokens
    response.update(end)
    return response


def call_content(request: CallRequest, result: CallResult | None) -> CallContent:
    """The call's content for its interaction: the messages sent, and the reply if any.

    Tool calls the model asked for are shown readably after the reply's text
    and kept structured beside it; those of the conversation's assistant turns
    are shown after their text too, so the prompt says which tools were called.
    """
    inputs = _readable_inputs(request.messages)
    if result is None:
        return CallContent(inputs)
    text = _with_tool_calls(result.text, result.tool_calls)
    return CallContent(inputs, (), result.reasoning, result.tool_calls, text)


def _readable_inputs(messages: Sequence[Message]) -> Sequence[Message]:
    """The messages sent, each assistant turn's tool calls as lines of its text."""
    for message in messages:
        if message.tool_calls:
            break
    else:
        return messages  # no tool calls: the messages as they are (most calls)
    return [
        Message(role=m.role, content=_with_tool_calls(m.content, m.tool_calls))
        if m.tool_calls
        else m
        for m in messages
    ]


def _with_tool_calls(text: str, tool_calls: Sequence[ToolCall]) -> str:
    """``text``, then one ``tool_call: name({...})`` line per call."""
    if not tool_calls:
        return text
    lines = [readable_tool_call(call) for call in tool_calls]
    return "\n".join([text, *lines] if text else lines)
