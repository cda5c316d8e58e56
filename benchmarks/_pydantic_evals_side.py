"""The pydantic-evals side of P2, run by bench_throughput.py in its own venv.

    benchmarks/.work/venv-pydantic-evals/bin/python benchmarks/_pydantic_evals_side.py \
        --base-url http://127.0.0.1:PORT --cases 1000 --concurrency 32

1,000 cases; the task makes one chat completion with the openai SDK (same
client settings as the raw loop: SDK defaults, max_retries=0, timeout 60 s); an
``LLMJudge`` evaluator asks a judge model served by the same nginx (its
location answers with the ``final_result`` tool call pydantic-ai expects).
Prints one JSON line: wall time of ``Dataset.evaluate`` and what was scored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from openai import AsyncOpenAI

# pydantic-ai and pydantic-evals are installed only in this script's own venv (see above).
from pydantic_ai.models.openai import OpenAIChatModel  # type: ignore[import-not-found]
from pydantic_ai.providers.openai import OpenAIProvider  # type: ignore[import-not-found]
from pydantic_evals import Case, Dataset  # type: ignore[import-not-found]
from pydantic_evals.evaluators import LLMJudge  # type: ignore[import-not-found]


async def main(base_url: str, cases: int, concurrency: int) -> None:
    task_client = AsyncOpenAI(
        base_url=f"{base_url}/v1", api_key="test", max_retries=0, timeout=60.0
    )
    judge_client = AsyncOpenAI(
        base_url=f"{base_url}/pe/v1", api_key="test", max_retries=0, timeout=60.0
    )
    judge = OpenAIChatModel("bench-judge", provider=OpenAIProvider(openai_client=judge_client))

    async def task(question: str) -> str:
        response = await task_client.chat.completions.create(
            model="bench-task", messages=[{"role": "user", "content": question}]
        )
        return response.choices[0].message.content or ""

    dataset = Dataset(
        name="bench",
        cases=[
            Case(
                name=f"c{i}", inputs=f"question {i}: what is {i} + {i}?", expected_output=str(2 * i)
            )
            for i in range(cases)
        ],
        evaluators=[
            LLMJudge(
                rubric="The answer means the same as the expected output.",
                model=judge,
                include_input=True,
                include_expected_output=True,
                score={"include_reason": True},
            )
        ],
    )
    started = time.perf_counter()
    report = await dataset.evaluate(task, max_concurrency=concurrency, progress=False)
    wall = time.perf_counter() - started
    scored = sum(1 for c in report.cases if c.scores)
    failures = len(report.failures) + sum(len(c.evaluator_failures) for c in report.cases)
    print(
        json.dumps(
            {"wall": wall, "cases": len(report.cases), "scored": scored, "failures": failures}
        )
    )
    await task_client.close()
    await judge_client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.base_url, args.cases, args.concurrency))
