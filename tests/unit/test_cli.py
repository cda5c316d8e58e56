"""The ``evaltrace`` command line, driven through ``main([...])`` with scripted models."""

from __future__ import annotations

import io
import signal
from collections.abc import Sequence
from pathlib import Path

import pytest
from rich.console import Console

from evaltrace import (
    Case,
    CaseResult,
    Completion,
    EmbeddingModel,
    Embeddings,
    EvaluationResult,
    Model,
    ScriptedProvider,
    read_case_results,
    register_provider,
)
from evaltrace.cli import main
from evaltrace.cli._commands import Io, run_demo
from evaltrace.cli._progress import case_progress
from evaltrace.cli._task import model_spec
from evaltrace.demo import demo_cases
from tests.unit._helpers import no_global_tracer_provider
from tests.unit.cli_support import PREFIX, Models, row, run, write_jsonl

pytestmark = pytest.mark.usefixtures("plain_console")


@pytest.fixture
def dataset(qa_dataset: Path) -> Path:
    return qa_dataset


# --- evaltrace run ----------------------------------------------------------------------


def test_run_prints_tables_and_saves_every_interaction(
    models: Models, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models.script("m1", lambda messages: "Paris" if "France" in messages[-1].content else "54")
    output = tmp_path / "results.json"
    code, out, err = run(
        [
            "run",
            str(dataset),
            "--metric",
            "contains",
            "-m",
            "exact_match",
            "--task",
            f"{PREFIX}:m1",
            "--output",
            str(output),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, err
    assert err == ""
    assert row(out, "contains")[1:] == ["0.333", "33%", "3/3", "0"]
    assert row(out, "exact_match")[1:] == ["0.333", "33%", "3/3", "0"]
    assert row(out, "capital") == [
        "capital",
        "What is the capital of France?",
        "Paris",
        "Paris",
        "1.00",
        "1.00",
        "-",
    ]
    assert row(out, "sum")[2:6] == ["54", "56", "0.00", "0.00"]
    assert row(out, "given")[2:4] == ["The Atlantic", "Pacific"]
    task_row = row(out, "task")
    assert task_row[1:5] == ["m1", "2", "0", "11"] and task_row[-1] == "$0.00 (local)"
    assert row(out, "total")[1:3] == ["", "2"]
    assert f"results: {output}" in out
    assert "trace id" not in out  # nothing exported, nothing to look up

    saved = EvaluationResult.load(output)
    assert saved.name == "qa" and saved.complete
    assert len(saved.interactions) == models.calls("m1") == 2
    assert {i.purpose for i in saved.interactions} == {"task"}
    assert saved.metrics["contains"].mean == pytest.approx(1 / 3)
    assert f"(case by case: {tmp_path / 'results.cases.jsonl'})" in out
    streamed = read_case_results(tmp_path / "results.cases.jsonl")
    assert sorted(c.case_id for c in streamed) == ["capital", "given", "sum"]


def test_run_with_a_judge_shows_usage_per_purpose(
    models: Models, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models.script("task", "Paris")
    models.script(
        "judge",
        Completion(
            text='{"score": 0.75, "explanation": "close"}', input_tokens=100, output_tokens=10
        ),
    )
    output = tmp_path / "out.json"
    code, out, err = run(
        [
            "run",
            str(dataset),
            "-m",
            "correctness",
            "-m",
            "semantic_similarity",
            "--task",
            f"{PREFIX}:task",
            "--judge",
            f"{PREFIX}:judge",
            "--name",
            "judged",
            "-o",
            str(output),
        ],
        capsys,
    )
    assert code == 0, err
    saved = EvaluationResult.load(output)
    assert saved.name == "judged"
    assert len(saved.interactions) == models.calls("task") + models.calls("judge") == 2 + 6
    usage = {purpose: u for (purpose, _), u in saved.by_purpose().items()}
    assert set(usage) == {"task", "correctness_evaluation", "semantic_evaluation"}
    assert row(out, "correctness_evaluation")[1:6] == ["judge", "3", "0", "300", "30"]
    assert row(out, "semantic_evaluation")[1:3] == ["judge", "3"]
    assert row(out, "correctness")[1:4] == ["0.750", "100%", "3/3"]


def test_run_reads_csv(models: Models, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models.script("m", "blue")
    data = tmp_path / "colours.csv"
    data.write_text("id,input,expected,topic\nsky,Colour of the sky?,blue,nature\n")
    code, out, _ = run(
        [
            "run",
            str(data),
            "-m",
            "contains",
            "--task",
            f"{PREFIX}:m",
            "-o",
            str(tmp_path / "r.json"),
        ],
        capsys,
    )
    assert code == 0
    assert row(out, "sky")[4] == "1.00"
    assert EvaluationResult.load(tmp_path / "r.json").cases[0].case.metadata == {"topic": "nature"}


def test_run_summaries_only_keeps_every_case_in_the_stream_only(
    models: Models, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models.script("m1", lambda messages: "Paris" if "France" in messages[-1].content else "54")
    output = tmp_path / "results.json"
    argv = ["run", str(dataset), "-m", "contains", "--task", f"{PREFIX}:m1", "-o", str(output)]
    code, out, err = run([*argv, "--summaries-only", "--no-progress"], capsys)
    assert code == 0, err
    assert "'qa': 3 case results, complete" in out
    assert row(out, "contains")[1:] == ["0.333", "33%", "3/3", "0"]
    assert "Cases: only in the results stream (the run kept summaries only)." in out
    assert row(out, "total")[1:3] == ["", "2"]  # the calls, counted without keeping them
    stream = tmp_path / "results.cases.jsonl"
    assert f"results: {output}  (summaries only; case by case: {stream})" in out
    saved = EvaluationResult.load(output)
    assert saved.cases == [] and saved.interactions == [] and saved.totals.calls == 2
    assert saved.metrics["contains"].mean == pytest.approx(1 / 3)
    assert sorted(c.case_id for c in read_case_results(stream)) == ["capital", "given", "sum"]
    code, out, err = run(["show", str(output)], capsys)
    assert code == 0 and "'qa': summaries only, complete" in out
    assert row(out, "contains")[1:] == ["0.333", "33%", "3", "0"]  # 3 scored, of cases unknown
    assert "Cases: only in the results stream" in out


def test_run_summaries_only_refuses_a_report_that_needs_the_cases(
    dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["run", str(dataset), "-m", "contains", "--summaries-only", "--report", "r.html"]
    code, _, err = run(argv, capsys)
    assert code == 2 and "--report needs the cases, which --summaries-only does not keep" in err
    assert not (tmp_path / "results.json").exists() and not (tmp_path / "r.html").exists()


def test_run_without_a_task_names_the_first_cases_without_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [{"input": f"q{i}", **({"output": "a"} if i == 1 else {})} for i in range(6)]
    data = write_jsonl(tmp_path / "qa.jsonl", records)
    code, _, err = run(["run", str(data), "-m", "contains"], capsys)
    assert code == 2 and "5 of 6 cases have no output (0, 2, 3, ...): pass --task" in err


def test_run_checks_every_case_of_the_file_before_the_first_model_call(
    models: Models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models.script("m1", "yes")
    data = write_jsonl(tmp_path / "qa.jsonl", [{"input": f"q{i}"} for i in range(5)])
    data.write_text(data.read_text() + '{"input": "last", "context": 1}\n')
    code, _, err = run(["run", str(data), "-m", "contains", "--task", f"{PREFIX}:m1"], capsys)
    assert (code, err) == (
        2,
        f"evaltrace: error: {data}:6: field 'context': must be a string or a list of strings, "
        "not a number\n",
    )
    assert "m1" not in models.built  # no model was even built


def test_regex_and_json_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "out.jsonl", [{"id": "j", "input": "q", "output": '{"a": 12}'}])
    code, out, _ = run(
        ["run", str(data), "-m", r"regex:\d+", "-m", "json_valid", "-o", str(tmp_path / "r.json")],
        capsys,
    )
    assert code == 0
    assert row(out, "j")[4:6] == ["1.00", "1.00"]
    assert row(out, r"regex:\d+")[1] == "1.000"
    assert "No model calls were made." in out


def test_bad_dataset_is_one_clear_line(
    models: Models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(tmp_path / "bad.jsonl", [{"input": "ok"}, {"expected": "no input"}])
    code, out, err = run(
        [
            "run",
            str(data),
            "-m",
            "contains",
            "--task",
            f"{PREFIX}:m",
            "-o",
            str(tmp_path / "r.json"),
        ],
        capsys,
    )
    assert code == 2
    assert out == ""
    assert (
        err == f"evaltrace: error: {data}:2: field 'input': missing (every case needs an input)\n"
    )
    assert not (tmp_path / "r.json").exists()


def test_a_conversation_without_roles_and_invalid_json_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "bad.jsonl"
    conversation = '[{"role": "user", "content": "hi"}, {"content": "no role"}]'
    data.write_text(
        '{"input": "a", "output": "x", "expected": 7}\n'
        f'{{"input": {conversation}, "output": "y"}}\n'
    )
    code, _, err = run(["run", str(data), "-m", "contains"], capsys)
    assert (code, err.count("\n")) == (2, 1)
    assert f"{data}:2: field 'input': message 1: 'role' must be a non-empty string" in err
    data.write_text('{"input": "a"}\n{"input": "b"\n')
    code, _, err = run(["run", str(data), "-m", "contains"], capsys)
    assert code == 2 and f"evaltrace: error: {data}:2: invalid JSON" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["-m", "bleu"],
            "unknown metric 'bleu'; valid metrics: answer_relevance, contains, "
            "correctness, exact_match, faithfulness, json_valid, "
            "semantic_similarity, regex:<pattern>",
        ),
        ([], "no metric given: pass --metric NAME"),
        (["-m", "correctness"], "metric 'correctness' needs a judge model: pass --judge"),
        (["-m", "contains", "-m", "contains"], "metric 'contains' is given twice"),
        (["-m", "regex:("], "invalid regular expression in --metric 'regex:('"),
        (
            ["-m", "contains", "--concurrency", "0"],
            "Invalid value for '--concurrency': 0 is not in the range x>=1. "
            "(see: evaltrace run --help)",
        ),
        (["-m", "contains"], "2 of 2 cases have no output (0, 1): pass --task"),
        (
            ["-m", "contains", "--task", "nosuch:model"],
            "--task 'nosuch:model': 'nosuch' is neither a provider (anthropic, ",
        ),
        (
            ["-m", "contains", "--task", f"{PREFIX}:m", "-o", "/nonexistent/dir/r.json"],
            "cannot write /nonexistent/dir/r.json: directory /nonexistent/dir does not exist",
        ),
    ],
)
def test_configuration_errors_exit_2_with_one_line(
    models: Models,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    models.script("m", "x")
    data = write_jsonl(tmp_path / "qa.jsonl", [{"input": "a"}, {"input": "b"}])
    code, out, err = run(["run", str(data), "-o", str(tmp_path / "r.json"), *argv], capsys)
    assert code == 2
    assert err.startswith("evaltrace: error: ") and err.count("\n") == 1
    assert message in err
    assert "m" not in models.built, "nothing ran"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["-o", "{dir}/qa.jsonl"], "writing results to {dir}/qa.jsonl would overwrite the dataset"),
        (["--results-jsonl", "{dir}/qa.jsonl"], "would overwrite the dataset"),
        (["-o", "{dir}/r.json", "--results-jsonl", "{dir}/r.json"], "are the same file"),
    ],
)
def test_results_never_overwrite_the_dataset(
    models: Models,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    message: str,
) -> None:
    models.script("m", "x")
    data = write_jsonl(tmp_path / "qa.jsonl", [{"input": "a"}])
    before = data.read_text()
    argv = ["run", str(data), "-m", "contains", "--task", f"{PREFIX}:m"]
    code, _, err = run([*argv, *(o.format(dir=tmp_path) for o in options)], capsys)
    assert code == 2
    assert message.format(dir=tmp_path) in err
    assert data.read_text() == before
    assert "m" not in models.built


def test_default_stream_name_keeps_a_dataset_named_like_the_output(
    models: Models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models.script("m", "x")
    data = write_jsonl(tmp_path / "qa.jsonl", [{"input": "a"}])
    before = data.read_text()
    code, _, _ = run(
        [
            "run",
            str(data),
            "-m",
            "contains",
            "--task",
            f"{PREFIX}:m",
            "-o",
            str(tmp_path / "qa.json"),
        ],
        capsys,
    )
    assert code == 0
    assert data.read_text() == before
    assert len(read_case_results(tmp_path / "qa.cases.jsonl")) == 1


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["run"], capsys)[0] == 2
    code, _, err = run([], capsys)
    assert code == 2 and "demo" in err and "show" in err
    assert run(["--version"], capsys)[0] == 0


def test_unexpected_error_is_one_line_with_a_debug_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(model: str, **options: object) -> ScriptedProvider:
        raise RuntimeError("the factory broke")

    register_provider("clitest-broken", broken)
    data = write_jsonl(tmp_path / "qa.jsonl", [{"input": "a"}])
    argv = [
        "run",
        str(data),
        "-m",
        "contains",
        "--task",
        "clitest-broken:m",
        "-o",
        str(tmp_path / "r.json"),
    ]
    code, _, err = run(argv, capsys)
    assert code == 1
    assert err == (
        "evaltrace: error: unexpected RuntimeError: the factory broke (rerun with "
        "--debug to see the traceback)\n"
    )
    with no_global_tracer_provider(), pytest.raises(RuntimeError, match="the factory broke"):
        main(["--debug", *argv])
    with no_global_tracer_provider(), pytest.raises(RuntimeError, match="the factory broke"):
        main([*argv, "--debug"])


def sigint(messages: object) -> str:
    """A reply that presses Ctrl-C: a real SIGINT to this process, as from the terminal."""
    signal.raise_signal(signal.SIGINT)
    return "interrupted answer"


@pytest.mark.parametrize("interrupt", ["sigint", "raised"])
def test_ctrl_c_keeps_the_finished_cases(
    models: Models, tmp_path: Path, capsys: pytest.CaptureFixture[str], interrupt: str
) -> None:
    models.script("m", "one", "two", sigint if interrupt == "sigint" else KeyboardInterrupt())
    data = write_jsonl(tmp_path / "qa.jsonl", [{"id": f"c{i}", "input": f"q{i}"} for i in range(4)])
    jsonl = tmp_path / "partial.jsonl"
    output = tmp_path / "r.json"
    argv = [
        "run",
        str(data),
        "-m",
        "contains",
        "--task",
        f"{PREFIX}:m",
        "--concurrency",
        "1",
        "--results-jsonl",
        str(jsonl),
        "-o",
        str(output),
    ]
    code, out, err = run(argv, capsys)
    assert code == 130
    assert [c.output for c in read_case_results(jsonl)] == ["one", "two"]
    if output.exists():  # evaluate_sync handed back the partial result: it is saved too
        assert err == (
            f"evaltrace: interrupted: the 2 finished cases are kept in "
            f"{output} and {jsonl} (see them with: evaltrace show {output})\n"
        )
        saved = EvaluationResult.load(output)
        assert not saved.complete and [c.case_id for c in saved.cases] == ["c0", "c1"]
        assert "2 cases, INCOMPLETE" in out
    else:
        assert err == (
            f"evaltrace: interrupted: the 2 finished cases are kept in "
            f"{jsonl} (see them with: evaltrace show {jsonl})\n"
        )

    code, out, err = run(["show", str(jsonl)], capsys)
    assert code == 0, err
    assert "2 cases, INCOMPLETE" in out
    assert row(out, "c1")[2] == "two"


# --- evaltrace show ---------------------------------------------------------------------


def test_show_prints_the_same_tables(
    models: Models, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models.script("m1", "Paris")
    output = tmp_path / "results.json"
    code, ran, _ = run(
        ["run", str(dataset), "-m", "contains", "--task", f"{PREFIX}:m1", "-o", str(output)], capsys
    )
    assert code == 0
    code, shown, err = run(["show", str(output)], capsys)
    assert (code, err) == (0, "")
    tables = ran[: ran.index("results: ")]
    trace_id = EvaluationResult.load(output).trace_id
    assert shown.startswith(tables + f"trace id: {trace_id}\n")
    audit = shown[len(tables) :].splitlines()
    assert audit[1].strip() == "Interactions (2)"


def test_show_prints_trace_link_and_dropped_span_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(tmp_path / "qa.jsonl", [{"id": "a", "input": "q", "output": "x"}])
    output = tmp_path / "r.json"
    assert run(["run", str(data), "-m", "json_valid", "-o", str(output)], capsys)[0] == 0
    saved = EvaluationResult.load(output)
    saved.model_copy(
        update={"trace_url": f"http://jaeger:16686/trace/{saved.trace_id}", "dropped_spans": 3}
    ).save(output)
    code, out, err = run(["show", str(output)], capsys)
    assert code == 0
    assert f"trace id: {saved.trace_id}\ntrace: http://jaeger:16686/trace/{saved.trace_id}" in out
    assert err.startswith("evaltrace: warning: 3 spans could not be exported")


def test_show_warns_when_calls_could_not_be_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(tmp_path / "qa.jsonl", [{"id": "a", "input": "q", "output": "x"}])
    output = tmp_path / "r.json"
    assert run(["run", str(data), "-m", "json_valid", "-o", str(output)], capsys)[2] == ""
    saved = EvaluationResult.load(output)
    saved.model_copy(update={"unrecorded_calls": 2}).save(output)
    code, _, err = run(["show", str(output)], capsys)
    assert code == 0
    assert err == (
        "evaltrace: warning: 2 model calls of this run could not be recorded as "
        "interactions: the totals miss them\n"
    )


def test_run_prints_the_trace_id_when_an_otlp_endpoint_is_set(
    models: Models,
    dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    models.script("m", "Paris")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    for signal_name in ("TRACES", "METRICS", "LOGS"):  # nothing is sent in a unit test
        monkeypatch.setenv(f"OTEL_{signal_name}_EXPORTER", "none")
    output = tmp_path / "r.json"
    code, out, _ = run(
        ["run", str(dataset), "-m", "contains", "--task", f"{PREFIX}:m", "-o", str(output)], capsys
    )
    assert code == 0
    trace_id = EvaluationResult.load(output).trace_id
    assert len(trace_id) == 32 and f"\ntrace id: {trace_id}\n" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "is not an evaltrace results file: Invalid JSON"),
        ('{"name": "x"}', "is not an evaltrace results file: run_id: Field required"),
    ],
)
def test_show_rejects_missing_or_invalid_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run(["show", str(path)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("evaltrace: error: ") and message in err and err.count("\n") == 1


# --- evaltrace demo (scripted models; the real ones run in tests/integration) -----------


class WordEmbedder:
    """Embeds a text as counts of a few words: offline and deterministic."""

    name = "test-embedder"
    model = "word-counts"
    in_process = True
    server_address: str | None = None
    server_port: int | None = None
    vocabulary = ("paris", "tokyo", "canberra", "sydney")

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        vectors = [[float(t.lower().count(w)) + 0.01 for w in self.vocabulary] for t in texts]
        return Embeddings(
            vectors=vectors,
            input_tokens=sum(len(t.split()) for t in texts),
            response_model=self.model,
        )


def test_demo_scores_three_ways_and_records_task_and_embedding_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = ScriptedProvider(["Paris", "Tokyo", "Sydney"], model="tiny")
    output = tmp_path / "demo.json"
    io_ = Io(
        out=Console(file=io.StringIO(), width=200), err=Console(file=io.StringIO()), progress=False
    )
    result = run_demo(
        limit=3,
        output=output,
        results_jsonl=tmp_path / "demo.jsonl",
        io=io_,
        task=task,
        embedder=EmbeddingModel(WordEmbedder()),
    )
    saved = EvaluationResult.load(output)
    assert saved == result
    assert [c.case_id for c in saved.cases] == [c.id for c in demo_cases(3)]
    assert list(saved.metrics) == ["semantic_similarity", "contains", "exact_match"]
    assert saved.metrics["exact_match"].mean == pytest.approx(2 / 3)
    purposes = [i.purpose for i in saved.interactions]
    assert purposes.count("task") == len(task.calls) == 3
    assert purposes.count("semantic_evaluation") == 3
    text = io_.out.file.getvalue()  # type: ignore[attr-defined]
    assert "semantic_evaluation" in text and "word-counts" in text


def test_demo_limit_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["demo", "--limit", "0"], capsys)
    assert code == 2 and err == "evaltrace: error: limit must be at least 1, not 0\n"


# --- pieces -----------------------------------------------------------------------------


def test_progress_bar_counts_finished_cases() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    case = CaseResult(case=Case(input="q"), case_id="last-one", output="a")
    asked: list[int] = []

    def total() -> int:  # known once the run is planned, so asked at the first case
        asked.append(2)
        return 2

    with case_progress(total, enabled=True, console=console) as advance:
        assert asked == []
        advance(case)
        advance(case)
    assert "2/2" in buffer.getvalue() and "last-one" in buffer.getvalue()
    assert asked == [2]


def test_task_base_url_means_an_openai_compatible_server() -> None:
    provider = model_spec(None, "http://127.0.0.1:8080/v1")
    assert provider is not None and not isinstance(provider, str)
    assert not isinstance(provider, Model)  # a provider, whose model and server are read below
    assert (provider.model, provider.server_address, provider.server_port) == (
        "default",
        "127.0.0.1",
        8080,
    )
    named = model_spec("qwen2.5", "http://localhost:11434/v1")
    assert not isinstance(named, Model)
    assert not isinstance(named, str) and named is not None and named.model == "qwen2.5"
    assert model_spec("openai:gpt-4o-mini", None) == "openai:gpt-4o-mini"


@pytest.mark.parametrize("columns", [100, 120, 200])
def test_tables_fit_the_terminal_width(
    models: Models,
    dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    columns: int,
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    output = tmp_path / "r.json"
    argv = [
        "run",
        str(dataset),
        "-m",
        "semantic_similarity",
        "-m",
        "contains",
        "-m",
        "exact_match",
        "--judge",
        f"{PREFIX}:a-model-with-a-rather-long-name",
        "--task",
        f"{PREFIX}:a-model-with-a-rather-long-name",
        "-o",
        str(output),
    ]
    models.script("a-model-with-a-rather-long-name", '{"score": 1, "explanation": "same"}')
    code, out, _ = run(argv, capsys)
    assert code == 0
    table_lines = out[: out.index("results: ")].splitlines()
    assert max(len(line.rstrip()) for line in table_lines) <= columns
    assert row(out, "capital")[0] == "capital"
    assert row(out, "total")[2] == "5"  # 2 task calls + 3 judge calls, never clipped
