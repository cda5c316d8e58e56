"""``LLMInteraction``: typed fields, one shared ``CallShape`` per kind of call, a real dict."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from evaltrace import LLMInteraction, Message
from evaltrace._interaction import render_prompt
from evaltrace.records import CallShape

MESSAGES = [Message(role="system", content="Be strict."), Message(role="user", content="Judge x.")]
PROMPT, LAYOUT = render_prompt(MESSAGES)


def _interaction(**fields: Any) -> LLMInteraction:
    values: dict[str, Any] = {
        "prompt": PROMPT,
        "response": "{}",
        "model": "judge",
        "tokens_used": 3,
        "latency": 0.5,
        "timestamp": datetime(2025, 1, 1, tzinfo=UTC),
        "purpose": "semantic_evaluation",
        "layout": list(LAYOUT or ()),
        "finish_reasons": ["stop"],
        "temperature": 0.0,
        "attempt": 1,
    }
    values.update(fields)
    return LLMInteraction(**values)


def test_fields_read_back_typed_and_the_record_round_trips() -> None:
    interaction = _interaction(response_id="chatcmpl-1", metadata={"tag": "x"})
    assert interaction.messages == MESSAGES
    assert (interaction.attempt, interaction.response_id) == (1, "chatcmpl-1")
    assert interaction.finish_reasons == ["stop"]
    assert interaction.metadata == {"tag": "x"}
    assert LLMInteraction.model_validate_json(interaction.model_dump_json()) == interaction
    assert pickle.loads(pickle.dumps(interaction)) == interaction
    assert interaction.model_dump()["response_id"] == "chatcmpl-1"


def test_calls_of_one_kind_share_one_shape_and_keep_their_own_ids() -> None:
    first = _interaction(response_id="chatcmpl-1")
    second = _interaction(response_id="chatcmpl-2")
    assert first.shape is second.shape
    assert isinstance(first.shape, CallShape)
    assert (first.response_id, second.response_id) == ("chatcmpl-1", "chatcmpl-2")


def test_equal_values_of_other_types_or_signs_are_never_merged() -> None:
    """Bug: packs were shared on ==, so (True, False) read back as (1, 0), 0.0 as -0.0."""
    as_numbers = _interaction(metadata={"flags": (1, 0), "t": 0.0})
    as_bools = _interaction(metadata={"flags": (True, False), "t": -0.0})
    assert as_bools.metadata["flags"] == (True, False)
    assert all(type(v) is bool for v in as_bools.metadata["flags"])
    assert str(as_bools.metadata["t"]) == "-0.0" and str(as_numbers.metadata["t"]) == "0.0"
    positive, negative = _interaction(temperature=0.0), _interaction(temperature=-0.0)
    assert str(positive.shape.temperature) == "0.0"
    assert str(negative.shape.temperature) == "-0.0"


def test_aware_datetimes_keep_their_own_timezone_in_metadata() -> None:
    paris = datetime(2025, 6, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    tokyo = datetime(2025, 6, 1, 12, tzinfo=timezone(timedelta(hours=9)))
    first = _interaction(metadata={"when": paris})
    second = _interaction(metadata={"when": tokyo})
    assert first.metadata["when"].utcoffset() == timedelta(hours=2)
    assert second.metadata["when"].utcoffset() == timedelta(hours=9)


def test_metadata_is_a_real_dict_whose_changes_stay() -> None:
    """Bug: ``i.metadata["x"] = 2`` was silently lost (a fresh dict on every access)."""
    interaction = _interaction()
    interaction.metadata["x"] = 2
    assert interaction.metadata == {"x": 2}
    assert interaction.model_dump()["metadata"] == {"x": 2}


def test_the_record_itself_is_frozen() -> None:
    interaction = _interaction()
    with pytest.raises(AttributeError):
        interaction.prompt = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        interaction.shape = interaction.shape  # type: ignore[misc]


def test_a_timestamp_must_be_aware_and_is_kept_in_utc() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _interaction(timestamp=datetime(2025, 1, 1))
    local = datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert _interaction(timestamp=local).timestamp == datetime(2025, 1, 1, 10, tzinfo=UTC)


def test_a_prompt_of_one_user_message_has_no_layout() -> None:
    interaction = _interaction(prompt="just a question", layout=None)
    assert interaction.messages == [Message(role="user", content="just a question")]
