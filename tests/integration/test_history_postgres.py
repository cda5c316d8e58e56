"""The run store on a real PostgreSQL server (Debian's, started by tests/support/postgres.py).

Each test gets a new empty database owned by a role that logs in with a real
password over TCP, so redaction is checked against a password the server
actually demanded.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from evaltrace import EvaluationResult
from evaltrace.cli import main
from evaltrace.history import (
    SCHEMA_VERSION,
    RunStatus,
    StoreError,
    StoreUnavailableError,
    StoreURLError,
    begin_safely,
    load_run_result,
    open_store,
    record_safely,
)
from tests.support.history import checks, runs
from tests.support.history.checks import Execute, finished, started
from tests.support.postgres import LOOPBACK, PostgresServer, postgres_server

__all__ = ["postgres_server"]

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    return postgres_server.new_database()


@pytest.fixture
def execute(pg_url: str) -> Execute:
    def run(statement: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        with psycopg.connect(pg_url) as connection, connection.cursor() as cursor:
            cursor.execute(statement.replace("?", "%s"), params)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    return run


# -- records and queries --------------------------------------------------------------------


def test_round_trip(pg_url: str) -> None:
    checks.check_round_trip(pg_url)


def test_write_rules(pg_url: str) -> None:
    checks.check_write_rules(pg_url)


def test_a_failed_finish_writes_nothing(pg_url: str, execute: Execute) -> None:
    checks.check_failed_finish_leaves_run_running(pg_url, execute, "postgresql")


def test_list_filters(pg_url: str) -> None:
    checks.check_list_filters(pg_url)


def test_resolve_refs(pg_url: str) -> None:
    checks.check_resolve(pg_url)


def test_the_postgres_scheme_names_the_same_store(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.begin(started("s-1"))
        assert store.backend == "postgresql"
    with open_store(pg_url.replace("postgresql://", "postgres://", 1)) as same:
        assert same.get("s-1") is not None


# -- migrations -----------------------------------------------------------------------------


def test_a_v1_store_is_migrated_with_its_data(pg_url: str, execute: Execute) -> None:
    checks.check_migrates_v1(pg_url, execute, "postgresql")


def test_a_failed_migration_is_rolled_back(pg_url: str, execute: Execute) -> None:
    checks.check_failed_migration_changes_nothing(pg_url, execute, "postgresql", psycopg.Error)


def test_a_newer_store_is_refused(pg_url: str, execute: Execute) -> None:
    checks.check_newer_store_refused(pg_url, execute)


# -- several processes ----------------------------------------------------------------------


def test_concurrent_writer_processes_lose_and_mix_nothing(pg_url: str) -> None:
    checks.check_concurrent_writers(pg_url)


def test_a_killed_run_reads_incomplete(pg_url: str) -> None:
    checks.check_killed_run_reads_incomplete(pg_url)


# -- unreachable, wrong, or slow databases --------------------------------------------------


def test_a_wrong_password_is_a_one_line_error_without_it(
    postgres_server: PostgresServer, pg_url: str
) -> None:
    database = pg_url.rsplit("/", 1)[1]
    wrong = postgres_server.url(database, password="not-the-pw-7731")
    with pytest.raises(StoreUnavailableError) as error:
        open_store(wrong)
    message = str(error.value)
    assert "password authentication failed" in message and "\n" not in message
    assert "not-the-pw-7731" not in message and postgres_server.password not in message
    assert "postgresql://evaltrace_app:***@127.0.0.1" in message


def test_an_unreachable_database_is_a_warning_not_an_exception(
    postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"postgresql://evaltrace_app:{postgres_server.password}@{LOOPBACK}:{_closed_port()}/x"
    with pytest.raises(StoreUnavailableError, match="cannot open"):
        open_store(url)
    run = started("lost-1")
    with caplog.at_level(logging.DEBUG):
        assert begin_safely(url, run) is False
        assert record_safely(url, finished(run), RunStatus.COMPLETE, result_json="{}") is False
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all(
        w.startswith("run not recorded in postgresql://evaltrace_app:***@") for w in warnings
    )
    assert postgres_server.password not in caplog.text


def test_a_server_that_never_answers_times_out(postgres_server: PostgresServer) -> None:
    """A listener that accepts the connection and says nothing: the connect timeout ends it."""
    with _silent_listener() as port:
        url = f"postgresql://evaltrace_app:{postgres_server.password}@{LOOPBACK}:{port}/x"
        outcome: list[BaseException] = []

        def attempt() -> None:
            try:
                open_store(url, connect_timeout=1)
            except BaseException as error:  # noqa: BLE001 - handed to the test thread
                outcome.append(error)

        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(120)  # a hang guard, far above the 1 s timeout; not a measurement
        assert not worker.is_alive(), "open_store did not give up on a silent server"
    assert len(outcome) == 1 and isinstance(outcome[0], StoreUnavailableError)
    assert postgres_server.password not in str(outcome[0])


# -- credentials never leak -----------------------------------------------------------------


def test_a_password_never_appears_in_errors_or_logs(
    postgres_server: PostgresServer, pg_url: str, execute: Execute, caplog: pytest.LogCaptureFixture
) -> None:
    password = postgres_server.password
    database = pg_url.rsplit("/", 1)[1]
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    with open_store(f"{pg_url}?sslmode=disable&password={password}") as store:
        texts += [store.url, repr(store)]
        run = started("leak-1")
        store.begin(run)
        store.finish("leak-1", finished(run), RunStatus.COMPLETE)
        texts.append(_error_text(lambda: store.finish("leak-1", finished(run), RunStatus.COMPLETE)))
        for statement in checks.FAILING_RESULT_TRIGGER["postgresql"]:
            execute(statement, ())
        other = started("leak-2")
        store.begin(other)
        texts.append(
            _error_text(
                lambda: store.finish(
                    "leak-2", finished(other), RunStatus.COMPLETE, result_json="{}"
                )
            )
        )
    bad_port = postgres_server.url(database).replace(f":{postgres_server.port}/", ":port/")
    texts.append(_error_text(lambda: open_store(bad_port)))
    texts.append(_error_text(lambda: open_store(f"{pg_url}?no_such_option=1")))
    texts.append(_error_text(lambda: open_store(pg_url.replace(database, "no_such_db"))))
    execute("UPDATE schema_version SET version = 99", ())
    texts.append(_error_text(lambda: open_store(pg_url)))
    assert not record_safely(pg_url, finished(started("leak-3")))
    assert all(texts) and len(texts) == 8
    for text in [*texts, caplog.text]:
        assert password not in text
    assert any("***" in text for text in texts)


def test_a_password_with_url_escapes_connects_and_stays_hidden(
    postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    password = "p@ss/w:rd?&=x" + postgres_server.password[-6:]
    role = database = f"odd_{postgres_server.password[-6:]}"
    with postgres_server.admin() as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )
    escaped = urllib.parse.quote(password, safe="")
    url = f"postgresql://{role}:{escaped}@{LOOPBACK}:{postgres_server.port}/{database}"
    with open_store(url) as store:  # the password, escaped, connects
        store.begin(started("e-1"))
        assert password not in store.url and escaped not in store.url
    wrong = url.replace(escaped, escaped + "x")
    with pytest.raises(StoreError) as error:
        open_store(wrong)
    caplog.set_level(logging.DEBUG)
    assert not record_safely(wrong, finished(started("e-1")))
    for text in (str(error.value), caplog.text):
        assert password not in text and escaped not in text and "***" in text


def _error_text(action: object) -> str:
    assert callable(action)
    try:
        action()
    except StoreError as error:
        assert "\n" not in str(error)
        return f"{type(error).__name__}: {error}"
    raise AssertionError("expected a StoreError")


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _silent_listener() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def test_bad_urls_are_url_errors(postgres_server: PostgresServer) -> None:
    with pytest.raises(StoreURLError, match="no_such_option"):
        open_store(f"{postgres_server.url('x')}?no_such_option=1")


# -- through evaluate and the CLI ---------------------------------------------------------


def test_concurrent_evaluations_lose_and_mix_nothing(pg_url: str) -> None:
    """Two processes evaluating into one database at once (two CI jobs sharing a server)."""
    runs.check_concurrent_evaluations(pg_url)


def test_an_evaluation_killed_mid_way_reads_incomplete(pg_url: str, tmp_path: Path) -> None:
    runs.check_killed_evaluation_reads_incomplete(pg_url, tmp_path)


def test_a_run_recorded_in_postgres_shows_and_loads_without_the_password(
    pg_url: str, postgres_server: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "qa.jsonl"
    dataset.write_text('{"id": "a", "input": "q", "output": "Paris", "expected": "Paris"}\n')
    output = tmp_path / "r.json"
    argv = ["run", str(dataset), "-m", "exact_match", "-o", str(output), "--no-progress"]
    code = main([*argv, "--store", pg_url, "--store-result"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = EvaluationResult.load(output)
    assert main(["runs", "--store", pg_url]) == 0
    listed, _ = capsys.readouterr()
    assert main(["runs", "show", f"{result.name}@latest", "--store", pg_url]) == 0
    shown, _ = capsys.readouterr()
    assert result.run_id[:12] in listed and result.run_id in shown
    output.unlink()
    (tmp_path / "r.cases.jsonl").unlink()
    assert load_run_result(result.run_id, pg_url) == result  # the kept result: no file needed
    for text in (out, err, listed, shown, result.model_dump_json()):
        assert postgres_server.password not in text
    assert "evaltrace_app:***@" in out


def _cli_run(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    dataset = tmp_path / "qa.jsonl"
    dataset.write_text('{"id": "a", "input": "q", "output": "Paris", "expected": "Paris"}\n')
    argv = ["run", str(dataset), "-m", "exact_match", "-o", str(tmp_path / "r.json")]
    code = main([*argv, "--no-progress", "--store", pg_url])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_run_migrates_a_database_written_by_an_older_evaltrace(
    pg_url: str, execute: Execute, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for statement in checks.V1_DDL["postgresql"]:
        execute(statement, ())
    execute("INSERT INTO schema_version (version) VALUES (?)", (1,))
    code, out, err = _cli_run(pg_url, tmp_path, capsys)
    assert code == 0 and "recorded: run" in out, err
    assert execute("SELECT version FROM schema_version", ()) == [(SCHEMA_VERSION,)]
    assert execute("SELECT name, status FROM runs", ()) == [("qa", "complete")]


def test_a_run_into_a_database_of_a_newer_evaltrace_is_kept_and_not_recorded(
    pg_url: str, execute: Execute, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_store(pg_url).close()
    execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    code, out, err = _cli_run(pg_url, tmp_path, capsys)
    newer = f"has schema version {SCHEMA_VERSION + 1}, written by a newer evaltrace"
    assert code == 0 and newer in err and "recorded:" not in out
    assert newer in EvaluationResult.load(tmp_path / "r.json").warnings[0]
    assert execute("SELECT count(*) FROM runs", ()) == [(0,)]
    assert main(["runs", "--store", pg_url]) == 2
    _, err = capsys.readouterr()
    assert newer in err and len(err.strip().splitlines()) == 1
