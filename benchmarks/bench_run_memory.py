"""Peak memory of a local run against what its result holds (issue 12: at most 1.2x).

A run of ``--cases`` tiny cases (a task model in this process answering each,
one ``Contains`` metric), traced into a provider with no exporter. tracemalloc
measures, from just before ``evaluate`` (the cases already built):

* the peak while the run is in flight;
* what the returned result holds once the run is over.

Their ratio is what evaluating costs beyond its answer: the runner's own
bookkeeping (pending work, buffered calls) while cases run. The most asyncio
tasks alive at once is sampled too, since one task per case up front was what
made the peak (100k pending tasks took about 140 MiB).

    .venv/bin/python benchmarks/bench_run_memory.py [--cases 40000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save, table  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402

from evaltrace import Case, Completion, Contains, GenerationParams, Message, evaluate  # noqa: E402


class Yes:
    """A model in this process that answers "yes" and, unlike ScriptedProvider, keeps no log."""

    name = "bench.yes"
    model = "yes-1"
    operation = "chat"
    in_process = True
    server_address: str | None = None
    server_port: int | None = None

    async def complete(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        return Completion(text="yes", input_tokens=2, output_tokens=1, finish_reason="stop")

    async def aclose(self) -> None:
        """Nothing to release."""


async def measure(n: int) -> dict[str, Any]:
    cases = [Case(input=f"question {i}", expected="yes") for i in range(n)]
    provider = TracerProvider(shutdown_on_exit=False)
    most_tasks = 0

    def count(_: object) -> None:
        nonlocal most_tasks
        most_tasks = max(most_tasks, len(asyncio.all_tasks()))

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = await evaluate(
        cases,
        [Contains()],
        task=Yes(),
        tracer_provider=provider,
        on_case=count,
    )
    peak = tracemalloc.get_traced_memory()[1] - before
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert result.complete and len(result.interactions) == n
    return {
        "cases": n,
        "peak_bytes": peak,
        "held_bytes": held,
        "ratio": peak / held,
        "most_tasks": most_tasks,
    }


def main(n: int) -> None:
    found = asyncio.run(measure(n))
    rows = [
        ["cases", f"{found['cases']:,}"],
        ["peak while running (tracemalloc)", f"{found['peak_bytes'] / 2**20:.1f} MiB"],
        ["held by the result", f"{found['held_bytes'] / 2**20:.1f} MiB"],
        ["ratio peak / held", f"{found['ratio']:.2f}x (target <= 1.2x)"],
        ["most asyncio tasks alive at once", f"{found['most_tasks']:,}"],
    ]
    print(table(rows, ["local run", "value"]))
    save("run-memory", found)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=40_000)
    main(parser.parse_args().cases)
