"""A progress bar on stderr that advances as ``evaluate`` reports finished cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evaltrace import CaseResult

__all__ = ["case_progress"]

OnCase = Callable[[CaseResult], None]


@contextmanager
def case_progress(total: int, *, enabled: bool, console: Console) -> Iterator[OnCase]:
    """Yield an ``on_case`` callback; with ``enabled`` it drives a bar of ``total`` cases."""
    if not enabled:
        yield _ignore
        return
    columns = (
        TextColumn("evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}", style="dim", markup=False),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("cases", total=total, last="")

        def advance(result: CaseResult) -> None:
            last = f"{result.case_id} failed" if result.error else result.case_id
            progress.update(task, advance=1, last=last)

        yield advance


def _ignore(result: CaseResult) -> None:
    """No bar: nothing to do."""
