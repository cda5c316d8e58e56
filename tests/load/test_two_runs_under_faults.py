"""Two 10,000-case runs at once against a judge server that answers 5 % 429 and 2 % 500.

Every request the server received is an interaction of exactly one run and one
case, with the same messages and the same outcome; failed attempts are kept as
interactions with their error and attempt number; every case ends scored or
with a recorded failure.

Heavy (about a minute on two cores): marked ``integration``. ``EVALTRACE_LOAD_CASES``
changes the number of cases per run (default 10,000).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import defaultdict

import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import Case, LLMInteraction, Model, SemanticSimilarity, evaluate
from evaltrace.providers.openai_compat import OpenAIProvider
from evaltrace.results import EvaluationResult
from evaltrace.tracing._telemetry import _collectors
from tests.load.conftest import SpanCounter, StartFaultServer
from tests.support.fault_server import (
    DEFAULT_REPLY,
    Action,
    FaultServer,
    Outcome,
    RandomSchedule,
    RequestRecord,
)

pytestmark = pytest.mark.integration

CASES_PER_RUN = int(os.environ.get("EVALTRACE_LOAD_CASES", "10000"))
CONCURRENCY = 64
_MARKER = re.compile(r"\[case=(?P<case>[^\]]+)\]")
_FAILURE_ERROR = {
    Outcome.RATE_LIMIT: "RateLimitError",
    Outcome.SERVER_ERROR: "InternalServerError",
}


def _cases(run: str, n: int) -> list[Case]:
    return [
        Case(
            id=f"{run}-{i}",
            input=f"[case={run}-{i}] run {run}: what is {i} + {i}?",
            output=str(2 * i),
            expected=str(2 * i),
        )
        for i in range(n)
    ]


def _case_of_request(record: RequestRecord) -> str:
    match = _MARKER.search(record.text())
    assert match is not None, f"request {record.index} carries no case marker"
    return match["case"]


def _case_of_interaction(interaction: LLMInteraction) -> str:
    match = _MARKER.search(interaction.prompt)
    assert match is not None, f"interaction {interaction.span_id} carries no case marker"
    return match["case"]


def _sent(record: RequestRecord) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in record.messages]


def _recorded(interaction: LLMInteraction) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in interaction.messages]


async def test_two_concurrent_10k_runs_account_for_every_request(
    start_fault_server: StartFaultServer,
    bare_tracer_provider: TracerProvider,
    span_counter: SpanCounter,
) -> None:
    server: FaultServer = await start_fault_server(
        RandomSchedule(
            {Action(Outcome.RATE_LIMIT, retry_after=0): 0.05, Outcome.SERVER_ERROR: 0.02},
            seed=20240611,
        )
    )
    # One HTTP client for both runs (a shared judge provider); each run its own Model so
    # the per-model limit (default 16) does not cap the run's max_concurrency.
    provider = OpenAIProvider("judge-model", base_url=server.base_url, api_key="test")
    runs = {"A": _cases("A", CASES_PER_RUN), "B": _cases("B", CASES_PER_RUN)}
    try:
        results: list[EvaluationResult] = await asyncio.gather(
            *(
                evaluate(
                    cases,
                    [SemanticSimilarity()],
                    judge=Model(provider, max_concurrency=CONCURRENCY),
                    name=f"load-{run}",
                    max_concurrency=CONCURRENCY,
                    tracer_provider=bare_tracer_provider,
                )
                for run, cases in runs.items()
            )
        )
    finally:
        await provider.aclose()
    by_run = dict(zip(runs, results, strict=True))

    requests = server.chat_requests
    outcomes = server.outcomes()
    # The schedule really injected faults, and nothing else happened.
    assert set(outcomes) <= {Outcome.OK, Outcome.RATE_LIMIT, Outcome.SERVER_ERROR}
    assert outcomes[Outcome.RATE_LIMIT] > 0 and outcomes[Outcome.SERVER_ERROR] > 0

    # 1. Every request the server logged is exactly one interaction, across both runs.
    all_interactions = [i for r in results for i in r.interactions]
    assert len(all_interactions) == len(requests)
    assert len({i.span_id for i in all_interactions}) == len(all_interactions)

    # 2. Each interaction belongs to its run and case, and matches that case's requests.
    sent: dict[str, list[RequestRecord]] = defaultdict(list)
    for record in requests:  # arrival order = attempt order within one case
        sent[_case_of_request(record)].append(record)
    for run, result in by_run.items():
        assert result.complete, f"run {run} did not complete"
        assert len(result.cases) == CASES_PER_RUN
        assert sum(len(c.interactions) for c in result.cases) == len(result.interactions)
        for interaction in result.interactions:
            assert interaction.trace_id == result.trace_id
            assert interaction.case_id is not None and interaction.case_id.startswith(f"{run}-")
            assert _case_of_interaction(interaction) == interaction.case_id
            assert interaction.purpose == "semantic_evaluation"
        for case in result.cases:
            attempts = sorted(case.interactions, key=lambda i: i.attempt or 0)
            received = sent.pop(case.case_id, [])
            assert [i.attempt for i in attempts] == list(range(1, len(received) + 1)), case.case_id
            for interaction, record in zip(attempts, received, strict=True):
                assert _recorded(interaction) == _sent(record)
                assert record.outcome is not None
                if record.outcome.failed:
                    # A failed attempt is still an interaction, with its error.
                    assert interaction.error is not None
                    assert _FAILURE_ERROR[record.outcome] in interaction.error
                    assert interaction.response == ""
                else:
                    assert interaction.error is None
                    assert interaction.response == DEFAULT_REPLY
                    assert interaction.tokens_used == 16
            # 3. Every case ends with a score or a recorded failure, as the server decided.
            (score,) = case.scores
            assert (score.value is None) == (score.error is not None)
            last = received[-1].outcome
            assert last is not None
            if last.failed:
                assert score.error is not None
            else:
                assert score.value == 0.8 and score.error is None
    assert not sent, f"requests of no case: {list(sent)[:5]}"

    # 4. Nothing left behind: every span ended, the collector forgot both runs.
    assert span_counter.started == span_counter.ended
    collector = _collectors[bare_tracer_provider]
    assert collector.open_spans == 0
    assert not collector._runs  # noqa: SLF001
    assert not collector._attached  # noqa: SLF001
