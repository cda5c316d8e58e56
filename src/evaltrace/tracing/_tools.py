"""Tool calls read from tool execution spans, in every spelling, and joined with model requests.

One place per spelling of a tool span (``read_tool_span``):

* GenAI semantic conventions: ``execute_tool`` spans with ``gen_ai.tool.name``,
  ``gen_ai.tool.call.id``, ``gen_ai.tool.call.arguments`` (JSON) and
  ``gen_ai.tool.call.result``;
* OpenLLMetry's LangChain callback, same keys (or ``traceloop.entity.*``), but
  the arguments are the callback's whole input as JSON (``inputs``: the
  arguments, ``input_str``: their Python repr, ``kwargs.tool_call_id``) and the
  result is the callback's output (``output``: a serialised ``ToolMessage``
  whose ``kwargs.content`` is what the tool returned);
* OpenInference ``TOOL`` spans: ``tool.name``, ``input.value`` (the arguments
  as JSON, or for a one-argument LangChain tool the bare value), ``output.value``
  (the result, or a LangChain ``ToolMessage`` as ``{"type": "tool", "data":
  {"content", "tool_call_id"}}``).

``join_tool_calls`` puts them together with the tool-call requests of the
case's model outputs (see its docstring for the rules).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from evaltrace._interaction import ToolCall
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import parse_json_value

__all__ = ["TimedCall", "join_tool_calls", "merge_nested", "read_tool_span", "same_arguments"]

Attributes = Mapping[str, Any]
_JSON_MIME = "application/json"
_OI_TOOL_KIND = "TOOL"
#: Longest Python repr of arguments read back (OpenLLMetry's ``input_str``).
_MAX_REPR = 100_000


class TimedCall(NamedTuple):
    """A tool call and when it happened (ns since the epoch): the tool span's start, or
    the end of the model call that asked for it."""

    time: int
    call: ToolCall


def read_tool_span(attributes: Attributes, span_name: str, span_id: str) -> ToolCall:
    """The tool call a tool execution span records, its wrappers unwrapped."""
    if attributes.get(attr.OI_SPAN_KIND) == _OI_TOOL_KIND:
        return _read_openinference(attributes, span_name, span_id)
    name = attributes.get(attr.TOOL_NAME) or attributes.get(attr.TRACELOOP_ENTITY_NAME)
    raw_arguments = _first(attributes, attr.TOOL_CALL_ARGUMENTS, attr.TRACELOOP_ENTITY_INPUT)
    raw_result = _first(attributes, attr.TOOL_CALL_RESULT, attr.TRACELOOP_ENTITY_OUTPUT)
    call_id = attributes.get(attr.TOOL_CALL_ID)
    arguments = parse_json_value(raw_arguments)
    result = raw_result
    if _is_callback_input(arguments):  # OpenLLMetry's LangChain callback
        call_id = call_id or _get(arguments, "kwargs", "tool_call_id")
        arguments = _callback_arguments(arguments)
        output = parse_json_value(raw_result)
        result = output.get("output", raw_result) if isinstance(output, dict) else raw_result
    message = _tool_message(parse_json_value(result))
    if message is not None:
        result, call_id = message[0], call_id or message[1]
    return ToolCall(
        name=str(name) if name else _strip_name(span_name),
        arguments=arguments,
        result=result,
        call_id=None if call_id is None else str(call_id),
        span_id=span_id,
    )


def _read_openinference(attributes: Attributes, span_name: str, span_id: str) -> ToolCall:
    raw = attributes.get(attr.OI_INPUT_VALUE)
    if attributes.get(attr.OI_INPUT_MIME_TYPE) == _JSON_MIME or _looks_like_object(raw):
        arguments = parse_json_value(raw)
    else:
        arguments = raw  # one LangChain argument, bare: named below when the schema says
    if not isinstance(arguments, dict) and arguments is not None:
        arguments = _named_single(arguments, attributes.get(attr.OI_TOOL_PARAMETERS))
    result = attributes.get(attr.OI_OUTPUT_VALUE)
    call_id = None
    message = _tool_message(parse_json_value(result))
    if message is not None:
        result, call_id = message
    name = attributes.get(attr.OI_TOOL_NAME)
    return ToolCall(
        name=str(name) if name else span_name,
        arguments=arguments,
        result=result,
        call_id=call_id,
        span_id=span_id,
    )


def _first(attributes: Attributes, *keys: str) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None:
            return value
    return None


def _strip_name(span_name: str) -> str:
    """The tool's name in a span named ``execute_tool {tool}`` or ``{tool}.tool``."""
    if span_name.startswith("execute_tool "):
        return span_name[len("execute_tool ") :]
    return span_name.removesuffix(".tool")


def _looks_like_object(raw: Any) -> bool:
    return isinstance(raw, str) and raw.lstrip().startswith("{")


def _named_single(value: Any, parameters: Any) -> Any:
    """A bare argument named by a one-property JSON schema (``tool.parameters``); else as is."""
    schema = parse_json_value(parameters)
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(properties, dict) and len(properties) == 1:
        return {next(iter(properties)): value}
    return value


def _is_callback_input(value: Any) -> bool:
    return isinstance(value, dict) and "input_str" in value and "inputs" in value


def _callback_arguments(callback: dict[str, Any]) -> Any:
    """The tool's own arguments in OpenLLMetry's callback JSON: ``inputs``, else ``input_str``."""
    inputs = callback.get("inputs")
    if isinstance(inputs, dict):
        return inputs
    text = callback.get("input_str")
    if not isinstance(text, str) or len(text) > _MAX_REPR:
        return text
    try:
        return ast.literal_eval(text)  # a Python repr of the arguments: literals only
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _tool_message(value: Any) -> tuple[Any, str | None] | None:
    """``(content, tool_call_id)`` of a serialised LangChain ``ToolMessage``, else None.

    Two forms: ``dumpd`` (``{"lc": 1, "id": [..., "ToolMessage"], "kwargs": {...}}``)
    and ``message_to_dict`` (``{"type": "tool", "data": {...}}``).
    """
    if not isinstance(value, dict):
        return None
    body: Any = None
    ids = value.get("id")
    if value.get("lc") is not None and isinstance(ids, list) and ids[-1:] == ["ToolMessage"]:
        body = value.get("kwargs")
    elif value.get("type") == "tool" and isinstance(value.get("data"), dict):
        body = value["data"]
    if not isinstance(body, dict) or "content" not in body:
        return None
    call_id = body.get("tool_call_id")
    return body["content"], None if call_id is None else str(call_id)


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def same_arguments(one: Any, other: Any) -> bool:
    """Equal arguments, or a bare value and a one-argument dict holding it."""
    return _plain(one) == _plain(other) or _bare_of(one, other) or _bare_of(other, one)


def _bare_of(bare: Any, arguments: Any) -> bool:
    if isinstance(bare, dict) or not isinstance(arguments, dict) or len(arguments) != 1:
        return False
    (value,) = arguments.values()
    return bool(_plain(value) == _plain(bare) or (isinstance(bare, str) and _text(value) == bare))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def merge_nested(outer: ToolCall, inner: ToolCall) -> ToolCall:
    """One call from a tool span and the same call's span nested in it: the outer's, with
    what only the inner one knows (call id, result, named arguments) filled in."""
    update: dict[str, Any] = {}
    if outer.call_id is None and inner.call_id is not None:
        update["call_id"] = inner.call_id
    if outer.result is None and inner.result is not None:
        update["result"] = inner.result
    if not isinstance(outer.arguments, dict) and isinstance(inner.arguments, dict):
        update["arguments"] = inner.arguments
    return outer.model_copy(update=update) if update else outer


def join_tool_calls(
    executed: Sequence[TimedCall], requested: Sequence[TimedCall]
) -> list[TimedCall]:
    """The case's tool calls: what the tool spans say, and requests no tool span ran.

    Tool spans are the authority. Each is matched to the model's request for it:
    by call id; when the span has no call id, by tool name and equal arguments,
    in order. A matched call takes from the request what its span lacks (the
    call id; the argument's name when the span has a bare value). A request no
    span matched is a call of its own only when its tool has no span at all in
    the case (an uninstrumented tool); a request for a tool that has spans
    was not run (the run stopped, the application refused it). In time order.
    """
    taken = [False] * len(requested)
    calls: list[TimedCall] = []
    for time, call in executed:
        index = _match(call, requested, taken)
        if index is not None:
            taken[index] = True
            call = _completed(call, requested[index].call)
        calls.append(TimedCall(time, call))
    with_spans = {call.name for _, call in executed}
    for index, (time, call) in enumerate(requested):
        if not taken[index] and call.name not in with_spans:
            calls.append(TimedCall(time, call))
    calls.sort(key=lambda timed: timed.time)
    return calls


def _match(call: ToolCall, requested: Sequence[TimedCall], taken: Sequence[bool]) -> int | None:
    free = [i for i, request in enumerate(requested) if not taken[i]]
    if call.call_id is not None:
        for index in free:
            if requested[index].call.call_id == call.call_id:
                return index
    for index in free:
        request = requested[index].call
        if call.call_id is not None and request.call_id is not None:
            continue  # both have ids, and they differ
        if request.name == call.name and same_arguments(call.arguments, request.arguments):
            return index
    return None


def _completed(call: ToolCall, request: ToolCall) -> ToolCall:
    update: dict[str, Any] = {}
    if call.call_id is None and request.call_id is not None:
        update["call_id"] = request.call_id
    if not isinstance(call.arguments, dict) and _bare_of(call.arguments, request.arguments):
        update["arguments"] = request.arguments
    return call.model_copy(update=update) if update else call
