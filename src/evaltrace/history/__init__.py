"""The run store: a history of evaluation runs, in SQLite (default) or PostgreSQL.

``open_store(url)`` opens one (``sqlite:///runs.db``, a path, or
``postgresql://user:password@host/db``); ``RunStore.begin`` records a run as
``running`` and ``RunStore.finish`` writes its end in one transaction;
``list_runs``, ``get``, ``resolve`` and ``load_result`` read them back.
``begin_safely``/``record_safely`` do the writes without ever raising, for
evaluations that must not fail because a store is down. See
docs/history.md.
"""

from evaltrace.history._errors import (
    AmbiguousRunRefError,
    RunNotFoundError,
    RunRefError,
    StoreError,
    StoreSchemaError,
    StoreUnavailableError,
    StoreURLError,
)
from evaltrace.history._git import GitState, git_state
from evaltrace.history._liveness import DEFAULT_STALE_AFTER
from evaltrace.history._load import is_results_path, load_run_result, resolve_run
from evaltrace.history._open import (
    CONNECT_TIMEOUT,
    NOT_RECORDED,
    StoreTarget,
    begin_safely,
    check_store_url,
    open_store,
    record_safely,
    write_or_warn,
)
from evaltrace.history._record import MetricRecord, RunRecord, RunStatus, UsageRecord
from evaltrace.history._schema import SCHEMA_VERSION
from evaltrace.history._store import RunStore
from evaltrace.history._url import DEFAULT_STORE_PATH, STORE_ENV, redact_url, store_url

__all__ = [
    "AmbiguousRunRefError",
    "CONNECT_TIMEOUT",
    "DEFAULT_STALE_AFTER",
    "DEFAULT_STORE_PATH",
    "GitState",
    "MetricRecord",
    "NOT_RECORDED",
    "RunNotFoundError",
    "RunRecord",
    "RunRefError",
    "RunStatus",
    "RunStore",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "StoreError",
    "StoreSchemaError",
    "StoreTarget",
    "StoreURLError",
    "StoreUnavailableError",
    "UsageRecord",
    "begin_safely",
    "check_store_url",
    "git_state",
    "is_results_path",
    "load_run_result",
    "open_store",
    "record_safely",
    "redact_url",
    "resolve_run",
    "store_url",
    "write_or_warn",
]
