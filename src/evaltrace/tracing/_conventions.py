"""Reading one model call out of a span, whoever instrumented it.

This module owns every mapping from span attributes and events to the fields of
a call: the current GenAI semantic conventions (``gen_ai.provider.name``,
``gen_ai.input.messages``...), the older forms still emitted in the wild
(``gen_ai.system``, ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*``,
``gen_ai.usage.prompt_tokens``, per-message events) and OpenInference
(``openinference.span.kind = LLM``, ``llm.*``, ``input.value``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evaltrace.records import Message, ToolCall
from evaltrace.tracing import _attributes as attr

__all__ = [
    "CallFields",
    "agent_name_of",
    "is_inference",
    "operation_of",
    "parse_json_value",
    "read_call",
    "readable_tool_call",
]

Attributes = Mapping[str, Any]

# Older GenAI conventions (before gen_ai.input.messages and gen_ai.provider.name).
_LEGACY_PROMPT_PREFIX = "gen_ai.prompt."
_LEGACY_COMPLETION_PREFIX = "gen_ai.completion."
_LEGACY_PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
_LEGACY_COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"
_LEGACY_REQUEST_TYPE = attr.LEGACY_REQUEST_TYPE
_LEGACY_MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
_LEGACY_CHOICE_EVENT = "gen_ai.choice"
_LEGACY_CONTENT_EVENTS = {
    "gen_ai.content.prompt": "prompt",
    "gen_ai.content.completion": "completion",
}

# OpenInference.
_OI_SPAN_KIND = attr.OI_SPAN_KIND
_OI_INFERENCE_KINDS = frozenset({"LLM", "EMBEDDING"})
_OI_MODEL = "llm.model_name"
_OI_PROVIDER = "llm.provider"
_OI_SYSTEM = "llm.system"
_OI_PROMPT_TOKENS = "llm.token_count.prompt"
_OI_COMPLETION_TOKENS = "llm.token_count.completion"
_OI_INPUT_MESSAGES = "llm.input_messages."
_OI_OUTPUT_MESSAGES = "llm.output_messages."
_OI_INPUT_VALUE = attr.OI_INPUT_VALUE
_OI_OUTPUT_VALUE = attr.OI_OUTPUT_VALUE
_OI_EMBEDDING_MODEL = "embedding.model_name"


@dataclass(slots=True)
class CallFields:
    """What a span says about one model call, convention-independent."""

    model: str = ""
    provider: str | None = None
    operation: str = "chat"
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_messages: Sequence[Message] = ()
    output_messages: Sequence[Message] = ()
    response_model: str | None = None
    response_id: str | None = None
    finish_reasons: Sequence[str] = ()
    convention: str = "gen_ai"
    reasoning: str | None = None
    tool_calls: Sequence[ToolCall] = ()

    @property
    def content_captured(self) -> bool:
        """True when the span recorded any message content."""
        return bool(self.input_messages or self.output_messages)


def is_inference(attributes: Attributes) -> bool:
    """True when a span describes one model call (not an agent, workflow or tool span)."""
    operation = attributes.get(attr.OPERATION_NAME)
    if operation is not None:
        return operation in attr.INFERENCE_OPERATIONS
    if attributes.get(_OI_SPAN_KIND) is not None:
        return attributes.get(_OI_SPAN_KIND) in _OI_INFERENCE_KINDS
    has_system = attr.SYSTEM in attributes or attr.PROVIDER_NAME in attributes
    return has_system and attr.REQUEST_MODEL in attributes


#: The GenAI operation each OpenInference span kind stands for.
_OI_OPERATIONS = {
    "LLM": "chat",
    "EMBEDDING": "embeddings",
    "TOOL": "execute_tool",
    "AGENT": "invoke_agent",
    "RETRIEVER": "retrieval",
    "CHAIN": "workflow",
    "RERANKER": "rerank",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluation",
}
#: OpenLLMetry's ``traceloop.span.kind`` and ``llm.request.type``, as GenAI operations.
_TRACELOOP_OPERATIONS = {
    "tool": "execute_tool",
    "agent": "invoke_agent",
    "workflow": "workflow",
    "task": "execute_task",
}
_LEGACY_OPERATIONS = {"completion": "text_completion", "embedding": "embeddings"}


def operation_of(attributes: Attributes) -> str | None:
    """The GenAI operation of any span (``chat``, ``execute_tool``, ``invoke_agent``...).

    ``gen_ai.operation.name`` first; then OpenInference's span kind (LLM is
    ``chat``, TOOL ``execute_tool``, AGENT ``invoke_agent``, RETRIEVER
    ``retrieval``, EMBEDDING ``embeddings``, CHAIN ``workflow``; others in
    lower case); then OpenLLMetry's ``traceloop.span.kind`` and
    ``llm.request.type``. None for a span that names no operation.
    """
    operation = attributes.get(attr.OPERATION_NAME)
    if operation is not None:
        return str(operation)
    kind = attributes.get(_OI_SPAN_KIND)
    if kind is not None:
        return _OI_OPERATIONS.get(str(kind).upper(), str(kind).lower())
    traceloop = attributes.get(attr.TRACELOOP_SPAN_KIND)
    if traceloop is not None:
        return _TRACELOOP_OPERATIONS.get(str(traceloop), str(traceloop))
    request_type = attributes.get(_LEGACY_REQUEST_TYPE)
    if request_type is not None:
        return _LEGACY_OPERATIONS.get(str(request_type), str(request_type))
    return "chat" if is_inference(attributes) else None


def agent_name_of(attributes: Attributes) -> str | None:
    """The agent a span names: ``gen_ai.agent.name`` or OpenInference's ``agent.name``."""
    name = attributes.get(attr.AGENT_NAME)
    if name is None:
        name = attributes.get(attr.OI_AGENT_NAME)
    return None if name is None else str(name)


def read_call(
    attributes: Attributes, events: Sequence[Any] = (), *, messages: bool = True
) -> CallFields:
    """Read the call a span describes, choosing the reader by the convention it uses.

    ``messages=False`` skips the message content (the caller has it already).
    """
    if attributes.get(_OI_SPAN_KIND) in _OI_INFERENCE_KINDS:
        return _read_openinference(attributes)
    call = _read_gen_ai(attributes)
    if messages:
        _read_gen_ai_messages(call, attributes, events)
    return call


def _read_gen_ai(attributes: Attributes) -> CallFields:
    """The scalar fields of a GenAI span (current or older spellings); one read per key."""
    get = attributes.get
    provider = get(attr.PROVIDER_NAME)
    legacy = provider is None and attr.SYSTEM in attributes
    if legacy:
        provider = get(attr.SYSTEM)
    response_model = get(attr.RESPONSE_MODEL)
    model = get(attr.REQUEST_MODEL) or response_model
    input_tokens = get(attr.USAGE_INPUT_TOKENS)
    if input_tokens is None:
        input_tokens = get(_LEGACY_PROMPT_TOKENS)
    output_tokens = get(attr.USAGE_OUTPUT_TOKENS)
    if output_tokens is None:
        output_tokens = get(_LEGACY_COMPLETION_TOKENS)
    response_id = get(attr.RESPONSE_ID)
    finish_reasons = get(attr.RESPONSE_FINISH_REASONS)
    operation = get(attr.OPERATION_NAME) or get(_LEGACY_REQUEST_TYPE) or "chat"
    return CallFields(  # values of the expected type as they are (most are), others converted
        model=model if type(model) is str else _text(model),
        provider=provider if provider is None or type(provider) is str else str(provider),
        operation=operation if type(operation) is str else str(operation),
        input_tokens=input_tokens if type(input_tokens) is int else _int(input_tokens),
        output_tokens=output_tokens if type(output_tokens) is int else _int(output_tokens),
        response_model=response_model
        if response_model is None or type(response_model) is str
        else str(response_model),
        response_id=response_id
        if response_id is None or type(response_id) is str
        else str(response_id),
        finish_reasons=tuple(map(str, finish_reasons)) if finish_reasons else (),
        convention="gen_ai.legacy" if legacy else "gen_ai",
    )


def _read_gen_ai_messages(call: CallFields, attributes: Attributes, events: Sequence[Any]) -> None:
    call.input_messages = (
        _system_messages(attributes.get(attr.SYSTEM_INSTRUCTIONS))
        + _semconv_messages(attributes.get(attr.INPUT_MESSAGES)).messages
        or _indexed_messages(attributes, _LEGACY_PROMPT_PREFIX, ".role", ".content")
        or _event_messages(events, output=False)
    )
    output = _semconv_messages(attributes.get(attr.OUTPUT_MESSAGES))
    if output.messages:
        call.output_messages = output.messages
        call.reasoning = "\n".join(output.reasoning) or None
        call.tool_calls = output.tool_calls
        return
    call.tool_calls = _indexed_tool_calls(
        attributes, f"{_LEGACY_COMPLETION_PREFIX}0.tool_calls.", ".name", ".arguments", ".id"
    )
    call.output_messages = _with_tool_calls(
        _indexed_messages(attributes, _LEGACY_COMPLETION_PREFIX, ".role", ".content")
        or _event_messages(events, output=True),
        call.tool_calls,
    )


def _read_openinference(attributes: Attributes) -> CallFields:
    kind = attributes.get(_OI_SPAN_KIND)
    model = attributes.get(_OI_MODEL) or attributes.get(_OI_EMBEDDING_MODEL)
    inputs = _indexed_messages(attributes, _OI_INPUT_MESSAGES, ".message.role", ".message.content")
    outputs = _indexed_messages(
        attributes, _OI_OUTPUT_MESSAGES, ".message.role", ".message.content"
    )
    tool_calls = _indexed_tool_calls(
        attributes,
        f"{_OI_OUTPUT_MESSAGES}0.message.tool_calls.",
        ".tool_call.function.name",
        ".tool_call.function.arguments",
        ".tool_call.id",
    )
    if not inputs and isinstance(attributes.get(_OI_INPUT_VALUE), str):
        inputs = [Message(role="user", content=attributes[_OI_INPUT_VALUE])]
    if not outputs and not tool_calls and isinstance(attributes.get(_OI_OUTPUT_VALUE), str):
        outputs = [Message(role="assistant", content=attributes[_OI_OUTPUT_VALUE])]
    return CallFields(
        model=_text(model),
        provider=_opt_text(attributes.get(_OI_PROVIDER) or attributes.get(_OI_SYSTEM)),
        operation="embeddings" if kind == "EMBEDDING" else "chat",
        input_tokens=_int(attributes.get(_OI_PROMPT_TOKENS)),
        output_tokens=_int(attributes.get(_OI_COMPLETION_TOKENS)),
        input_messages=inputs,
        output_messages=_with_tool_calls(outputs, tool_calls),
        response_model=_opt_text(model),
        convention="openinference",
        tool_calls=tool_calls,
    )


@dataclass
class _Read:
    """Messages read from the semconv JSON form, with reasoning and tool calls kept apart."""

    messages: list[Message] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)


def _semconv_messages(raw: Any) -> _Read:
    """Messages in the ``gen_ai.input.messages`` / ``gen_ai.output.messages`` JSON form.

    Text parts are the message's text; ``tool_call`` parts are tool calls,
    also shown readably in the text; ``tool_call_response`` parts keep their
    response; ``reasoning`` parts are kept apart from the text.
    """
    read = _Read()
    for item in _json_list(raw):
        if not isinstance(item, dict):
            continue
        texts: list[str] = []
        for part in item.get("parts") or ():
            if isinstance(part, dict):
                _read_part(part, texts, read)
        read.messages.append(Message(role=str(item.get("role", "user")), content="\n".join(texts)))
    return read


def _read_part(part: dict[str, Any], texts: list[str], read: _Read) -> None:
    kind = part.get("type")
    if kind == "reasoning":
        if isinstance(part.get("content"), str):
            read.reasoning.append(part["content"])
    elif kind == "tool_call":
        call = ToolCall(
            name=_text(part.get("name")),
            arguments=parse_json_value(part.get("arguments")),
            call_id=_opt_text(part.get("id")),
        )
        read.tool_calls.append(call)
        texts.append(readable_tool_call(call))
    elif kind == "tool_call_response":
        texts.append(_readable_value(part.get("response", part.get("result"))))
    elif isinstance(part.get("content"), str):
        texts.append(part["content"])


def _system_messages(raw: Any) -> list[Message]:
    parts = _json_list(raw)
    texts = [
        p["content"] for p in parts if isinstance(p, dict) and isinstance(p.get("content"), str)
    ]
    text = "\n".join(texts)
    return [Message(role="system", content=text)] if text else []


def readable_tool_call(call: ToolCall) -> str:
    """One line a person reads as the tool call: ``tool_call: name({...})``."""
    return f"tool_call: {call.name}({_readable_value(call.arguments)})"


def _readable_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def parse_json_value(value: Any) -> Any:
    """A JSON string parsed (the raw string when it is not JSON); any other value as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _with_tool_calls(messages: list[Message], tool_calls: list[ToolCall]) -> list[Message]:
    """The reply's messages, with each requested tool call shown readably at the end."""
    if not tool_calls:
        return messages
    lines = [readable_tool_call(call) for call in tool_calls]
    if messages:
        last = messages[-1]
        text = "\n".join([last.content, *lines]) if last.content else "\n".join(lines)
        return [*messages[:-1], Message(role=last.role, content=text)]
    return [Message(role="assistant", content="\n".join(lines))]


def _indexed_tool_calls(
    attributes: Attributes, prefix: str, name: str, arguments: str, call_id: str
) -> list[ToolCall]:
    """Tool calls flattened as ``<prefix>N<name>`` / ``<prefix>N<arguments>`` attributes."""
    calls: list[ToolCall] = []
    index = 0
    while True:
        called = attributes.get(f"{prefix}{index}{name}")
        if called is None:
            return calls
        calls.append(
            ToolCall(
                name=str(called),
                arguments=parse_json_value(attributes.get(f"{prefix}{index}{arguments}")),
                call_id=_opt_text(attributes.get(f"{prefix}{index}{call_id}")),
            )
        )
        index += 1


def _indexed_messages(
    attributes: Attributes, prefix: str, role: str, content: str
) -> list[Message]:
    """Messages flattened as ``<prefix>N<role>`` / ``<prefix>N<content>`` attributes."""
    messages: list[Message] = []
    index = 0
    while True:
        text = attributes.get(f"{prefix}{index}{content}")
        who = attributes.get(f"{prefix}{index}{role}")
        if text is None and who is None:
            return messages
        messages.append(Message(role=str(who or "user"), content=_text(text)))
        index += 1


def _event_messages(events: Sequence[Any], *, output: bool) -> list[Message]:
    """Messages recorded as span events by older GenAI instrumentations."""
    messages = []
    for event in events:
        attributes = event.attributes or {}
        if output and event.name == _LEGACY_CHOICE_EVENT:
            messages.append(Message(role="assistant", content=_event_text(attributes)))
        elif not output and event.name in _LEGACY_MESSAGE_EVENTS:
            role = _LEGACY_MESSAGE_EVENTS[event.name]
            messages.append(Message(role=role, content=_event_text(attributes)))
        elif _LEGACY_CONTENT_EVENTS.get(event.name) == ("completion" if output else "prompt"):
            key = "gen_ai.completion" if output else "gen_ai.prompt"
            messages.extend(_loose_messages(attributes.get(key), "assistant" if output else "user"))
    return messages


def _event_text(attributes: Attributes) -> str:
    for key in ("content", "message", "gen_ai.event.content", "body"):
        value = attributes.get(key)
        if isinstance(value, str):
            parsed = _json_value(value)
            content = parsed.get("content") if isinstance(parsed, dict) else None
            return content if isinstance(content, str) else value
    return ""


def _loose_messages(raw: Any, default_role: str) -> list[Message]:
    value = _json_value(raw) if isinstance(raw, str) else raw
    if isinstance(value, list):
        return [
            Message(role=str(m.get("role", default_role)), content=_text(m.get("content")))
            for m in value
            if isinstance(m, dict)
        ]
    return [Message(role=default_role, content=str(raw))] if raw else []


def _json_list(raw: Any) -> list[Any]:
    value = _json_value(raw) if isinstance(raw, str) else raw
    return list(value) if isinstance(value, list | tuple) else []


def _json_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _text(value: Any) -> str:
    return value if type(value) is str else "" if value is None else str(value)


def _opt_text(value: Any) -> str | None:
    return value if value is None or type(value) is str else str(value)


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
