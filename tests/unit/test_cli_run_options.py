"""``evaltrace run`` options: criteria, --fail-under, --task module:function, --*-field, tables."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from evaltrace import Case, CaseResult, EvaluationResult, LLMInteraction
from evaltrace.cli._progress import RunningTotals
from tests.unit.cli_support import PREFIX, Models, row, run, write_jsonl

pytestmark = pytest.mark.usefixtures("plain_console")


@pytest.fixture
def qa(tmp_path: Path) -> Path:
    return write_jsonl(
        tmp_path / "qa.jsonl",
        [
            {"id": "france", "input": "Capital of France?", "expected": "Paris"},
            {"id": "japan", "input": "Capital of Japan?", "expected": "Tokyo"},
        ],
    )


def judge_politely(messages: object) -> str:
    polite = "please" in str(messages).lower()
    return json.dumps({"score": 1.0 if polite else 0.0, "explanation": "tone"})


def test_criteria_metric_is_judged_under_its_own_name(
    models: Models, qa: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models.script("app", "Paris, please note", "Tokyo")
    models.script("judge", judge_politely)
    output = tmp_path / "r.json"
    code, out, err = run(
        [
            "run",
            str(qa),
            "-m",
            "criteria:polite=Is the answer polite?",
            "--task",
            f"{PREFIX}:app",
            "--judge",
            f"{PREFIX}:judge",
            "-o",
            str(output),
        ],
        capsys,
    )
    assert code == 0, err
    result = EvaluationResult.load(output)
    assert result.metrics["polite"].mean == 0.5
    assert "Is the answer polite?" in models.built["judge"].calls[0][-1].content
    assert row(out, "polite")[1] == "0.500"
    assert {i.purpose for i in result.interactions} == {"task", "criteria_evaluation"}


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ("criteria:polite", "use criteria:NAME=RUBRIC"),
        ("criteria:=rubric", "use criteria:NAME=RUBRIC"),
        ("criteria:polite= ", "use criteria:NAME=RUBRIC"),
        ("criteria:be polite=x", "the criterion name 'be polite' may hold only"),
        ("criteria:contains=x", "'contains' is already a built-in metric"),
        ("criteria:polite=Polite?", "metric 'polite' needs a judge model: pass --judge"),
    ],
)
def test_bad_criteria_are_one_line(
    qa: Path, capsys: pytest.CaptureFixture[str], metric: str, message: str
) -> None:
    code, out, err = run(["run", str(qa), "-m", metric, "--task", f"{PREFIX}:x"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("evaltrace: error: ") and err.count("\n") == 1 and message in err


# --- --fail-under -----------------------------------------------------------------------


def test_fail_under_exits_3_after_saving_everything(
    models: Models, qa: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models.script("app", "Paris", "Kyoto")
    output = tmp_path / "r.json"
    argv = ["run", str(qa), "-m", "contains", "--task", f"{PREFIX}:app", "-o", str(output)]
    code, _, err = run([*argv, "--fail-under", "contains=0.9"], capsys)
    assert code == 3
    assert err == (
        "evaltrace: fail-under: contains: mean 0.500 < 0.900 (2 cases scored, 0 failures)\n"
    )
    assert len(EvaluationResult.load(output).cases) == 2
    models.script("app", "Paris", "Kyoto")
    code, _, err = run([*argv, "--fail-under", "contains=0.5"], capsys)
    assert (code, err) == (0, "")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("contains", "--fail-under 'contains': use METRIC=VALUE"),
        ("=0.5", "--fail-under '=0.5': use METRIC=VALUE"),
        ("correctness=0.5", "metric 'correctness' is not run (metrics: contains)"),
        ("contains=1.5", "the minimum must be a number from 0 to 1, not '1.5'"),
        ("contains=high", "the minimum must be a number from 0 to 1, not 'high'"),
    ],
)
def test_bad_fail_under_is_refused_before_any_call(
    models: Models, qa: Path, capsys: pytest.CaptureFixture[str], option: str, message: str
) -> None:
    models.script("app", "Paris")
    argv = ["run", str(qa), "-m", "contains", "--task", f"{PREFIX}:app", "--fail-under", option]
    code, _, err = run(argv, capsys)
    assert code == 2 and err.count("\n") == 1 and message in err
    assert "app" not in models.built


# --- --task module:function -------------------------------------------------------------


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A package in the current directory, as a user's project would have."""
    package = tmp_path / "project" / "qa_app_under_test"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "bot.py").write_text(
        textwrap.dedent(
            """
            import asyncio

            LIMIT = 3

            def answer(question):
                return "Paris" if "France" in question else "Tokyo"

            async def answer_async(question):
                await asyncio.sleep(0)
                return answer(question).upper()

            class Helpers:
                @staticmethod
                def shout(question):
                    return "PARIS!"
            """
        )
    )
    (package / "broken.py").write_text("raise RuntimeError('no config file')\n")
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.syspath_prepend(str(tmp_path / "project"))
    return "qa_app_under_test"


@pytest.mark.parametrize(
    ("function", "outputs"),
    [
        ("bot:answer", ["Paris", "Tokyo"]),
        ("bot:answer_async", ["PARIS", "TOKYO"]),
        ("bot:Helpers.shout", ["PARIS!", "PARIS!"]),
    ],
)
def test_task_can_be_an_importable_function(
    app_module: str,
    qa: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    function: str,
    outputs: list[str],
) -> None:
    output = tmp_path / "r.json"
    argv = ["run", str(qa), "-m", "contains", "--task", f"{app_module}.{function}", "-o"]
    code, _, err = run([*argv, str(output)], capsys)
    assert code == 0, err
    assert [c.output for c in EvaluationResult.load(output).cases] == outputs


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("bot:missing", "module '{m}.bot' has no attribute 'missing'"),
        ("bot:LIMIT", "'LIMIT' is a int, not a function"),
        ("broken:answer", "importing '{m}.broken' failed: RuntimeError: no config file"),
        ("nosuchmodule:answer", "'{m}.nosuchmodule' is neither a provider (anthropic, "),
        ("bot", "use PROVIDER:MODEL (providers: anthropic, "),
    ],
)
def test_bad_task_functions_are_one_line(
    app_module: str, qa: Path, capsys: pytest.CaptureFixture[str], function: str, message: str
) -> None:
    code, _, err = run(
        ["run", str(qa), "-m", "contains", "--task", f"{app_module}.{function}"], capsys
    )
    assert code == 2 and err.count("\n") == 1
    assert message.format(m=app_module) in err


# --- --*-field ---------------------------------------------------------------------------


def test_field_options_map_other_column_names(
    models: Models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "qa.csv"
    data.write_text("qid,question,answer\nq1,Capital of France?,Paris\nq2,Capital of Peru?,Lima\n")
    models.script("app", "Paris", "Quito")
    output = tmp_path / "r.json"
    argv = ["run", str(data), "-m", "exact_match", "--task", f"{PREFIX}:app", "-o", str(output)]
    fields = ["--input-field", "question", "--expected-field", "answer", "--id-field", "qid"]
    code, _, err = run([*argv, *fields], capsys)
    assert code == 0, err
    cases = EvaluationResult.load(output).cases
    assert [(c.case_id, c.case.input, c.case.expected) for c in cases] == [
        ("q1", "Capital of France?", "Paris"),
        ("q2", "Capital of Peru?", "Lima"),
    ]
    code, _, err = run([*argv, "--input-field", "prompt"], capsys)
    assert code == 2
    assert err == f"evaltrace: error: {data}:1: field 'prompt': the header has no 'prompt' " + (
        "column (columns: qid, question, answer)\n"
    )


# --- tables at the end ------------------------------------------------------------------


def test_many_cases_show_the_worst_and_an_errors_table(
    models: Models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [{"id": f"c{i:02}", "input": f"q{i}", "expected": "yes"} for i in range(12)]
    data = write_jsonl(tmp_path / "many.jsonl", records)
    replies = ["yes"] * 12
    replies[7] = "no"
    models.script("app", *replies)
    models.script(
        "judge",
        *['{"score": 1, "explanation": "ok"}'] * 5,
        "I refuse to grade this",
        *['{"score": 1, "explanation": "ok"}'] * 10,
    )
    argv = ["run", str(data), "-m", "contains", "-m", "correctness", "--concurrency", "1"]
    argv += [
        "--task",
        f"{PREFIX}:app",
        "--judge",
        f"{PREFIX}:judge",
        "-o",
        str(tmp_path / "r.json"),
    ]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "Worst cases (10 of 12, lowest mean score first)" in out
    tables = out[: out.index("Model calls by purpose")]
    worst = [line[2:5] for line in tables.splitlines() if re.match(r"│ c\d\d ", line)]
    assert len(worst) == 10 and set(worst[:2]) == {"c05", "c07"}
    errors = out[out.index("Errors (1)") :]
    assert "c05" in errors and "metric correctness" in errors


def test_running_totals_count_calls_tokens_and_cost() -> None:
    def call(
        model: str, provider: str, tokens: tuple[int, int], error: str | None = None
    ) -> LLMInteraction:
        return LLMInteraction(
            prompt="p",
            response="r",
            model=model,
            tokens_used=sum(tokens),
            latency=0.1,
            timestamp="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
            purpose="task",
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            provider=provider,
            error=error,
        )

    totals = RunningTotals()
    local = CaseResult(case=Case(input="q"), case_id="a", output="x")
    totals.add(local.model_copy(update={"interactions": [call("gemma", "llama.cpp", (10, 2))]}))
    assert str(totals) == "1 calls · 12 tokens · $0.00 (local)"
    priced = [call("gpt-4o-mini", "openai", (1_000_000, 0)), call("mystery", "x", (5, 5), "boom")]
    totals.add(local.model_copy(update={"interactions": priced}))
    assert str(totals) == "3 calls · 1 failed · 1,000,022 tokens · $0.1500 + 1 unpriced"
