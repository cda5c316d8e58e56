"""Runs recorded through ``evaluate`` and the CLI, in real SQLite files.

The store itself is tested in test_history_sqlite.py; here: what a run records,
that a store never fails a run, credentials, the ``runs`` commands, score
metrics, and the process-level cases (concurrent evaluations, a run killed
mid-way, stores written by older and newer evaltraces).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import (
    Case,
    ConfigurationError,
    Contains,
    EvaluationResult,
    ExactMatch,
    ScriptedProvider,
    evaluate,
    evaluate_sync,
    write_html_report,
)
from evaltrace._values import dataset_fingerprint
from evaltrace.cli._saved import load_result_or_run
from evaltrace.history import (
    SCHEMA_VERSION,
    AmbiguousRunRefError,
    MetricRecord,
    RunNotFoundError,
    RunRecord,
    RunStatus,
    StoreError,
    StoreURLError,
    load_run_result,
    open_store,
)
from evaltrace.tracing._scores import (
    CASES_METRIC,
    ERRORS_METRIC,
    PASS_RATE_METRIC,
    SCORE_MEAN_METRIC,
)
from tests.support.history.checks import T0, V1_DDL
from tests.support.history.runs import (
    check_concurrent_evaluations,
    check_killed_evaluation_reads_incomplete,
)
from tests.unit.cli_support import PREFIX, Models, run, write_jsonl

pytestmark = pytest.mark.usefixtures("plain_console")

PASSWORD = "hunter2-Zq9"
# A PostgreSQL URL with a password, to a port nothing listens on (never reached).
SECRET_URL = f"postgresql://ci:{PASSWORD}@127.0.0.1:9/evals?password={PASSWORD}x"


def _cases() -> list[Case]:
    return [
        Case(id="france", input="Capital of France?", expected="Paris"),
        Case(id="japan", input="Capital of Japan?", expected="Tokyo"),
        Case(id="given", input="Largest ocean?", output="Atlantic", expected="Pacific"),
    ]


def _evaluate(tmp_path: Path, **options: object) -> EvaluationResult:
    return evaluate_sync(
        _cases(),
        [Contains(), ExactMatch()],
        task=ScriptedProvider(["Paris", "Kyoto"], model="gpt-4o-mini"),
        name="qa",
        results_path=tmp_path / "qa.cases.jsonl",
        **options,
    )


def _git_head() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_evaluate_records_the_run(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    result = _evaluate(tmp_path, store=str(db), keep_result=True)
    assert result.warnings == []
    with open_store(str(db)) as store:
        run = store.resolve("qa@latest")
        kept = store.load_result(run.run_id)
    assert (run.run_id, run.name, run.status) == (result.run_id, "qa", RunStatus.COMPLETE)
    assert (run.started_at, run.finished_at) == (result.started_at, result.finished_at)
    assert run.git_commit == _git_head() and run.git_dirty is not None  # cwd: the repository
    assert run.dataset_fingerprint == dataset_fingerprint(_cases())
    assert run.task_models == ("gpt-4o-mini",) and run.judge_models == ()
    assert run.metrics == (
        MetricRecord(metric="contains", mean=1 / 3, count=3, failures=0, pass_rate=1 / 3),
        MetricRecord(metric="exact_match", mean=1 / 3, count=3, failures=0, pass_rate=1 / 3),
    )
    [usage] = run.usage
    assert (usage.purpose, usage.model, usage.calls) == ("task", "gpt-4o-mini", 2)
    assert usage.tokens == result.totals.tokens and usage.cost_usd == result.totals.cost_usd
    assert run.results_path == str((tmp_path / "qa.cases.jsonl").absolute())
    assert run.trace_id == result.trace_id and run.has_result
    assert kept is not None and EvaluationResult.model_validate_json(kept) == result
    assert load_run_result("qa@latest", str(db)) == result


def test_the_api_records_nothing_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVALTRACE_STORE")
    _evaluate(tmp_path)
    assert not (tmp_path / ".evaltrace").exists()


def test_an_open_store_can_be_passed(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "runs.db")) as store:
        first = _evaluate(tmp_path, store=store)
        second = _evaluate(tmp_path, store=store)
        assert [r.run_id for r in store.list_runs(name="qa")] == [second.run_id, first.run_id]
        assert store.get(first.run_id) is not None  # the store is still open


def test_the_fingerprint_ignores_order_and_sees_every_change() -> None:
    cases = _cases()
    base = dataset_fingerprint(cases)
    assert dataset_fingerprint(reversed(cases)) == base
    assert len(base) == 64 and int(base, 16) >= 0
    changed = [cases[0].model_copy(update={"expected": "paris"}), *cases[1:]]
    assert dataset_fingerprint(changed) != base
    assert dataset_fingerprint(cases[:2]) != base
    no_output = [Case(id="given", input="Largest ocean?", expected="Pacific")]
    null_output = [Case(id="given", input="Largest ocean?", output=None, expected="Pacific")]
    assert dataset_fingerprint(no_output) != dataset_fingerprint(null_output)
    assert (
        RunRecord.start(
            name="x", run_id="1", dataset_fingerprint=f"sha256:{base}"
        ).dataset_fingerprint
        == base
    )


def test_an_unusable_store_is_a_warning_and_the_run_is_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    bad = tmp_path / "a-file" / "runs.db"
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        result = _evaluate(tmp_path, store=str(bad))
    assert result.complete and len(result.cases) == 3
    [warning] = result.warnings
    assert warning.startswith(f"run not recorded in {bad}: ") and "\n" not in warning
    assert warning in caplog.text
    streamed = EvaluationResult.model_validate(
        json.loads((tmp_path / "qa.cases.jsonl").read_text().splitlines()[-1])
        | {"cases": []}
        | {"interactions": []}
    )
    assert streamed.warnings == [warning]  # the stream's summary says so too


def test_a_store_that_fails_at_the_end_is_a_warning_in_the_result(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"

    def task(question: object) -> str:
        db.unlink()  # the store's file is gone mid-run; a directory takes its place
        (tmp_path / "runs.db").mkdir()
        return "Paris"

    result = evaluate_sync(
        [Case(id="one", input="Capital of France?", expected="Paris")],
        [ExactMatch()],
        task=task,
        name="qa",
        store=str(db),
    )
    assert result.complete and result.metrics["exact_match"].mean == 1.0
    [warning] = result.warnings
    assert warning.startswith(f"run not recorded in {db}: ")


def test_a_wrong_url_fails_before_the_run(tmp_path: Path) -> None:
    task = ScriptedProvider(["Paris"], model="m")
    with pytest.raises(StoreURLError) as error:
        evaluate_sync(_cases()[:1], [ExactMatch()], task=task, store="mysql://u:pw@h/db")
    assert str(error.value).startswith("store URL mysql://u:***@h/db: unknown scheme 'mysql'")
    assert task.calls == []


def test_credentials_never_reach_results_logs_spans_or_reports(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with caplog.at_level(logging.DEBUG):
        result = _evaluate(tmp_path, store=SECRET_URL, tracer_provider=provider, keep_result=True)
    [warning] = result.warnings
    assert warning.startswith("run not recorded in postgresql://ci:***@127.0.0.1:9/evals")
    report = write_html_report(result, tmp_path / "report.html").read_text()
    spans = json.dumps([json.loads(s.to_json()) for s in exporter.get_finished_spans()])
    texts = {
        "result": result.model_dump_json(),
        "stream": (tmp_path / "qa.cases.jsonl").read_text(),
        "log": caplog.text,
        "spans": spans,
        "report": report,
    }
    for where, text in texts.items():
        assert PASSWORD not in text, where
    assert "ci:***@" in texts["result"] and "ci:***@" in texts["log"]


def test_score_metrics_go_to_the_meter_provider(tmp_path: Path) -> None:
    reader = InMemoryMetricReader()
    _evaluate(tmp_path, meter_provider=MeterProvider(metric_readers=[reader]))
    points: dict[str, list[tuple[dict[str, object], object]]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)  # histograms have none
                    points.setdefault(metric.name, []).append((dict(point.attributes or {}), value))
    by_metric = {"evaltrace.run.name": "qa"}
    assert sorted(points[SCORE_MEAN_METRIC], key=str) == sorted(
        [
            ({**by_metric, "gen_ai.evaluation.name": "contains"}, pytest.approx(1 / 3)),
            ({**by_metric, "gen_ai.evaluation.name": "exact_match"}, pytest.approx(1 / 3)),
        ],
        key=str,
    )
    assert len(points[PASS_RATE_METRIC]) == 2
    assert points[CASES_METRIC] == [(by_metric, 3)]
    assert points[ERRORS_METRIC] == [(by_metric, 0)]
    assert "gen_ai.client.token.usage" in points  # beside the GenAI client metrics


# -- the command line ----------------------------------------------------------------------


@pytest.fixture
def qa(tmp_path: Path) -> Path:
    return write_jsonl(
        tmp_path / "qa.jsonl",
        [
            {"id": "france", "input": "Capital of France?", "expected": "Paris"},
            {"id": "japan", "input": "Capital of Japan?", "expected": "Tokyo"},
        ],
    )


def _cli_run(
    qa: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    return run(
        [
            "run",
            str(qa),
            "-m",
            "exact_match",
            "-o",
            str(tmp_path / "r.json"),
            "--no-progress",
            *extra,
        ],
        capsys,
    )


def test_the_cli_records_in_the_default_store_under_the_working_directory(
    models: Models,
    qa: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVALTRACE_STORE")
    models.script("app", "Paris", "Kyoto")
    code, out, err = _cli_run(qa, tmp_path, capsys, "--task", f"{PREFIX}:app")
    assert code == 0, err
    result = EvaluationResult.load(tmp_path / "r.json")
    db = tmp_path / ".evaltrace" / "runs.db"
    assert f"recorded: run {result.run_id[:12]} in {db}" in out
    code, out, err = _cli_run(qa, tmp_path, capsys, "--task", f"{PREFIX}:app", "--no-store")
    assert code == 0 and "recorded:" not in out
    with open_store(str(db)) as store:
        assert [r.run_id for r in store.list_runs()] == [result.run_id]


def test_runs_lists_and_filters(
    models: Models, qa: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "runs.db")
    models.script("qa", "Paris", "Kyoto")
    models.script("other", "Paris", "Tokyo")
    for name in ("qa", "other"):
        code, _, err = _cli_run(
            qa, tmp_path, capsys, "--task", f"{PREFIX}:{name}", "--store", db, "--name", name
        )
        assert code == 0, err
    with open_store(db) as store:
        (qa_run,) = store.list_runs(name="qa")
        (other,) = store.list_runs(name="other")
    code, out, err = run(["runs", "--store", db], capsys)
    assert code == 0, err
    lines = [
        line for line in out.splitlines() if qa_run.run_id[:12] in line or other.run_id[:12] in line
    ]
    assert len(lines) == 2 and "exact_match 0.500" in lines[1] and "exact_match 1.000" in lines[0]
    code, out, _ = run(["runs", "--store", db, "--name", "qa"], capsys)
    assert qa_run.run_id[:12] in out and other.run_id[:12] not in out
    fingerprint = qa_run.dataset_fingerprint or ""
    code, out, _ = run(
        ["runs", "--store", db, "--dataset", fingerprint[:8], "--since", "2000-01-01"], capsys
    )
    assert qa_run.run_id[:12] in out and other.run_id[:12] in out
    code, out, _ = run(["runs", "--store", db, "--since", "2999-01-01"], capsys)
    assert code == 0 and "no recorded runs since 2999-01-01" in out
    code, out, _ = run(["runs", "--store", db, "--commit", (qa_run.git_commit or "")[:7]], capsys)
    assert qa_run.run_id[:12] in out
    code, out, err = run(["runs", "--store", db, "--since", "last week"], capsys)
    assert code == 2 and "--since" in err and len(err.strip().splitlines()) == 1


def test_runs_show(
    models: Models, qa: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "runs.db")
    models.script("app", "Paris", "Kyoto")
    code, _, err = _cli_run(
        qa, tmp_path, capsys, "--task", f"{PREFIX}:app", "--store", db, "--store-result"
    )
    assert code == 0, err
    result = EvaluationResult.load(tmp_path / "r.json")
    code, out, err = run(["runs", "show", "qa@latest", "--store", db], capsys)
    assert code == 0, err
    assert result.run_id in out and "complete" in out and re.search(r"result kept +yes", out)
    assert _row(out, "exact_match")[:3] == ["exact_match", "0.500", "50%"]
    assert _row(out, "task")[:4] == ["task", f"{PREFIX}:app".split(":")[1], "2", "0"]
    assert load_run_result(result.run_id[:10], db) == result


def _row(out: str, first: str) -> list[str]:
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{out}")


def test_bad_refs_and_urls_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "runs.db")
    with open_store(db) as store:
        for run_id in ("abc1", "abc2"):
            store.begin(RunRecord(run_id=run_id, name="qa", started_at=T0))
    cases = [
        (["runs", "show", "zzz", "--store", db], "no run with id 'zzz'"),
        (["runs", "show", "abc", "--store", db], "run id prefix 'abc' matches several runs"),
        (["runs", "show", "qa@latest", "--store", db], "no complete run named 'qa'"),
        (["runs", "--store", "mysql://u:pw@h/db"], "unknown scheme 'mysql'"),
        (["runs", "--store", str(tmp_path / "missing.db")], "no such file"),
        (["run", "x.jsonl", "-m", "exact_match", "--store", "mysql://u:pw@h/db"], "unknown scheme"),
    ]
    for argv, message in cases:
        code, out, err = run(argv, capsys)
        assert code == 2, (argv, out, err)
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert "pw" not in err
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(AmbiguousRunRefError):
        load_run_result("abc", db)
    with pytest.raises(RunNotFoundError):
        load_run_result("qa@latest", db)


def test_load_run_result_reads_the_results_file_when_no_result_was_kept(tmp_path: Path) -> None:
    db = str(tmp_path / "runs.db")
    result = _evaluate(tmp_path, store=db)
    assert load_run_result("qa@latest", db) == result  # from qa.cases.jsonl
    (tmp_path / "qa.cases.jsonl").unlink()
    with pytest.raises(StoreError, match="kept no result, and its results file .* is gone"):
        load_run_result("qa@latest", db)


def test_a_store_written_by_an_older_evaltrace_is_migrated_by_a_run(
    models: Models, qa: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "runs.db"
    import sqlite3

    with sqlite3.connect(db) as connection:
        for statement in V1_DDL["sqlite"]:
            connection.execute(statement)
        connection.execute("INSERT INTO schema_version (version) VALUES (1)")
    models.script("app", "Paris", "Tokyo")
    code, out, err = _cli_run(qa, tmp_path, capsys, "--task", f"{PREFIX}:app", "--store", str(db))
    assert code == 0 and "recorded: run" in out, err
    with open_store(str(db)) as store:
        assert store.schema_version() == SCHEMA_VERSION
        [recorded] = store.list_runs()
    assert recorded.status is RunStatus.COMPLETE and recorded.metrics[0].mean == 1.0


def test_a_store_written_by_a_newer_evaltrace_is_refused_clearly(
    models: Models, qa: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "runs.db"
    open_store(str(db)).close()
    import sqlite3

    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    models.script("app", "Paris", "Tokyo")
    code, out, err = _cli_run(qa, tmp_path, capsys, "--task", f"{PREFIX}:app", "--store", str(db))
    assert code == 0, err  # the run itself is fine, and saved
    result = EvaluationResult.load(tmp_path / "r.json")
    newer = f"has schema version {SCHEMA_VERSION + 1}, written by a newer evaltrace"
    assert newer in err and "upgrade evaltrace" in err and "recorded:" not in out
    assert result.warnings and newer in result.warnings[0]
    code, out, err = run(["runs", "--store", str(db)], capsys)
    assert code == 2 and newer in err and len(err.strip().splitlines()) == 1


def test_concurrent_evaluations_lose_and_mix_nothing(tmp_path: Path) -> None:
    check_concurrent_evaluations(str(tmp_path / "runs.db"))


def test_an_evaluation_killed_mid_way_reads_incomplete(tmp_path: Path) -> None:
    check_killed_evaluation_reads_incomplete(str(tmp_path / "runs.db"), tmp_path)


async def test_a_cancelled_evaluation_is_recorded_interrupted(tmp_path: Path) -> None:
    db = str(tmp_path / "runs.db")
    first_done = asyncio.Event()

    async def task(question: object) -> str:
        if str(question).endswith("0"):
            return "answer"
        await asyncio.Event().wait()  # never answers
        return "never"

    running = asyncio.create_task(
        evaluate(
            [Case(id=f"q{n}", input=f"question {n}", expected="answer") for n in range(3)],
            [ExactMatch()],
            task=task,
            name="cut",
            store=db,
            max_concurrency=1,
            on_case=lambda _: first_done.set(),
        )
    )
    await first_done.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    with open_store(db) as store:
        [cut] = store.list_runs(name="cut")
    assert cut.status is RunStatus.INTERRUPTED and cut.finished_at is not None
    assert [(m.metric, m.mean, m.count) for m in cut.metrics] == [("exact_match", 1.0, 1)]


def test_a_side_of_a_comparison_is_a_file_or_a_run(tmp_path: Path) -> None:
    db = str(tmp_path / "runs.db")
    result = _evaluate(tmp_path, store=db, keep_result=True)
    saved = result.save(tmp_path / "results.json")
    assert load_result_or_run(str(saved)) == result
    assert load_result_or_run("qa@latest", store=db) == result
    assert load_result_or_run(result.run_id[:8], store=db) == result
    with pytest.raises(ConfigurationError, match="cannot read missing.json: no such file"):
        load_result_or_run("missing.json", store=db)
    with pytest.raises(RunNotFoundError, match="no complete run named 'other'"):
        load_result_or_run("other@latest", store=db)
