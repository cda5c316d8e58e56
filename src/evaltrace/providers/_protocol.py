"""The provider seam: one async call from messages to a completion."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from evaltrace.records import Message, ToolCall

__all__ = [
    "Completion",
    "Embedder",
    "Embeddings",
    "GenerationParams",
    "Provider",
    "StreamChunk",
    "StreamingProvider",
]


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Request parameters a provider maps onto its API.

    ``json_schema`` asks for a reply that is JSON matching the schema (structured
    output where the API supports it). ``tools`` are the tools the model may
    call, each ``{"name", "description", "parameters"}`` (a JSON Schema) or in
    the OpenAI ``{"type": "function", "function": {...}}`` form.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    json_schema: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    tools: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Completion:
    """What a model answered, with the usage the provider reported.

    ``finish_reason`` is the provider's own word for why the reply ended;
    ``tool_calls`` the tools the model asked to call; ``reasoning`` its
    reasoning text, kept apart from the answer.
    """

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    response_model: str | None = None
    response_id: str | None = None
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str | None = None


class _Endpoint(Protocol):
    """What a provider and an embedder both describe of themselves.

    Read-only members: a class attribute, a dataclass field or a property all
    satisfy them.
    """

    @property
    def name(self) -> str:
        """``gen_ai.provider.name``."""
        ...

    @property
    def model(self) -> str:
        """``gen_ai.request.model``."""
        ...

    @property
    def in_process(self) -> bool:
        """True for a model running in this process."""
        ...

    @property
    def server_address(self) -> str | None:
        """``server.address`` of a remote model."""
        ...

    @property
    def server_port(self) -> int | None:
        """``server.port`` of a remote model."""
        ...


@runtime_checkable
class Provider(_Endpoint, Protocol):
    """A model behind one async call.

    ``name`` is the ``gen_ai.provider.name`` value (``openai``, ``anthropic``,
    ``llama.cpp``...), ``operation`` the ``gen_ai.operation.name`` of its calls
    (``chat`` or ``text_completion``), ``in_process`` True for a model running in
    this process (its spans are INTERNAL rather than CLIENT).
    """

    @property
    def operation(self) -> str:
        """``gen_ai.operation.name`` of its calls."""
        ...

    async def complete(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        """Send ``messages`` and return the model's completion; raise ProviderError on failure."""
        ...

    async def aclose(self) -> None:
        """Release connections or models the provider holds."""
        ...


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """One piece of a streamed reply: text, and usage or finish reason when the API sends them.

    ``tool_calls`` are tool calls complete in this chunk (a provider assembles
    each from its streamed pieces); ``reasoning`` a piece of reasoning text.
    """

    text: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    response_model: str | None = None
    response_id: str | None = None
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str = ""


@runtime_checkable
class StreamingProvider(Provider, Protocol):
    """A provider that can also stream its reply."""

    def stream(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncIterator[StreamChunk]:
        """Yield the reply as it arrives; the last chunks carry usage and the finish reason."""
        ...


@dataclass(frozen=True, slots=True)
class Embeddings:
    """Vectors for a batch of texts, with the tokens the model read."""

    vectors: list[list[float]]
    input_tokens: int | None = None
    response_model: str | None = None


@runtime_checkable
class Embedder(_Endpoint, Protocol):
    """An embedding model behind one async call."""

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Return one vector per text."""
        ...
