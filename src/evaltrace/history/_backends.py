"""The two databases behind a store: SQLite (standard library) and PostgreSQL (psycopg 3).

Each backend opens one connection and hands out transactions: ``write()``
(SQLite ``BEGIN IMMEDIATE``, so writers queue on the busy timeout instead of
failing; PostgreSQL ``BEGIN``) and ``read()`` (one snapshot: SQLite WAL,
PostgreSQL ``REPEATABLE READ READ ONLY``). SQL is written once with ``?``
placeholders; the PostgreSQL transaction rewrites them as ``%s``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from evaltrace.history._errors import StoreError

if TYPE_CHECKING:
    import psycopg

__all__ = ["Backend", "PostgresBackend", "SQLiteBackend", "Transaction"]

Row = tuple[Any, ...]
#: Seconds a PostgreSQL statement, or a wait for a SQLite write lock, may take.
STATEMENT_TIMEOUT = 30.0
#: Seconds between attempts to switch a new SQLite file to WAL while another process does.
_WAL_RETRY = 0.02
# The key of the advisory lock PostgreSQL migrations hold ("evaltrac" in ASCII).
_MIGRATION_LOCK = 0x65766174726163


class Transaction(Protocol):
    """A transaction in progress: run statements, read rows."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run one statement once per row of parameters."""
        ...

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run a query; returns every row."""
        ...


class Backend(Protocol):
    """One open database connection of a store."""

    name: str
    #: The driver's exceptions, which the store turns into ``StoreUnavailableError``.
    errors: tuple[type[Exception], ...]

    def write(self) -> AbstractContextManager[Transaction]:
        """A read-write transaction, committed on exit, rolled back on an exception."""
        ...

    def read(self) -> AbstractContextManager[Transaction]:
        """A read-only transaction over one consistent snapshot."""
        ...

    def lock_migrations(self, tx: Transaction) -> None:
        """Serialise migrations of this database (held until ``tx`` ends)."""
        ...

    def to_time(self, value: datetime) -> object:
        """A UTC datetime as this database stores it."""
        ...

    def from_time(self, value: object) -> datetime:
        """A stored time as a UTC datetime."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


class _SQLiteTransaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._connection.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self._connection.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return list(self._connection.execute(sql, params).fetchall())


class SQLiteBackend:
    """A store in one SQLite file, in WAL mode (readers never wait for the writer)."""

    name = "sqlite"
    errors: tuple[type[Exception], ...] = (sqlite3.Error, OSError)

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(
            path, timeout=STATEMENT_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        try:
            self._connection.execute(f"PRAGMA busy_timeout = {int(STATEMENT_TIMEOUT * 1000)}")
            self._connection.execute("PRAGMA foreign_keys = ON")
            _enter_wal(self._connection)
        except BaseException:
            self._connection.close()
            raise

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        with self._transaction("BEGIN IMMEDIATE") as tx:
            yield tx

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._transaction("BEGIN DEFERRED") as tx:
            yield tx

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Transaction]:
        self._connection.execute(begin)
        try:
            yield _SQLiteTransaction(self._connection)
            self._connection.execute("COMMIT")
        except BaseException:
            if self._connection.in_transaction:  # SQLite may have rolled back already
                self._connection.execute("ROLLBACK")
            raise

    def lock_migrations(self, tx: Transaction) -> None:
        """Nothing to do: a write transaction already holds the file's write lock."""

    def to_time(self, value: datetime) -> object:
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def from_time(self, value: object) -> datetime:
        return datetime.fromisoformat(str(value)).astimezone(UTC)

    def close(self) -> None:
        self._connection.close()


def _enter_wal(connection: sqlite3.Connection) -> None:
    """Put the file in WAL mode (it stays so), waiting out other processes doing the same.

    Changing the journal mode needs the file to itself, and SQLite answers
    "database is locked" at once, without its busy handler, while another
    connection is opening a new file the same way: retried until the timeout.
    """
    deadline = time.monotonic() + STATEMENT_TIMEOUT
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(_WAL_RETRY)


class _PostgresTransaction:
    def __init__(self, cursor: psycopg.Cursor[Row]) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        self._cursor.execute(sql.replace("?", "%s"), params)
        return self._cursor.rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self._cursor.executemany(sql.replace("?", "%s"), rows)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        self._cursor.execute(sql.replace("?", "%s"), params)
        return list(self._cursor.fetchall())


class PostgresBackend:
    """A store in a PostgreSQL database, reached with psycopg 3."""

    name = "postgresql"

    def __init__(self, conninfo: str, *, connect_timeout: float) -> None:
        driver = _psycopg()
        self.errors: tuple[type[Exception], ...] = (driver.Error, OSError)
        self._connection: psycopg.Connection[Row] = driver.connect(
            conninfo,
            connect_timeout=max(1, round(connect_timeout)),
            autocommit=True,
            application_name="evaltrace",
        )
        self._connection.execute(f"SET statement_timeout = {int(STATEMENT_TIMEOUT * 1000)}")

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        with self._connection.transaction(), self._connection.cursor() as cursor:
            yield _PostgresTransaction(cursor)

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._connection.transaction(), self._connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield _PostgresTransaction(cursor)

    def lock_migrations(self, tx: Transaction) -> None:
        tx.query("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    def to_time(self, value: datetime) -> object:
        return value.astimezone(UTC)

    def from_time(self, value: object) -> datetime:
        if not isinstance(value, datetime):
            raise StoreError(f"stored time is not a timestamp: {value!r}")
        return value.astimezone(UTC)

    def close(self) -> None:
        self._connection.close()


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "a PostgreSQL store needs psycopg 3: pip install 'evaltrace[postgres]'"
        ) from None
    return psycopg
