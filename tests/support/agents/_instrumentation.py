"""Turn a GenAI instrumentation on for one agent run, into one tracer provider, then off.

Each context manager instruments into the caller's ``tracer_provider`` (never
the global one), with message content captured or not, and on exit
un-instruments, restores the environment, and undoes whatever
``uninstrument()`` left patched (see :mod:`._pristine`). What it had to undo
is kept in :attr:`Instrumented.leaks`. Instrumentation is process-wide
patching: do not run two instrumented agents at the same time.

Names: ``openinference`` (Arize OpenInference), ``openllmetry`` (Traceloop
OpenLLMetry, ``opentelemetry-instrumentation-langchain`` /
``-openai-agents``), ``otel-genai`` (the OpenTelemetry project's
``opentelemetry-instrumentation-genai-*``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider

from tests.support.agents._pristine import pristine_modules

__all__ = [
    "INSTRUMENTATIONS",
    "Instrumented",
    "content_capture",
    "instrumented_langchain",
    "instrumented_openai_agents",
    "sdk_trace_processors_only_ours",
]

INSTRUMENTATIONS = ("openinference", "openllmetry", "otel-genai")

#: What turns message content capture on (or off) for each instrumentation.
_CONTENT_ENV = {
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": ("SPAN_ONLY", "NO_CONTENT"),
    "TRACELOOP_TRACE_CONTENT": ("true", "false"),
    "OPENINFERENCE_HIDE_INPUTS": ("false", "true"),
    "OPENINFERENCE_HIDE_OUTPUTS": ("false", "true"),
}
#: OpenLLMetry records metrics by default; the runs here keep no metrics.
_QUIET_ENV = {"TRACELOOP_METRICS_ENABLED": "false"}


@dataclasses.dataclass
class Instrumented:
    """An instrumentation switched on; after the block, what its uninstrument left behind."""

    name: str
    leaks: list[str] = dataclasses.field(default_factory=list)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def content_capture(enabled: bool) -> Iterator[None]:
    """Message content capture on or off for every instrumentation, for the block."""
    values = {name: pair[0 if enabled else 1] for name, pair in _CONTENT_ENV.items()}
    with _environment({**values, **_QUIET_ENV}):
        yield


def _instrument(instrumentor: Any, tracer_provider: TracerProvider, **kwargs: Any) -> None:
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=NoOpMeterProvider(), **kwargs
    )
    if not instrumentor.is_instrumented_by_opentelemetry:
        # BaseInstrumentor logs a dependency conflict and instruments nothing.
        raise RuntimeError(f"{type(instrumentor).__module__} did not instrument")


def _langchain_instrumentor(name: str) -> Any:
    if name == "openinference":
        from openinference.instrumentation.langchain import LangChainInstrumentor

        return LangChainInstrumentor()
    if name == "openllmetry":
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor

        return LangchainInstrumentor()
    if name == "otel-genai":
        from opentelemetry.instrumentation.genai.langchain import (
            LangChainInstrumentor as GenAILangChainInstrumentor,
        )

        return GenAILangChainInstrumentor()  # type: ignore[no-untyped-call]
    raise ValueError(f"unknown instrumentation {name!r}; one of {INSTRUMENTATIONS}")


@contextmanager
def instrumented_langchain(
    name: str, tracer_provider: TracerProvider, *, capture_content: bool = True
) -> Iterator[Instrumented]:
    """LangChain/LangGraph instrumented by ``name`` into ``tracer_provider`` for the block."""
    instrumentor = _langchain_instrumentor(name)
    state = Instrumented(name)
    with content_capture(capture_content), pristine_modules("langchain", "langgraph") as leaks:
        _instrument(instrumentor, tracer_provider)
        try:
            yield state
        finally:
            instrumentor.uninstrument()
    state.leaks = leaks


def _openai_agents_instrumentor(name: str) -> tuple[Any, dict[str, Any]]:
    """The instrumentor and the ``instrument()`` options that keep traces off OpenAI's servers."""
    if name == "openinference":
        from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

        # exclusive_processor (its default): its processor replaces the SDK's ones.
        return OpenAIAgentsInstrumentor(), {"exclusive_processor": True}
    if name == "openllmetry":
        from opentelemetry.instrumentation.openai_agents import OpenAIAgentsInstrumentor as OLI

        return OLI(replace_existing_processors=True), {}
    if name == "otel-genai":
        from opentelemetry.instrumentation.genai.openai_agents import (
            OpenAIAgentsInstrumentor as GenAIAgentsInstrumentor,
        )

        return GenAIAgentsInstrumentor(), {"disable_openai_trace_export": True}
    raise ValueError(f"unknown instrumentation {name!r}; one of {INSTRUMENTATIONS}")


@contextmanager
def sdk_trace_processors_only_ours() -> Iterator[None]:
    """No Agents SDK trace processor but the ones added in the block; the old ones after.

    The SDK's default processor exports its traces to OpenAI's servers. Tracing
    itself must stay on (``set_tracing_disabled(True)`` would stop every
    instrumentation too: they all receive the SDK's own traces through the
    processor interface), so the processors are replaced instead.
    """
    from agents import set_trace_processors

    saved = _registered_processors()
    set_trace_processors([])
    try:
        yield
    finally:
        set_trace_processors(saved)


@contextmanager
def instrumented_openai_agents(
    name: str,
    tracer_provider: TracerProvider,
    *,
    capture_content: bool = True,
    openai_sdk: str | None = None,
) -> Iterator[Instrumented]:
    """The Agents SDK instrumented by ``name``, and the ``openai`` SDK by ``openai_sdk``.

    ``openai_sdk`` (``otel-genai``, ``openinference`` or ``openllmetry``) adds
    that instrumentation of the ``openai`` client, which emits one more span
    per model request (``otel-genai``'s agents instrumentation needs it for
    its ``chat`` spans).
    """
    from tests.support.openai_sdk import instrumented_openai

    instrumentor, options = _openai_agents_instrumentor(name)
    state = Instrumented(name)
    with ExitStack() as stack:
        stack.enter_context(content_capture(capture_content))
        stack.enter_context(sdk_trace_processors_only_ours())
        state.leaks = stack.enter_context(pristine_modules("agents"))
        if openai_sdk is not None:
            stack.enter_context(instrumented_openai(openai_sdk, tracer_provider))
        _instrument(instrumentor, tracer_provider, **options)
        stack.callback(_note_processors_left, state)  # runs after uninstrument()
        stack.callback(instrumentor.uninstrument)
        yield state


def _registered_processors() -> list[Any]:
    from agents.tracing import get_trace_provider

    return list(getattr(getattr(get_trace_provider(), "_multi_processor", None), "_processors", ()))


def _note_processors_left(state: Instrumented) -> None:
    """Name the trace processors ``uninstrument()`` left registered (removed after)."""
    state.leaks += [
        f"agents trace processor {type(p).__qualname__}" for p in _registered_processors()
    ]
