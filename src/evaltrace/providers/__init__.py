"""Providers: the seam to models, selected by ``"provider:model"`` strings or passed as objects."""

from evaltrace.providers._model import DEFAULT_PROVIDER_CONCURRENCY, EmbeddingModel, Model
from evaltrace.providers._protocol import (
    Completion,
    Embedder,
    Embeddings,
    GenerationParams,
    Provider,
    StreamChunk,
    StreamingProvider,
)
from evaltrace.providers._registry import as_model, get_provider, register_provider
from evaltrace.providers._retry import RetryPolicy
from evaltrace.providers._stream import TracedStream
from evaltrace.providers.scripted import ScriptedProvider

__all__ = [
    "DEFAULT_PROVIDER_CONCURRENCY",
    "Completion",
    "Embedder",
    "EmbeddingModel",
    "Embeddings",
    "GenerationParams",
    "Model",
    "Provider",
    "RetryPolicy",
    "ScriptedProvider",
    "StreamChunk",
    "StreamingProvider",
    "TracedStream",
    "as_model",
    "get_provider",
    "register_provider",
]
