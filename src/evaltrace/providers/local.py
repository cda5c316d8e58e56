"""In-process models: Gemma 3 270M on llama.cpp, and all-MiniLM-L6-v2 sentence embeddings.

Both come from PyPI packages (the ``evaltrace[local]`` extra), so nothing is
downloaded at run time. Each model file is loaded once per process and shared
by every provider that asks for it. Calls run off the event loop on one worker
thread per library (llama.cpp, sentence-transformers), and one at a time per
loaded model, whose context is not thread-safe.

Gemma 3 270M is a small *base* model: it has no chat template and makes a poor
judge, but answers short questions well from a few-shot prompt. Its default use
is therefore the task (the system under test), as a ``text_completion``::

    Answer each question briefly.

    Q: What is the capital of Italy?
    A: Rome
    ...
    Q: <the case's input>
    A:

``LlamaCppProvider(mode="chat")`` uses llama.cpp's ``gemma`` chat format instead
(``chat`` spans).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from evaltrace.exceptions import ConfigurationError, EvaltraceError, ProviderError
from evaltrace.providers._gguf import GEMMA_PACKAGE, gemma_model_path
from evaltrace.providers._lazy import require
from evaltrace.providers._local_runtime import EXTRA, Shared, in_worker, load_counts, shared_model
from evaltrace.providers._portable import Rebuild, rebuilt_as
from evaltrace.providers._protocol import Completion, GenerationParams
from evaltrace.providers._sentence import (
    DEFAULT_EMBEDDING_MODEL,
    SentenceTransformerEmbedder,
    default_embedding_model,
)
from evaltrace.records import Message

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_EXAMPLES",
    "DEFAULT_INSTRUCTION",
    "DEFAULT_LOCAL_MODEL",
    "LlamaCppProvider",
    "SentenceTransformerEmbedder",
    "default_embedding_model",
    "few_shot_prompt",
    "gemma_model_path",
    "load_counts",
]

#: The model ``"local:"`` serves when no other is named.
DEFAULT_LOCAL_MODEL = "gemma-3-270m"
#: The first line of the few-shot prompt when the call has no system message.
DEFAULT_INSTRUCTION = "Answer each question briefly."
#: Question/answer pairs that show the base model the expected form of an answer.
DEFAULT_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("What is the capital of Italy?", "Rome"),
    ("How many legs does a spider have?", "Eight"),
    ("What is the chemical symbol for gold?", "Au"),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci"),
)

_GEMMA_ALIASES = frozenset({"gemma", "gemma-3-270m", "gemma3-270m", "gemma-3-270m-q4_k_m"})
_FEW_SHOT_STOP = ("\n", "Q:")
_STRUCTURED_MAX_TOKENS = 256


# --- llama.cpp ------------------------------------------------------------------------


def _load_llama(path: Path, n_ctx: int, repack: bool | None) -> Shared:
    def load() -> Any:
        llama_cpp = require("llama_cpp", EXTRA)
        use_extra_buffers = repack if repack is not None else not _cpu_has_amx(llama_cpp)
        try:
            with _extra_buffer_types(use_extra_buffers):
                return llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=model_threads(),
                    # Read once into memory: faulting a page-cache-evicted mmap back in
                    # page by page made first calls run at ~2 tokens/s here.
                    use_mmap=False,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ProviderError(
                f"llama.cpp could not load {path}: {exc}",
                retryable=False,
                error_type="ModelLoadError",
            ) from exc

    return shared_model("llama.cpp", path, n_ctx, load)


def model_threads() -> int:
    """Threads for an in-process model: ``OMP_NUM_THREADS`` if set, else every core.

    Ray sets ``OMP_NUM_THREADS`` in each worker to the CPUs the actor holds, so
    workers sharing a node split its cores instead of each taking them all.
    """
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return os.cpu_count() or 1


def _cpu_has_amx(llama_cpp: Any) -> bool:
    return b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()


@contextlib.contextmanager
def _extra_buffer_types(enabled: bool) -> Iterator[None]:
    """Load with llama.cpp's extra CPU buffer types (weight repacking, AMX) on or off.

    llama-cpp-python 0.3.36 has no argument for ``use_extra_bufts``, so its
    default-parameters function is swapped for the duration of the load. Its
    AMX kernels crash (SIGSEGV in ``ggml_backend_amx_mul_mat``) on this model.
    """
    lib: Any = require("llama_cpp.llama_cpp", EXTRA)
    default = lib.llama_model_default_params
    if enabled or not hasattr(default(), "use_extra_bufts"):
        yield
        return

    def without_extra_buffers() -> Any:
        params = default()
        params.use_extra_bufts = False
        return params

    lib.llama_model_default_params = without_extra_buffers
    try:
        yield
    finally:
        lib.llama_model_default_params = default


class LlamaCppProvider:
    """A GGUF model run in this process by llama.cpp (default: Gemma 3 270M).

    ``mode="completion"`` (the default) sends a few-shot ``Q:``/``A:`` prompt as a
    ``text_completion`` and stops at the end of the answer line; ``mode="chat"``
    formats the messages with llama.cpp's ``gemma`` chat format (``chat`` spans).
    A ``json_schema`` in the request constrains the output with a grammar,
    which decodes about four times slower.

    The model file is loaded at the first call (or ``load()``) and shared by all
    providers of this process with the same file and ``n_ctx``. ``repack``
    turns llama.cpp's repacked/AMX weight buffers on or off; by default they are
    off on CPUs with AMX, where llama-cpp-python 0.3.36 crashes on this model.
    """

    name = "llama.cpp"
    in_process = True
    max_concurrency = 1  # one llama.cpp context: calls queue before their spans start
    server_address: str | None = None
    server_port: int | None = None

    def __init__(
        self,
        model: str | None = None,
        *,
        model_path: str | Path | None = None,
        mode: Literal["completion", "chat"] = "completion",
        n_ctx: int = 2048,
        max_tokens: int = 48,
        instruction: str = DEFAULT_INSTRUCTION,
        examples: Sequence[tuple[str, str]] = DEFAULT_EXAMPLES,
        repack: bool | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        require("llama_cpp", EXTRA)
        if mode not in ("completion", "chat"):
            raise ConfigurationError(f"mode must be 'completion' or 'chat', not {mode!r}")
        self._options = {  # what a pickle carries: the model loads again where it is used
            "model_path": model_path,
            "mode": mode,
            "n_ctx": n_ctx,
            "max_tokens": max_tokens,
            "instruction": instruction,
            "examples": tuple(examples),
            "repack": repack,
            "cache_dir": cache_dir,
        }
        self._given_model = model
        self.model, self._path = _resolve_gguf(model, model_path)
        self.mode = mode
        self.operation = "text_completion" if mode == "completion" else "chat"
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        self.instruction = instruction
        self.examples = tuple(examples)
        self._repack = repack
        self._cache_dir = cache_dir
        self._loaded: Shared | None = None  # kept after the first call: the model is per process

    def __reduce__(self) -> Rebuild:
        """Pickled as its options; unpickled, it loads the model once in that process."""
        return rebuilt_as(type(self), (self._given_model,), self._options)

    def __repr__(self) -> str:
        return f"LlamaCppProvider(model={self.model!r}, mode={self.mode!r})"

    @property
    def model_path(self) -> Path:
        """The GGUF file (assembling the packaged Gemma file on first use)."""
        if self._path is None:
            self._path = gemma_model_path(self._cache_dir)
        return self._path

    def load(self) -> Any:
        """Load the model (once per process) and return the shared ``llama_cpp.Llama``."""
        return self._shared().model

    async def complete(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        """One completion, run in a worker thread; llama.cpp failures become ProviderError."""
        try:
            call = list(messages)
            response = await in_worker(self.name, lambda: self._call(call, params))
        except EvaltraceError:
            raise
        except Exception as exc:
            raise ProviderError(
                f"llama.cpp: {type(exc).__name__}: {exc}",
                retryable=False,
                error_type=type(exc).__name__,
            ) from exc
        return self._completion(response)

    async def aclose(self) -> None:
        """Nothing to release: the loaded model is shared by the whole process."""

    def _shared(self) -> Shared:
        if self._loaded is None:
            self._loaded = _load_llama(self.model_path, self.n_ctx, self._repack)
        return self._loaded

    def _call(self, messages: list[Message], params: GenerationParams) -> dict[str, Any]:
        shared = self._shared()
        with shared.lock:
            if self.mode == "chat":
                return _chat(shared.model, messages, params, self.max_tokens)
            return self._text_completion(shared.model, messages, params)

    def _text_completion(
        self, llama: Any, messages: list[Message], params: GenerationParams
    ) -> dict[str, Any]:
        request = _sampling(params, self.max_tokens)
        if params.json_schema is not None:
            request["grammar"] = _grammar(params.json_schema)
            request["stop"] = list(params.stop)
            prompt = _plain_prompt(messages)
        else:
            request["stop"] = [*_FEW_SHOT_STOP, *params.stop]
            prompt = few_shot_prompt(messages, self.instruction, self.examples)
        request.update(params.extra)
        completion: dict[str, Any] = llama.create_completion(prompt, **request)
        return completion

    def _completion(self, response: dict[str, Any]) -> Completion:
        choice = response["choices"][0]
        text = choice["text"] if self.mode == "completion" else choice["message"]["content"]
        usage = response.get("usage") or {}
        return Completion(
            text=(text or "").strip(),
            input_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
            response_model=self.model,
            response_id=response.get("id"),
            finish_reason=choice.get("finish_reason"),
        )


def _resolve_gguf(model: str | None, model_path: str | Path | None) -> tuple[str, Path | None]:
    if model_path is not None:
        path = Path(model_path)
        if not path.is_file():
            raise ConfigurationError(f"model_path {str(path)!r} is not a file")
        return model or path.stem, path
    if model is None or model in _GEMMA_ALIASES:
        require(GEMMA_PACKAGE, EXTRA)
        return DEFAULT_LOCAL_MODEL, None
    if model.endswith(".gguf"):
        return _resolve_gguf(None, model)
    raise ConfigurationError(
        f"unknown local model {model!r}: use 'local:{DEFAULT_LOCAL_MODEL}' or a path to a "
        ".gguf file ('local:/path/model.gguf', or model_path=)"
    )


def few_shot_prompt(
    messages: Sequence[Message],
    instruction: str = DEFAULT_INSTRUCTION,
    examples: Sequence[tuple[str, str]] = DEFAULT_EXAMPLES,
) -> str:
    """The ``Q:``/``A:`` prompt a base model continues; a system message replaces ``instruction``.

    Earlier user and assistant turns become questions and answers.
    """
    system = [m.content for m in messages if m.role == "system"]
    lines = ["\n".join(system) if system else instruction, ""]
    lines += [f"Q: {question}\nA: {answer}" for question, answer in examples]
    for message in messages:
        if message.role == "user":
            lines.append(f"Q: {message.content}")
        elif message.role == "assistant":
            lines.append(f"A: {message.content}")
    lines.append("A:")
    return "\n".join(lines)


def _plain_prompt(messages: Sequence[Message]) -> str:
    body = "\n\n".join(m.content for m in messages if m.role in ("system", "user"))
    return f"{body}\n\nJSON reply:\n"


def _sampling(params: GenerationParams, default_max_tokens: int) -> dict[str, Any]:
    structured = params.json_schema is not None
    request: dict[str, Any] = {
        "temperature": 0.0 if params.temperature is None else params.temperature,
        "max_tokens": params.max_tokens
        or (_STRUCTURED_MAX_TOKENS if structured else default_max_tokens),
    }
    if params.seed is not None:
        request["seed"] = params.seed
    return request


def _grammar(schema: dict[str, Any]) -> Any:
    llama_cpp = require("llama_cpp", EXTRA)
    return llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)


def _chat(
    llama: Any, messages: list[Message], params: GenerationParams, default_max_tokens: int
) -> dict[str, Any]:
    chat_format = require("llama_cpp.llama_chat_format", EXTRA)
    handler = chat_format.get_chat_completion_handler("gemma")
    request = _sampling(params, default_max_tokens)
    if params.json_schema is not None:
        request["response_format"] = {"type": "json_object", "schema": params.json_schema}
    request.update(stop=list(params.stop), **params.extra)
    reply: dict[str, Any] = handler(llama=llama, messages=_gemma_turns(messages), **request)
    return reply


def _gemma_turns(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Chat messages for Gemma, which has no system role: system text opens the first user turn."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    turns = [{"role": m.role, "content": m.content} for m in messages if m.role != "system"]
    if system:
        first_user = next((t for t in turns if t["role"] == "user"), None)
        if first_user is None:
            turns.insert(0, {"role": "user", "content": system})
        else:
            first_user["content"] = f"{system}\n\n{first_user['content']}"
    return turns
