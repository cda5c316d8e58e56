"""What keeping each case's span tree costs (issue 13): time with trees on vs off, and memory.

Every case runs an agent that makes 10 spans under its case span: one
``invoke_agent``, three model calls (``chat`` spans the collector turns into
interactions) and six ``execute_tool`` spans. The same run, scored by
``Contains`` (which does not read the tree), is timed with
``trace_cases=True`` (the default: each case's spans kept and linked into its
tree while its metrics run, then dropped) and ``False`` (the collector keeps
only the model calls), alternating, ``--rounds`` times. A third run adds a
``ToolSequence`` metric that reads each tree, to show what reading costs.

* time: the median wall time of each, and the ratio on / off of the
  collector (target: at most 1.2x);
* memory: tracemalloc's peak during a run (``Contains`` and ``ToolSequence``)
  with trees on and off, at ``--memory-cases`` and a tenth of it: if the
  trees were kept past their case, the difference on - off would grow with
  the number of cases; flat means each tree is released with its case.

    .venv/bin/python benchmarks/bench_case_trees.py [--cases 1000] [--rounds 5]
        [--memory-cases 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, save, table  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402

from evaltrace import Case, Contains, Metric, ToolSequence, evaluate  # noqa: E402

TOOLS = ("search", "lookup", "lookup", "compare", "lookup", "answer")


def agent_of(provider: TracerProvider) -> Any:
    tracer = provider.get_tracer("bench.agent")

    def chat(turn: int) -> None:
        with tracer.start_as_current_span("chat bench-model") as span:
            span.set_attributes({
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "bench-model", "gen_ai.usage.input_tokens": 20 + turn,
                "gen_ai.usage.output_tokens": 5,
            })  # fmt: skip

    def tool(name: str, index: int) -> None:
        with tracer.start_as_current_span(f"execute_tool {name}") as span:
            span.set_attributes({
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                "gen_ai.tool.call.id": f"call_{index}",
                "gen_ai.tool.call.arguments": json.dumps({"q": index}),
            })  # fmt: skip

    def agent(question: str) -> str:
        with tracer.start_as_current_span("invoke_agent bench") as span:
            span.set_attribute("gen_ai.operation.name", "invoke_agent")
            span.set_attribute("gen_ai.agent.name", "bench")
            for index, name in enumerate(TOOLS):
                if index % 2 == 0:
                    chat(index)
                tool(name, index)
        return "done"

    return agent


def metrics_of(reading: bool) -> list[Metric]:
    return [Contains("done"), *([ToolSequence(list(TOOLS), mode="exact")] if reading else [])]


async def one_run(n: int, trees: bool, reading: bool = False) -> float:
    provider = TracerProvider(shutdown_on_exit=False)
    cases = [Case(input=f"q{i}") for i in range(n)]
    started = time.perf_counter()
    result = await evaluate(
        cases, metrics_of(reading), task=agent_of(provider), tracer_provider=provider,
        trace_cases=trees,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    assert len(result.interactions) == 3 * n and result.metrics["contains"].mean == 1.0
    if reading:  # the metric saw every tool of every case
        assert result.metrics["tool_sequence"].mean == 1.0
    return elapsed


async def peak_bytes(n: int, trees: bool) -> int:
    provider = TracerProvider(shutdown_on_exit=False)
    cases = [Case(input=f"q{i}") for i in range(n)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    await evaluate(
        cases, metrics_of(True), task=agent_of(provider), tracer_provider=provider,
        trace_cases=trees,
    )  # fmt: skip
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak


async def measure(cases: int, rounds: int, memory_cases: int) -> dict[str, Any]:
    await one_run(50, True)  # warm up imports and caches
    times: dict[str, list[float]] = {"on": [], "off": [], "reading": []}
    for _ in range(rounds):
        times["on"].append(await one_run(cases, True))
        times["off"].append(await one_run(cases, False))
        times["reading"].append(await one_run(cases, True, reading=True))
    memory = {}
    for n in (memory_cases // 10, memory_cases):
        memory[n] = {trees: await peak_bytes(n, trees) for trees in (True, False)}
    return {
        "cases": cases,
        "rounds": rounds,
        "seconds_on": times["on"],
        "seconds_off": times["off"],
        "seconds_reading": times["reading"],
        "time_ratio": median(times["on"]) / median(times["off"]),
        "peak_bytes": {str(n): {"on": m[True], "off": m[False]} for n, m in memory.items()},
    }


def main(cases: int, rounds: int, memory_cases: int) -> None:
    found = asyncio.run(measure(cases, rounds, memory_cases))
    on, off = median(found["seconds_on"]), median(found["seconds_off"])
    reading = median(found["seconds_reading"])
    rows = [
        [f"{cases:,} cases x 10 spans, trees on", f"{on:.2f} s (median of {rounds})"],
        [f"{cases:,} cases x 10 spans, trees off", f"{off:.2f} s"],
        ["ratio on / off (the collector)", f"{found['time_ratio']:.2f}x (target <= 1.2x)"],
        ["trees on + ToolSequence reading each", f"{reading:.2f} s = {reading / off:.2f}x off"],
    ]
    for n, peak in found["peak_bytes"].items():
        extra = (peak["on"] - peak["off"]) / 2**20
        rows.append([
            f"peak memory, {int(n):,} cases: on / off",
            f"{peak['on'] / 2**20:.1f} / {peak['off'] / 2**20:.1f} MiB (trees: +{extra:.1f} MiB)",
        ])  # fmt: skip
    print(table(rows, ["case trees", "value"]))
    save("case-trees", found)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--memory-cases", type=int, default=10_000)
    args = parser.parse_args()
    main(args.cases, args.rounds, args.memory_cases)
