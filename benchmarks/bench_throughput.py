"""P2: throughput against a real HTTP server (nginx with a fixed reply).

1,000 cases, each one task call and one judge call, at concurrency 8, 32 and 64:

* raw       an ``openai.AsyncOpenAI`` loop making the same 2,000 calls with
            ``chat.completions.create`` (task then judge per case, the same request
            bodies: system prompt, rendered rubric, ``response_format`` json_schema)
            under an ``asyncio.Semaphore``: the baseline of the targets;
* raw (post) the same loop through the client's generic ``post``, replies read as
            plain JSON: the HTTP path evaltrace's provider takes, so that
            evaltrace / raw (post) is what evaltrace itself adds;
* evaltrace ``evaluate(cases, [SemanticSimilarity()], task="openai:bench-task",
            judge="openai:bench-judge", max_concurrency=c)`` with ``OPENAI_BASE_URL``
            pointing at nginx (the models evaltrace builds for strings follow
            ``max_concurrency``);
* evaltrace, models sized  the same, with ``Model(OpenAIProvider(...), max_concurrency=c)``
            for task and judge, so only ``max_concurrency`` limits the run;
* pydantic-evals  ``Dataset.evaluate`` with an ``LLMJudge`` evaluator, in its own venv
            (benchmarks/.work/venv-pydantic-evals), the task making one openai call.

Every client is the openai SDK with its defaults (httpx2 pool: 1,000 connections,
100 keep-alive), ``max_retries=0``, timeout 60 s, one client for the task and one
for the judge. evaltrace runs with no tracer provider installed and no OTEL_*
variables (spans are collected, not exported). Rounds alternate between the
variants; medians are reported.

    .venv/bin/python benchmarks/bench_throughput.py [--cases 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DIR, ensure_venv, median, save, table  # noqa: E402
from _nginx import Nginx  # noqa: E402

from evaltrace import Case, Model, SemanticSimilarity, evaluate  # noqa: E402
from evaltrace.metrics._parse import JUDGE_SCHEMA  # noqa: E402
from evaltrace.metrics.judge import _SYSTEM as JUDGE_SYSTEM  # noqa: E402
from evaltrace.providers.openai_compat import OpenAIProvider  # noqa: E402

CONCURRENCIES = (8, 32, 64)
PE_REQUIREMENTS = ["pydantic-evals", "pydantic-ai-slim[openai]"]
# The raw loop sends byte-for-byte the requests evaltrace sends: the judge's system
# prompt, the metric's rendered user message and its structured-output schema.
METRIC = SemanticSimilarity()


def cases(n: int) -> list[Case]:
    return [
        Case(id=f"c{i}", input=f"question {i}: what is {i} + {i}?", expected=str(2 * i))
        for i in range(n)
    ]


async def run_raw(
    base_url: str, dataset: list[Case], concurrency: int, *, lean: bool = False
) -> float:
    """The same calls with the bare SDK; returns wall seconds.

    ``lean``: through the client's generic ``post`` with the reply read as plain
    JSON (the path evaltrace's provider takes) instead of ``chat.completions.create``.
    """
    from openai import AsyncOpenAI

    task_client = AsyncOpenAI(base_url=f"{base_url}/v1", api_key="test", max_retries=0, timeout=60)
    judge_client = AsyncOpenAI(base_url=f"{base_url}/v1", api_key="test", max_retries=0, timeout=60)
    slots = asyncio.Semaphore(concurrency)
    scores: list[float] = []

    async def chat(client: AsyncOpenAI, **request: Any) -> str:
        if lean:
            body: Any = await client.post("/chat/completions", body=request, cast_to=object)
            return str(body["choices"][0]["message"]["content"] or "")
        reply = await client.chat.completions.create(**request)
        return reply.choices[0].message.content or ""

    async def one(case: Case) -> None:
        async with slots:
            output = await chat(
                task_client,
                model="bench-task",
                messages=[{"role": "user", "content": case.input}],
            )
            verdict = await chat(
                judge_client,
                model="bench-judge",
                messages=[
                    {"role": "system", "content": JUDGE_SYSTEM},
                    {"role": "user", "content": METRIC.render(case, output)},
                ],
                temperature=0.0,
                max_tokens=256,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "reply", "schema": JUDGE_SCHEMA},
                },
            )
            scores.append(json.loads(verdict or "{}")["score"])

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in dataset))
    wall = time.perf_counter() - started
    await task_client.close()
    await judge_client.close()
    assert len(scores) == len(dataset)
    return wall


async def run_evaltrace(base_url: str, dataset: list[Case], concurrency: int, sized: bool) -> float:
    if sized:
        task: Any = Model(
            OpenAIProvider("bench-task", base_url=f"{base_url}/v1", api_key="test"),
            max_concurrency=concurrency,
        )
        judge: Any = Model(
            OpenAIProvider("bench-judge", base_url=f"{base_url}/v1", api_key="test"),
            max_concurrency=concurrency,
        )
    else:
        os.environ["OPENAI_BASE_URL"] = f"{base_url}/v1"
        os.environ["OPENAI_API_KEY"] = "test"
        task, judge = "openai:bench-task", "openai:bench-judge"
    started = time.perf_counter()
    result = await evaluate(
        dataset,
        [SemanticSimilarity()],
        task=task,
        judge=judge,
        name="throughput",
        max_concurrency=concurrency,
    )
    wall = time.perf_counter() - started
    if sized:
        await task.aclose()
        await judge.aclose()
    assert result.complete and len(result.interactions) == 2 * len(dataset), result.totals
    assert all(c.scores[0].value == 0.8 for c in result.cases)
    return wall


def run_pydantic_evals(python: Path, base_url: str, n: int, concurrency: int) -> float:
    out = subprocess.run(
        [
            str(python),
            str(BENCH_DIR / "_pydantic_evals_side.py"),
            "--base-url",
            base_url,
            "--cases",
            str(n),
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["scored"] == n and report["failures"] == 0, report
    return float(report["wall"])


async def main(n: int, rounds: int, workers: int, profile: bool) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"):
        os.environ.pop(name, None)
    pe_python = ensure_venv("venv-pydantic-evals", PE_REQUIREMENTS) / "bin" / "python"
    dataset = cases(n)
    walls: dict[int, dict[str, list[float]]] = {}
    with Nginx(workers=workers) as server:
        base = server.base_url
        # Warm up: connections, imports, first-call paths.
        await run_raw(base, dataset[:100], 8)
        await run_evaltrace(base, dataset[:100], 8, sized=False)
        for concurrency in CONCURRENCIES:
            samples: dict[str, list[float]] = {
                "raw": [],
                "raw_post": [],
                "evaltrace": [],
                "evaltrace_sized": [],
                "pydantic_evals": [],
            }
            for _ in range(rounds):
                samples["raw"].append(await run_raw(base, dataset, concurrency))
                samples["raw_post"].append(await run_raw(base, dataset, concurrency, lean=True))
                samples["evaltrace"].append(
                    await run_evaltrace(base, dataset, concurrency, sized=False)
                )
                samples["evaltrace_sized"].append(
                    await run_evaltrace(base, dataset, concurrency, sized=True)
                )
                samples["pydantic_evals"].append(
                    run_pydantic_evals(pe_python, base, n, concurrency)
                )
            walls[concurrency] = samples
            print(
                f"concurrency {concurrency}: "
                + ", ".join(f"{k} {median(v):.2f}s" for k, v in samples.items()),
                flush=True,
            )
        if profile:
            await profile_evaltrace(base, dataset)
    rows = []
    for concurrency, samples in walls.items():
        med = {k: median(v) for k, v in samples.items()}
        rows.append(
            [
                concurrency,
                f"{med['raw']:.2f}",
                f"{med['evaltrace']:.2f}",
                f"{med['evaltrace_sized']:.2f}",
                f"{med['pydantic_evals']:.2f}",
                f"{med['evaltrace'] / med['raw']:.2f}x",
                f"{med['evaltrace_sized'] / med['raw']:.2f}x",
                f"{med['pydantic_evals'] / med['evaltrace']:.2f}x",
                f"{med['raw_post']:.2f}",
                f"{med['evaltrace'] / med['raw_post']:.2f}x",
            ]
        )
    print(
        table(
            rows,
            [
                "concurrency",
                "raw s",
                "evaltrace s",
                "evaltrace (sized models) s",
                "pydantic-evals s",
                "evaltrace/raw",
                "sized/raw",
                "pydantic-evals/evaltrace",
                "raw (post) s",
                "evaltrace/raw (post)",
            ],
        )
    )
    print("targets: evaltrace/raw <= 1.15x at 32; pydantic-evals/evaltrace >= 2x")
    save("p2-throughput", {"cases": n, "rounds": rounds, "nginx_workers": workers, "walls": walls})


async def profile_evaltrace(base: str, dataset: list[Case]) -> None:
    from _common import work_dir
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    await run_evaltrace(base, dataset, 32, sized=False)
    profiler.stop()
    out = work_dir() / "p2-profile.txt"
    out.write_text(profiler.output_text(unicode=False, color=False, show_all=True))
    print(f"profile written to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.rounds, args.nginx_workers, args.profile))
