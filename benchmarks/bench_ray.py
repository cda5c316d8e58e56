"""Local vs Ray, measured side by side in one run (issue 15).

* ``io``: 2,000 cases, one call each to nginx answering after a fixed delay
  (``echo_sleep``), locally (``max_concurrency=C``) and on 2 Ray workers
  (``C/2`` each): equal total concurrency. Ray's wall time is counted once
  its workers are up; the cluster and worker start-up is reported apart.
* ``cpu``: cases answered by the embedded Gemma model (llama.cpp, one call at
  a time per process) in 1 process vs on 2 Ray workers.
* ``merge``: the driver's merge rate: trivial cases (an in-process model
  answering at once) on Ray, in cases/s; what limits throughput however many
  workers there are.
* ``memory``: the driver's peak RSS for N cases streamed to a results file,
  keeping all cases or only summaries (``keep_cases=False``), locally or on Ray;
  each in a fresh process (``--one`` runs a single configuration). The
  dataset is a JSONL file written first and read lazily (``read_cases``), so
  the driver never holds it; ``--source list`` passes a list of cases instead.

    .venv/bin/python benchmarks/bench_ray.py io [--calls 2000 --delay 0.05 --concurrency 32]
    .venv/bin/python benchmarks/bench_ray.py cpu [--cases 24]
    .venv/bin/python benchmarks/bench_ray.py merge [--cases 5000]
    .venv/bin/python benchmarks/bench_ray.py memory [--cases 10000 100000 1000000]
    .venv/bin/python benchmarks/bench_ray.py memory --one 1000000 local 0 [--source list]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save, table  # noqa: E402
from _nginx import Nginx  # noqa: E402
from _ray_cluster import local_cluster  # noqa: E402

from evaltrace import (  # noqa: E402
    Case,
    Completion,
    Contains,
    GenerationParams,
    Message,
    RayExecutor,
    evaluate,
    read_cases,
)
from evaltrace.runner import Executor, LocalExecutor  # noqa: E402


class Yes:
    """A model in this process that answers "yes" at once (as bench_run_memory's)."""

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


def _cases(n: int) -> list[Case]:
    return [Case(id=str(i), input=f"question {i}", expected="yes") for i in range(n)]


def _write_dataset(path: Path, n: int) -> Path:
    """``_cases(n)`` as a JSONL dataset file, written line by line (no case list is built)."""
    with path.open("w", encoding="utf-8") as file:
        for i in range(n):
            file.write(json.dumps({"id": str(i), "input": f"question {i}", "expected": "yes"}))
            file.write("\n")
    return path


async def _timed(
    executor: Executor,
    cases: Iterable[Case],
    task: Any,
    *,
    calls: int | None = None,
    **options: Any,
) -> float:
    """Seconds to evaluate ``cases`` (``calls``: how many there are, if not a list)."""
    expected = len(cases) if calls is None and isinstance(cases, list) else calls
    started = time.perf_counter()
    result = await evaluate(cases, [Contains()], task=task, executor=executor, **options)
    assert result.complete and result.totals.calls == expected, result.lost_attempts
    return time.perf_counter() - started


async def _ray_timed(
    workers: int, per_worker: int, cases: Iterable[Case], task: Any, **options: Any
) -> tuple[float, float]:
    """(seconds to start the workers and warm them up, seconds of the run once they are)."""
    executor = RayExecutor(workers=workers, concurrency_per_worker=per_worker)
    started = time.perf_counter()
    await executor.start()
    # A first small run imports the SDKs and builds the clients in each worker process,
    # as the local warm-up run does in this one.
    await _timed(executor, _cases(4 * workers * per_worker), task)
    up = time.perf_counter() - started
    try:
        return up, await _timed(executor, cases, task, **options)
    finally:
        executor.shutdown()


def bench_io(calls: int, delay: float, concurrency: int) -> dict[str, Any]:
    with Nginx(workers=2, delay=delay) as nginx:
        # A string: each run (and each Ray worker) builds its own client, sized to its share.
        os.environ["OPENAI_BASE_URL"] = f"{nginx.base_url}/slow/v1"
        with local_cluster() as cluster_start:
            return _io_runs(calls, delay, concurrency, cluster_start)


def _io_runs(calls: int, delay: float, concurrency: int, cluster_start: float) -> dict[str, Any]:
    task = "openai:bench-model"
    cases = _cases(calls)
    asyncio.run(_timed(LocalExecutor(concurrency), cases[:50], task))  # warm both paths
    local = asyncio.run(_timed(LocalExecutor(concurrency), cases, task))
    workers_up, on_ray = asyncio.run(_ray_timed(2, concurrency // 2, cases, task))
    ideal = calls / concurrency * delay
    return {
        "calls": calls,
        "delay_s": delay,
        "concurrency": concurrency,
        "ideal_s": round(ideal, 2),
        "local_s": round(local, 2),
        "ray_s": round(on_ray, 2),
        "ray_over_local": round(on_ray / local, 2),
        "cluster_start_s": round(cluster_start, 1),
        "workers_start_and_warm_up_s": round(workers_up, 1),
    }


def bench_cpu(n: int) -> dict[str, Any]:
    with local_cluster() as cluster_start:
        cases = _cases(n)
        one = asyncio.run(_timed(LocalExecutor(1), cases[:2], "local:"))  # load the model
        one = asyncio.run(_timed(LocalExecutor(1), cases, "local:"))
        warm = RayExecutor(workers=2, concurrency_per_worker=1)
        asyncio.run(warm.start())
        try:  # the first cases load the model once in each worker
            asyncio.run(_timed(warm, cases[:4], "local:"))
            two = asyncio.run(_timed(warm, cases, "local:"))
        finally:
            warm.shutdown()
    return {
        "cases": n,
        "one_process_s": round(one, 2),
        "two_workers_s": round(two, 2),
        "speed_up": round(one / two, 2),
        "cluster_start_s": round(cluster_start, 1),
    }


def bench_merge(n: int, workers: int) -> dict[str, Any]:
    with local_cluster():
        cases = _cases(n)
        local = asyncio.run(_timed(LocalExecutor(32), cases, Yes()))
        _, on_ray = asyncio.run(_ray_timed(workers, 16, cases, Yes()))
    return {
        "cases": n,
        "workers": workers,
        "local_cases_per_s": round(n / local),
        "ray_cases_per_s": round(n / on_ray),
    }


def memory_one(n: int, mode: str, keep_cases: bool, source: str = "file") -> dict[str, Any]:
    """One configuration, in this (fresh) process: peak RSS of the driver.

    The baseline is taken once the dataset file is written (or, with
    ``source="list"``, the list built) and, on Ray, the cluster connected.
    """
    with tempfile.TemporaryDirectory() as tmp:
        cases: Iterable[Case] = (
            _cases(n) if source == "list" else read_cases(_write_dataset(Path(tmp) / "d.jsonl", n))
        )
        stream = Path(tmp) / "cases.jsonl"
        options: dict[str, Any] = {"results_path": stream, "keep_cases": keep_cases, "calls": n}
        if mode == "ray":
            with local_cluster():
                base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                _, seconds = asyncio.run(_ray_timed(2, 16, cases, Yes(), **options))
        else:
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            seconds = asyncio.run(_timed(LocalExecutor(32), cases, Yes(), **options))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "cases": n,
        "mode": mode,
        "keep_cases": keep_cases,
        "dataset": source,
        "rss_before_run_mib": round(base / 1024),
        "peak_rss_mib": round(peak / 1024),
        "seconds": round(seconds, 1),
    }


def bench_memory(sizes: Sequence[int], ray_max: int, source: str) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        for mode in ("local", "ray"):
            for keep in (False, True):
                kept_limit = 10_000 if mode == "ray" else 100_000
                if (mode == "ray" and n > ray_max) or (keep and n > kept_limit):
                    continue
                argv = [sys.executable, __file__, "memory", "--one", str(n), mode, str(int(keep))]
                argv += ["--source", source]
                out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
                rows.append(json.loads(out.strip().splitlines()[-1]))
                print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["io", "cpu", "merge", "memory"])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--cases", type=int, nargs="*")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ray-max", type=int, default=100_000)
    parser.add_argument("--one", nargs=3, metavar=("N", "MODE", "KEEP"))
    parser.add_argument("--source", choices=["file", "list"], default="file")
    args = parser.parse_args()
    if args.one:
        n, mode, keep = args.one
        print(json.dumps(memory_one(int(n), mode, keep == "1", args.source)))
        return
    results: Any
    if args.what == "io":
        results = bench_io(args.calls, args.delay, args.concurrency)
    elif args.what == "cpu":
        results = bench_cpu((args.cases or [24])[0])
    elif args.what == "merge":
        results = bench_merge((args.cases or [5000])[0], args.workers)
    else:
        sizes = args.cases or [10_000, 100_000, 1_000_000]
        results = bench_memory(sizes, args.ray_max, args.source)
    rows = results if isinstance(results, list) else [results]
    print(table([list(r.values()) for r in rows], list(rows[0])))
    print(save(f"ray_{args.what}", {"results": results}))


if __name__ == "__main__":
    main()
