"""``evaltrace run --repeat`` and ``evaltrace compare``: tables, --json, gates, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaltrace import EvaluationResult
from evaltrace.cli._exit import EXIT_BUDGET, EXIT_OK, EXIT_REGRESSION, EXIT_USAGE
from tests.unit.cli_support import plain_console, run, write_jsonl
from tests.unit.test_compare import fixed_values, result

__all__ = ["plain_console"]

pytestmark = pytest.mark.usefixtures("plain_console")


@pytest.fixture
def sides(tmp_path: Path) -> tuple[Path, Path, Path]:
    base = result(fixed_values(), name="base").save(tmp_path / "base.json")
    same = result(fixed_values(), name="same").save(tmp_path / "same.json")
    worse = result(fixed_values(-0.3), name="worse", latency=0.3).save(tmp_path / "worse.json")
    return base, same, worse


def test_run_repeat_runs_every_case_n_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = write_jsonl(
        tmp_path / "d.jsonl",
        [
            {"input": "2+2?", "expected": "4", "output": "4"},
            {"input": "sky?", "expected": "blue", "output": "grey"},
        ],
    )
    out_path = tmp_path / "r.json"
    code, out, _ = run(
        [
            "run",
            str(dataset),
            "-m",
            "contains",
            "--repeat",
            "3",
            "-o",
            str(out_path),
            "--no-progress",
        ],
        capsys,
    )
    assert code == EXIT_OK
    assert "2 cases x 3 trials" in out and "Cases across 3 trials" in out and "95% [" in out
    saved = EvaluationResult.load(out_path)
    assert saved.repeat == 3 and len(saved.cases) == 6 and len(saved.trials) == 2
    code, shown, _ = run(["show", str(out_path)], capsys)
    assert code == EXIT_OK and "Cases across 3 trials" in shown


def test_identical_runs_compare_unchanged(
    sides: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, same, _ = sides
    code, out, err = run(["compare", str(base), str(same), "--fail-on-regression"], capsys)
    assert code == EXIT_OK and err == ""
    assert "unchanged" in out and "30 matched cases" in out


def test_json_and_the_regression_gate(
    sides: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, _, worse = sides
    code, out, err = run(["compare", str(base), str(worse), "--json"], capsys)
    assert code == EXIT_OK  # no gate asked for
    data = json.loads(out)
    quality = data["metrics"]["quality"]
    assert quality["verdict"] == "regressed" and quality["interval"][1] < 0
    assert data["cases"] == {**data["cases"], "added": [], "removed": [], "errored": []}
    code, _, err = run(["compare", str(base), str(worse), "--fail-on-regression"], capsys)
    assert code == EXIT_REGRESSION and err.startswith("evaltrace: regression: quality: -0.")


def test_budget_gates(sides: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    base, _, worse = sides
    code, _, err = run(["compare", str(base), str(worse), "--max-latency-increase", "50"], capsys)
    assert code == EXIT_BUDGET and "p95 latency of task calls rose +200.0%" in err
    code, _, _ = run(
        [
            "compare",
            str(base),
            str(worse),
            "--max-latency-increase",
            "250",
            "--max-cost-increase",
            "5",
        ],
        capsys,
    )
    assert code == EXIT_OK


def test_the_report_is_written(
    sides: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _, worse = sides
    code, out, _ = run(
        ["compare", str(base), str(worse), "--report", str(tmp_path / "c.html")], capsys
    )
    assert code == EXIT_OK and f"report: {tmp_path / 'c.html'}" in out
    page = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and "http" not in page.split("<body>")[0].replace(
        "http-equiv", ""
    )


def test_bad_input_is_one_line(
    sides: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _, _ = sides
    other = result({"x": [0.1], "y": [0.2]}, name="other").save(tmp_path / "other.json")
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**json.loads(base.read_text()), "schema_version": 99}))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    cases = [
        ([str(base), str(other)], "no case in common"),
        ([str(base), str(newer)], "written by a newer evaltrace"),
        ([str(base), str(broken)], f"{broken}:1: is not an evaltrace results file"),
        ([str(base), str(tmp_path / "missing.json")], "no such file"),
    ]
    for argv, message in cases:
        code, out, err = run(["compare", *argv], capsys)
        assert code == EXIT_USAGE and out == ""
        assert err.count("\n") == 1 and err.startswith("evaltrace: error: ") and message in err


def test_a_side_may_be_a_recorded_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "runs.db"
    good = [
        {"id": f"c{i}", "input": f"q{i}", "expected": "yes", "output": "yes"} for i in range(40)
    ]
    worse = [{**case, "output": "no" if i % 2 else "yes"} for i, case in enumerate(good)]
    for name, cases, extra in (
        ("qa", good, ["--store", str(store)]),
        ("qa-candidate", worse, ["--no-store"]),
    ):
        code, _, err = run(
            ["run", str(write_jsonl(tmp_path / f"{name}.jsonl", cases)), "-m", "contains",
             "--name", name, "-o", str(tmp_path / f"{name}.json"), "--no-progress", *extra],
            capsys,
        )  # fmt: skip
        assert code == EXIT_OK, err
    argv = ["compare", "qa@latest", str(tmp_path / "qa-candidate.json"), "--store", str(store)]
    code, out, err = run([*argv, "--json", "--fail-on-regression"], capsys)
    assert code == EXIT_REGRESSION, err
    contains = json.loads(out)["metrics"]["contains"]
    assert (contains["baseline_mean"], contains["candidate_mean"]) == (1.0, 0.5)
    code, _, err = run(["compare", "nosuch@latest", "qa.json", "--store", str(store)], capsys)
    assert code == EXIT_USAGE and "nosuch" in err and "Traceback" not in err


def test_assert_no_regression_against_a_recorded_run(tmp_path: Path) -> None:
    from evaltrace import Case, Contains, evaluate_sync
    from evaltrace.testing import RegressionError, assert_no_regression

    store = str(tmp_path / "runs.db")
    cases = [Case(id=f"c{i}", input=f"q{i}", expected="yes", output="yes") for i in range(40)]
    evaluate_sync(cases, [Contains()], name="qa", store=store, keep_result=True)
    worse = [c.model_copy(update={"output": "no"}) if i % 2 else c for i, c in enumerate(cases)]
    candidate = evaluate_sync(worse, [Contains()], name="qa")
    with pytest.raises(RegressionError, match="contains"):
        assert_no_regression(candidate, "qa@latest", store=store)
    assert_no_regression(evaluate_sync(cases, [Contains()]), "qa@latest", store=store)
