"""The results-file schema's versions, and how a file of an older one is read as the current one.

1. the first layout (no ``schema_version`` field);
2. adds ``schema_version`` and each case's ``started_at``;
3. adds ``unrecorded_calls``;
4. stores each interaction once: at the top, with typed fields (``attempt``,
   ``response_id``, ``finish_reasons``, ``layout``...) instead of the generic
   ``metadata`` keys; a case refers to its calls by ``interaction_ids``. Cases
   carry ``trial``; scores carry ``error_type``.
5. cases' ``input``, ``output`` and ``expected`` are JSON values, not only
   strings; a case's ``output`` is absent when it had none (null is a value);
   results carry ``warnings``.
6. cases without an id get one from their content (a hash of input and
   expected) instead of their position; results carry ``repeat``, the
   ``dataset_fingerprint``, ``models``, ``metric_settings`` and, with trials,
   ``trials`` (each case across its trials) and each metric's ``interval``.
   Older files keep their (positional) ids and read with the new fields empty.
7. the ``dataset_fingerprint`` is the SHA-256 of each case's digest, sorted
   (computable case by case, for a dataset read lazily), instead of the
   SHA-256 of the cases' sorted rows. A schema-6 file's fingerprint is
   computed again from its cases when it holds the whole dataset (a complete
   run that kept its cases), else it reads as unknown (None).

A ``.cases.jsonl`` stream keeps each case's interactions on its own line (a
line stands alone), in the same typed form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaltrace._interaction import MessageLayout
from evaltrace._values import dataset_fingerprint
from evaltrace.records import Case

__all__ = ["RESULTS_SCHEMA_VERSION", "upgrade_case", "upgrade_interaction", "upgrade_result"]

#: Version of the results-file layout that ``EvaluationResult.save`` writes.
RESULTS_SCHEMA_VERSION = 7

#: ``metadata`` keys of schemas 1-3 that are typed fields since schema 4.
_LIFTED = (
    "content_captured",
    "instrumentation",
    "convention",
    "response_model",
    "response_id",
    "finish_reasons",
    "server_address",
    "server_port",
    "temperature",
    "max_tokens",
    "metric",
    "attempt",
)


def upgrade_result(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """A results dict of any supported schema version, as the current version."""
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path}: field 'schema_version': not a version number: {version!r}")
    if version > RESULTS_SCHEMA_VERSION:
        raise ValueError(
            f"{path}: schema_version {version} was written by a newer evaltrace "
            f"(this one reads up to {RESULTS_SCHEMA_VERSION}): upgrade evaltrace"
        )
    upgraded = {**data, "schema_version": RESULTS_SCHEMA_VERSION}
    if version < 4:
        interactions = upgraded.get("interactions")
        if isinstance(interactions, list):
            upgraded["interactions"] = [upgrade_interaction(i) for i in interactions]
        cases = upgraded.get("cases")
        if isinstance(cases, list):
            upgraded["cases"] = [_refer_to_interactions(c) for c in cases]
    if version < 5 and isinstance(upgraded.get("cases"), list):
        upgraded["cases"] = [_output_when_given(c) for c in upgraded["cases"]]
    if version < 7 and upgraded.get("dataset_fingerprint") is not None:
        upgraded["dataset_fingerprint"] = _fingerprint_again(upgraded)
    return upgraded


def _fingerprint_again(data: dict[str, Any]) -> str | None:
    """Schema 7's fingerprint of a schema-6 result's dataset; None when the file lacks cases."""
    results = data.get("cases")
    if not data.get("complete", True) or not isinstance(results, list) or not results:
        return None
    try:
        cases = [_case_of(r) for r in results if _trial_of(r) == 0]
    except (KeyError, TypeError, ValueError):  # not a case: the result's own check says where
        return None
    return dataset_fingerprint(cases)


def _case_of(result: Any) -> Case:
    """The case of a case result, as a file's dict or as read from a stream's lines."""
    return Case.model_validate(result["case"] if isinstance(result, dict) else result.case)


def _trial_of(result: Any) -> int:
    trial = result.get("trial", 0) if isinstance(result, dict) else result.trial
    return trial if isinstance(trial, int) else 0


def _output_when_given(result: Any) -> Any:
    """A case result of schema 1-4, whose case's ``"output": null`` meant "no output"."""
    if not isinstance(result, dict) or not isinstance(result.get("case"), dict):
        return result
    case = result["case"]
    if "output" in case and case["output"] is None:
        case = {k: v for k, v in case.items() if k != "output"}
        return {**result, "case": case}
    return result


def upgrade_case(case: Any) -> Any:
    """A case line of a stream (interactions inline), its interactions in the typed form."""
    if isinstance(case, dict) and isinstance(case.get("interactions"), list):
        return {**case, "interactions": [upgrade_interaction(i) for i in case["interactions"]]}
    return case


def upgrade_interaction(fields: Any) -> Any:
    """An interaction of schema 1-3 (generic ``metadata``) in the typed form; others unchanged.

    A ``metadata`` key is lifted only where the typed field is absent, so a
    current interaction's own metadata is never touched.
    """
    if not isinstance(fields, dict) or not isinstance(fields.get("metadata"), dict):
        return fields
    metadata = dict(fields["metadata"])
    upgraded = dict(fields)
    for key in _LIFTED:
        if key in metadata and key not in upgraded:
            upgraded[key] = metadata.pop(key)
    offsets = metadata.get("messages")
    if "layout" not in upgraded and offsets is not None:
        layout = _layout_of(offsets, len(str(fields.get("prompt", ""))))
        if layout is not None:
            upgraded["layout"] = list(layout)
            del metadata["messages"]
    upgraded["metadata"] = metadata
    return upgraded


def _refer_to_interactions(case: Any) -> Any:
    """A case of schema 1-3 (its interactions inline) referring to them by span id."""
    if not isinstance(case, dict) or "interactions" not in case:
        return case
    inline = case.get("interactions") or []
    ids = [i.get("span_id", "") for i in inline if isinstance(i, dict)]
    return {k: v for k, v in case.items() if k != "interactions"} | {"interaction_ids": ids}


def _layout_of(offsets: Any, prompt_length: int) -> MessageLayout | None:
    """The layout of schema 3's ``[role, start, end]`` offsets; None if they are not one."""
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
        items += (role, end - start)
        position = end + 2
    if position - 2 != prompt_length:
        return None
    return MessageLayout(items[:-1])
