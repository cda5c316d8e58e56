"""The HTML report: self-contained, offline, locked down by its CSP, and faithful to the result."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import (
    Case,
    CaseResult,
    Contains,
    Correctness,
    EvaluationResult,
    LLMInteraction,
    Message,
    ProviderError,
    ScriptedProvider,
    evaluate_sync,
)
from evaltrace.report import render_html_report, write_html_report
from evaltrace.report._html import embed_json

SCRIPT_INPUT = "<script>window.__pwned = 1</script>"
IMG_INPUT = "</script><img src=x onerror=alert(1)>"
TRACE_URL = "https://jaeger.example.com/trace/{trace_id}"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
_ANSWERS = {
    "France": "Paris",
    "2 + 2": "4",
    "pwned": "No.",
    "onerror": "Escaped.",
    "ocean": "Atlantic",
}


def _task(messages: Sequence[Message]) -> str:
    question = messages[-1].content
    return next((answer for key, answer in _ANSWERS.items() if key in question), "I don't know")


def _judge(messages: Sequence[Message]) -> str | ProviderError:
    prompt = "\n".join(m.content for m in messages)
    if "judge down" in prompt:  # a failed judge call: an error interaction and a metric failure
        return ProviderError("503 Service Unavailable: judge overloaded", status_code=503)
    if "Atlantic" in prompt:  # a reply with no score: a metric failure with a raw reply
        return "I would rather not put a number on it."
    return json.dumps({"score": 0.9, "explanation": "matches the reference"})


def report_cases() -> list[Case]:
    """Cases for report tests: plain ones, two that try to inject markup, two judge failures."""
    return [
        Case(input="What is the capital of France?", expected="Paris", id="france"),
        Case(input="What is 2 + 2?", expected="4", id="arith", context=["2 + 2 = 4", "Maths."]),
        Case(input=f"{SCRIPT_INPUT} pwned?", expected="No.", id="xss-script"),
        Case(input=IMG_INPUT, expected="Escaped.", id="xss-img"),
        Case(input="Which is the largest ocean?", expected="Pacific", id="ocean"),
        Case(input="Is the judge down?", expected="yes", id="judge-down"),
    ]


def report_result(
    tracer_provider: TracerProvider, *, task_delay: float = 0.0, judge_delay: float = 0.0
) -> EvaluationResult:
    """A realistic result (task and judge calls, failures), with a trace URL like an export's."""
    result = evaluate_sync(
        report_cases(),
        metrics=[Correctness(), Contains()],
        task=ScriptedProvider(_task, model="gpt-4o-mini", delay=task_delay),
        judge=ScriptedProvider(_judge, model="judge-model", delay=judge_delay),
        name="capitals <b>demo</b>",
        tracer_provider=tracer_provider,
    )
    return result.model_copy(update={"trace_url": TRACE_URL.format(trace_id=result.trace_id)})


class _Page(HTMLParser):
    """Every tag's attributes, and the text of every script and style element."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._open: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open = tag

    def handle_data(self, data: str) -> None:
        if self._open == "script":
            self.scripts.append((self.tags[-1][1], data))
        elif self._open == "style":
            self.styles.append(data)
        self._open = None


def _data(page: _Page) -> dict[str, Any]:
    (text,) = [body for attrs, body in page.scripts if attrs.get("type") == "application/json"]
    data: dict[str, Any] = json.loads(text)
    return data


def _csp(page: _Page) -> dict[str, str]:
    (policy,) = [
        a["content"] or ""
        for tag, a in page.tags
        if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_no_request_can_leave_the_page(tracer_provider: TracerProvider) -> None:
    result = report_result(tracer_provider)
    trace_url = result.trace_url
    text = render_html_report(result)
    page = _Page(text)
    linked = [
        (tag, name, value)
        for tag, attrs in page.tags
        for name, value in attrs.items()
        if name in ("src", "href", "srcset", "action", "poster", "data", "xlink:href")
    ]
    assert ("a", "href", trace_url) in linked  # the run's trace, to open in the backend
    assert [v for _, _, v in linked if v and not v.startswith("#")] == [trace_url]
    assert not [tag for tag, _ in page.tags if tag in ("link", "iframe", "img", "object", "embed")]
    assert "url(" not in "".join(page.styles) and "@import" not in "".join(page.styles)
    # Any absolute URL anywhere is the trace link (attribute and data) or the SVG namespace.
    assert set(re.findall(r"https?://[^\s\"'<>]+", text)) == {trace_url, SVG_NAMESPACE}


def test_markup_in_prompts_stays_data(tracer_provider: TracerProvider) -> None:
    result = report_result(tracer_provider)
    text = render_html_report(result)
    assert "<script>window.__pwned" not in text
    assert "</script><img" not in text and "<img" not in text
    assert "<b>demo</b>" not in text and "capitals &lt;b&gt;demo&lt;/b&gt;" in text
    page = _Page(text)
    assert [attrs.get("type") for attrs, _ in page.scripts] == ["application/json", None]
    inputs = [case["input"] for case in _data(page)["cases"]]
    assert f"{SCRIPT_INPUT} pwned?" in inputs and IMG_INPUT in inputs
    prompts = [call["prompt"] for call in _data(page)["interactions"]]
    assert any(SCRIPT_INPUT in prompt for prompt in prompts)


def test_embedded_json_has_every_interaction_and_case(tracer_provider: TracerProvider) -> None:
    result = report_result(tracer_provider)
    data = _data(_Page(render_html_report(result)))
    calls = data["interactions"]
    assert len(calls) == len(result.interactions) == 12
    assert [c["span_id"] for c in calls] == [i.span_id for i in result.interactions]
    for case, entry in zip(result.cases, data["cases"], strict=True):
        assert [calls[n]["span_id"] for n in entry["interactions"]] == [
            i.span_id for i in case.interactions
        ]
        assert entry["own_interactions"] == []
        assert len(entry["timeline"]["bars"]) == len(case.interactions)
        assert entry["timeline"]["start_known"]
    (failed,) = [c for c in calls if c["error"]]
    assert "judge overloaded" in failed["error"] and failed["case_id"] == "judge-down"
    judged = [c for c in calls if c["purpose"] != "task"]
    assert all(len(c["messages"]) == 2 for c in judged)  # system + user: roles shown
    assert {c["cost_label"] for c in calls} == {"$0.00 (local)"}
    assert data["totals"]["cost_label"] == "$0.00 (local)"
    assert data["cases_summary"] == {
        "total": 6,
        "errors": 0,
        "metric_failures": 2,
        "cases_with_metric_failures": 2,
    }
    ocean = next(c for c in data["cases"] if c["case_id"] == "ocean")
    (correctness,) = [s for s in ocean["scores"] if s["metric"] == "correctness"]
    assert correctness["value"] is None and correctness["raw_reply"]
    assert {(g["purpose"], g["model"]) for g in data["by_purpose"]} == {
        ("task", "gpt-4o-mini"),
        ("correctness_evaluation", "judge-model"),
    }
    assert [g["model"] for g in data["by_model"]] == ["gpt-4o-mini", "judge-model"]


def test_csp_allows_exactly_the_inline_script_and_style(tracer_provider: TracerProvider) -> None:
    page = _Page(render_html_report(report_result(tracer_provider)))
    policy = _csp(page)
    (script,) = [body for attrs, body in page.scripts if "type" not in attrs]
    (style,) = page.styles
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == _sha256(script)
    assert policy["style-src"] == _sha256(style)
    assert policy["img-src"] == "data:"
    assert "unsafe" not in " ".join(policy.values())
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    assert "eval(" not in script and "document.write" not in script


def test_a_schema_1_results_file_renders(tracer_provider: TracerProvider, tmp_path: Path) -> None:
    result = report_result(tracer_provider)
    old = result.model_dump(mode="json")
    del old["schema_version"]
    for case in old["cases"]:
        del case["started_at"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    loaded = EvaluationResult.load(path)
    assert all(case.started_at is None for case in loaded.cases)
    data = _data(_Page(render_html_report(loaded)))
    for case, entry in zip(loaded.cases, data["cases"], strict=True):
        first = min(i.timestamp for i in case.interactions)
        assert entry["timeline"]["start"] == first.isoformat()
        assert not entry["timeline"]["start_known"]
        assert min(bar["offset"] for bar in entry["timeline"]["bars"]) == 0


def test_write_is_atomic_and_returns_the_path(
    tracer_provider: TracerProvider, tmp_path: Path
) -> None:
    result = report_result(tracer_provider)
    target = tmp_path / "report.html"
    target.write_text("an older report")
    assert write_html_report(result, str(target)) == target
    assert target.read_text(encoding="utf-8") == render_html_report(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def _call(model: str, provider: str, **fields: Any) -> LLMInteraction:
    return LLMInteraction(
        **{
            "prompt": "p",
            "response": "r",
            "model": model,
            "tokens_used": 1500,
            "latency": 0.5,
            "timestamp": datetime(2026, 1, 1, tzinfo=UTC),
            "purpose": "task",
            "input_tokens": 1000,
            "output_tokens": 500,
            "provider": provider,
            **fields,
        }
    )


def _hand_built(
    calls: list[LLMInteraction],
    case_calls: list[LLMInteraction] | None = None,
    trace_url: str | None = None,
) -> EvaluationResult:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    case = CaseResult(case=Case(input="q"), case_id="0", output="a", interactions=case_calls or [])
    result = EvaluationResult.build(
        name="hand-built",
        run_id="r1",
        trace_id="t1",
        started_at=start,
        finished_at=start + timedelta(seconds=2),
        cases=[case],
        interactions=calls,
    )
    return result.model_copy(update={"trace_url": trace_url})


def test_costs_are_priced_unknown_or_local() -> None:
    priced = _call("gpt-4o-mini", "openai")  # $0.15 / M in, $0.60 / M out
    unpriced = _call("no-such-model", "openai", latency=1.5)
    elsewhere = _call("gpt-4o-mini", "openai", prompt="not in the run's list")
    data = _data(_Page(render_html_report(_hand_built([priced, unpriced], [elsewhere]))))
    assert [c["cost_label"] for c in data["interactions"]] == ["$0.000450", "unknown"]
    assert data["interactions"][0]["cost"] == 0.00045
    assert data["totals"]["cost_label"] == "$0.000450 + 1 unpriced"
    assert data["totals"]["latency_p95"] == pytest.approx(1.45)
    # The case's call is not in the run's list (hand-built): it is embedded with the case.
    (case,) = data["cases"]
    assert case["interactions"] == [] and case["own_interactions"][0]["cost_label"] == "$0.000450"
    only_unpriced = _data(_Page(render_html_report(_hand_built([unpriced, unpriced]))))
    assert only_unpriced["totals"]["cost_label"] == "unknown"


def test_only_http_trace_urls_become_links() -> None:
    calls = [_call("gpt-4o-mini", "openai")] * 2
    text = render_html_report(_hand_built(calls, trace_url="javascript:alert(1)"))
    assert "javascript:" not in text.split('id="evaltrace-data"')[0]
    assert _data(_Page(text))["run"]["trace_url"] is None
    assert not [a for tag, a in _Page(text).tags if tag == "a" and "trace-link" in str(a)]


def test_an_empty_result_renders() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    empty = EvaluationResult.build(
        name="nothing",
        run_id="r",
        trace_id="t",
        started_at=start,
        finished_at=start,
        cases=[],
        interactions=[],
        complete=False,
    )
    data = _data(_Page(render_html_report(empty)))
    assert data["interactions"] == [] and data["cases"] == [] and not data["run"]["complete"]


def test_embedded_json_cannot_end_its_element() -> None:
    value = {"s": "</script><!-- & \u2028\u2029 >"}
    embedded = embed_json(value)
    assert not set("<>&\u2028\u2029") & set(embedded)
    assert json.loads(embedded) == value
    assert html.unescape(embedded) == embedded  # nothing an HTML parser would decode


def test_non_finite_numbers_are_embedded_as_null() -> None:
    value = {"ok": 0.5, "nested": [{"nan": float("nan"), "inf": float("-inf")}], "n": 3}
    assert json.loads(embed_json(value)) == {
        "ok": 0.5,
        "nested": [{"nan": None, "inf": None}],
        "n": 3,
    }
