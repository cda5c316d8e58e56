"""``LLMInteraction.metadata`` is kept packed and shared, and reads back exactly as given."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from typing import Any

from evaltrace import LLMInteraction, Message
from evaltrace.records import _METADATA_SLOT, MessageLayout
from evaltrace.tracing._convert import message_offsets, render_messages

MESSAGES = [Message(role="system", content="Be strict."), Message(role="user", content="Judge x.")]
PROMPT = render_messages(MESSAGES)


def _interaction(metadata: dict[str, Any], prompt: str = PROMPT) -> LLMInteraction:
    return LLMInteraction(
        prompt=prompt,
        response="{}",
        model="judge",
        tokens_used=3,
        latency=0.5,
        timestamp=datetime(2025, 1, 1, tzinfo=UTC),
        purpose="semantic_evaluation",
        metadata=metadata,
    )


def _judge_metadata() -> dict[str, Any]:
    return {
        "content_captured": True,
        "instrumentation": "evaltrace",
        "messages": message_offsets(MESSAGES),
        "finish_reasons": ["stop"],
        "temperature": 0.0,
        "attempt": 1,
    }


def test_metadata_reads_back_as_the_dict_it_was() -> None:
    interaction = _interaction(_judge_metadata())
    assert isinstance(interaction.metadata, dict)
    assert interaction.metadata == _judge_metadata()
    assert interaction.messages == MESSAGES
    assert LLMInteraction.model_validate_json(interaction.model_dump_json()) == interaction
    assert pickle.loads(pickle.dumps(interaction)) == interaction
    assert interaction.model_dump()["metadata"] == _judge_metadata()


def test_identical_metadata_is_one_object_and_offsets_are_a_layout() -> None:
    first, second = _interaction(_judge_metadata()), _interaction(_judge_metadata())
    packed = _METADATA_SLOT.__get__(first)
    assert packed is _METADATA_SLOT.__get__(second)
    assert isinstance(packed[packed[0].index("messages") + 1], MessageLayout)
    longer = _interaction(_judge_metadata() | {"messages": None}, PROMPT + " more")
    assert longer.metadata["messages"] is None


def test_a_response_id_per_call_leaves_the_rest_shared() -> None:
    first = _interaction(_judge_metadata() | {"response_id": "chatcmpl-1"})
    second = _interaction(_judge_metadata() | {"response_id": "chatcmpl-2"})
    assert first.metadata == _judge_metadata() | {"response_id": "chatcmpl-1"}
    assert list(first.metadata) == [*_judge_metadata(), "response_id"]
    assert second.metadata["response_id"] == "chatcmpl-2"
    assert _METADATA_SLOT.__get__(first)[0] is _METADATA_SLOT.__get__(second)[0]
    assert LLMInteraction.model_validate_json(first.model_dump_json()) == first


def test_equal_values_of_other_types_are_not_merged() -> None:
    as_bools = _interaction({"attempt": True, "temperature": 0})
    as_numbers = _interaction({"attempt": 1, "temperature": 0.0})
    assert as_bools.metadata["attempt"] is True and type(as_bools.metadata["temperature"]) is int
    assert as_numbers.metadata["attempt"] == 1 and as_numbers.metadata["attempt"] is not True
    assert type(as_numbers.metadata["temperature"]) is float


def test_metadata_that_cannot_be_packed_is_kept_as_given() -> None:
    odd_offsets = [["system", 0, 3], ["user", 5, 9]]  # not where render_messages puts them
    nested = {"messages": odd_offsets, "extra": {"a": [1, 2]}, "tags": ["x", 1]}
    interaction = _interaction(nested)
    assert interaction.metadata == nested
    assert interaction.messages == [
        Message(role="system", content=PROMPT[0:3]),
        Message(role="user", content=PROMPT[5:9]),
    ]
    assert _interaction({}).metadata == {}
