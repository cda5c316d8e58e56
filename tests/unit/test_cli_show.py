"""``evaltrace show``: the audit trail of a saved result, its filters, and one call in full."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evaltrace import EvaluationResult, ProviderError
from tests.unit.cli_support import PREFIX, Models, run

pytestmark = pytest.mark.usefixtures("plain_console")

JUDGE_OK = '{"score": 1, "explanation": "fine"}'


@pytest.fixture
def saved(
    models: Models, qa_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Path:
    """A run with task calls, judge calls and one failed judge call, saved."""
    models.script("app", "Paris [bold]not markup[/bold]", "56")
    models.script(
        "judge", ProviderError("judge overloaded (HTTP 503)", retryable=False), JUDGE_OK, JUDGE_OK
    )
    output = tmp_path / "r.json"
    argv = ["run", str(qa_dataset), "-m", "correctness", "--concurrency", "1"]
    argv += ["--task", f"{PREFIX}:app", "--judge", f"{PREFIX}:judge", "-o", str(output)]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    return output


def listed_span_ids(out: str) -> list[str]:
    return re.findall(r"│ \d\d:\d\d:\d\d\.\d{3} │ ([0-9a-f]{16}) │", out)


def test_show_lists_every_interaction_after_the_tables(
    saved: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = EvaluationResult.load(saved)
    code, out, err = run(["show", str(saved)], capsys)
    assert (code, err) == (0, "")
    assert out.index("Scores by metric") < out.index(f"Interactions ({len(result.interactions)})")
    assert listed_span_ids(out) == [i.span_id for i in result.interactions]
    errors = out[out.index("Errors (2)") : out.index("Interactions (")]
    assert "│ capital │ metric correctness " in errors
    assert "│ capital │ call correctness_evaluation attempt 1 (" in errors


@pytest.mark.parametrize(
    ("options", "keep"),
    [
        (["--purpose", "task"], lambda i: i.purpose == "task"),
        (["--model", "judge"], lambda i: i.model == "judge"),
        (["--case", "capital"], lambda i: i.case_id == "capital"),
        (["--errors"], lambda i: i.error is not None),
        (["--purpose", "correctness_evaluation", "--errors"], lambda i: i.error is not None),
    ],
)
def test_filters_list_only_matching_interactions(
    saved: Path, capsys: pytest.CaptureFixture[str], options: list[str], keep: object
) -> None:
    result = EvaluationResult.load(saved)
    expected = [i.span_id for i in result.interactions if keep(i)]  # type: ignore[operator]
    code, out, _ = run(["show", str(saved), *options], capsys)
    assert code == 0
    assert "Scores by metric" not in out
    assert expected and listed_span_ids(out) == expected


def test_limit_shortens_the_list_and_says_how_many_more(
    saved: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    total = len(EvaluationResult.load(saved).interactions)
    code, out, _ = run(["show", str(saved), "--model", "judge", "--limit", "1"], capsys)
    judge_calls = total - 2
    assert code == 0 and len(listed_span_ids(out)) == 1
    assert f"Interactions (1 of {judge_calls})" in out
    assert f"{judge_calls - 1} more: --limit 0 lists all" in out


def test_id_shows_one_interaction_in_full(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = EvaluationResult.load(saved)
    judge = next(i for i in result.interactions if i.purpose != "task" and i.error is None)
    code, out, _ = run(["show", str(saved), "--id", judge.span_id[:6]], capsys)
    assert code == 0
    assert judge.span_id in out and judge.trace_id in out
    assert "prompt: system" in out and "prompt: user" in out
    for message in judge.messages:  # every message, whole, by role
        assert message.content.split()[-1] in out
    assert "fine" in out  # the response
    task = next(i for i in result.interactions if i.case_id == "capital" and i.purpose == "task")
    code, out, _ = run(["show", str(saved), "--id", task.span_id], capsys)
    assert "[bold]not markup[/bold]" in out, "data is printed as text, never as rich markup"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--purpose", "grading"], "no purpose 'grading' in this result; its purposes: "),
        (["--model", "gpt-5"], "no model 'gpt-5' in this result; its models: app, judge"),
        (["--case", "nope"], "no case 'nope' in this result; its cases: capital, given, sum"),
        (["--id", "ab"], "--id 'ab': give at least 4 characters"),
        (["--id", "zzzzzz"], "--id 'zzzzzz': no interaction's span id starts with it"),
        (["--limit", "-1"], "Invalid value for '--limit'"),
    ],
)
def test_bad_filters_are_one_line_with_the_choices(
    saved: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    code, out, err = run(["show", str(saved), *options], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("evaltrace: error: ") and err.count("\n") == 1 and message in err
