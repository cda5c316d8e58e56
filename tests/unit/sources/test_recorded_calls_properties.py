"""Property test: any span a decoder can produce becomes a recorded call or a skip, never an error.

Attributes are drawn from the keys the GenAI readers look at (current
semconv, the older spellings, OpenInference) with arbitrary values: text
that may or may not be JSON, numbers, arrays. Each case made is a valid
dataset row, and its input and output are the span's text, never cut.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaltrace.backfill import RecordedCall, SkippedSpan
from evaltrace.backfill._calls import recorded_calls
from evaltrace.records import Case
from evaltrace.tracing._record import SpanEvent, SpanRecord

_KEYS = st.sampled_from(
    ["gen_ai.operation.name", "gen_ai.request.model", "gen_ai.provider.name", "gen_ai.system",
     "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
     "gen_ai.prompt.0.content", "gen_ai.prompt.0.role", "gen_ai.completion.0.content",
     "gen_ai.completion.0.tool_calls.0.name", "gen_ai.usage.input_tokens",
     "gen_ai.response.id", "openinference.span.kind", "llm.model_name", "input.value",
     "output.value", "llm.input_messages.0.message.content",
     "llm.output_messages.0.message.content", "evaltrace.purpose", "evaltrace.run.id"]
)  # fmt: skip
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
_VALUES = (
    st.text(max_size=40)
    | st.integers()
    | st.floats()
    | st.booleans()
    | _JSONISH.map(json.dumps)
    | st.sampled_from(["chat", "LLM", "text_completion", "embeddings", "[", '[{"role": "user"'])
    | st.lists(st.text(max_size=5), max_size=3).map(tuple)
)
_ATTRIBUTES = st.dictionaries(_KEYS, _VALUES, max_size=10)
_EVENTS = st.lists(
    st.builds(
        SpanEvent,
        st.sampled_from(["gen_ai.user.message", "gen_ai.choice", "gen_ai.content.prompt", "x"]),
        st.integers(min_value=0, max_value=2**62),
        st.dictionaries(st.sampled_from(["content", "gen_ai.prompt", "message"]), _VALUES),
    ),
    max_size=3,
)


def _span(
    index: int, attributes: dict[str, Any], events: list[SpanEvent], parent: bool
) -> SpanRecord:
    return SpanRecord(
        trace_id=1,
        span_id=index + 1,
        name="chat",
        start_time=index,
        end_time=index + 1,
        attributes=attributes,
        parent_span_id=index if parent and index else None,
        status="unset",
        events=events,
    )


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.tuples(_ATTRIBUTES, _EVENTS, st.booleans()), min_size=1, max_size=4))
def test_any_span_is_a_call_or_a_skip(
    drawn: list[tuple[dict[str, Any], list[SpanEvent], bool]],
) -> None:
    spans = [_span(i, a, e, p) for i, (a, e, p) in enumerate(drawn)]
    for item in recorded_calls(spans):
        assert isinstance(item, RecordedCall | SkippedSpan)
        if isinstance(item, RecordedCall):
            case = item.case()
            assert Case.model_validate(case.model_dump(mode="json")) == case
            assert case.output == item.interaction.response and case.output
        else:
            assert item.reason and item.span_id
