"""``RunStore``: record runs (``begin``, ``finish``) and read them back."""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType

from evaltrace.history import _rows as sql
from evaltrace.history._backends import Backend, Row, Transaction
from evaltrace.history._errors import (
    AmbiguousRunRefError,
    RunNotFoundError,
    RunRefError,
    StoreError,
    StoreUnavailableError,
)
from evaltrace.history._liveness import process_gone
from evaltrace.history._record import RunRecord, RunStatus
from evaltrace.history._url import StoreLocation, scrub

__all__ = ["RunStore"]

_LATEST = "latest"
_HEX = re.compile(r"[0-9a-fA-F]+")
_CHUNK = 500  # run ids per "IN (...)" query
_SHOWN = 5  # candidates named in an ambiguity error


class RunStore:
    """An open run store (SQLite or PostgreSQL); get one with ``open_store``.

    Every write is one transaction. A ``RunStore`` may be shared by threads;
    use one per process. Failures raise ``StoreError`` subclasses whose
    messages name the store by its redacted URL.
    """

    def __init__(self, backend: Backend, location: StoreLocation, stale_after: timedelta) -> None:
        self._backend = backend
        self._location = location
        self._stale_after = stale_after
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The store's URL, password redacted."""
        return self._location.redacted

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._backend.name

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (errors closing it are ignored)."""
        with self._lock:
            try:
                self._backend.close()
            except self._backend.errors:
                pass

    # -- writes ---------------------------------------------------------------

    def begin(self, run: RunRecord) -> None:
        """Record ``run`` as ``running`` (its process: ``run.host``, ``run.pid``)."""
        started = run.model_copy(update={"status": RunStatus.RUNNING, "finished_at": None})
        with self._write(f"recording the start of run {run.run_id}") as tx:
            if tx.execute(sql.INSERT_RUN, sql.run_params(self._backend, started)) == 0:
                raise StoreError(f"run {run.run_id} is already recorded in {self.url}")

    def finish(
        self, run_id: str, record: RunRecord, status: RunStatus, *, result_json: str | None = None
    ) -> None:
        """Write the end of run ``run_id``: its final ``status``, summaries and usage, at once.

        One transaction writes the final status with the metrics, usage and
        (when given) the full result JSON, kept zlib-compressed. A run never
        begun is recorded whole. Finishing a run twice raises ``StoreError``.
        """
        final = _final(run_id, record, status)
        with self._write(f"recording the end of run {run_id}") as tx:
            if tx.execute(sql.UPDATE_FINISHED_RUN, sql.finish_params(self._backend, final)) == 0:
                if tx.execute(sql.INSERT_RUN, sql.run_params(self._backend, final)) == 0:
                    raise StoreError(f"run {run_id} is already finished in {self.url}")
            tx.executemany(sql.INSERT_METRIC, sql.metric_rows(final))
            tx.executemany(sql.INSERT_USAGE, sql.usage_rows(final))
            if result_json is not None:
                data = zlib.compress(result_json.encode("utf-8"))
                tx.execute(sql.INSERT_RESULT, (run_id, "zlib", data))

    # -- reads ----------------------------------------------------------------

    def get(self, run_id: str) -> RunRecord | None:
        """The run recorded as ``run_id``, None if there is none."""
        found = self._select("r.run_id = ?", [run_id], limit=1)
        return found[0] if found else None

    def list_runs(
        self,
        *,
        name: str | None = None,
        dataset: str | None = None,
        since: datetime | None = None,
        commit: str | None = None,
        limit: int | None = 50,
    ) -> list[RunRecord]:
        """Recorded runs, newest first.

        ``dataset`` and ``commit`` match a prefix of the dataset fingerprint and
        the git commit; ``since`` keeps runs started at or after it (naive: UTC);
        ``limit`` None lists them all.
        """
        clauses: list[str] = []
        params: list[object] = []
        if name is not None:
            clauses.append("r.name = ?")
            params.append(name)
        for column, prefix in (("r.dataset_fingerprint", dataset), ("r.git_commit", commit)):
            if prefix is not None:
                clauses.append(f"substr({column}, 1, ?) = ?")
                params += [len(prefix), prefix.lower()]
        if since is not None:
            clauses.append("r.started_at >= ?")
            params.append(self._backend.to_time(_utc(since)))
        return self._select(" AND ".join(clauses) or "1 = 1", params, limit=limit)

    def resolve(self, ref: str) -> RunRecord:
        """The run ``ref`` names: a run id or unique id prefix, ``NAME@latest``, ``NAME@COMMIT``.

        ``NAME@latest`` is the newest complete run named NAME; ``NAME@COMMIT``
        the newest complete run of NAME at the commit that COMMIT (a prefix)
        names. Raises ``RunNotFoundError`` or ``AmbiguousRunRefError``.
        """
        name, at, selector = ref.strip().rpartition("@")
        if not at:
            return self._by_id(selector)
        if not name or not selector:
            raise RunRefError(f"run reference {ref!r}: expected NAME@latest or NAME@COMMIT")
        if selector.lower() == _LATEST:
            return self._newest_complete(name, None, ref)
        if not _HEX.fullmatch(selector):
            raise RunRefError(f"run reference {ref!r}: {selector!r} is not 'latest' or a commit")
        return self._newest_complete(name, self._commit(name, selector.lower(), ref), ref)

    def load_result(self, run_id: str) -> str | None:
        """The full result JSON kept for ``run_id``, None if it was not kept."""
        with self._read(f"reading the result of run {run_id}") as tx:
            rows = tx.query("SELECT encoding, data FROM run_results WHERE run_id = ?", (run_id,))
            known = rows or tx.query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,))
        if not known:
            raise RunNotFoundError(f"no run {run_id!r} in {self.url}")
        if not rows:
            return None
        encoding, data = rows[0]
        if encoding != "zlib":
            raise StoreError(f"run {run_id}: result kept as unknown encoding {encoding!r}")
        return zlib.decompress(bytes(data)).decode("utf-8")

    def schema_version(self) -> int:
        """The schema version the store is at."""
        with self._read("reading the schema version") as tx:
            return int(tx.query("SELECT version FROM schema_version")[0][0])

    # -- internals ------------------------------------------------------------

    def _by_id(self, ref: str) -> RunRecord:
        exact = self.get(ref)
        if exact is not None:
            return exact
        where = "substr(r.run_id, 1, ?) = ?"
        found = self._select(where, [len(ref), ref], limit=_SHOWN + 1) if ref else []
        if not found:
            raise RunNotFoundError(f"no run with id {ref!r} in {self.url}")
        if len(found) > 1:
            ids = ", ".join(r.run_id for r in found[:_SHOWN])
            raise AmbiguousRunRefError(f"run id prefix {ref!r} matches several runs: {ids}")
        return found[0]

    def _commit(self, name: str, prefix: str, ref: str) -> str:
        query = (
            "SELECT DISTINCT git_commit FROM runs WHERE name = ? AND status = 'complete' "
            "AND substr(git_commit, 1, ?) = ? ORDER BY git_commit"
        )
        with self._read(f"resolving {ref!r}") as tx:
            commits = [row[0] for row in tx.query(query, (name, len(prefix), prefix))]
        if not commits:
            raise RunNotFoundError(f"no complete run {name!r} at commit {prefix!r} in {self.url}")
        if len(commits) > 1:
            shown = ", ".join(c[:12] for c in commits[:_SHOWN])
            raise AmbiguousRunRefError(f"{ref!r}: commit {prefix!r} matches several: {shown}")
        return str(commits[0])

    def _newest_complete(self, name: str, commit: str | None, ref: str) -> RunRecord:
        where, params = "r.name = ? AND r.status = 'complete'", [name]
        if commit is not None:
            where += " AND r.git_commit = ?"
            params.append(commit)
        found = self._select(where, list(params), limit=1)
        if not found:
            raise RunNotFoundError(f"no complete run named {name!r} in {self.url} ({ref!r})")
        return found[0]

    def _select(self, where: str, params: list[object], *, limit: int | None) -> list[RunRecord]:
        query = f"{sql.SELECT_RUNS} WHERE {where} ORDER BY r.started_at DESC, r.run_id DESC"
        if limit is not None:
            query, params = f"{query} LIMIT ?", [*params, max(0, limit)]
        with self._read("listing runs") as tx:
            runs = tx.query(query, params)
            metrics = _children(tx, sql.SELECT_METRICS, runs, key_columns=1)
            usage = _children(tx, sql.SELECT_USAGE, runs, key_columns=2)
        now = datetime.now(UTC)
        return [
            self._as_read(sql.record_of(self._backend, row, metrics[row[0]], usage[row[0]]), now)
            for row in runs
        ]

    def _as_read(self, run: RunRecord, now: datetime) -> RunRecord:
        if run.status is RunStatus.RUNNING and process_gone(
            run.host, run.pid, run.started_at, now, self._stale_after
        ):
            return run.model_copy(update={"status": RunStatus.INCOMPLETE})
        return run

    @contextmanager
    def _write(self, action: str) -> Iterator[Transaction]:
        with self._guard(action), self._backend.write() as tx:
            yield tx

    @contextmanager
    def _read(self, action: str) -> Iterator[Transaction]:
        with self._guard(action), self._backend.read() as tx:
            yield tx

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except self._backend.errors as error:
                reason = scrub(f"{type(error).__name__}: {error}", self._location.secrets)
                raise StoreUnavailableError(f"store {self.url}: {action}: {reason}") from None


def _final(run_id: str, record: RunRecord, status: RunStatus) -> RunRecord:
    if record.run_id != run_id:
        raise StoreError(f"finish({run_id!r}): the record is of run {record.run_id!r}")
    if RunStatus(status) is RunStatus.RUNNING:
        raise StoreError(f"finish({run_id!r}): a finished run's status cannot be 'running'")
    finished = record.finished_at or datetime.now(UTC)
    return record.model_copy(update={"status": RunStatus(status), "finished_at": finished})


def _children(
    tx: Transaction, query: str, runs: Sequence[Row], *, key_columns: int
) -> dict[str, list[Row]]:
    """The rows of ``query`` for each run, by run id, sorted by their key (after run_id)."""
    found: dict[str, list[Row]] = {str(row[0]): [] for row in runs}
    ids = list(found)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in tx.query(query.format(", ".join("?" * len(chunk))), chunk):
            found[str(row[0])].append(row)
    for rows in found.values():
        rows.sort(key=lambda row: tuple(str(v) for v in row[1 : 1 + key_columns]))
    return found


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
