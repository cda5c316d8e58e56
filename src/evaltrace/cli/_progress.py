"""A progress bar on stderr: cases done, ETA, and running totals of calls, tokens and cost."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from evaltrace import CaseResult
from evaltrace.cli._report import cost_text

__all__ = ["RunningTotals", "case_progress"]

OnCase = Callable[[CaseResult], None]


@dataclass
class RunningTotals:
    """Calls, tokens and cost of the cases finished so far."""

    calls: int = 0
    errors: int = 0
    tokens: int = 0
    cost: Decimal = Decimal(0)
    unpriced: int = 0
    remote: bool = False

    def add(self, case: CaseResult) -> None:
        """Count the model calls of one finished case."""
        for interaction in case.interactions:
            self.calls += 1
            self.errors += interaction.error is not None
            self.tokens += interaction.tokens_used
            price = interaction.cost()
            if price is None:
                self.unpriced += 1
            else:
                self.cost += price
            self.remote = self.remote or not interaction.is_local

    def __str__(self) -> str:
        parts = [f"{self.calls:,} calls", f"{self.tokens:,} tokens", self._cost()]
        if self.errors:
            parts.insert(1, f"{self.errors:,} failed")
        return " · ".join(parts)

    def _cost(self) -> str:
        if not self.calls:
            return "$0.00"
        return cost_text(self.cost, unpriced=self.unpriced, local=not self.remote)


@contextmanager
def case_progress(total: Callable[[], int], *, enabled: bool, console: Console) -> Iterator[OnCase]:
    """Yield an ``on_case`` callback; with ``enabled`` it drives a bar of ``total()`` cases.

    ``total`` is asked when the first case finishes (the run is planned by then).
    """
    if not enabled:
        yield _ignore
        return
    columns = (
        TextColumn("evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[totals]}", markup=False),
        TextColumn("{task.fields[last]}", style="dim", markup=False),
    )
    totals = RunningTotals()
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("cases", total=None, last="", totals=str(totals))

        def advance(result: CaseResult) -> None:
            if progress.tasks[0].total is None:
                progress.update(task, total=total())
            totals.add(result)
            last = f"{result.case_id} failed" if result.error else result.case_id
            progress.update(task, advance=1, last=last, totals=str(totals))

        yield advance


def _ignore(result: CaseResult) -> None:
    """No bar: nothing to do."""
