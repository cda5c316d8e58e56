"""The store's schema: one ordered list of migrations per backend.

Version ``n`` is reached by running the steps of migrations 1..n in order; the
``schema_version`` table holds the version a store is at. A store is migrated,
in one transaction, when an evaltrace that knows a later version opens it; one
at a later version than ``SCHEMA_VERSION`` is refused.

1: ``runs``, ``metrics``, ``usage``.
2: the kept result JSON (``run_results``, zlib), metric intervals
   (``ci_low``/``ci_high``) and the indexes the queries use.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "VERSION_TABLE", "Migration"]


@dataclass(frozen=True)
class Migration:
    """The SQL statements that take a store from ``version - 1`` to ``version``."""

    version: int
    steps: tuple[str, ...]


VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"

_V1_COMMON = """
    run_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    git_commit TEXT,
    dataset_fingerprint TEXT,
    task_models TEXT NOT NULL,
    judge_models TEXT NOT NULL,
    results_path TEXT,
    trace_id TEXT,
    trace_url TEXT,
"""

_USAGE = """
    purpose TEXT NOT NULL,
    model TEXT NOT NULL,
    calls INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    tokens {int} NOT NULL,
    cost_usd {float},
    latency_p50 {float},
    latency_p95 {float},
    PRIMARY KEY (run_id, purpose, model)
"""

_METRICS = """
    metric TEXT NOT NULL,
    mean {float},
    count INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    pass_rate {float},
    PRIMARY KEY (run_id, metric)
"""

_FK = "run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"

_V2_INDEXES = (
    "CREATE INDEX runs_name_started ON runs (name, started_at)",
    "CREATE INDEX runs_started ON runs (started_at)",
    "CREATE INDEX runs_commit ON runs (git_commit)",
    "CREATE INDEX runs_dataset ON runs (dataset_fingerprint)",
)


def _v1(*, time: str, boolean: str, integer: str, real: str) -> Migration:
    return Migration(
        1,
        (
            f"CREATE TABLE runs ({_V1_COMMON} started_at {time} NOT NULL, "
            f"finished_at {time}, git_dirty {boolean})",
            f"CREATE TABLE metrics ({_FK} {_METRICS.format(float=real)})",
            f"CREATE TABLE usage ({_FK} {_USAGE.format(int=integer, float=real)})",
        ),
    )


def _v2(*, blob: str, real: str) -> Migration:
    return Migration(
        2,
        (
            f"CREATE TABLE run_results ({_FK} encoding TEXT NOT NULL, data {blob} NOT NULL, "
            "PRIMARY KEY (run_id))",
            f"ALTER TABLE metrics ADD COLUMN ci_low {real}",
            f"ALTER TABLE metrics ADD COLUMN ci_high {real}",
            *_V2_INDEXES,
        ),
    )


#: Every backend's migrations, in order; the last one's version is ``SCHEMA_VERSION``.
MIGRATIONS: dict[str, tuple[Migration, ...]] = {
    # SQLite: times as ISO-8601 UTC text (sortable: always +00:00, microseconds).
    "sqlite": (
        _v1(time="TEXT", boolean="INTEGER", integer="INTEGER", real="REAL"),
        _v2(blob="BLOB", real="REAL"),
    ),
    "postgresql": (
        _v1(time="TIMESTAMPTZ", boolean="BOOLEAN", integer="BIGINT", real="DOUBLE PRECISION"),
        _v2(blob="BYTEA", real="DOUBLE PRECISION"),
    ),
}

#: The schema version this evaltrace writes (and the newest it opens).
SCHEMA_VERSION = MIGRATIONS["sqlite"][-1].version
