"""The installed ``evaltrace`` command, run as a user runs it: help, and one line per bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EVALTRACE = Path(sys.executable).with_name("evaltrace")
KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL")


def evaltrace(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    env = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    env["COLUMNS"] = "120"
    return subprocess.run(
        [str(EVALTRACE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("command", ["run", "show", "report", "demo"])
def test_every_command_has_help_with_examples(command: str, tmp_path: Path) -> None:
    done = evaltrace(command, "--help", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert f"Usage: evaltrace {command}" in done.stdout
    assert "Examples:" in done.stdout and f"evaltrace {command} " in done.stdout


def test_top_level_help_lists_the_commands(tmp_path: Path) -> None:
    done = evaltrace("--help", cwd=tmp_path)
    assert done.returncode == 0
    for command in ("demo", "run", "show", "report"):
        assert f"  {command} " in done.stdout
    assert "Exit codes:" in done.stdout


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GOOD_LINE = json.dumps({"input": "q", "expected": "a", "output": "a"}) + "\n"

BAD_INPUTS: dict[str, tuple[list[str], dict[str, str | bytes], str]] = {
    "malformed jsonl line": (
        ["run", "qa.jsonl", "-m", "contains"],
        {"qa.jsonl": GOOD_LINE + '{"input": "b", \n'},
        "qa.jsonl:2: invalid JSON: Expecting property name enclosed in double quotes",
    ),
    "csv without the input column": (
        ["run", "qa.csv", "-m", "contains"],
        {"qa.csv": "question,answer\nq,a\n"},
        "qa.csv:1: field 'input': the header has no 'input' column (columns: question, answer)",
    ),
    "csv mapped to a missing column": (
        ["run", "qa.csv", "-m", "contains", "--expected-field", "answer", "--input-field", "q"],
        {"qa.csv": "question,answer\nq,a\n"},
        "qa.csv:1: field 'q': the header has no 'q' column",
    ),
    "unknown metric": (
        ["run", "qa.jsonl", "-m", "bleu"],
        {"qa.jsonl": GOOD_LINE},
        "unknown metric 'bleu'; valid metrics: answer_relevance, contains, correctness,",
    ),
    "unknown judge provider": (
        ["run", "qa.jsonl", "-m", "correctness", "--judge", "nosuch:model"],
        {"qa.jsonl": GOOD_LINE},
        "unknown model 'nosuch:model': use 'provider:model' with provider one of anthropic, ",
    ),
    "unknown task provider or module": (
        ["run", "qa.jsonl", "-m", "contains", "--task", "nosuch:model"],
        {"qa.jsonl": GOOD_LINE},
        "--task 'nosuch:model': 'nosuch' is neither a provider (anthropic, local, openai,",
    ),
    "missing OpenAI key": (
        ["run", "qa.jsonl", "-m", "contains", "--task", "openai:gpt-4o-mini"],
        {"qa.jsonl": json.dumps({"input": "q"}) + "\n"},
        "openai:gpt-4o-mini needs an API key: set OPENAI_API_KEY",
    ),
    "missing Anthropic key": (
        ["run", "qa.jsonl", "-m", "correctness", "--judge", "anthropic:claude-sonnet-4-5"],
        {"qa.jsonl": GOOD_LINE},
        "ANTHROPIC_API_KEY",
    ),
    "no such dataset": (["run", "nope.jsonl", "-m", "contains"], {}, "nope.jsonl: no such file"),
    "dataset is a directory": (
        ["run", "data.jsonl", "-m", "contains"],
        {"data.jsonl/": ""},
        "data.jsonl: is a directory, not a dataset file",
    ),
    "dataset not utf-8": (
        ["run", "qa.jsonl", "-m", "contains"],
        {"qa.jsonl": GOOD_LINE.encode() + b'{"input": "caf\xe9"}\n'},
        "qa.jsonl:2: not UTF-8 text",
    ),
    "unsupported dataset type": (
        ["run", "qa.txt", "-m", "contains"],
        {"qa.txt": "hello"},
        "qa.txt: unsupported file type '.txt': use one of .jsonl, .ndjson, .json, .csv",
    ),
    "show a file that is not a result": (
        ["show", "qa.jsonl"],
        {"qa.jsonl": GOOD_LINE},
        "qa.jsonl holds no finished cases",
    ),
    "show a missing file": (["show", "results.json"], {}, "cannot read results.json: no such file"),
    "report of a missing file": (
        ["report", "results.json"],
        {},
        "cannot read results.json: no such file",
    ),
    "report of a newer schema": (
        ["report", "results.json"],
        {"results.json": json.dumps({"schema_version": 99, "name": "x"})},
        "results.json: schema_version 99 was written by a newer evaltrace",
    ),
    "missing argument": (["run"], {}, "Missing argument 'DATASET'. (see: evaltrace run --help)"),
    "unknown option": (["show", "r.json", "--colour"], {}, "No such option '--colour'"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(case: str, tmp_path: Path) -> None:
    argv, files, message = BAD_INPUTS[case]
    for name, text in files.items():
        if name.endswith("/"):
            (tmp_path / name).mkdir()
        else:
            write(tmp_path / name, text)
    done = evaltrace(*argv, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("evaltrace: error: ") and done.stderr.count("\n") == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "results.cases.jsonl").exists()


def test_a_bad_line_late_in_the_dataset_stops_the_run_before_any_call(tmp_path: Path) -> None:
    """The whole dataset is read first: no case runs (nor costs) before the error is reported."""
    write(
        tmp_path / "recorder.py",
        "from pathlib import Path\n"
        "def answer(question):\n"
        "    with Path('calls.log').open('a') as log:\n"
        "        log.write(question + '\\n')\n"
        "    return 'a'\n",
    )
    lines = [json.dumps({"input": f"q{i}"}) for i in range(50)] + ['{"input": null}']
    write(tmp_path / "qa.jsonl", "\n".join(lines) + "\n")
    done = evaltrace("run", "qa.jsonl", "-m", "contains", "--task", "recorder:answer", cwd=tmp_path)
    assert done.returncode == 2
    assert "qa.jsonl:51: field 'input': must not be empty" in done.stderr
    assert not (tmp_path / "calls.log").exists()
    done = evaltrace("run", "qa.jsonl", "-m", "contains", "--task", "recorder:answer", cwd=tmp_path)
    assert done.returncode == 2  # and nothing appended on a second try either
    assert not (tmp_path / "calls.log").exists()


def test_fail_under_gives_exit_3_through_the_installed_command(tmp_path: Path) -> None:
    write(
        tmp_path / "qa.jsonl",
        GOOD_LINE + json.dumps({"input": "q", "expected": "b", "output": "c"}),
    )
    done = evaltrace(
        "run", "qa.jsonl", "-m", "exact_match", "--fail-under", "exact_match=0.75", cwd=tmp_path
    )
    assert done.returncode == 3
    assert done.stderr == (
        "evaltrace: fail-under: exact_match: mean 0.500 < 0.750 (2 cases scored, 0 failures)\n"
    )
    assert (tmp_path / "results.json").is_file()


def test_run_show_report_chain_through_the_installed_command(tmp_path: Path) -> None:
    """A user's task that calls a traced model: its calls are in the result, show and report."""
    write(
        tmp_path / "traced_app.py",
        "from evaltrace import Model, ScriptedProvider\n"
        "model = Model(ScriptedProvider(['Paris', 'Lima'], model='app-model'))\n"
        "async def answer(question):\n"
        "    return (await model.complete(question, purpose='task')).text\n",
    )
    write(
        tmp_path / "qa.jsonl",
        json.dumps({"id": "fr", "input": "Capital of France?", "expected": "Paris"})
        + "\n"
        + json.dumps({"id": "pe", "input": "Capital of Peru?", "expected": "Lima"})
        + "\n",
    )
    done = evaltrace(
        "run", "qa.jsonl", "-m", "exact_match", "--task", "traced_app:answer", "--concurrency",
        "1", "--report", "qa.html", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "results.json").read_text())
    span_ids = [i["span_id"] for i in saved["interactions"]]
    assert len(span_ids) == 2 and {i["model"] for i in saved["interactions"]} == {"app-model"}
    assert "report: qa.html" in done.stdout

    shown = evaltrace("show", "results.json", "--case", "pe", cwd=tmp_path)
    assert shown.returncode == 0 and span_ids[1] in shown.stdout and span_ids[0] not in shown.stdout
    one = evaltrace("show", "results.json", "--id", span_ids[0][:8], cwd=tmp_path)
    assert one.returncode == 0 and "Capital of France?" in one.stdout and "Paris" in one.stdout
    report = evaltrace("report", "results.json", "-o", "again.html", cwd=tmp_path)
    assert report.returncode == 0 and (tmp_path / "again.html").stat().st_size > 10_000


INSTRUMENTED_APP = """
from opentelemetry import trace

# An application instrumented the way an instrumentation's README says: it
# traces to the global provider and installs none of its own.
_tracer = trace.get_tracer("some.instrumentation")


def answer(question: str) -> str:
    with _tracer.start_as_current_span("chat app-model") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", "acme")
        span.set_attribute("gen_ai.request.model", "app-model")
        span.set_attribute("gen_ai.usage.input_tokens", 3)
        span.set_attribute("gen_ai.usage.output_tokens", 2)
    return "a"
"""


def test_the_command_installs_the_provider_so_global_instrumentations_are_counted(
    tmp_path: Path,
) -> None:
    write(tmp_path / "instrumented_app.py", INSTRUMENTED_APP)
    write(tmp_path / "qa.jsonl", json.dumps({"input": "q", "expected": "a"}) + "\n")
    done = evaltrace(
        "run", "qa.jsonl", "-m", "contains", "--task", "instrumented_app:answer",
        "-o", "results.json", "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    models = [i["model"] for i in saved["interactions"]]
    assert models == ["app-model"]
    assert saved["warnings"] == []
