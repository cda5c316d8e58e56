"""Open a store from its URL, and record runs without ever failing the evaluation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from evaltrace.history._backends import Backend, PostgresBackend, SQLiteBackend
from evaltrace.history._errors import StoreError, StoreUnavailableError, StoreURLError
from evaltrace.history._liveness import DEFAULT_STALE_AFTER
from evaltrace.history._migrate import migrate
from evaltrace.history._record import RunRecord, RunStatus
from evaltrace.history._store import RunStore
from evaltrace.history._url import StoreLocation, parse_store_url, redact_url, scrub

__all__ = [
    "CONNECT_TIMEOUT",
    "NOT_RECORDED",
    "StoreTarget",
    "begin_safely",
    "check_store_url",
    "open_store",
    "record_safely",
    "write_or_warn",
]

#: Where a run is recorded: a store URL or path, or a store already open.
StoreTarget = str | RunStore

#: How the warning of a run that could not be recorded begins.
NOT_RECORDED = "run not recorded in"
#: Seconds a connection attempt to a PostgreSQL store may take.
CONNECT_TIMEOUT = 5.0

logger = logging.getLogger("evaltrace.history")


def open_store(
    url: str,
    *,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    connect_timeout: float = CONNECT_TIMEOUT,
    create: bool = True,
) -> RunStore:
    """Open (creating or migrating it if needed) the store ``url`` names.

    Raises ``StoreURLError`` for a URL that names no store,
    ``StoreUnavailableError`` when the database cannot be reached or opened,
    and ``StoreSchemaError`` for a store written by a newer evaltrace; every
    message is one line with the password redacted. ``stale_after``: how long
    a ``running`` run of another host is trusted before it reads as
    ``incomplete``. ``create=False`` refuses to create a SQLite file that is
    not there yet (``StoreUnavailableError``): for commands that only read.
    """
    location = parse_store_url(url)
    if not create and location.path is not None and not location.path.is_file():
        raise StoreUnavailableError(f"store {location.redacted}: no such file (no run recorded)")
    backend = _connect(location, connect_timeout)
    try:
        migrate(backend, location.redacted)
    except backend.errors as error:
        backend.close()
        reason = scrub(f"{type(error).__name__}: {error}", location.secrets)
        raise StoreUnavailableError(f"store {location.redacted}: migrating: {reason}") from None
    except BaseException:
        backend.close()
        raise
    return RunStore(backend, location, stale_after)


def _connect(location: StoreLocation, timeout: float) -> Backend:
    try:
        if location.path is not None:
            return SQLiteBackend(location.path)
        return PostgresBackend(location.conninfo, connect_timeout=timeout)
    except StoreError:
        raise
    except Exception as error:  # the driver's errors: psycopg may not even be importable
        reason = scrub(f"{type(error).__name__}: {error}", location.secrets)
        if type(error).__name__ == "ProgrammingError":  # psycopg: a malformed connection string
            raise StoreURLError(f"store URL {location.redacted}: {reason}") from None
        raise StoreUnavailableError(f"store {location.redacted}: cannot open: {reason}") from None


def begin_safely(url: str | None, run: RunRecord) -> bool:
    """``RunStore.begin`` in the store at ``url``; any failure is a logged warning.

    Returns True when the start was recorded, False when it was not (or
    ``url`` is None: recording is off). Never raises (but for
    ``KeyboardInterrupt`` and the like).
    """
    return _safely(url, lambda store: store.begin(run))


def record_safely(
    url: str | None,
    record: RunRecord,
    status: RunStatus | None = None,
    *,
    result_json: str | None = None,
) -> bool:
    """``RunStore.finish`` of ``record`` in the store at ``url``; any failure is a logged warning.

    ``status`` defaults to ``record.status``. Logs ``run not recorded in
    <redacted url>: <reason>`` and returns False when the store is
    unreachable, refuses the write, or anything else goes wrong; returns True
    when the run was recorded.
    """
    final = status or record.status
    return _safely(url, lambda s: s.finish(record.run_id, record, final, result_json=result_json))


def check_store_url(url: str) -> str:
    """The password-redacted form of ``url``; raises ``StoreURLError`` if it names no store.

    Nothing is opened: a URL that parses may still name a database that is down.
    """
    return parse_store_url(url).redacted


def _safely(url: str | None, write: Callable[[RunStore], None]) -> bool:
    if url is None:
        return False
    return write_or_warn(url, write) is None


def write_or_warn(target: StoreTarget, write: Callable[[RunStore], None]) -> str | None:
    """Run ``write`` on the store ``target`` names; None when it went through.

    On any failure it logs, and returns, the one-line warning ``run not
    recorded in <redacted url>: <reason>``; it never raises. A URL is opened
    and closed here; an open ``RunStore`` is used as it is (and left open).
    """
    try:
        if isinstance(target, RunStore):
            write(target)
        else:
            with open_store(target) as store:
                write(store)
    except Exception as error:  # a store must never fail an evaluation
        if isinstance(target, RunStore):
            redacted, reason = target.url, _reason(error, "", target.url)
        else:
            redacted = redact_url(target)
            reason = _reason(error, target, redacted)
        message = f"{NOT_RECORDED} {redacted}: {reason}"
        logger.warning("%s", message)
        return message
    return None


def _reason(error: Exception, url: str, redacted: str) -> str:
    try:
        secrets = parse_store_url(url).secrets
    except StoreError:
        secrets = ()
    text = scrub(str(error) or type(error).__name__, secrets)
    for prefix in (f"store {redacted}: ", f"store URL {redacted}: "):
        text = text.removeprefix(prefix)
    return text
