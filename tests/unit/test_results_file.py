"""The results file: a documented, versioned JSON Schema; older files still load."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no hints; types-jsonschema not installed
import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import (
    RESULTS_SCHEMA_VERSION,
    Case,
    Contains,
    Correctness,
    EvaluationResult,
    ScriptedProvider,
    evaluate,
)
from evaltrace._values import canonical_json

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "api" / "results.schema.json"


@pytest.fixture
async def saved(tracer_provider: TracerProvider, tmp_path: Path) -> Path:
    result = await evaluate(
        [
            Case(id="a", input="Capital of France?", expected="Paris", context=["France"]),
            Case(id="b", input="2+2?", expected="4", metadata={"tier": 1}),
        ],
        [Contains(), Correctness()],
        task=ScriptedProvider(["Paris", "5"], model="app"),
        judge=ScriptedProvider(['{"score": 1, "explanation": "ok"}', "not json"]),
        tracer_provider=tracer_provider,
    )
    return result.save(tmp_path / "results.json")


def test_the_documented_schema_is_the_current_one() -> None:
    """Regenerate with the command in docs/api/results.md when this fails."""
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == EvaluationResult.json_schema()
    assert committed["$id"] == f"urn:evaltrace:results:v{RESULTS_SCHEMA_VERSION}"


def test_a_saved_result_is_valid_against_the_schema(saved: Path) -> None:
    data = json.loads(saved.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(EvaluationResult.json_schema()).validate(data)
    assert data["schema_version"] == RESULTS_SCHEMA_VERSION
    assert all(case["started_at"] for case in data["cases"])


def test_the_schema_rejects_what_is_not_a_result(saved: Path) -> None:
    data = json.loads(saved.read_text(encoding="utf-8"))
    del data["interactions"][0]["prompt"]
    with pytest.raises(jsonschema.ValidationError, match="'prompt' is a required property"):
        jsonschema.Draft202012Validator(EvaluationResult.json_schema()).validate(data)


def test_version_1_files_load(saved: Path) -> None:
    """Version 1 had no schema_version and no started_at per case."""
    data = json.loads(saved.read_text(encoding="utf-8"))
    del data["schema_version"]
    del data["unrecorded_calls"]
    for case in data["cases"]:
        del case["started_at"]
    saved.write_text(json.dumps(data), encoding="utf-8")
    loaded = EvaluationResult.load(saved)
    assert loaded.schema_version == RESULTS_SCHEMA_VERSION
    assert [c.started_at for c in loaded.cases] == [None, None]
    assert loaded.unrecorded_calls == 0
    assert len(loaded.interactions) == len(data["interactions"])


def test_version_2_files_load(saved: Path) -> None:
    """Version 2 had no unrecorded_calls."""
    current = EvaluationResult.load(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    data["schema_version"] = 2
    del data["unrecorded_calls"]
    saved.write_text(json.dumps(data), encoding="utf-8")
    loaded = EvaluationResult.load(saved)
    assert (loaded.schema_version, loaded.unrecorded_calls) == (RESULTS_SCHEMA_VERSION, 0)
    assert loaded == current


def _old_fingerprint(cases: list[dict[str, Any]]) -> str:
    """Schema 6's formula: the SHA-256 of the cases' sorted rows, one per line."""
    rows = sorted(
        canonical_json([c.get("id"), c["input"], c.get("expected"), c.get("context"), None])
        for c in cases
    )
    return hashlib.sha256("".join(row + "\n" for row in rows).encode("utf-8")).hexdigest()


def test_version_6_fingerprints_are_computed_again_from_the_cases(saved: Path) -> None:
    """Schema 7 changed the fingerprint's formula; a schema-6 file's is made anew."""
    current = EvaluationResult.load(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    data["schema_version"] = 6
    data["dataset_fingerprint"] = _old_fingerprint([c["case"] for c in data["cases"]])
    assert data["dataset_fingerprint"] != current.dataset_fingerprint
    saved.write_text(json.dumps(data), encoding="utf-8")
    assert EvaluationResult.load(saved).dataset_fingerprint == current.dataset_fingerprint
    data["complete"] = False  # a partial run's cases are not the whole dataset
    saved.write_text(json.dumps(data), encoding="utf-8")
    assert EvaluationResult.load(saved).dataset_fingerprint is None


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (RESULTS_SCHEMA_VERSION + 1, "was written by a newer evaltrace"),
        ("2", "field 'schema_version': not a version number: '2'"),
        (0, "not a version number: 0"),
    ],
)
def test_unknown_versions_are_refused(saved: Path, version: object, message: str) -> None:
    data = json.loads(saved.read_text(encoding="utf-8"))
    data["schema_version"] = version
    saved.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        EvaluationResult.load(saved)
