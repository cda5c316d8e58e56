"""The data evaltrace takes in and gives back: cases, interactions, scores, results.

Every record is a pydantic model, so a whole ``EvaluationResult`` round-trips
through JSON (``model_dump_json`` / ``EvaluationResult.model_validate_json``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from sys import intern
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator
from pydantic.dataclasses import dataclass

from evaltrace._pricing import is_local, price_usd

_ZERO = timedelta(0)

__all__ = [
    "Case",
    "CaseResult",
    "LLMInteraction",
    "Message",
    "Score",
]


class Message(BaseModel):
    """One chat message sent to or received from a model."""

    model_config = ConfigDict(frozen=True)

    role: str
    content: str


class Case(BaseModel):
    """One thing to evaluate.

    ``output`` is the answer to judge; leave it empty and pass a ``task`` to
    ``evaluate`` to have the system under test produce it. ``id`` defaults to the
    case's position in the dataset.
    """

    model_config = ConfigDict(frozen=True)

    input: str
    output: str | None = None
    expected: str | None = None
    context: str | list[str] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None

    @property
    def context_text(self) -> str | None:
        """The context as one string (list items joined by blank lines)."""
        if isinstance(self.context, list):
            return "\n\n".join(self.context)
        return self.context


@dataclass(frozen=True, slots=True, kw_only=True)
class LLMInteraction:
    """Record of a single LLM call made during an evaluation.

    Built from the call's finished OpenTelemetry span: ``trace_id`` and
    ``span_id`` (hex) find the same call in Jaeger, Tempo or any OTLP backend.
    ``timestamp`` is the call's start (UTC) and ``latency`` its duration in
    seconds, both from the span's own times.

    A frozen pydantic dataclass with slots: validated like a pydantic model
    (``model_dump``, ``model_dump_json``, ``model_validate``,
    ``model_validate_json`` and ``model_copy`` work as on one), but without a
    per-instance ``__dict__``, so holding many interactions costs little more
    than their text.
    """

    prompt: str
    response: str
    model: str
    tokens_used: int
    latency: float
    timestamp: datetime
    purpose: str
    metadata: dict[str, Any] = field(default_factory=dict)
    input_tokens: int | None = None
    output_tokens: int | None = None
    provider: str | None = None
    operation: str = "chat"
    trace_id: str = ""
    span_id: str = ""
    case_id: str | None = None
    error: str | None = None

    @classmethod
    def _trusted(
        cls,
        prompt: str,
        response: str,
        model: str,
        tokens_used: int,
        latency: float,
        timestamp: datetime,
        purpose: str,
        metadata: PackedMetadata,
        input_tokens: int | None,
        output_tokens: int | None,
        provider: str | None,
        operation: str,
        trace_id: str,
        span_id: str,
        case_id: str | None,
        error: str | None,
    ) -> LLMInteraction:
        """An interaction from values already of the field types (UTC timestamp), unvalidated.

        For the converter of evaltrace's own spans, which builds every value
        itself (``metadata`` already packed, see ``pack_metadata``): validation
        was a fifth of the conversion's cost.
        """
        self = object.__new__(cls)
        p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15 = _slot_setters()
        p0(self, prompt)
        p1(self, response)
        p2(self, model)
        p3(self, tokens_used)
        p4(self, latency)
        p5(self, timestamp)
        p6(self, purpose)
        p7(self, metadata)
        p8(self, input_tokens)
        p9(self, output_tokens)
        p10(self, provider)
        p11(self, operation)
        p12(self, trace_id)
        p13(self, span_id)
        p14(self, case_id)
        p15(self, error)
        return self

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware")
        return value if value.utcoffset() == _ZERO else value.astimezone(UTC)

    def cost(self) -> Decimal | None:
        """The call's price in USD from genai-prices; None when the model has no known price.

        Calls to models running on this machine (``is_local``) cost zero.
        """
        return price_usd(
            self.provider, self.model, self.input_tokens, self.output_tokens, self._server()
        )

    @property
    def is_local(self) -> bool:
        """True for a model in this process or served from this machine (a loopback address)."""
        return is_local(self.provider, self._server())

    @property
    def messages(self) -> list[Message]:
        """The messages sent, structured.

        ``metadata["messages"]`` holds ``[role, start, end]`` per message (where
        its text sits in ``prompt``) when the prompt is more than one user
        message; otherwise the prompt is the one user message.
        """
        raw = _metadata_value(self, "messages")
        if raw is None:
            return [Message(role="user", content=self.prompt)]
        return [Message(role=role, content=self.prompt[start:end]) for role, start, end in raw]

    def _server(self) -> str | None:
        address = _metadata_value(self, "server_address")
        return address if isinstance(address, str) else None

    def model_dump(self, *, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The fields as a dict (``mode="json"``: JSON-compatible values)."""
        fields: dict[str, Any] = _interaction_adapter().dump_python(self, mode=mode)
        return fields

    def model_dump_json(self, *, indent: int | None = None) -> str:
        """The interaction as JSON."""
        return _interaction_adapter().dump_json(self, indent=indent).decode()

    def model_copy(self, *, update: dict[str, Any] | None = None) -> LLMInteraction:
        """A copy with some fields replaced (validated)."""
        return type(self).model_validate({**self.model_dump(), **(update or {})})

    @classmethod
    def model_validate(cls, value: Any) -> LLMInteraction:
        """Validate a dict (or an interaction) into an interaction."""
        return _interaction_adapter().validate_python(value)

    @classmethod
    def model_validate_json(cls, data: str | bytes) -> LLMInteraction:
        """Parse and validate JSON into an interaction."""
        return _interaction_adapter().validate_json(data)


# ``metadata`` is kept packed (see below); the dataclass field is a property over its slot.
_METADATA_SLOT: Any = LLMInteraction.__dict__["metadata"]


class MessageLayout(tuple[Any, ...]):
    """``metadata["messages"]`` of a prompt made by ``render_messages``, without its numbers.

    ``(role, length, role, length, ..., role)``: each message's role and text
    length but the last's, whose text runs to the end of the prompt. The
    ``[role, start, end]`` offsets follow from it and the prompt's length, so
    every judge call with the same system prompt shares one layout.
    """

    __slots__ = ()

    def offsets(self, prompt_length: int) -> list[list[Any]]:
        """``[role, start, end]`` per message."""
        offsets: list[list[Any]] = []
        position = 0
        last = len(self) - 1
        for index in range(0, len(self), 2):
            role = self[index]
            start = position + len(role) + 2  # "role: "
            end = prompt_length if index == last else start + self[index + 1]
            offsets.append([role, start, end])
            position = end + 2  # the blank line between messages
        return offsets

    @classmethod
    def of(cls, offsets: Any, prompt_length: int) -> MessageLayout | None:
        """The layout of ``[role, start, end]`` offsets, or None if they are not that layout."""
        if not isinstance(offsets, list) or not offsets:
            return None
        items: list[Any] = []
        position = 0
        for entry in offsets:
            if not (isinstance(entry, list | tuple) and len(entry) == 3):
                return None
            role, start, end = entry
            if not (isinstance(role, str) and type(start) is int and type(end) is int):
                return None
            if start != position + len(role) + 2 or end < start:
                return None
            items += (intern(role), end - start)
            position = end + 2
        if position - 2 != prompt_length:
            return None
        return cls(items[:-1])


class StringList(tuple[str, ...]):
    """A list of strings (``finish_reasons``) kept as a shareable tuple; unpacks to a list."""

    __slots__ = ()


class _WithResponseId(tuple[Any, ...]):
    """``(pack, response_id)``: a call's own response id beside a pack shared with other calls."""

    __slots__ = ()


#: Packed metadata: ``(keys, value, value, ...)``, the keys a shared tuple.
PackedMetadata = tuple[Any, ...]
_RESPONSE_ID = "response_id"
#: Distinct packs kept for sharing; the cache starts again when full, so it
#: never holds more than this many packs of runs long gone.
_SHARE_LIMIT = 1024
_shared_keys: dict[tuple[str, ...], tuple[str, ...]] = {}
_shared_packs: dict[tuple[Any, ...], PackedMetadata] = {}


def pack_metadata(metadata: dict[str, Any], prompt_length: int | None = None) -> PackedMetadata:
    """The compact form ``LLMInteraction`` keeps its metadata in.

    A tuple of the values behind one shared tuple of keys; ``messages``
    offsets that ``render_messages`` made become a ``MessageLayout``; lists of
    strings become tuples. Identical packs (the same judge's calls: same
    model, finish reasons, system prompt, attempt...) are one object; a pack
    holding an unhashable value (a nested dict...) is not shared.
    """
    values: list[Any] = [shared_keys(tuple(metadata))]
    for key, value in metadata.items():
        if type(value) is list:
            if key == "messages" and prompt_length is not None:
                layout = MessageLayout.of(value, prompt_length)
                if layout is not None:
                    value = layout
            if type(value) is list and all(type(item) is str for item in value):
                value = StringList(value)
        values.append(value)
    return share_packed(tuple(values))


def shared_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple object per distinct key sequence."""
    shared = _shared_keys.get(keys)
    if shared is None:
        if len(_shared_keys) >= _SHARE_LIMIT:
            return keys
        shared = _shared_keys[keys] = keys
    return shared


def share_packed(packed: PackedMetadata) -> PackedMetadata:
    """One object for every identical pack (equal values of the same types).

    A string ``response_id`` (one per call) is kept beside the shared rest.
    """
    keys = packed[0]
    if _RESPONSE_ID in keys:
        index = keys.index(_RESPONSE_ID) + 1
        response_id = packed[index]
        if type(response_id) is str:
            common = _shared((*packed[:index], None, *packed[index + 1 :]))
            return _WithResponseId((common, response_id))
    return _shared(packed)


def split_response_id(packed: PackedMetadata) -> tuple[PackedMetadata, str | None]:
    """``share_packed``'s result as (the shareable pack, the call's own response id or None)."""
    if type(packed) is _WithResponseId:
        return packed[0], packed[1]
    return packed, None


def with_response_id(common: PackedMetadata, response_id: str | None) -> PackedMetadata:
    """The inverse of ``split_response_id``."""
    return common if response_id is None else _WithResponseId((common, response_id))


def _shared(packed: PackedMetadata) -> PackedMetadata:
    try:
        signature = (packed, tuple(map(type, packed)))  # True == 1 == 1.0: types tell them apart
        shared = _shared_packs.get(signature)
    except TypeError:  # an unhashable value (a nested dict...): not shared
        return packed
    if shared is not None:
        return shared
    if len(_shared_packs) >= _SHARE_LIMIT:
        _shared_packs.clear()
    _shared_packs[signature] = packed
    return packed


def unpack_metadata(packed: PackedMetadata | dict[str, Any], prompt: str) -> dict[str, Any]:
    """The metadata dict of a packed form, as it was given (a fresh dict unless kept unpacked)."""
    if isinstance(packed, dict):
        return packed
    if type(packed) is _WithResponseId:
        metadata = unpack_metadata(packed[0], prompt)
        metadata[_RESPONSE_ID] = packed[1]
        return metadata
    return {key: _unpacked(value, prompt) for key, value in zip(packed[0], packed[1:], strict=True)}


def _unpacked(value: Any, prompt: str) -> Any:
    """A packed metadata value as the dict holds it: a layout's offsets, a string list's list."""
    kind = type(value)
    if kind is MessageLayout:
        return value.offsets(len(prompt))
    if kind is StringList:
        return list(value)
    return value


def _metadata_value(interaction: LLMInteraction, key: str) -> Any:
    """One metadata value without unpacking the rest."""
    packed = _METADATA_SLOT.__get__(interaction)
    if type(packed) is dict:
        return packed.get(key)
    if type(packed) is _WithResponseId:
        packed, response_id = packed
        if key == _RESPONSE_ID:
            return response_id
    keys = packed[0]
    if key not in keys:
        return None
    return _unpacked(packed[keys.index(key) + 1], interaction.prompt)


def _get_metadata(self: LLMInteraction) -> dict[str, Any]:
    return unpack_metadata(_METADATA_SLOT.__get__(self), self.prompt)


def _set_metadata(self: LLMInteraction, value: dict[str, Any]) -> None:
    try:
        prompt_length: int | None = len(self.prompt)
    except AttributeError:  # fields set out of order: offsets kept as they are
        prompt_length = None
    _METADATA_SLOT.__set__(self, pack_metadata(value, prompt_length))


setattr(  # noqa: B010 - replaces the slot's descriptor on the class, keeping the slot
    LLMInteraction,
    "metadata",
    property(
        _get_metadata,
        _set_metadata,
        doc="Everything else about the call (a fresh dict on each access; kept packed).",
    ),
)


@cache
def _slot_setters() -> tuple[Callable[[Any, Any], None], ...]:
    """The slots' own setters, in field order (faster than ``object.__setattr__`` by name).

    ``metadata``'s is its slot's, under the property that packs what it is given.
    """
    return tuple(
        (_METADATA_SLOT if f.name == "metadata" else getattr(LLMInteraction, f.name)).__set__
        for f in fields(LLMInteraction)
    )


@cache
def _interaction_adapter() -> TypeAdapter[LLMInteraction]:
    return TypeAdapter(LLMInteraction)


class Score(BaseModel):
    """One metric's verdict on one case.

    A metric that could not score the case (judge unreachable, unreadable reply)
    has ``value`` None, ``error`` set, and the judge's ``raw_reply`` when there
    was one. Scores are 0..1.
    """

    model_config = ConfigDict(frozen=True)

    metric: str
    value: float | None
    passed: bool | None = None
    label: str | None = None
    explanation: str = ""
    error: str | None = None
    raw_reply: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when the metric could not produce a score."""
        return self.error is not None


class CaseResult(BaseModel):
    """A case, its output, its scores and the model calls made for it."""

    case: Case
    case_id: str
    output: str | None
    scores: list[Score] = Field(default_factory=list)
    interactions: list[LLMInteraction] = Field(default_factory=list)
    error: str | None = None
    duration: float = 0.0
    #: When the case's span started (UTC); None in results saved before schema 2.
    started_at: datetime | None = None

    def score(self, metric: str) -> Score | None:
        """The score of the metric named ``metric``, if it ran."""
        return next((s for s in self.scores if s.metric == metric), None)

    @property
    def error_summary(self) -> str | None:
        """The task's error, else each metric failure as ``metric: error``; None if none."""
        if self.error is not None:
            return self.error
        failed = [f"{s.metric}: {s.error}" for s in self.scores if s.error is not None]
        return "; ".join(failed) or None


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a crash never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
