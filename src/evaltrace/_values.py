"""A case's values as text, in one place: judge prompts, tables, the report and metrics.

A case's ``input``, ``output`` and ``expected`` are JSON values: a string, a
number, a boolean, null, an object or an array. A conversation is a list of
``{"role": ..., "content": ...}`` messages.

* ``as_text`` is what a person (or a judge) reads: a string as it is, a
  conversation as ``role: content`` blocks, anything else as indented JSON.
* ``canonical_json`` is what equality compares: sorted keys, no spaces, so
  two values that are equal as JSON have the same text.
* ``dataset_fingerprint`` is what a dataset is known by in the run history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from evaltrace.records import Case

__all__ = [
    "DatasetDigest",
    "as_text",
    "canonical_json",
    "conversation",
    "dataset_fingerprint",
    "is_conversation",
    "one_line",
    "parsed_json",
]


def as_text(value: Any) -> str:
    """The value as a person reads it (``""`` for null)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    messages = conversation(value)
    if messages is not None:
        return "\n\n".join(f"{role}: {as_text(content)}" for role, content in messages)
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def one_line(value: Any) -> str | None:
    """The value on one line, for a table cell (None for null: the cell shows it as absent)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    messages = conversation(value)
    if messages is not None:
        return " | ".join(f"{role}: {one_line(content) or ''}" for role, content in messages)
    return json.dumps(value, ensure_ascii=False, default=str)


def canonical_json(value: Any) -> str:
    """The value as compact JSON with sorted keys: equal JSON values, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def is_conversation(value: Any) -> bool:
    """True for a non-empty list of ``{role, content}`` messages."""
    return conversation(value) is not None


def conversation(value: Any) -> list[tuple[str, Any]] | None:
    """``(role, content)`` per message when ``value`` is a conversation, else None."""
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        return None
    messages: list[tuple[str, Any]] = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("role"), str):
            return None
        messages.append((item["role"], item.get("content")))
    return messages


def parsed_json(value: Any) -> Any:
    """A string that holds JSON, parsed (a model's reply of JSON text); other values as they are."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def dataset_fingerprint(cases: Iterable[Case]) -> str:
    """The dataset's fingerprint: a SHA-256 (hex) of its cases, whatever their order.

    Each case counts by its id (None when it has none), input, expected,
    context and the output it came with (None when it has none): the same
    cases in another order have the same fingerprint; any other change to a
    case changes it. Metadata does not count (it is about the case, not in it).
    ``DatasetDigest`` computes it case by case (for a dataset read lazily).
    """
    digest = DatasetDigest()
    for case in cases:
        digest.add(case)
    return digest.hexdigest()


class DatasetDigest:
    """``dataset_fingerprint``, added to case by case: 32 bytes kept per case.

    The fingerprint is the SHA-256 over the sorted SHA-256 digests of each
    case's canonical JSON ``[id, input, expected, context, [output] or None]``.
    The digests are kept end to end in one buffer and sorted there.
    """

    def __init__(self) -> None:
        self._digests = bytearray()

    def add(self, case: Case) -> None:
        """Count one case."""
        row = canonical_json(
            [
                case.id,
                case.input,
                case.expected,
                case.context,
                [case.output] if case.has_output else None,
            ]
        )
        self._digests += hashlib.sha256(row.encode("utf-8")).digest()

    def hexdigest(self) -> str:
        """The fingerprint of the cases added so far."""
        digests = np.frombuffer(self._digests, dtype=_DIGEST)
        digests.sort()  # in place: bytewise, as sorting the digests as bytes would
        return hashlib.sha256(self._digests).hexdigest()


#: One SHA-256 digest as a numpy item (sorted bytewise).
_DIGEST = np.dtype((np.void, hashlib.sha256().digest_size))
