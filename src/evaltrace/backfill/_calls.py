"""Recorded model calls, and the cases made from them: what a backfill evaluation scores.

Each inference span (chat, text completion, generate content) read from a
source goes through the one converter (``interaction_of``) and becomes a
``RecordedCall``; its ``case()`` is a ``Case`` whose input is the recorded
prompt messages, whose output is the recorded response, and whose metadata
names the call (model, provider, tokens, trace and span ids, service).

A span that cannot be scored fairly is skipped and reported as a
``SkippedSpan`` with its reason, never scored on partial text:

* ``no content``: the instrumentation did not capture the prompt or the
  response (content capture off, the default of most instrumentations);
* ``truncated``: a content attribute was cut by the backend or the SDK. A
  JSON-valued one (``gen_ai.input.messages``...) that does not parse is cut;
  a text one exactly at a truncation limit (Tempo's ``max_attribute_bytes``,
  2048 bytes by default: ``TRUNCATION_LIMITS``) is taken as cut;
* ``failed``: the call failed (no response to score);
* ``nested``: the span sits inside another model-call span (two
  instrumentations tracing the same request): the outer one is scored;
* ``evaltrace``: a call evaltrace made itself while evaluating (a judge).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from evaltrace._interaction import LLMInteraction
from evaltrace.records import Case
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import is_inference, operation_of
from evaltrace.tracing._convert import DEFAULT_PURPOSE, interaction_of
from evaltrace.tracing._inherit import NOTHING_INHERITED, Inherited, inherit_all
from evaltrace.tracing._record import SpanRecord

__all__ = [
    "TRUNCATION_LIMITS",
    "RecordedCall",
    "SkippedSpan",
    "is_chat_call",
    "recorded_calls",
]

#: Attribute value sizes (bytes) at which a text is taken as cut: Tempo's default
#: ``max_attribute_bytes``.
TRUNCATION_LIMITS: tuple[int, ...] = (2048,)
_CHAT_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
_JSON_CONTENT = (attr.INPUT_MESSAGES, attr.OUTPUT_MESSAGES, attr.SYSTEM_INSTRUCTIONS)
_TEXT_PREFIXES: tuple[str, ...] = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages.",
    "llm.output_messages.",
    attr.OI_INPUT_VALUE,
    attr.OI_OUTPUT_VALUE,
)
_EVENT_TEXT_KEYS = ("content", "message", "gen_ai.event.content", "body", "gen_ai.prompt")


class SkippedSpan(NamedTuple):
    """A recorded call that is not scored, and why (``kind`` is one of the module's reasons)."""

    trace_id: str
    span_id: str
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"trace {self.trace_id} span {self.span_id}: {self.reason}"


class RecordedCall(NamedTuple):
    """One model call read back from a source: its span and its interaction."""

    record: SpanRecord
    interaction: LLMInteraction

    @property
    def service(self) -> str | None:
        """The ``service.name`` of the application that made the call."""
        name = self.record.resource.get(attr.SERVICE_NAME)
        return None if name is None else str(name)

    def case(self) -> Case:
        """The call as a case: the recorded prompt messages in, the recorded response out."""
        call = self.interaction
        messages: list[Any] = [{"role": m.role, "content": m.content} for m in call.messages]
        metadata = {
            "trace_id": call.trace_id,
            "span_id": call.span_id,
            "model": call.model,
            "provider": call.provider,
            "operation": call.operation,
            "input_tokens": call.input_tokens,
            "output_tokens": call.output_tokens,
            "response_id": call.response_id,
            "service": self.service,
            "started_at": call.timestamp.isoformat(),
        }
        kept = {key: value for key, value in metadata.items() if value is not None}
        return Case(id=call.span_id, input=messages, output=call.response, metadata=kept)


def recorded_calls(
    spans: Sequence[SpanRecord],
    *,
    wanted: Any = None,
    truncation_limits: Iterable[int] = TRUNCATION_LIMITS,
) -> Iterator[RecordedCall | SkippedSpan]:
    """The model calls among ``spans`` (any traces, any order), or why each is skipped.

    ``wanted`` (a predicate on a span, e.g. ``SpanSelection.wants``) picks
    which inference spans are considered at all; the others are ignored.
    """
    limits = frozenset(truncation_limits)
    inherited = inherit_all(spans)
    by_id = {span.span_id: span for span in spans}
    for span in spans:
        if is_chat_call(span) and (wanted is None or wanted(span)):
            yield _call_or_skip(span, inherited, by_id, limits)


def is_chat_call(span: SpanRecord) -> bool:
    """An inference span that is not an embedding: a prompt and a response."""
    return is_inference(span.attributes) and operation_of(span.attributes) in _CHAT_OPERATIONS


def _call_or_skip(
    span: SpanRecord,
    inherited: Mapping[int, Inherited],
    by_id: Mapping[int, SpanRecord],
    limits: frozenset[int],
) -> RecordedCall | SkippedSpan:
    mine = inherited.get(span.span_id, NOTHING_INHERITED)
    parent = by_id.get(span.parent_span_id) if span.parent_span_id is not None else None
    if parent is not None and inherited.get(parent.span_id, NOTHING_INHERITED).in_call:
        return _skip(span, "nested", "nested in another model-call span (the same request)")
    if mine.run_id is not None and (mine.purpose or DEFAULT_PURPOSE) != DEFAULT_PURPOSE:
        return _skip(span, "evaltrace", f"a call evaltrace made to evaluate ({mine.purpose})")
    if span.status == "error":
        return _skip(span, "failed", "the call failed: no response to score")
    cut = _truncated(span, limits)
    if cut is not None:
        return _skip(span, "truncated", cut)
    try:
        call = interaction_of(span, mine._replace(purpose=None))
    except Exception as exc:  # unparseable content: reported, the rest is scored
        return _skip(span, "unreadable", f"unreadable content ({type(exc).__name__}: {exc})")
    if not call.prompt:
        return _skip(span, "no content", "no prompt content captured (content capture off?)")
    if not call.response:
        return _skip(span, "no content", "no response content captured")
    return RecordedCall(span, call)


def _skip(span: SpanRecord, kind: str, reason: str) -> SkippedSpan:
    return SkippedSpan(span.trace_hex, span.span_hex, kind, reason)


def _truncated(span: SpanRecord, limits: frozenset[int]) -> str | None:
    """Why the span's content looks cut, or None."""
    for key in _JSON_CONTENT:
        value = span.attributes.get(key)
        if isinstance(value, str) and not _parses(value):
            return f"{key} is not complete JSON ({len(value.encode())} bytes): truncated"
    for key, value in span.attributes.items():
        if isinstance(value, str) and key.startswith(_TEXT_PREFIXES) and _at_limit(value, limits):
            return f"{key} is exactly {len(value.encode())} bytes: truncated by the backend"
    for event in span.events:
        for key in _EVENT_TEXT_KEYS:
            value = event.attributes.get(key)
            if isinstance(value, str) and _at_limit(value, limits):
                return f"event {event.name} {key} is {len(value.encode())} bytes: truncated"
    return None


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _at_limit(text: str, limits: frozenset[int]) -> bool:
    """At a limit, or up to 3 bytes under it ending in U+FFFD (a character cut in two)."""
    if not limits or len(text) * 4 < min(limits) - 3:
        return False
    size = len(text.encode("utf-8", "surrogatepass"))
    if size in limits:
        return True
    return text.endswith("\ufffd") and any(0 <= limit - size <= 3 for limit in limits)
