"""SemanticSimilarity on the embedded MiniLM model separates paraphrases from unrelated text.

``data/paraphrase_pairs.jsonl`` holds hand-written pairs labelled ``paraphrase``
or ``unrelated``; several unrelated pairs share a word used in another sense
("bank", "python", "bat", "train", "cell"...) or a whole clause.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import Case, SemanticSimilarity, evaluate

pytestmark = pytest.mark.integration

PAIRS = Path(__file__).parent / "data" / "paraphrase_pairs.jsonl"


def _cases() -> list[Case]:
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line]
    return [
        Case(
            id=row["id"],
            input=f"pair {row['id']}",
            output=row["a"],
            expected=row["b"],
            metadata={"label": row["label"]},
        )
        for row in rows
    ]


def test_dataset_is_big_and_balanced_enough() -> None:
    labels = [case.metadata["label"] for case in _cases()]
    assert set(labels) == {"paraphrase", "unrelated"}
    assert labels.count("paraphrase") >= 10 and labels.count("unrelated") >= 10
    assert len({case.id for case in _cases()}) == len(labels)


async def test_every_paraphrase_outranks_every_unrelated_pair(
    local_extra: None, tracer_provider: TracerProvider
) -> None:
    result = await evaluate(_cases(), [SemanticSimilarity()], tracer_provider=tracer_provider)

    scores: dict[str, list[tuple[float, str]]] = {"paraphrase": [], "unrelated": []}
    for case in result.cases:
        (score,) = case.scores
        assert score.error is None and score.value is not None
        scores[case.case.metadata["label"]].append((score.value, case.case_id))
    lowest_paraphrase = min(scores["paraphrase"])
    highest_unrelated = max(scores["unrelated"])
    assert lowest_paraphrase[0] > highest_unrelated[0], (lowest_paraphrase, highest_unrelated)

    assert len(result.interactions) == len(result.cases)
    for interaction in result.interactions:
        assert interaction.operation == "embeddings"
        assert interaction.purpose == "semantic_evaluation"
        assert interaction.input_tokens is not None and interaction.input_tokens > 0
