"""``evaltrace runs``: the runs recorded in the run store, as tables."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evaltrace import ConfigurationError
from evaltrace.cli._report import clip, cost_text, seconds
from evaltrace.history import RunRecord, RunStatus, open_store, store_url

__all__ = ["RunFilters", "list_runs_table", "run_details", "runs_store"]

_ID = 12
_COMMIT = 10
_FINGERPRINT = 12
_SCORES_WIDTH = 48
_STATUS_STYLE = {
    RunStatus.COMPLETE: "green",
    RunStatus.RUNNING: "cyan",
    RunStatus.INCOMPLETE: "red",
    RunStatus.INTERRUPTED: "yellow",
}


@dataclass(frozen=True)
class RunFilters:
    """Which runs ``evaltrace runs`` lists (None: any)."""

    name: str | None = None
    dataset: str | None = None
    since: datetime | None = None
    commit: str | None = None

    def described(self) -> str:
        """The filters in words (" named qa since 2026-01-01"), empty when there are none."""
        words = {"name": "named", "dataset": "of dataset", "since": "since", "commit": "at commit"}
        return "".join(f" {words[k]} {v}" for k, v in asdict(self).items() if v is not None)


def runs_store(explicit: str | None) -> str:
    """The store ``runs`` reads: ``--store``, else ``$EVALTRACE_STORE``, else the default file."""
    url = store_url(explicit, default_enabled=True)
    if url is None:
        raise ConfigurationError("no run store: recording is off (EVALTRACE_STORE=off)")
    return url


def list_runs_table(url: str, filters: RunFilters, limit: int | None) -> Table | str:
    """The runs of the store at ``url`` that pass ``filters``, newest first (or why none)."""
    with open_store(url, create=False) as store:
        runs = store.list_runs(
            name=filters.name,
            dataset=filters.dataset,
            since=filters.since,
            commit=filters.commit,
            limit=limit,
        )
        where = store.url
    if not runs:
        return f"no recorded runs{filters.described()} in {where}"
    table = Table(title=f"Runs in {where}", title_justify="left")
    for name in ("id", "name", "status", "started (UTC)", "duration", "commit", "dataset"):
        table.add_column(name, no_wrap=True)
    table.add_column("scores (mean)")
    table.add_column("cost", justify="right", no_wrap=True)
    for run in runs:
        table.add_row(
            run.run_id[:_ID],
            run.name,
            _status(run.status),
            _time(run.started_at),
            seconds(run.duration),
            _commit(run),
            (run.dataset_fingerprint or "-")[:_FINGERPRINT],
            clip(_scores(run), _SCORES_WIDTH),
            _cost(run),
        )
    return table


def run_details(url: str, ref: str, console: Console) -> None:
    """Print one run: where it came from, its scores, its usage."""
    with open_store(url, create=False) as store:
        run = store.resolve(ref)
    console.print(_facts(run))
    if run.metrics:
        console.print(_metric_table(run))
    if run.usage:
        console.print(_usage_table(run))
    elif run.status is not RunStatus.RUNNING:
        console.print("No model calls were recorded.")


def _facts(run: RunRecord) -> Table:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    rows: list[tuple[str, str | Text]] = [
        ("run", run.run_id),
        ("name", run.name),
        ("status", _status(run.status)),
        ("started", _time(run.started_at) + " UTC"),
        ("finished", _time(run.finished_at) + " UTC" if run.finished_at else "-"),
        ("duration", seconds(run.duration)),
        ("host", f"{run.host} (pid {run.pid})"),
        ("commit", _commit(run, full=True)),
        ("dataset", run.dataset_fingerprint or "-"),
        ("task models", ", ".join(run.task_models) or "-"),
        ("judge models", ", ".join(run.judge_models) or "-"),
        ("results file", run.results_path or "-"),
        ("result kept", "yes" if run.has_result else "no"),
        ("trace id", run.trace_id or "-"),
    ]
    if run.trace_url:
        rows.append(("trace", run.trace_url))
    for label, value in rows:
        facts.add_row(label, value)
    return facts


def _metric_table(run: RunRecord) -> Table:
    table = Table(title="Scores by metric", title_justify="left")
    table.add_column("metric")
    for name in ("mean", "pass rate", "scored", "failures", "interval"):
        table.add_column(name, justify="right")
    for metric in run.metrics:
        interval = "-"
        if metric.ci_low is not None and metric.ci_high is not None:
            interval = f"{metric.ci_low:.3f} .. {metric.ci_high:.3f}"
        table.add_row(
            metric.metric,
            "-" if metric.mean is None else f"{metric.mean:.3f}",
            "-" if metric.pass_rate is None else f"{metric.pass_rate:.0%}",
            str(metric.count),
            Text(str(metric.failures), style="red" if metric.failures else ""),
            interval,
        )
    return table


def _usage_table(run: RunRecord) -> Table:
    table = Table(title="Usage by purpose and model", title_justify="left")
    table.add_column("purpose")
    table.add_column("model")
    for name in ("calls", "errors", "tokens", "p50", "p95", "cost"):
        table.add_column(name, justify="right")
    for usage in run.usage:
        table.add_row(
            usage.purpose,
            usage.model,
            str(usage.calls),
            Text(str(usage.errors), style="red" if usage.errors else ""),
            str(usage.tokens),
            seconds(usage.latency_p50),
            seconds(usage.latency_p95),
            cost_text(usage.cost_usd, unpriced=0, local=False),
        )
    return table


def _status(status: RunStatus) -> Text:
    return Text(status.value, style=_STATUS_STYLE.get(status, ""))


def _time(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _commit(run: RunRecord, *, full: bool = False) -> str:
    if run.git_commit is None:
        return "-"
    commit = run.git_commit if full else run.git_commit[:_COMMIT]
    return f"{commit} (dirty)" if run.git_dirty else commit


def _scores(run: RunRecord) -> str | None:
    shown = [f"{m.metric} {m.mean:.3f}" for m in run.metrics if m.mean is not None]
    return ", ".join(shown) or None


def _cost(run: RunRecord) -> str:
    known = [u.cost_usd for u in run.usage if u.cost_usd is not None]
    if not run.usage:
        return "-"
    return cost_text(sum(known) if known else None, unpriced=0, local=False)
