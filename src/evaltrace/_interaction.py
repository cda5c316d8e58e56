"""``LLMInteraction``: the record of one model call, and ``CallShape``, what calls share.

An interaction holds what is its own (prompt, response, times, token counts,
ids, error) as typed slots, and everything the calls of one model for one
purpose have in common (model, provider, purpose, operation, server, finish
reasons, the layout of the prompt's messages, attempt, metric...) as one
``CallShape``: a typed, hashable named tuple that identical calls share
(``CallShape.shared``). ``metadata`` is a real dict for anything else, created
when first asked for.

Why the shape is shared: most calls of an evaluation are the judge's, and
they differ only in their text, times and ids. One shape object for all of
them instead of a dict per call is what keeps 100,000 judge interactions at
about 1.45x their text (docs/design.md, docs/benchmarks.md P4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from operator import attrgetter
from sys import intern
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, NotRequired

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, TypeAdapter
from pydantic_core import core_schema
from typing_extensions import TypedDict

from evaltrace._pricing import is_local, price_usd

__all__ = [
    "CallShape",
    "LLMInteraction",
    "Message",
    "MessageLayout",
    "Step",
    "ToolCall",
    "render_prompt",
]

_ZERO = timedelta(0)


class Message(BaseModel):
    """One chat message sent to or received from a model.

    ``tool_calls`` are the tools an assistant turn asked to call;
    ``tool_call_id`` ties a ``tool`` message (a tool's result, its ``content``)
    to the call it answers.
    """

    model_config = ConfigDict(frozen=True)

    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


class ToolCall(BaseModel):
    """One tool call: requested by a model, or run by the application.

    ``arguments`` is the parsed JSON the call was given (the raw string when
    it was not JSON); ``result`` what the tool returned, when known;
    ``call_id`` the id that ties a model's request to the tool's execution;
    ``span_id`` (hex) the span it was read from.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: Any = None
    result: Any = None
    call_id: str | None = None
    span_id: str | None = None


class Step(BaseModel):
    """One step of what the application did.

    ``kind``: ``agent`` (an agent ran), ``model`` (a model call: ``name`` is
    the model, ``result`` the reply's text, ``tokens`` its token count) or
    ``tool`` (a tool call: ``arguments`` and ``result`` as ``ToolCall`` has
    them). ``span_id`` (hex) is the span the step was read from (for a tool
    call known only from a model's request, that model call's span);
    ``start`` is when it started and ``duration`` how long it took (s).
    ``error`` says what failed, for a failed span.
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["model", "tool", "agent"]
    name: str
    arguments: Any = None
    result: Any = None
    span_id: str | None = None
    start: datetime
    duration: float = 0.0
    tokens: int | None = None
    error: str | None = None


class MessageLayout(tuple[Any, ...]):
    """Where each message of a multi-message prompt sits in the prompt's text.

    ``(role, length, role, length, ..., role)``: each message's role and text
    length but the last's, whose text runs to the end of the prompt (see
    ``render_prompt``). Every call with the same system prompt has the same
    layout, so it is part of the shared ``CallShape``.
    """

    __slots__ = ()

    def offsets(self, prompt_length: int) -> list[tuple[str, int, int]]:
        """``(role, start, end)`` per message."""
        offsets: list[tuple[str, int, int]] = []
        position = 0
        last = len(self) - 1
        for index in range(0, len(self), 2):
            role = self[index]
            start = position + len(role) + 2  # "role: "
            end = prompt_length if index == last else start + self[index + 1]
            offsets.append((role, start, end))
            position = end + 2  # the blank line between messages
        return offsets


def render_prompt(messages: Sequence[Message]) -> tuple[str, MessageLayout | None]:
    """The prompt text of ``messages`` and its layout (None for one user message).

    One user message is its text alone; anything else is ``role: text``
    blocks separated by blank lines.
    """
    if len(messages) == 1 and messages[0].role == "user":
        return messages[0].content, None
    if len(messages) == 2:  # a system prompt and a question: most judge calls
        first, last = messages
        prompt = f"{first.role}: {first.content}\n\n{last.role}: {last.content}"
        return prompt, _layout((first.role, len(first.content), last.role))
    items: list[Any] = []
    for message in messages:
        items += (message.role, len(message.content))
    prompt = "\n\n".join(f"{m.role}: {m.content}" for m in messages)
    return prompt, _layout(tuple(items[:-1])) if items else None


@cache
def _layout(items: tuple[Any, ...]) -> MessageLayout:
    """One layout object per distinct layout (a judge's system prompt: one for all its calls)."""
    return MessageLayout(intern(item) if type(item) is str else item for item in items)


class CallShape(NamedTuple):
    """What a model call has in common with the other calls of its model and purpose.

    ``layout`` places the prompt's messages in its text; ``content_captured``
    is False when the span recorded no message content (an instrumentation
    with capture off); ``convention`` names the attribute convention the span
    used (``gen_ai``, ``gen_ai.legacy``, ``openinference``); ``instrumentation``
    is the tracer's scope name.
    """

    model: str
    purpose: str
    provider: str | None = None
    operation: str = "chat"
    server_address: str | None = None
    server_port: int | None = None
    response_model: str | None = None
    finish_reasons: tuple[str, ...] = ()
    layout: MessageLayout | None = None
    attempt: int | None = None
    metric: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    instrumentation: str | None = None
    convention: str = "gen_ai"
    content_captured: bool = True

    def shared(self) -> CallShape:
        """The one object kept for every shape equal to this one (value and type alike)."""
        temperature = self.temperature
        # The sign tells 0.0 from -0.0, which compare (and hash) equal.
        key = (self, None if temperature is None else math.copysign(1.0, temperature))
        found = _shapes.get(key)
        if found is not None:
            return found
        if len(_shapes) >= _SHAPE_LIMIT:
            _shapes.clear()
        _shapes[key] = self
        return self


#: Distinct shapes kept for sharing; started again when full, so it never
#: holds more than this many shapes of runs long gone.
_SHAPE_LIMIT = 4096
_shapes: dict[tuple[CallShape, float | None], CallShape] = {}

_SHAPE_FIELDS = CallShape._fields
_OWN_FIELDS = (
    "prompt",
    "response",
    "tokens_used",
    "latency",
    "timestamp",
    "input_tokens",
    "output_tokens",
    "trace_id",
    "span_id",
    "case_id",
    "trial",
    "response_id",
    "error",
    "reasoning",
    "tool_calls",
)


def _read_only(name: str) -> Any:
    """A read-only field over the private slot ``_<name>`` (a C-level getter: reads stay cheap).

    The record is frozen: setting a field raises ``FrozenInstanceError``. The
    trusted constructor assigns the slots directly, at a fifth of the cost of
    ``object.__setattr__`` on a class that forbids assignment (2.2 µs a call
    for 17 fields, measured).
    """

    def refuse(instance: object, value: object) -> None:
        raise FrozenInstanceError(f"LLMInteraction is frozen: cannot set {name!r}")

    return property(attrgetter(f"_{name}"), refuse, doc=f"The call's ``{name}``.")


class LLMInteraction:
    """Record of a single LLM call made during an evaluation.

    Built from the call's finished OpenTelemetry span: ``trace_id`` and
    ``span_id`` (hex) find the same call in Jaeger, Tempo or any OTLP backend.
    ``timestamp`` is the call's start (UTC) and ``latency`` its duration in
    seconds, both from the span's own times.

    Frozen. Validated and serialised like a pydantic model
    (``model_dump``, ``model_dump_json``, ``model_validate``,
    ``model_validate_json``, ``model_copy``). ``metadata`` is a dict of
    whatever else is known about the call; it is the one mutable part.
    """

    __slots__ = tuple(f"_{name}" for name in (*_OWN_FIELDS, "shape", "metadata"))

    if TYPE_CHECKING:  # what the fields are, for type checkers: read-only values

        @property
        def prompt(self) -> str: ...
        @property
        def response(self) -> str: ...
        @property
        def tokens_used(self) -> int: ...
        @property
        def latency(self) -> float: ...
        @property
        def timestamp(self) -> datetime: ...
        @property
        def input_tokens(self) -> int | None: ...
        @property
        def output_tokens(self) -> int | None: ...
        @property
        def trace_id(self) -> str: ...
        @property
        def span_id(self) -> str: ...
        @property
        def case_id(self) -> str | None: ...
        @property
        def trial(self) -> int | None: ...
        @property
        def response_id(self) -> str | None: ...
        @property
        def error(self) -> str | None: ...
        @property
        def reasoning(self) -> str | None: ...
        @property
        def tool_calls(self) -> tuple[ToolCall, ...]: ...
        @property
        def shape(self) -> CallShape: ...

    # The slots (private: read the fields above).
    _prompt: str
    _response: str
    _tokens_used: int
    _latency: float
    _timestamp: datetime
    _input_tokens: int | None
    _output_tokens: int | None
    _trace_id: str
    _span_id: str
    _case_id: str | None
    _trial: int | None
    _response_id: str | None
    _error: str | None
    _reasoning: str | None
    _tool_calls: tuple[ToolCall, ...]
    _shape: CallShape
    _metadata: dict[str, Any] | None

    def __init__(
        self,
        *,
        prompt: str,
        response: str,
        model: str,
        tokens_used: int,
        latency: float,
        timestamp: datetime,
        purpose: str,
        metadata: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        """Validate the fields (see ``LLMInteraction.fields``) into an interaction."""
        data = {
            "prompt": prompt,
            "response": response,
            "model": model,
            "tokens_used": tokens_used,
            "latency": latency,
            "timestamp": timestamp,
            "purpose": purpose,
            "metadata": dict(metadata or {}),
            **fields,
        }
        validated = _adapter().validate_python(data)
        for slot in LLMInteraction.__slots__:
            _SLOTS[slot].__set__(self, _SLOTS[slot].__get__(validated))

    @classmethod
    def trusted(
        cls,
        *,
        prompt: str,
        response: str,
        shape: CallShape,
        tokens_used: int,
        latency: float,
        timestamp: datetime,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        trace_id: str = "",
        span_id: str = "",
        case_id: str | None = None,
        trial: int | None = None,
        response_id: str | None = None,
        error: str | None = None,
        reasoning: str | None = None,
        tool_calls: tuple[ToolCall, ...] = (),
        metadata: dict[str, Any] | None = None,
    ) -> LLMInteraction:
        """An interaction from values already of the field types, unvalidated.

        For the converter, which builds every value itself (``timestamp`` in
        UTC, ``shape`` shared); validation costs about twice the rest of the
        conversion.
        """
        self = object.__new__(cls)
        self._prompt = prompt
        self._response = response
        self._shape = shape
        self._tokens_used = tokens_used
        self._latency = latency
        self._timestamp = timestamp
        self._input_tokens = input_tokens
        self._output_tokens = output_tokens
        self._trace_id = trace_id
        self._span_id = span_id
        self._case_id = case_id
        self._trial = trial
        self._response_id = response_id
        self._error = error
        self._reasoning = reasoning
        self._tool_calls = tool_calls
        self._metadata = metadata or None
        return self

    # The shape's fields, read through the interaction.
    @property
    def model(self) -> str:
        """The requested model (``gen_ai.request.model``)."""
        return self.shape.model

    @property
    def purpose(self) -> str:
        """Why the call was made: ``task``, ``semantic_evaluation``..."""
        return self.shape.purpose

    @property
    def provider(self) -> str | None:
        """``gen_ai.provider.name``."""
        return self.shape.provider

    @property
    def operation(self) -> str:
        """``chat``, ``text_completion``, ``embeddings``..."""
        return self.shape.operation

    @property
    def server_address(self) -> str | None:
        """``server.address`` of a remote model."""
        return self.shape.server_address

    @property
    def server_port(self) -> int | None:
        """``server.port`` of a remote model."""
        return self.shape.server_port

    @property
    def response_model(self) -> str | None:
        """The model that answered (``gen_ai.response.model``)."""
        return self.shape.response_model

    @property
    def finish_reasons(self) -> list[str]:
        """Why the model stopped, as the provider said it (``gen_ai.response.finish_reasons``)."""
        return list(self.shape.finish_reasons)

    @property
    def attempt(self) -> int | None:
        """Which attempt of a retried call this was (1 for the first)."""
        return self.shape.attempt

    @property
    def metric(self) -> str | None:
        """The metric that made the call, for a judge call."""
        return self.shape.metric

    @property
    def instrumentation(self) -> str | None:
        """The instrumentation scope (tracer name) that recorded the call."""
        return self.shape.instrumentation

    @property
    def content_captured(self) -> bool:
        """False when the span recorded no message content."""
        return self.shape.content_captured

    @property
    def metadata(self) -> dict[str, Any]:
        """Anything else known about the call; a dict that keeps what you put in it."""
        metadata = self._metadata
        if metadata is None:
            metadata = self._metadata = {}
        return metadata

    @property
    def messages(self) -> list[Message]:
        """The messages sent, structured (one user message when the prompt has no layout)."""
        layout = self.shape.layout
        if layout is None:
            return [Message(role="user", content=self.prompt)]
        prompt = self.prompt
        return [
            Message(role=role, content=prompt[start:end])
            for role, start, end in layout.offsets(len(prompt))
        ]

    @property
    def is_local(self) -> bool:
        """True for a model in this process or served from this machine (a loopback address)."""
        return is_local(self.shape.provider, self.shape.server_address)

    def cost(self) -> Decimal | None:
        """The call's price in USD from genai-prices; None when the model has no known price.

        Calls to models running on this machine (``is_local``) cost zero.
        """
        shape = self.shape
        return price_usd(
            shape.provider, shape.model, self.input_tokens, self.output_tokens, shape.server_address
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LLMInteraction):
            return NotImplemented
        return self._state() == other._state()

    __hash__ = None  # type: ignore[assignment]  # metadata is mutable

    def __repr__(self) -> str:
        return (
            f"LLMInteraction(purpose={self.purpose!r}, model={self.model!r}, "
            f"tokens_used={self.tokens_used}, latency={self.latency:.3f}, "
            f"span_id={self.span_id!r}, error={self.error!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self._state(),))

    def _state(self) -> tuple[Any, ...]:
        own = tuple(getattr(self, name) for name in _OWN_FIELDS)
        return (*own, self.shape, self._metadata or {})

    def fields(self) -> dict[str, Any]:
        """Every field by name, as ``model_dump`` gives them (Python values)."""
        fields: dict[str, Any] = {name: getattr(self, name) for name in _OWN_FIELDS}
        fields.update(self.shape._asdict())
        fields["layout"] = list(self.shape.layout) if self.shape.layout is not None else None
        fields["finish_reasons"] = list(self.shape.finish_reasons)
        fields["tool_calls"] = list(self.tool_calls)
        fields["metadata"] = dict(self._metadata or {})
        return fields

    def model_dump(self, *, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The fields as a dict (``mode="json"``: JSON-compatible values)."""
        dumped: dict[str, Any] = _adapter().dump_python(self, mode=mode)
        return dumped

    def model_dump_json(self, *, indent: int | None = None) -> str:
        """The interaction as JSON."""
        return _adapter().dump_json(self, indent=indent).decode()

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> LLMInteraction:
        """A copy with some fields replaced (validated)."""
        return type(self).model_validate({**self.fields(), **(update or {})})

    @classmethod
    def model_validate(cls, value: Any) -> LLMInteraction:
        """Validate a dict (or an interaction) into an interaction."""
        return _adapter().validate_python(value)

    @classmethod
    def model_validate_json(cls, data: str | bytes) -> LLMInteraction:
        """Parse and validate JSON into an interaction."""
        return _adapter().validate_json(data)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        fields_schema = handler.generate_schema(InteractionFields)
        from_fields = core_schema.no_info_after_validator_function(_from_fields, fields_schema)
        return core_schema.json_or_python_schema(
            json_schema=from_fields,
            python_schema=core_schema.union_schema(
                [core_schema.is_instance_schema(cls), from_fields]
            ),
            serialization=core_schema.plain_serializer_function_ser_schema(
                _to_fields, return_schema=fields_schema
            ),
        )


class InteractionFields(TypedDict):
    """An interaction as a results file holds it (schema 4)."""

    prompt: str
    response: str
    model: str
    tokens_used: int
    latency: float
    timestamp: datetime
    purpose: str
    metadata: NotRequired[dict[str, Any]]
    input_tokens: NotRequired[int | None]
    output_tokens: NotRequired[int | None]
    provider: NotRequired[str | None]
    operation: NotRequired[str]
    trace_id: NotRequired[str]
    span_id: NotRequired[str]
    case_id: NotRequired[str | None]
    trial: NotRequired[int | None]
    response_id: NotRequired[str | None]
    error: NotRequired[str | None]
    reasoning: NotRequired[str | None]
    tool_calls: NotRequired[list[ToolCall]]
    server_address: NotRequired[str | None]
    server_port: NotRequired[int | None]
    response_model: NotRequired[str | None]
    finish_reasons: NotRequired[list[str]]
    layout: NotRequired[list[str | int] | None]
    attempt: NotRequired[int | None]
    metric: NotRequired[str | None]
    temperature: NotRequired[float | None]
    max_tokens: NotRequired[int | None]
    instrumentation: NotRequired[str | None]
    convention: NotRequired[str]
    content_captured: NotRequired[bool]


def _from_fields(fields: InteractionFields) -> LLMInteraction:
    values: dict[str, Any] = dict(fields)
    timestamp: datetime = values["timestamp"]
    if timestamp.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    if timestamp.utcoffset() != _ZERO:
        values["timestamp"] = timestamp.astimezone(UTC)
    layout = values.get("layout")
    values["layout"] = _layout(tuple(layout)) if layout else None
    values["finish_reasons"] = tuple(values.get("finish_reasons") or ())
    values["tool_calls"] = tuple(values.get("tool_calls") or ())
    shape = CallShape(
        **{name: values.pop(name) for name in _SHAPE_FIELDS if name in values}
    ).shared()
    return LLMInteraction.trusted(shape=shape, **values)


def _to_fields(interaction: LLMInteraction) -> dict[str, Any]:
    return interaction.fields()


def _restore(state: tuple[Any, ...]) -> LLMInteraction:
    *own, shape, metadata = state
    values = dict(zip(_OWN_FIELDS, own, strict=True))
    return LLMInteraction.trusted(shape=CallShape(*shape).shared(), metadata=metadata, **values)


for _name in (*_OWN_FIELDS, "shape"):  # the fields, as read-only properties over the slots
    setattr(LLMInteraction, _name, _read_only(_name))
del _name

#: The member descriptors of the record's slots, by slot name.
_SLOTS: dict[str, Any] = {slot: LLMInteraction.__dict__[slot] for slot in LLMInteraction.__slots__}


@cache
def _adapter() -> TypeAdapter[LLMInteraction]:
    return TypeAdapter(LLMInteraction)
