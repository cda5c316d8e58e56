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

from evaltrace.records import Message
from evaltrace.tracing import _attributes as attr

__all__ = ["CallFields", "is_inference", "read_call"]

Attributes = Mapping[str, Any]

# Older GenAI conventions (before gen_ai.input.messages and gen_ai.provider.name).
_LEGACY_PROMPT_PREFIX = "gen_ai.prompt."
_LEGACY_COMPLETION_PREFIX = "gen_ai.completion."
_LEGACY_PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
_LEGACY_COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"
_LEGACY_REQUEST_TYPE = "llm.request.type"
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
_OI_SPAN_KIND = "openinference.span.kind"
_OI_INFERENCE_KINDS = frozenset({"LLM", "EMBEDDING"})
_OI_MODEL = "llm.model_name"
_OI_PROVIDER = "llm.provider"
_OI_SYSTEM = "llm.system"
_OI_PROMPT_TOKENS = "llm.token_count.prompt"
_OI_COMPLETION_TOKENS = "llm.token_count.completion"
_OI_INPUT_MESSAGES = "llm.input_messages."
_OI_OUTPUT_MESSAGES = "llm.output_messages."
_OI_INPUT_VALUE = "input.value"
_OI_OUTPUT_VALUE = "output.value"
_OI_EMBEDDING_MODEL = "embedding.model_name"


@dataclass
class CallFields:
    """What a span says about one model call, convention-independent."""

    model: str = ""
    provider: str | None = None
    operation: str = "chat"
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_messages: list[Message] = field(default_factory=list)
    output_messages: list[Message] = field(default_factory=list)
    response_model: str | None = None
    response_id: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    convention: str = "gen_ai"

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
    legacy = attr.PROVIDER_NAME not in attributes and attr.SYSTEM in attributes
    call = CallFields(
        model=_text(attributes.get(attr.REQUEST_MODEL) or attributes.get(attr.RESPONSE_MODEL)),
        provider=_opt_text(attributes.get(attr.PROVIDER_NAME) or attributes.get(attr.SYSTEM)),
        operation=_text(
            attributes.get(attr.OPERATION_NAME) or attributes.get(_LEGACY_REQUEST_TYPE) or "chat"
        ),
        input_tokens=_int(
            attributes.get(attr.USAGE_INPUT_TOKENS, attributes.get(_LEGACY_PROMPT_TOKENS))
        ),
        output_tokens=_int(
            attributes.get(attr.USAGE_OUTPUT_TOKENS, attributes.get(_LEGACY_COMPLETION_TOKENS))
        ),
        response_model=_opt_text(attributes.get(attr.RESPONSE_MODEL)),
        response_id=_opt_text(attributes.get(attr.RESPONSE_ID)),
        finish_reasons=[str(r) for r in attributes.get(attr.RESPONSE_FINISH_REASONS) or ()],
        convention="gen_ai.legacy" if legacy else "gen_ai",
    )
    return call


def _read_gen_ai_messages(call: CallFields, attributes: Attributes, events: Sequence[Any]) -> None:
    call.input_messages = (
        _system_messages(attributes.get(attr.SYSTEM_INSTRUCTIONS))
        + _semconv_messages(attributes.get(attr.INPUT_MESSAGES))
        or _indexed_messages(attributes, _LEGACY_PROMPT_PREFIX, ".role", ".content")
        or _event_messages(events, output=False)
    )
    call.output_messages = (
        _semconv_messages(attributes.get(attr.OUTPUT_MESSAGES))
        or _indexed_messages(attributes, _LEGACY_COMPLETION_PREFIX, ".role", ".content")
        or _event_messages(events, output=True)
    )


def _read_openinference(attributes: Attributes) -> CallFields:
    kind = attributes.get(_OI_SPAN_KIND)
    model = attributes.get(_OI_MODEL) or attributes.get(_OI_EMBEDDING_MODEL)
    inputs = _indexed_messages(attributes, _OI_INPUT_MESSAGES, ".message.role", ".message.content")
    outputs = _indexed_messages(
        attributes, _OI_OUTPUT_MESSAGES, ".message.role", ".message.content"
    )
    if not inputs and isinstance(attributes.get(_OI_INPUT_VALUE), str):
        inputs = [Message(role="user", content=attributes[_OI_INPUT_VALUE])]
    if not outputs and isinstance(attributes.get(_OI_OUTPUT_VALUE), str):
        outputs = [Message(role="assistant", content=attributes[_OI_OUTPUT_VALUE])]
    return CallFields(
        model=_text(model),
        provider=_opt_text(attributes.get(_OI_PROVIDER) or attributes.get(_OI_SYSTEM)),
        operation="embeddings" if kind == "EMBEDDING" else "chat",
        input_tokens=_int(attributes.get(_OI_PROMPT_TOKENS)),
        output_tokens=_int(attributes.get(_OI_COMPLETION_TOKENS)),
        input_messages=inputs,
        output_messages=outputs,
        response_model=_opt_text(model),
        convention="openinference",
    )


def _semconv_messages(raw: Any) -> list[Message]:
    """Messages in the ``gen_ai.input.messages`` / ``gen_ai.output.messages`` JSON form."""
    items = _json_list(raw)
    return [
        Message(role=str(item.get("role", "user")), content=_parts_text(item.get("parts")))
        for item in items
        if isinstance(item, dict)
    ]


def _system_messages(raw: Any) -> list[Message]:
    parts = _json_list(raw)
    text = _parts_text(parts)
    return [Message(role="system", content=text)] if text else []


def _parts_text(parts: Any) -> str:
    if not isinstance(parts, list):
        return ""
    texts = []
    for part in parts:
        if isinstance(part, dict):
            content = part.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif part.get("type") == "tool_call":
                texts.append(
                    json.dumps({"tool_call": part.get("name"), "arguments": part.get("arguments")})
                )
    return "\n".join(texts)


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
    return "" if value is None else str(value)


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
