"""``evaltrace report`` and ``run --report``: the HTML report of a run, written by the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from evaltrace import RESULTS_SCHEMA_VERSION, EvaluationResult
from evaltrace.report._html import DATA_ELEMENT_ID
from tests.unit.cli_support import PREFIX, Models, run

pytestmark = pytest.mark.usefixtures("plain_console")


def embedded(report: Path) -> dict[str, Any]:
    page = report.read_text(encoding="utf-8")
    block = re.search(
        rf'<script type="application/json" id="{DATA_ELEMENT_ID}">(.*?)</script>', page, re.S
    )
    assert block is not None, "the report embeds its data"
    data: dict[str, Any] = json.loads(block.group(1))
    return data


def saved_run(
    models: Models, dataset: Path, output: Path, capsys: pytest.CaptureFixture[str]
) -> Path:
    """``evaltrace run`` of ``dataset`` (every answer "Paris"), saved to ``output``."""
    models.script("app", "Paris")
    argv = ["run", str(dataset), "-m", "contains", "--task", f"{PREFIX}:app", "-o", str(output)]
    assert run(argv, capsys)[0] == 0
    return output


def test_run_writes_the_report_with_every_interaction(
    models: Models, qa_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models.script("app", "<script>alert(1)</script> Paris", "56")
    output, report = tmp_path / "r.json", tmp_path / "r.html"
    argv = ["run", str(qa_dataset), "-m", "contains", "--task", f"{PREFIX}:app"]
    code, out, err = run([*argv, "-o", str(output), "--report", str(report)], capsys)
    assert code == 0, err
    assert f"report: {report}" in out
    result = EvaluationResult.load(output)
    data = embedded(report)
    assert len(data["interactions"]) == len(result.interactions) == 2
    assert "<script>alert(1)" not in report.read_text(encoding="utf-8")


def test_report_command_renders_a_saved_result(
    models: Models, qa_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = saved_run(models, qa_dataset, tmp_path / "r.json", capsys)
    target = tmp_path / "shared.html"
    code, out, err = run(["report", str(output), "-o", str(target)], capsys)
    assert (code, err) == (0, "")
    assert out == f"report: {target}\n"
    assert len(embedded(target)["interactions"]) == 2
    code, _, _ = run(["report", str(output.with_suffix(".cases.jsonl")), "-o", str(target)], capsys)
    assert code == 0 and len(embedded(target)["interactions"]) == 2


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ("{dir}/r.json", "--report {dir}/r.json is also a results file"),
        ("{dir}/missing/r.html", "cannot write {dir}/missing/r.html: directory"),
        ("{dir}", "cannot write {dir}: it is a directory"),
    ],
)
def test_bad_report_paths_are_refused_before_running(
    models: Models,
    qa_dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    report: str,
    message: str,
) -> None:
    models.script("app", "Paris")
    argv = ["run", str(qa_dataset), "-m", "contains", "--task", f"{PREFIX}:app"]
    argv += ["-o", str(tmp_path / "r.json"), "--report", report.format(dir=tmp_path)]
    code, _, err = run(argv, capsys)
    assert code == 2 and err.count("\n") == 1
    assert message.format(dir=tmp_path) in err
    assert "app" not in models.built


def test_a_stream_from_a_newer_evaltrace_is_refused_and_an_older_one_upgraded(
    models: Models, qa_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = saved_run(models, qa_dataset, tmp_path / "r.json", capsys)
    stream = output.with_suffix(".cases.jsonl")
    lines = stream.read_text(encoding="utf-8").splitlines()
    summary = json.loads(lines[-1])
    assert summary["type"] == "summary"
    for version in (99, 2):
        stream.write_text(
            "\n".join([*lines[:-1], json.dumps({**summary, "schema_version": version})]) + "\n",
            encoding="utf-8",
        )
        code, _, err = run(["report", str(stream), "-o", str(tmp_path / "r.html")], capsys)
        if version == 99:
            assert code == 2
            assert err == (
                f"evaltrace: error: {stream}: schema_version 99 was written by a newer "
                f"evaltrace (this one reads up to {RESULTS_SCHEMA_VERSION}): upgrade evaltrace\n"
            )
        else:
            assert code == 0
            assert embedded(tmp_path / "r.html")["run"]["schema_version"] == RESULTS_SCHEMA_VERSION
