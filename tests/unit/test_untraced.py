"""An instrumentation traced into the no-op global provider is noticed: warned once, flagged."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import Case, ScriptedProvider, evaluate, install_tracer_provider
from evaltrace.tracing import _untraced
from tests.unit._helpers import no_global_tracer_provider


@pytest.fixture
def openai_instrumented() -> Iterator[None]:
    """OpenLLMetry's OpenAI instrumentation, enabled as its README says (no provider given)."""
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    with no_global_tracer_provider():
        instrumentor.instrument()
        try:
            yield
        finally:
            instrumentor.uninstrument()


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_untraced, "_warned", set())


async def test_an_instrumentation_without_a_provider_is_warned_once_and_flagged(
    openai_instrumented: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="evaltrace")
    first, second = [
        await evaluate([Case(input="q")], task=ScriptedProvider("a")) for _ in range(2)
    ]
    for result in (first, second):
        (warning,) = result.warnings
        assert warning.startswith("OpenAIInstrumentor")  # OpenLLMetry names its V1 one too
        assert "instrumented, but no OpenTelemetry SDK TracerProvider is installed" in warning
        assert "evaltrace.install_tracer_provider()" in warning
    logged = [r for r in caplog.records if "instrumented, but no" in r.getMessage()]
    assert len(logged) == 1
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)  # never set for the user


async def test_no_warning_once_a_provider_is_installed_or_given(
    openai_instrumented: None, tracer_provider: TracerProvider
) -> None:
    given = await evaluate(
        [Case(input="q")], task=ScriptedProvider("a"), tracer_provider=tracer_provider
    )
    assert given.warnings == []
    install_tracer_provider()
    installed = await evaluate([Case(input="q")], task=ScriptedProvider("a"))
    assert installed.warnings == []


async def test_no_warning_without_an_active_instrumentation() -> None:
    with no_global_tracer_provider():
        result = await evaluate([Case(input="q")], task=ScriptedProvider("a"))
    assert result.warnings == []
