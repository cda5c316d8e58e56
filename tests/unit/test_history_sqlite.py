"""The run store on real SQLite files: records, queries, migrations, processes, URLs, safety."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evaltrace import history
from evaltrace.history import (
    RunRecord,
    RunStatus,
    StoreUnavailableError,
    StoreURLError,
    begin_safely,
    git_state,
    open_store,
    record_safely,
    redact_url,
    store_url,
)
from evaltrace.history._url import parse_store_url, scrub
from evaltrace.records import Case, CaseResult, LLMInteraction, Score
from evaltrace.results import EvaluationResult
from tests.support.history import checks
from tests.support.history.checks import Execute, finished, started


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store" / "runs.db"


@pytest.fixture
def execute(db: Path) -> Execute:
    def run(statement: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        db.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            rows = connection.execute(statement, params).fetchall()
            connection.execute("COMMIT")
        return [tuple(row) for row in rows]

    return run


def test_public_names_are_sorted_and_resolvable() -> None:
    assert history.__all__ == sorted(history.__all__)
    assert all(hasattr(history, name) for name in history.__all__)


# -- records and queries --------------------------------------------------------------------


def test_round_trip(db: Path) -> None:
    checks.check_round_trip(str(db))


def test_write_rules(db: Path) -> None:
    checks.check_write_rules(str(db))


def test_a_failed_finish_writes_nothing(db: Path, execute: Execute) -> None:
    checks.check_failed_finish_leaves_run_running(str(db), execute, "sqlite")


def test_list_filters(db: Path) -> None:
    checks.check_list_filters(str(db))


def test_resolve_refs(db: Path) -> None:
    checks.check_resolve(str(db))


def test_the_store_is_in_wal_mode(db: Path, execute: Execute) -> None:
    open_store(str(db)).close()
    assert execute("PRAGMA journal_mode", ()) == [("wal",)]


# -- migrations -----------------------------------------------------------------------------


def test_a_v1_store_is_migrated_with_its_data(db: Path, execute: Execute) -> None:
    checks.check_migrates_v1(str(db), execute, "sqlite")


def test_a_failed_migration_is_rolled_back(db: Path, execute: Execute) -> None:
    checks.check_failed_migration_changes_nothing(str(db), execute, "sqlite", sqlite3.Error)


def test_a_newer_store_is_refused(db: Path, execute: Execute) -> None:
    checks.check_newer_store_refused(str(db), execute)


# -- several processes ----------------------------------------------------------------------


def test_concurrent_writer_processes_lose_and_mix_nothing(db: Path) -> None:
    checks.check_concurrent_writers(str(db))


def test_a_killed_run_reads_incomplete(db: Path) -> None:
    checks.check_killed_run_reads_incomplete(str(db))


def test_running_runs_of_this_process_and_of_other_hosts_read_running(db: Path) -> None:
    now = datetime.now(UTC)
    mine = started("mine", at=now)
    away = mine.model_copy(update={"run_id": "away", "host": "another-host", "pid": 1})
    old = away.model_copy(update={"run_id": "old", "started_at": now - timedelta(days=3)})
    with open_store(str(db)) as store:
        for run in (mine, away, old):
            store.begin(run)
        statuses = {r.run_id: r.status for r in store.list_runs()}
    assert statuses == {
        "mine": RunStatus.RUNNING,
        "away": RunStatus.RUNNING,
        "old": RunStatus.INCOMPLETE,  # older than the staleness bound
    }
    with open_store(str(db), stale_after=timedelta(0)) as strict:
        assert {r.status for r in strict.list_runs()} == {RunStatus.INCOMPLETE}


def test_a_dead_pid_on_this_host_reads_incomplete(db: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    run = started("gone", at=datetime.now(UTC)).model_copy(update={"pid": gone.pid})
    with open_store(str(db)) as store:
        store.begin(run)
        got = store.get("gone")
    assert got is not None and got.status is RunStatus.INCOMPLETE


# -- URLs and where the store is ------------------------------------------------------------


def test_sqlite_urls_and_plain_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_store_url("sqlite:///rel/runs.db").path == Path("rel/runs.db")
    assert parse_store_url(f"sqlite:///{tmp_path}/abs.db").path == tmp_path / "abs.db"
    assert parse_store_url("plain.db").path == Path("plain.db")
    assert parse_store_url("~/x.db").path == Path.home() / "x.db"
    with open_store("sqlite:///rel/runs.db") as store:
        store.begin(started("r"))
        assert store.backend == "sqlite"
    with open_store(str(tmp_path / "rel" / "runs.db")) as same:
        assert same.get("r") is not None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://root:hunter2@db/x", "unknown scheme 'mysql'"),
        ("sqlite://somehost/runs.db", "names a file, not a host"),
        ("sqlite://", "names no database file"),
        ("sqlite:///:memory:", "names no database file"),
        ("", "names no database file"),
        ("postgresql://u:hunter2@db:port/x", "cannot be parsed"),
        ("postgresql://u:hunter2@[::1/x", "cannot be parsed"),
    ],
)
def test_a_bad_url_is_a_one_line_error(url: str, reason: str) -> None:
    with pytest.raises(StoreURLError) as error:
        open_store(url)
    message = str(error.value)
    assert reason in message and "\n" not in message
    assert "hunter2" not in message


def test_store_url_explicit_then_environment_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(history.STORE_ENV, raising=False)
    assert store_url(None, default_enabled=False) is None
    assert store_url(None, default_enabled=True) == str(tmp_path / ".evaltrace" / "runs.db")
    monkeypatch.setenv(history.STORE_ENV, "postgresql://u@h/db")
    assert store_url(None, default_enabled=False) == "postgresql://u@h/db"
    assert store_url("mine.db", default_enabled=False) == "mine.db"
    monkeypatch.setenv(history.STORE_ENV, "off")
    assert store_url(None, default_enabled=True) is None
    assert store_url("mine.db", default_enabled=True) == "mine.db"
    assert store_url("OFF", default_enabled=True) is None


def test_the_default_store_is_created_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(history.STORE_ENV, raising=False)
    url = store_url(None, default_enabled=True)
    assert url is not None and begin_safely(url, started("d"))
    assert (tmp_path / ".evaltrace" / "runs.db").is_file()


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://u:hunter2@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgres://u:hunter2@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require"),
        ("postgresql://:hunter2@h/db", "postgresql://:***@h/db"),
        ("postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:hunter2@h/db?password=hunter2", "postgresql://u:***@h/db?password=***"),
        ("postgresql://u@h/db?password=hunter2&x=1", "postgresql://u@h/db?password=***&x=1"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("host=h password=hunter2 user=u", "host=h password=*** user=u"),
        ("postgresql://u:hun@ter2@h/db", "postgresql://u:***@h/db"),
        ("sqlite:///runs.db", "sqlite:///runs.db"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_scrub_hides_known_secrets_and_url_passwords_on_one_line() -> None:
    secrets = parse_store_url("postgresql://u:p%40ss@h/db?password=other").secrets
    assert set(secrets) == {"p%40ss", "p@ss", "other"}
    text = "failed for p@ss and other\nat postgresql://u:p%40ss@h/db"
    assert scrub(text, secrets) == "failed for *** and *** at postgresql://u:***@h/db"
    embedded = "store postgres://me:pa@ss@db:5432/x?password=pw2 said: no\n (again)"
    assert scrub(embedded, ()) == "store postgres://me:***@db:5432/x?password=*** said: no (again)"


# -- an unusable store never fails the evaluation -------------------------------------------


def test_an_unusable_file_is_a_warning_not_an_exception(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    for path in (tmp_path / "a-file" / "runs.db", tmp_path / "junk.db"):
        with pytest.raises(StoreUnavailableError) as error:
            open_store(str(path))
        assert "\n" not in str(error.value)
        with caplog.at_level(logging.WARNING, logger="evaltrace.history"):
            assert record_safely(str(path), finished(started("x")), RunStatus.COMPLETE) is False
            assert begin_safely(str(path), started("x")) is False
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4
    assert all(w.startswith(f"run not recorded in {tmp_path}") for w in warnings)
    assert record_safely(None, finished(started("x"))) is False  # recording is off


def test_record_safely_records_and_reports_refusals(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = started("safe-1")
    assert begin_safely(str(db), run)
    assert record_safely(str(db), finished(run), result_json="{}")
    with caplog.at_level(logging.WARNING, logger="evaltrace.history"):
        assert not record_safely(str(db), finished(run))  # finished twice: refused, logged
    assert "run not recorded in" in caplog.text and "already finished" in caplog.text
    with open_store(str(db)) as store:
        got = store.get("safe-1")
    assert got is not None and got.status is RunStatus.COMPLETE and got.has_result


# -- records --------------------------------------------------------------------------------


def test_record_validation() -> None:
    run = RunRecord(run_id="r", name="n", started_at=datetime(2026, 1, 1), dataset_fingerprint="AB")
    assert run.started_at.tzinfo is UTC and run.dataset_fingerprint == "ab"
    assert run.host and run.pid == os.getpid()
    with pytest.raises(ValueError, match="hex string"):
        RunRecord(run_id="r", name="n", started_at=run.started_at, dataset_fingerprint="xyz")
    data = finished(run).model_dump()
    with pytest.raises(ValueError, match="one summary per metric"):
        RunRecord.model_validate({**data, "metrics": data["metrics"] * 2})


def test_from_result_reads_todays_result(tmp_path: Path) -> None:
    result = _result()
    record = RunRecord.from_result(
        result, dataset_fingerprint="0f0f", results_path=tmp_path / "r.json", cwd=tmp_path
    )
    assert (record.run_id, record.name, record.status) == ("run-x", "demo", RunStatus.COMPLETE)
    assert record.task_models == ("small-model",) and record.judge_models == ("judge-model",)
    assert [m.metric for m in record.metrics] == ["exact"]
    assert record.metrics[0].mean == 0.5 and record.metrics[0].count == 2
    usage = {(u.purpose, u.model): u for u in record.usage}
    assert usage[("task", "small-model")].calls == 2
    assert usage[("semantic_evaluation", "judge-model")].tokens == 7
    assert record.results_path == str(tmp_path / "r.json")
    assert record.trace_id == "ab" * 16 and record.git_commit is None
    assert record.duration == 60.0
    cancelled = RunRecord.from_result(
        result.model_copy(update={"complete": False}), dataset_fingerprint=None, results_path=None
    )
    assert cancelled.status is RunStatus.INTERRUPTED
    with open_store(str(tmp_path / "s.db")) as store:
        store.finish("run-x", record, record.status, result_json=result.model_dump_json())
        kept = store.load_result("run-x")
        assert kept is not None
        assert EvaluationResult.model_validate_json(kept) == result
        assert store.get("run-x") == record.model_copy(update={"has_result": True})


def test_git_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert git_state(tmp_path) is None  # not a repository
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "tracked.txt").write_text("one\n")
    subprocess.run([*git, "add", "tracked.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert git_state(repo) == history.GitState(commit=head, dirty=False)
    (repo / "untracked.txt").write_text("results\n")
    assert git_state(repo) == history.GitState(commit=head, dirty=False)
    (repo / "tracked.txt").write_text("two\n")
    assert git_state(repo) == history.GitState(commit=head, dirty=True)
    start = RunRecord.start(name="n", run_id="g", cwd=repo)
    assert (start.git_commit, start.git_dirty) == (head, True)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert git_state(repo) is None  # no git binary: unknown, not an error


def _result() -> EvaluationResult:
    t0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

    spans = iter(range(1, 100))

    def call(model: str, purpose: str, tokens: int) -> LLMInteraction:
        return LLMInteraction(
            prompt="p",
            response="r",
            model=model,
            tokens_used=tokens,
            latency=0.5,
            timestamp=t0,
            purpose=purpose,
            span_id=f"{next(spans):016x}",  # a results file refers to each call by span id
        )

    cases = [
        CaseResult(
            case=Case(input=f"q{i}"),
            case_id=f"c{i}",
            output="a",
            scores=[Score(metric="exact", value=float(i), passed=bool(i))],
            interactions=[call("small-model", "task", 5)],
        )
        for i in range(2)
    ]
    interactions = [i for c in cases for i in c.interactions] + [
        call("judge-model", "semantic_evaluation", 7)
    ]
    return EvaluationResult.build(
        name="demo",
        run_id="run-x",
        trace_id="ab" * 16,
        started_at=t0,
        finished_at=t0 + timedelta(minutes=1),
        cases=cases,
        interactions=interactions,
    )
