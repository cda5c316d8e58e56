"""P4: memory held by interactions, and by runs one after another.

1. 100,000 ``LLMInteraction`` objects made the way evaltrace makes them: a real
   run of 100,000 cases, one LLM-judge metric (``SemanticSimilarity``) per case
   whose judge is a ``ScriptedProvider``; the judge's prompt (system + user
   message) is about 1 KB and its reply a realistic JSON verdict. The bytes the
   interactions hold (tracemalloc: traced memory after the run, with the cases,
   the result and the scripted provider's own log released, minus before) are
   compared with their text (prompt + response, UTF-8). A per-part breakdown
   (which object of an interaction holds how much) is computed by walking the
   objects with ``sys.getsizeof``, each object counted once.
2. 100 sequential runs (20 cases each, shared tracer provider): traced memory
   and RSS after run 10 and after run 100; collector state after each run.

    .venv/bin/python benchmarks/bench_memory.py [--interactions 100000] [--runs 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save, table  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402

from evaltrace import Case, LLMInteraction, ScriptedProvider, SemanticSimilarity, evaluate  # noqa: E402
from evaltrace.tracing._telemetry import _collectors  # noqa: E402

EXPLANATION = (
    "The answer gives the same value as the reference and explains the steps; "
    "the wording differs but the meaning is the same, so the score is high."
)
VERDICT = '{"score": 0.8, "explanation": "' + EXPLANATION + '"}'
TARGET_PROMPT = 1024


def _verdict(messages: Any) -> str:
    """A realistic judge reply, a distinct string for every call."""
    return VERDICT.replace("0.8", f"0.{len(messages[-1].content) % 9 + 1}")


def _verdict_with_id() -> Any:
    """``_verdict`` with usage and a distinct 38-character response id, as from the OpenAI API."""
    from evaltrace import Completion

    counter = iter(range(10**9))

    def reply(messages: Any) -> Completion:
        text = _verdict(messages)
        return Completion(
            text=text,
            input_tokens=sum(len(m.content.split()) for m in messages),
            output_tokens=len(text.split()),
            response_model="scripted-model",
            response_id=f"chatcmpl-{next(counter):029d}",
            finish_reason="stop",
        )

    return reply


def _filler(i: int, size: int) -> str:
    words = f"case {i} asks about the quarterly revenue of the company and its growth "
    return (words * (size // len(words) + 1))[:size]


def build_cases(n: int) -> list[Case]:
    # Size the question so the judge's rendered prompt (system + rubric + question +
    # reference + answer) is about TARGET_PROMPT characters.
    probe = _judge_prompt_length("")
    question = max(TARGET_PROMPT - probe, 0)
    return [
        Case(id=str(i), input=_filler(i, question), output="42 million", expected="42 million")
        for i in range(n)
    ]


def _judge_prompt_length(question: str) -> int:
    from evaltrace.metrics.judge import _SYSTEM

    metric = SemanticSimilarity()
    case = Case(input=question, output="42 million", expected="42 million")
    rendered = metric.render(case, "42 million")
    return len(f"system: {_SYSTEM}\n\nuser: {rendered}")


def rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def interactions_held(n: int, response_ids: bool = False) -> dict[str, Any]:
    provider = TracerProvider()
    # A new reply string per call, as from a real judge (and its response id if asked).
    judge = ScriptedProvider(_verdict_with_id() if response_ids else _verdict)
    tracemalloc.start()
    before = traced()
    cases = build_cases(n)
    started = time.perf_counter()
    result = await evaluate(
        cases, [SemanticSimilarity()], judge=judge, max_concurrency=64, tracer_provider=provider
    )
    wall = time.perf_counter() - started
    assert result.complete and len(result.interactions) == n
    interactions = result.interactions
    del result, cases
    judge.calls.clear()  # the test double's own log of requests
    judge.params.clear()
    await asyncio.sleep(0.05)  # let the loop run the callbacks still holding finished tasks
    held = traced() - before
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    text = sum(len(i.prompt.encode()) + len(i.response.encode()) for i in interactions)
    parts = breakdown(interactions)
    sample = interactions[0]
    return {
        "interactions": n,
        "run_wall_s_under_tracemalloc": wall,
        "held_bytes": held,
        "peak_traced_bytes": peak,
        "text_bytes": text,
        "ratio": held / text,
        "per_interaction_held": held / n,
        "per_interaction_text": text / n,
        "prompt_chars": len(sample.prompt),
        "response_chars": len(sample.response),
        "shape": sample.shape._asdict(),
        "breakdown_per_interaction": {k: v / n for k, v in parts.items()},
    }


def breakdown(interactions: list[LLMInteraction]) -> dict[str, int]:
    """Bytes per part of the interactions, each object counted once (first part wins)."""
    seen: set[int] = set()
    sizes: dict[str, int] = defaultdict(int)

    def add(part: str, obj: Any) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        sizes[part] += sys.getsizeof(obj)
        if isinstance(obj, dict):
            for key, value in obj.items():
                add(part, key)
                add(part, value)
        elif isinstance(obj, list | tuple | set | frozenset):
            for item in obj:
                add(part, item)

    for interaction in interactions:
        add("instance (object, slots or __dict__)", interaction)
        fields = _fields(interaction)
        add("prompt text", fields["prompt"])
        add("response text", fields["response"])
        # What calls share (model, purpose, layout...): one shape for identical calls,
        # each shared object counted once, by the first interaction that has it.
        add("call shape (shared; counted once)", fields["shape"])
        add("metadata dict (None until asked for)", fields["metadata"])
        add("response id", fields["response_id"])
        add("timestamp datetime", fields["timestamp"])
        add("trace_id + span_id hex", fields["trace_id"])
        add("trace_id + span_id hex", fields["span_id"])
        extra = getattr(interaction, "__pydantic_fields_set__", None)
        if extra is not None:
            add("pydantic __pydantic_fields_set__", extra)
        instance_dict = getattr(interaction, "__dict__", None)
        if instance_dict is not None:
            add("instance __dict__ (the dict itself)", instance_dict)
        for value in fields.values():
            add("other field values", value)
    return dict(sizes)


def _fields(interaction: LLMInteraction) -> dict[str, Any]:
    """Field values of an interaction as held in its slots (``metadata`` None until asked for)."""
    slots = getattr(type(interaction), "__slots__", None) or list(vars(interaction))
    return {slot.lstrip("_"): getattr(interaction, slot) for slot in slots if slot != "__dict__"}


async def sequential_runs(runs: int) -> dict[str, Any]:
    provider = TracerProvider()
    judge = ScriptedProvider(VERDICT)
    cases = build_cases(20)
    points: dict[int, tuple[int, int]] = {}
    tracemalloc.start()
    for n in range(1, runs + 1):
        result = await evaluate(
            cases, [SemanticSimilarity()], judge=judge, max_concurrency=8, tracer_provider=provider
        )
        assert result.complete
        del result
        judge.calls.clear()
        judge.params.clear()
        collector = _collectors[provider]
        assert collector.open_spans == 0 and not collector._runs  # noqa: SLF001
        if n in (min(10, runs), runs // 2, runs):
            points[n] = (traced(), rss())
    tracemalloc.stop()
    start = min(10, runs)
    first, last = points[start], points[runs]
    return {
        "runs": runs,
        "points": points,
        "traced_growth_10_to_last": last[0] - first[0],
        "rss_growth_10_to_last": last[1] - first[1],
        "per_run_traced_growth": (last[0] - first[0]) / max(runs - start, 1),
    }


async def main(n: int, runs: int, response_ids: bool) -> None:
    held = await interactions_held(n, response_ids)
    rows = [
        ["interactions", f"{held['interactions']:,}"],
        ["prompt / response chars (each)", f"{held['prompt_chars']} / {held['response_chars']}"],
        ["text (prompt + response)", f"{held['text_bytes'] / 2**20:.1f} MiB"],
        ["held (tracemalloc)", f"{held['held_bytes'] / 2**20:.1f} MiB"],
        [
            "per interaction held / text",
            f"{held['per_interaction_held']:.0f} / {held['per_interaction_text']:.0f} B",
        ],
        ["ratio held / text", f"{held['ratio']:.2f}x (target <= 1.5x)"],
    ]
    print(table(rows, ["P4 interactions", "value"]))
    parts = sorted(held["breakdown_per_interaction"].items(), key=lambda kv: -kv[1])
    print(table([[k, f"{v:.0f}"] for k, v in parts], ["part of one interaction", "bytes"]))
    seq = await sequential_runs(runs)
    print(
        table(
            [[f"traced after run {k}", f"{v[0]:,}"] for k, v in seq["points"].items()]
            + [[f"RSS after run {k}", f"{v[1]:,}"] for k, v in seq["points"].items()]
            + [["traced growth per run (10 -> last)", f"{seq['per_run_traced_growth']:.0f} B"]],
            ["P4 sequential runs", "bytes"],
        )
    )
    save("p4-memory", {"interactions": held, "sequential": seq})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument(
        "--response-ids", action="store_true", help="judge replies carry a response id each"
    )
    args = parser.parse_args()
    asyncio.run(main(args.interactions, args.runs, args.response_ids))
