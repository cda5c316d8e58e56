"""P1: tracing overhead of one model call, evaltrace vs the bare OpenTelemetry SDK.

evaltrace: ``Model.complete`` inside a run (``evaluate`` with one case whose task
loops over the calls). Each call takes a concurrency slot, opens its inference
span with the GenAI semconv attributes (``OwnCall``; opentelemetry-util-genai's
invocation when content capture is on), runs the provider under the per-attempt
timeout, hands its messages to the collector, and on end the
InteractionCollector converts the span to an ``LLMInteraction``; spans are
exported through an SDK ``BatchSpanProcessor`` to an exporter that does nothing.
Also measured: the tracing path alone, the same inside a run without
``Model``'s slot, retry loop and timeout (span + semconv attributes +
interaction conversion + batch export, around the same provider call).

bare: the same ScriptedProvider call wrapped in one span started with the SDK
tracer, carrying exactly the attributes evaltrace's span carries (copied from a
real evaltrace span), response attributes set at the end, under a
``BatchSpanProcessor`` with the same no-op exporter. Also reported: the bare span
alone (no provider call) and the provider call alone.

The provider is ``evaltrace.ScriptedProvider`` (costs almost nothing), so the
tracing is what is measured. Rounds alternate between the variants in one
process; the medians of the rounds are reported. A full garbage collection
runs before every round: otherwise the heap each evaltrace run leaves behind
is scanned during whichever variant runs next, and per-round ratios spread
from 1.3x to 2.0x.

``--decompose`` also times the tracing path with parts taken out (measurement
only, by patching): the conversion replaced by handing back one stored
interaction, and the collector's hooks turned off altogether. And the bare span
plus the least any tool that keeps a record of each call does: a slotted
16-field record built from values in hand (rendered prompt, times, hex ids),
kept in a list.

    .venv/bin/python benchmarks/bench_tracing_overhead.py [--calls N] [--rounds R] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, save, table, work_dir  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import (  # noqa: E402
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id  # noqa: E402
from opentelemetry.util.types import AttributeValue  # noqa: E402

from evaltrace import (  # noqa: E402
    Case,
    Completion,
    GenerationParams,
    Message,
    Model,
    ScriptedProvider,
    evaluate,
)
from evaltrace.tracing import _attributes as attr  # noqa: E402

PROMPT = "What is the capital of France? Answer in one word."
SYSTEM = "You are a terse assistant."
REPLY = "Paris"
# Attributes evaltrace sets when the call ends (the bare span sets them at the end too).
_END_KEYS = (
    attr.RESPONSE_MODEL,
    attr.RESPONSE_ID,
    attr.RESPONSE_FINISH_REASONS,
    attr.USAGE_INPUT_TOKENS,
    attr.USAGE_OUTPUT_TOKENS,
)


class NoOpExporter(SpanExporter):
    """Accepts every batch and does nothing with it."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def batch_provider() -> tuple[TracerProvider, NoOpExporter]:
    exporter = NoOpExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider, exporter


async def evaltrace_span_template() -> tuple[
    str, dict[str, AttributeValue], dict[str, AttributeValue]
]:
    """Name and attributes (at start, at end) of a real evaltrace call span."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    model = Model(ScriptedProvider(REPLY))

    async def task(question: str) -> str:
        return (await model.complete(question, system=SYSTEM)).text

    await evaluate([Case(input=PROMPT)], task=task, tracer_provider=provider)
    (span,) = [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]
    attributes = dict(span.attributes or {})
    end = {k: attributes.pop(k) for k in _END_KEYS if k in attributes}
    return span.name, attributes, end


async def run_evaltrace(calls: int, provider: TracerProvider) -> float:
    """µs per ``Model.complete`` inside an evaltrace run."""
    model = Model(ScriptedProvider(REPLY))
    measured: list[float] = []

    async def task(question: str) -> str:
        started = time.perf_counter()
        for _ in range(calls):
            await model.complete(question, system=SYSTEM)
        measured.append(time.perf_counter() - started)
        return "done"

    result = await evaluate([Case(input=PROMPT)], task=task, tracer_provider=provider)
    assert len(result.interactions) == calls, len(result.interactions)
    return measured[0] / calls * 1e6


async def run_tracing_path(
    calls: int, provider: TracerProvider, *, collected: bool = True
) -> float:
    """µs per call of the tracing path alone: ``OwnCall`` around the provider call, in a run."""
    from evaltrace.tracing import current_telemetry
    from evaltrace.tracing._call import CallRequest, CallTarget

    scripted = ScriptedProvider(REPLY)
    messages = [Message(role="system", content=SYSTEM), Message(role="user", content=PROMPT)]
    params = GenerationParams()
    target = CallTarget(
        scripted.name, scripted.model, scripted.operation, in_process=scripted.in_process
    )
    request = CallRequest(target, messages, "task")
    measured: list[float] = []

    async def task(question: str) -> str:
        telemetry = current_telemetry()
        assert telemetry.calls(in_process=True) is not None, "content capture is on"
        started = time.perf_counter()
        for _ in range(calls):
            call = telemetry.start_call(request)
            completion = await scripted.complete(messages, params)
            call.succeed(completion)
        measured.append(time.perf_counter() - started)
        return "done"

    result = await evaluate([Case(input=PROMPT)], task=task, tracer_provider=provider)
    assert len(result.interactions) == (calls if collected else 0), len(result.interactions)
    scripted.calls.clear()
    return measured[0] / calls * 1e6


@contextlib.contextmanager
def without(part: str) -> Iterator[None]:
    """The tracing path with one part taken out, for ``--decompose`` (measurement only)."""
    from evaltrace.tracing import InteractionCollector, processor

    if part == "conversion":
        # processor imports interaction_of without re-exporting it; the
        # decomposition swaps that binding.
        from evaltrace.tracing._convert import interaction_of as convert

        stored: list[Any] = []

        def hand_back_one(*args: Any) -> Any:
            if not stored:
                stored.append(convert(*args))
            return stored[0]

        setattr(processor, "interaction_of", hand_back_one)  # noqa: B010
        try:
            yield
        finally:
            setattr(processor, "interaction_of", convert)  # noqa: B010
        return
    hooks = ("on_start", "on_end", "attach")
    saved = {name: InteractionCollector.__dict__[name] for name in hooks}
    for name in hooks:
        setattr(InteractionCollector, name, lambda *args, **kwargs: None)
    try:
        yield
    finally:
        for name, hook in saved.items():
            setattr(InteractionCollector, name, hook)


def bare_runner(
    name: str,
    start: dict[str, AttributeValue],
    end: dict[str, AttributeValue],
    provider: TracerProvider,
) -> Callable[[int, bool], Awaitable[float]]:
    tracer = provider.get_tracer("bench")
    scripted = ScriptedProvider(REPLY)
    messages = [Message(role="system", content=SYSTEM), Message(role="user", content=PROMPT)]
    params = GenerationParams()

    async def run(calls: int, with_call: bool) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            with tracer.start_as_current_span(
                name, kind=SpanKind.INTERNAL, attributes=start
            ) as span:
                if with_call:
                    await scripted.complete(messages, params)
                span.set_attributes(end)
        elapsed = time.perf_counter() - started
        scripted.calls.clear()
        return elapsed / calls * 1e6

    return run


@dataclass(frozen=True, slots=True)
class CallRecord:
    """The fields of an ``LLMInteraction``, as a plain slotted record (for ``bare+record``)."""

    prompt: str
    response: str
    model: str
    tokens_used: int
    latency: float
    timestamp: datetime
    purpose: str
    metadata: dict[str, object]
    input_tokens: int | None
    output_tokens: int | None
    provider: str | None
    operation: str
    trace_id: str
    span_id: str
    case_id: str | None
    error: str | None


def bare_record_runner(
    name: str,
    start: dict[str, AttributeValue],
    end: dict[str, AttributeValue],
    provider: TracerProvider,
) -> Callable[[int], Awaitable[float]]:
    """The bare span, then a ``CallRecord`` of the call kept in a list."""
    tracer = provider.get_tracer("bench")
    scripted = ScriptedProvider(REPLY)
    messages = [Message(role="system", content=SYSTEM), Message(role="user", content=PROMPT)]
    params = GenerationParams()

    async def run(calls: int) -> float:
        kept: list[CallRecord] = []
        started = time.perf_counter()
        for _ in range(calls):
            with tracer.start_as_current_span(
                name, kind=SpanKind.INTERNAL, attributes=start
            ) as span:
                completion = await scripted.complete(messages, params)
                span.set_attributes(end)
            kept.append(_record(span, messages, completion))
        elapsed = time.perf_counter() - started
        scripted.calls.clear()
        return elapsed / calls * 1e6

    return run


def _record(span: object, messages: list[Message], completion: Completion) -> CallRecord:
    assert isinstance(span, ReadableSpan)
    assert span.start_time is not None and span.end_time is not None
    context = span.get_span_context()
    assert context is not None
    return CallRecord(
        "\n\n".join(f"{m.role}: {m.content}" for m in messages),
        completion.text,
        "scripted-model",
        (completion.input_tokens or 0) + (completion.output_tokens or 0),
        (span.end_time - span.start_time) / 1e9,
        datetime.fromtimestamp(span.start_time / 1e9, UTC),
        "task",
        {},
        completion.input_tokens,
        completion.output_tokens,
        "scripted",
        "chat",
        format_trace_id(context.trace_id),
        format_span_id(context.span_id),
        "0",
        None,
    )


async def run_provider_only(calls: int) -> float:
    scripted = ScriptedProvider(REPLY)
    messages = [Message(role="system", content=SYSTEM), Message(role="user", content=PROMPT)]
    params = GenerationParams()
    started = time.perf_counter()
    for _ in range(calls):
        await scripted.complete(messages, params)
    return (time.perf_counter() - started) / calls * 1e6


async def _without(part: str, calls: int, provider: TracerProvider) -> float:
    with without(part):
        return await run_tracing_path(calls, provider, collected=part != "collector")


HOST_ATTRIBUTES = {"http.request.method": "GET", "http.route": "/items", "user.id": "u1"}


def host_span_cost(calls: int, rounds: int) -> tuple[float, float]:
    """µs per host-application span (no GenAI), without and with evaltrace's collector.

    The collector sits on the application's provider once a run has used it; no
    run is open here, as in a service between evaluations.
    """
    from evaltrace.tracing import InteractionCollector

    plain, _ = batch_provider()
    guest, _ = batch_provider()
    guest.add_span_processor(InteractionCollector())

    def per_span(provider: TracerProvider) -> float:
        tracer = provider.get_tracer("host")
        started = time.perf_counter()
        for _ in range(calls):
            with tracer.start_as_current_span("GET /items", attributes=HOST_ATTRIBUTES):
                pass
        return (time.perf_counter() - started) / calls * 1e6

    without: list[float] = []
    with_collector: list[float] = []
    for _ in range(rounds):
        without.append(per_span(plain))
        with_collector.append(per_span(guest))
    return median(without), median(with_collector)


async def main(calls: int, rounds: int, profile: bool, decompose: bool) -> None:
    name, start, end = await evaltrace_span_template()
    et_provider, et_exporter = batch_provider()
    bare_provider, bare_exporter = batch_provider()
    bare = bare_runner(name, start, end, bare_provider)
    # Warm up every path once.
    await run_evaltrace(500, et_provider)
    await run_tracing_path(500, et_provider)
    await bare(500, True)
    await run_provider_only(500)
    variants: dict[str, Callable[[], Awaitable[float]]] = {
        "bare+call": lambda: bare(calls, True),
        "evaltrace": lambda: run_evaltrace(calls, et_provider),
        "tracing path": lambda: run_tracing_path(calls, et_provider),
        "bare": lambda: bare(calls, False),
        "call": lambda: run_provider_only(calls),
    }
    if decompose:
        variants["path without conversion"] = lambda: _without("conversion", calls, et_provider)
        variants["path without collector"] = lambda: _without("collector", calls, et_provider)
        record_provider, _ = batch_provider()
        bare_record = bare_record_runner(name, start, end, record_provider)
        await bare_record(500)
        variants["bare+record"] = lambda: bare_record(calls)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, variant in variants.items():
            gc.collect()
            samples[name].append(await variant())
    et_provider.force_flush()
    bare_provider.force_flush()
    med = {k: median(v) for k, v in samples.items()}
    rows = [
        ["evaltrace Model.complete in a run", f"{med['evaltrace']:.1f}"],
        ["evaltrace tracing path (OwnCall + conversion) in a run", f"{med['tracing path']:.1f}"],
        ["bare SDK span around the same call", f"{med['bare+call']:.1f}"],
        ["bare SDK span alone", f"{med['bare']:.1f}"],
        ["ScriptedProvider call alone", f"{med['call']:.1f}"],
    ]
    if "bare+record" in med:
        rows.append(["bare SDK span + a plain record of the call", f"{med['bare+record']:.1f}"])
    for name in ("path without conversion", "path without collector"):
        if name in med:
            rows.append([f"evaltrace tracing {name.removeprefix('path ')}", f"{med[name]:.1f}"])
    ratio = med["evaltrace"] / med["bare+call"]
    path_ratio = med["tracing path"] / med["bare+call"]
    tracing_only = (med["evaltrace"] - med["call"]) / med["bare"]
    per_round = sorted(
        e / b for e, b in zip(samples["evaltrace"], samples["bare+call"], strict=True)
    )
    print(f"span: {name!r}, {len(start) + len(end)} attributes; {calls} calls x {rounds} rounds")
    print(table(rows, ["per call", "µs (median)"]))
    print(f"ratio evaltrace / bare span around the call: {ratio:.2f}x (target <= 1.3x)")
    print(f"  per-round ratios: {per_round[0]:.2f}x .. {per_round[-1]:.2f}x")
    print(f"ratio tracing path / bare span around the call: {path_ratio:.2f}x")
    print(f"ratio of tracing cost alone ((evaltrace - call) / bare span): {tracing_only:.2f}x")
    if "bare+record" in med:
        print(
            "ratio tracing path / (bare span + plain record): "
            f"{med['tracing path'] / med['bare+record']:.2f}x"
        )
    for name in ("path without conversion", "path without collector"):
        if name in med:
            print(
                f"ratio tracing {name.removeprefix('path ')} / bare: "
                f"{med[name] / med['bare+call']:.2f}x"
            )
    print(f"spans exported to the no-op exporter: {et_exporter.spans} / {bare_exporter.spans}")
    host_plain, host_guest = host_span_cost(calls * 4, rounds)
    print(
        f"host span (not GenAI, no run open): {host_plain:.1f} µs without the collector, "
        f"{host_guest:.1f} µs with it ({host_guest / host_plain:.2f}x)"
    )
    save(
        "p1-tracing-overhead",
        {
            "calls": calls,
            "rounds": rounds,
            "samples_us": samples,
            "median_us": med,
            "ratio": ratio,
            "tracing_path_ratio": path_ratio,
            "tracing_only_ratio": tracing_only,
            "host_span_us": {"without_collector": host_plain, "with_collector": host_guest},
        },
    )
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        await run_evaltrace(calls, et_provider)
        profiler.stop()
        out = work_dir() / "p1-profile.txt"
        out.write_text(profiler.output_text(unicode=False, color=False, show_all=True))
        print(f"profile written to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--decompose", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds, args.profile, args.decompose))
