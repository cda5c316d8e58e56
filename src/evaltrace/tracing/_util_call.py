"""``UtilCall``: a model call's span emitted by opentelemetry-util-genai's inference invocation.

Used where the util adds something evaltrace's own spans do not: message
content on spans or events (the capture modes), GenAI events, and streams
(time to first chunk, time per chunk). The interaction's content still goes
to the collector directly, whatever the capture mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.types import (
    Error,
    FunctionToolDefinition,
    InputMessage,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
)

from evaltrace._interaction import Message
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._call import CallRequest, CallResult, call_content
from evaltrace.tracing.processor import InteractionCollector

__all__ = ["UtilCall"]


class UtilCall:
    """One model call in flight, as a util inference invocation."""

    __slots__ = ("_collector", "_invocation", "_request", "_span_id")

    def __init__(
        self, handler: TelemetryHandler, request: CallRequest, collector: InteractionCollector
    ) -> None:
        self._request = request
        self._collector = collector
        target = request.target
        invocation = handler.inference(
            target.provider,
            request_model=target.model,
            server_address=target.server_address,
            server_port=target.server_port,
            operation_name=target.operation,
            # A stream's span is made current only while a chunk is read (activate).
            _attach_to_context=not request.streaming,
        )
        self._invocation = invocation
        self._span_id = invocation.span.get_span_context().span_id
        _describe_request(invocation, request)
        collector.attach(self._span_id, call_content(request, None))

    def succeed(self, result: CallResult) -> None:
        """Set the response attributes (and content, when captured) and end the span."""
        self._describe_response(result)
        self._invocation.stop()

    def fail(
        self,
        error_type: str,
        message: str,
        exception: BaseException | None = None,
        partial: CallResult | None = None,
    ) -> None:
        """End the span with ERROR status, ``error.type`` and ``message``."""
        if partial is not None:
            self._describe_response(partial)
        self._invocation.fail(Error(message=message, type=error_type, exception=exception))

    def _describe_response(self, result: CallResult) -> None:
        invocation = self._invocation
        self._collector.attach(self._span_id, call_content(self._request, result))
        if invocation.should_capture_content:
            invocation.output_messages = [_output_message(result)]
        invocation.input_tokens = result.input_tokens
        invocation.output_tokens = result.output_tokens
        invocation.response_model_name = result.response_model
        invocation.response_id = result.response_id
        if result.finish_reason:
            invocation.finish_reasons = [result.finish_reason]

    def activate(self) -> AbstractContextManager[None]:
        """Make the span current inside the block."""
        manager: AbstractContextManager[None] = self._invocation.activate()
        return manager

    def chunk(self) -> None:
        """Record one streamed chunk arriving (the util's streaming metrics)."""
        self._invocation.record_stream_chunk()


def _describe_request(invocation: Any, request: CallRequest) -> None:
    if invocation.should_capture_content:  # on the span: only when the user opted in
        messages = request.messages
        invocation.system_instruction = [
            TextPart(content=m.content) for m in messages if m.role == "system"
        ]
        invocation.input_messages = [_input_message(m) for m in messages if m.role != "system"]
        if request.tool_definitions:
            invocation.tool_definitions = [_tool_definition(t) for t in request.tool_definitions]
    invocation.temperature = request.temperature
    invocation.max_tokens = request.max_tokens
    invocation.seed = request.seed
    invocation.stop_sequences = list(request.stop) or None
    if request.output_type is not None:
        invocation.output_type = request.output_type
    if request.streaming:
        invocation.request_stream = True
    invocation.attributes.update({attr.PURPOSE: request.purpose, attr.ATTEMPT: request.attempt})
    invocation.attributes.update(request.attributes or {})


def _input_message(message: Message) -> InputMessage:
    """A message sent, as semconv parts: a tool's result, or text and the tools asked for."""
    if message.role == "tool" or message.tool_call_id is not None:
        parts: list[Any] = [ToolCallResponsePart(response=message.content, id=message.tool_call_id)]
        return InputMessage(role=message.role, parts=parts)
    parts = [TextPart(content=message.content)] if message.content or not message.tool_calls else []
    parts += [
        ToolCallRequestPart(name=call.name, arguments=call.arguments, id=call.call_id)
        for call in message.tool_calls
    ]
    return InputMessage(role=message.role, parts=parts)


def _output_message(result: CallResult) -> OutputMessage:
    parts: list[Any] = []
    if result.reasoning:
        parts.append(ReasoningPart(content=result.reasoning))
    if result.text:
        parts.append(TextPart(content=result.text))
    parts += [
        ToolCallRequestPart(name=call.name, arguments=call.arguments, id=call.call_id)
        for call in result.tool_calls
    ]
    return OutputMessage(
        role="assistant", parts=parts, finish_reason=result.finish_reason or "stop"
    )


def _tool_definition(tool: Mapping[str, Any]) -> FunctionToolDefinition:
    """A tool offered to the model, in either the OpenAI or the plain ``{name, ...}`` shape."""
    function = tool.get("function", tool)
    return FunctionToolDefinition(
        name=str(function.get("name", "")),
        description=function.get("description"),
        parameters=function.get("parameters", function.get("input_schema")),
    )
