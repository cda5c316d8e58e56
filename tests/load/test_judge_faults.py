"""A judge that answers badly: every bad answer is a recorded failure, and the run completes.

Broken JSON bodies, replies with no score, replies slower than the retry policy's
timeout and dropped connections, from a real HTTP server (``FaultServer``).
"""

from __future__ import annotations

import re
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from evaltrace import Case, Correctness, Model, RetryPolicy, SemanticSimilarity, evaluate
from evaltrace.providers.openai_compat import OpenAIProvider
from evaltrace.tracing._telemetry import _collectors
from tests.load.conftest import SpanCounter, StartFaultServer
from tests.support.fault_server import Action, FixedSchedule, Outcome

NO_SCORE = "I would rather not put a number on this answer."
_KIND = re.compile(r"\[kind=(?P<kind>\w+)\]")
# What each kind of case makes the server do, on every attempt.
_ACTIONS = {
    "ok": Action(Outcome.OK),
    "malformed": Action(Outcome.MALFORMED),
    "noscore": Action(Outcome.OK, text=NO_SCORE),
    "slow": Action(Outcome.SLOW, delay=30.0),
    "drop": Action(Outcome.DROP),
}
MAX_ATTEMPTS = 3
# Policy for the test: quick backoff, and a timeout far below the slow reply's delay.
RETRY = RetryPolicy(max_attempts=MAX_ATTEMPTS, initial_delay=0.01, timeout=0.5)


def _by_kind(index: int, body: dict[str, Any]) -> Action:
    text = "\n".join(str(m.get("content")) for m in body.get("messages", []))
    match = _KIND.search(text)
    return _ACTIONS[match["kind"]] if match else Action(Outcome.OK)


def _cases(per_kind: int = 3) -> list[Case]:
    return [
        Case(id=f"{kind}-{i}", input=f"[kind={kind}] question {i}", output="42", expected="42")
        for kind in _ACTIONS
        for i in range(per_kind)
    ]


async def test_bad_judge_replies_become_recorded_failures_and_the_run_completes(
    start_fault_server: StartFaultServer,
    bare_tracer_provider: TracerProvider,
    span_counter: SpanCounter,
) -> None:
    server = await start_fault_server(_by_kind)
    judge = Model(
        OpenAIProvider("judge-model", base_url=server.base_url, api_key="test"), retry=RETRY
    )
    try:
        result = await evaluate(
            _cases(),
            [SemanticSimilarity()],
            judge=judge,
            max_concurrency=8,
            tracer_provider=bare_tracer_provider,
        )
    finally:
        await judge.aclose()

    assert result.complete
    assert len(result.interactions) == len(server.chat_requests)
    for case in result.cases:
        kind = case.case_id.split("-")[0]
        (score,) = case.scores
        attempts = sorted(case.interactions, key=lambda i: i.attempt or 0)
        assert [i.attempt for i in attempts] == list(range(1, len(attempts) + 1))
        if kind == "ok":
            assert score.value == 0.8 and score.error is None
            assert [i.error for i in attempts] == [None]
            continue
        # Every bad reply is a recorded failure: no value, an error, and the run went on.
        assert score.value is None and score.error, (case.case_id, score)
        if kind == "noscore":
            # The call itself worked: one clean interaction; the metric failed to read it.
            assert [i.error for i in attempts] == [None]
            assert attempts[0].response == NO_SCORE
            assert "no score" in score.error and score.raw_reply == NO_SCORE
            continue
        assert all(i.error for i in attempts), [i.error for i in attempts]
        if kind == "malformed":
            # A 200 whose body is not JSON is a server or proxy hiccup: retried like one.
            assert len(attempts) == MAX_ATTEMPTS
            assert all("JSONDecodeError" in (i.error or "") for i in attempts)
        elif kind == "slow":
            assert len(attempts) == MAX_ATTEMPTS
            assert all("Timeout" in (i.error or "") for i in attempts)
            assert all(i.latency < 30 for i in attempts)  # the attempt gave up, not the server
        elif kind == "drop":
            assert len(attempts) == MAX_ATTEMPTS
            assert all("APIConnectionError" in (i.error or "") for i in attempts)
    assert span_counter.started == span_counter.ended
    collector = _collectors[bare_tracer_provider]
    assert collector.open_spans == 0 and not collector._runs  # noqa: SLF001


async def test_malformed_bodies_under_a_fixed_schedule_then_recovery(
    start_fault_server: StartFaultServer, bare_tracer_provider: TracerProvider
) -> None:
    """Request by request: a drop, then OK; a broken body, then OK. Both failures are retried."""
    server = await start_fault_server(
        FixedSchedule([Outcome.DROP, Outcome.OK, Outcome.MALFORMED, Outcome.OK]), slow_delay=0.0
    )
    judge = Model(
        OpenAIProvider("judge-model", base_url=server.base_url, api_key="test"), retry=RETRY
    )
    try:
        result = await evaluate(
            [Case(id="c0", input="q0", output="a"), Case(id="c1", input="q1", output="a")],
            [Correctness()],
            judge=judge,
            max_concurrency=1,
            tracer_provider=bare_tracer_provider,
        )
    finally:
        await judge.aclose()
    first, second = result.cases
    assert [i.error is not None for i in first.interactions] == [True, False]
    assert first.scores[0].value == 0.8
    assert [i.error is not None for i in second.interactions] == [True, False]
    assert "JSONDecodeError" in (second.interactions[0].error or "")
    assert second.scores[0].value == 0.8
    assert [r.outcome for r in server.chat_requests] == [
        Outcome.DROP,
        Outcome.OK,
        Outcome.MALFORMED,
        Outcome.OK,
    ]


async def test_transient_500s_do_not_switch_structured_output_off(
    start_fault_server: StartFaultServer, bare_tracer_provider: TracerProvider
) -> None:
    server = await start_fault_server(
        FixedSchedule([Outcome.SERVER_ERROR, Outcome.OK] * 3, default=Outcome.OK)
    )
    judge = Model(
        OpenAIProvider("judge-model", base_url=server.base_url, api_key="test"), retry=RETRY
    )
    try:
        result = await evaluate(
            [Case(id=str(i), input=f"q{i}", output="a") for i in range(4)],
            [Correctness()],
            judge=judge,
            max_concurrency=1,
            tracer_provider=bare_tracer_provider,
        )
    finally:
        await judge.aclose()
    assert all(c.scores[0].value == 0.8 for c in result.cases)
    formats = [(r.body or {}).get("response_format", {}).get("type") for r in server.chat_requests]
    # Three random 500s later, the judge still asks for the structured format it began with.
    assert formats[-1] == formats[0] == "json_schema", formats
    errors = [i.error or "" for i in result.interactions if i.error]
    assert all("UnsupportedResponseFormat" not in e for e in errors), errors
