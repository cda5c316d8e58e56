"""Decoding OTLP JSON files: spans/s and peak memory, against plain ``json.loads``.

1. Writes a Collector ``file`` exporter file of GenAI spans: traces of 10 spans
   (an ``invoke_agent`` root and 9 ``chat`` client calls with the semconv
   request/response/usage attributes, message content as JSON strings, an
   evaluation event on every third call), one trace per line. The lines are
   OTel's own OTLP/JSON encoder output for one SDK trace
   (``opentelemetry-exporter-otlp-json-common``), copied with fresh ids.
2. Times, median of ``--repeat`` runs each:
   * the limit: read the file line by line and ``json.loads`` each line;
   * evaltrace: ``OtlpFileSource`` streaming the same file into ``SpanRecord``s
     (reading, ``json.loads`` and decoding);
   and reports spans/s and the ratio (goal: decode <= 2x the plain parse).
3. Memory while streaming, at 10,000 and 100,000 spans (goal: flat as the file
   grows): the tracemalloc peak, and the peak RSS of a fresh process that only
   streams the file (``ru_maxrss``, the interpreter and imports included).

    .venv/bin/python benchmarks/bench_decode.py [--spans 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO_ROOT, median, save, table, work_dir  # noqa: E402
from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind  # noqa: E402

from evaltrace.sources import OtlpFileSource  # noqa: E402

SPANS_PER_TRACE = 10
SYSTEM = "You answer questions about orders."
QUESTION = "Where is my order 1234? It was due Monday."
ANSWER = "Order 1234 left the warehouse today; it arrives Friday."
MESSAGES = json.dumps(
    [
        {"role": "system", "parts": [{"type": "text", "content": SYSTEM}]},
        {"role": "user", "parts": [{"type": "text", "content": QUESTION}]},
    ]
)
REPLY = json.dumps(
    [{"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text", "content": ANSWER}]}]
)


def _template_trace() -> tuple[str, list[str]]:
    """One trace as OTel's encoder writes it, and its span ids in hex (root first)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "support-bot", "service.version": "1.4.2"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("opentelemetry.instrumentation.openai_v2", "2.1b0")
    with tracer.start_as_current_span("invoke_agent support") as root:
        root.set_attributes(
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"}
        )
        for call in range(SPANS_PER_TRACE - 1):
            with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as chat:
                chat.set_attributes(_chat_attributes(call))
                if call % 3 == 0:
                    chat.add_event(
                        "gen_ai.evaluation.result",
                        {"gen_ai.evaluation.name": "relevance",
                         "gen_ai.evaluation.score.value": 0.8,
                         "gen_ai.evaluation.score.label": "relevant"},
                    )  # fmt: skip
    provider.shutdown()
    spans = list(exporter.get_finished_spans())
    ids = [f"{s.context.span_id:016x}" for s in spans]
    return encode_spans(spans).to_json(), ids


def _chat_attributes(call: int) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 512,
        "gen_ai.request.top_p": 1.0,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": f"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT{call}",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 231 + call,
        "gen_ai.usage.output_tokens": 42,
        "gen_ai.input.messages": MESSAGES,
        "gen_ai.output.messages": REPLY,
        "server.address": "api.openai.com",
        "server.port": 443,
        "evaltrace.purpose": "task",
    }


def write_file(path: Path, spans: int) -> int:
    """``spans`` spans (rounded to whole traces) in ``path``; returns the count."""
    line, span_ids = _template_trace()
    trace_id = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
    traces = spans // SPANS_PER_TRACE
    with path.open("w") as handle:
        for number in range(traces):
            copy = line.replace(trace_id, f"{number + 1:032x}")
            for index, span_id in enumerate(span_ids):
                copy = copy.replace(span_id, f"{number * 16 + index + 1:016x}")
            handle.write(copy + "\n")
    return traces * SPANS_PER_TRACE


def plain_parse(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        for line in handle:
            document = json.loads(line)
            count += sum(
                len(ss["spans"]) for rs in document["resourceSpans"] for ss in rs["scopeSpans"]
            )
    return count


def decode(path: Path) -> int:
    return sum(1 for _ in OtlpFileSource(path))


def _timed(function: Any, path: Path, repeat: int) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        count = function(path)
        times.append(time.perf_counter() - start)
    return median(times), count


def traced_peak(path: Path) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        decode(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def child_rss(path: Path) -> int:
    """Peak RSS (bytes) of a fresh interpreter that imports evaltrace and streams ``path``."""
    code = (
        "import resource, sys; from evaltrace.sources import OtlpFileSource;"
        "n = sum(1 for _ in OtlpFileSource(sys.argv[1]));"
        "print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    env_path = f"{REPO_ROOT / 'src'}"
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True, text=True, check=True, env={"PYTHONPATH": env_path},
    ).stdout.split()  # fmt: skip
    return int(out[1]) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = work_dir("decode")
    sizes = sorted({10_000, args.spans})
    files = {n: work / f"genai-{n}.json" for n in sizes}
    for n, path in files.items():
        write_file(path, n)
    big = files[args.spans]

    parse_s, parse_n = _timed(plain_parse, big, args.repeat)
    decode_s, decode_n = _timed(decode, big, args.repeat)
    assert parse_n == decode_n == args.spans // SPANS_PER_TRACE * SPANS_PER_TRACE
    memory = {
        n: {"tracemalloc_peak": traced_peak(p), "child_peak_rss": child_rss(p)}
        for n, p in files.items()
    }
    results = {
        "spans": decode_n,
        "file_bytes": big.stat().st_size,
        "plain_json_loads_s": parse_s,
        "decode_s": decode_s,
        "plain_spans_per_s": decode_n / parse_s,
        "decode_spans_per_s": decode_n / decode_s,
        "decode_over_plain": decode_s / parse_s,
        "memory": memory,
        "own_peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    size = big.stat().st_size
    print(f"file: {big} ({size / 2**20:.1f} MiB, {decode_n} spans)")
    rows = [
        ["json.loads per line (the limit)", f"{parse_s:.2f}", f"{decode_n / parse_s:,.0f}", "1.00"],
        [
            "OtlpFileSource -> SpanRecord",
            f"{decode_s:.2f}",
            f"{decode_n / decode_s:,.0f}",
            f"{decode_s / parse_s:.2f}",
        ],
    ]
    print(table(rows, ["", "seconds (median)", "spans/s", "x plain"]))
    print()
    rows = [
        [f"{n:,}", f"{m['tracemalloc_peak'] / 2**20:.2f}", f"{m['child_peak_rss'] / 2**20:.1f}"]
        for n, m in memory.items()
    ]
    header = ["spans in file", "tracemalloc peak (MiB)", "peak RSS of a streaming process (MiB)"]
    print(table(rows, header))
    print("saved", save("decode", results))


if __name__ == "__main__":
    main()
