"""``evaltrace show``: the audit trail of a saved result, filtered, or one call in full."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from evaltrace import ConfigurationError, EvaluationResult, LLMInteraction
from evaltrace.cli._report import clip, cost_text, seconds

__all__ = ["ShowFilters", "interaction_detail", "interactions_table", "show_audit_trail"]

_MIN_ID_PREFIX = 4


@dataclass(frozen=True)
class ShowFilters:
    """Which interactions ``show`` lists; unset fields match everything."""

    purpose: str | None = None
    model: str | None = None
    case_id: str | None = None
    errors: bool = False

    @property
    def active(self) -> bool:
        """True when any filter is set."""
        return any((self.purpose, self.model, self.case_id, self.errors))

    def select(self, result: EvaluationResult) -> list[LLMInteraction]:
        """The interactions that pass; an unknown purpose, model or case is an error."""
        calls = result.interactions
        checks: tuple[tuple[str, str | None, Callable[[], set[str]]], ...] = (
            ("purpose", self.purpose, lambda: {i.purpose for i in calls}),
            ("model", self.model, lambda: {i.model for i in calls}),
            ("case", self.case_id, lambda: {c.case_id for c in result.cases}),
        )
        for what, wanted, values in checks:
            if wanted is None:
                continue
            present = values()
            if wanted not in present:
                choices = ", ".join(sorted(present)) or "none"
                raise ConfigurationError(
                    f"no {what} {wanted!r} in this result; its {what}s: {choices}"
                )
        return [i for i in result.interactions if self._passes(i)]

    def _passes(self, interaction: LLMInteraction) -> bool:
        return (
            (self.purpose is None or interaction.purpose == self.purpose)
            and (self.model is None or interaction.model == self.model)
            and (self.case_id is None or interaction.case_id == self.case_id)
            and (not self.errors or interaction.error is not None)
        )


def show_audit_trail(
    result: EvaluationResult,
    console: Console,
    *,
    filters: ShowFilters,
    span_id: str | None,
    limit: int,
) -> None:
    """One interaction in full (``span_id``), or the table of those that pass ``filters``."""
    if span_id is not None:
        console.print(interaction_detail(find_interaction(result, span_id)))
        return
    selected = filters.select(result)
    if not selected:
        console.print("No interactions match." if filters.active else "No model calls were made.")
        return
    shown = selected if limit == 0 else selected[:limit]
    console.print(interactions_table(shown, len(selected), console.width))
    if len(shown) < len(selected):
        console.print(
            f"{len(selected) - len(shown)} more: --limit 0 lists all, "
            "--purpose/--model/--case/--errors narrow the list",
            soft_wrap=True,
        )


def find_interaction(result: EvaluationResult, span_id: str) -> LLMInteraction:
    """The interaction whose span id is ``span_id`` or starts with it."""
    wanted = span_id.strip().lower()
    if len(wanted) < _MIN_ID_PREFIX:
        raise ConfigurationError(f"--id {span_id!r}: give at least {_MIN_ID_PREFIX} characters")
    found = [i for i in result.interactions if i.span_id.startswith(wanted)]
    if not found:
        raise ConfigurationError(
            f"--id {span_id!r}: no interaction's span id starts with it "
            "(the 'span id' column of 'evaltrace show' lists them)"
        )
    if len(found) > 1:
        raise ConfigurationError(
            f"--id {span_id!r} matches {len(found)} interactions: give more characters"
        )
    return found[0]


_COLUMNS = (
    ("time", "left"),
    ("span id", "left"),
    ("case", "left"),
    ("purpose", "left"),
    ("model", "left"),
    ("in", "right"),
    ("out", "right"),
    ("latency", "right"),
    ("cost", "right"),
    ("error", "left"),
)


def interactions_table(
    interactions: Sequence[LLMInteraction], matching: int, width: int = 160
) -> Table:
    """One row per call: when, which span, for which case and purpose, tokens, latency, cost."""
    title = f"Interactions ({len(interactions)} of {matching})"
    if len(interactions) == matching:
        title = f"Interactions ({matching})"
    table = Table(title=title, title_justify="left")
    text_width = max(8, (width - 80) // 4)
    for header, justify in _COLUMNS:
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for call in interactions:
        table.add_row(
            Text(call.timestamp.strftime("%H:%M:%S.%f")[:-3]),
            Text(call.span_id or "-"),
            clip(call.case_id, text_width),
            clip(call.purpose, text_width),
            clip(call.model, text_width),
            Text(f"{call.input_tokens or 0:,}"),
            Text(f"{call.output_tokens or 0:,}"),
            Text(seconds(call.latency)),
            Text(_one_cost(call)),
            clip(call.error, text_width) if call.error else Text("-", style="dim"),
        )
    return table


def interaction_detail(call: LLMInteraction) -> Group:
    """Every field of one interaction, its messages by role, and its response."""
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()
    for name, value in _detail_fields(call):
        fields.add_row(name, Text(value))
    parts: list[Panel | Table] = [fields]
    for message in call.messages:
        parts.append(Panel(Text(message.content), title=f"prompt: {message.role}"))
    parts.append(Panel(Text(call.response), title="response"))
    if call.error:
        parts.append(Panel(Text(call.error), title="error", border_style="red"))
    return Group(*parts)


#: Typed fields of a call that ``show`` lists when they are set.
_OPTIONAL_FIELDS = (
    ("response id", "response_id"),
    ("response model", "response_model"),
    ("finish reasons", "finish_reasons"),
    ("attempt", "attempt"),
    ("metric", "metric"),
    ("trial", "trial"),
    ("server", "server_address"),
    ("instrumentation", "instrumentation"),
)


def _detail_fields(call: LLMInteraction) -> list[tuple[str, str]]:
    optional = [(label, getattr(call, name)) for label, name in _OPTIONAL_FIELDS]
    return [
        ("span id", call.span_id or "-"),
        ("trace id", call.trace_id or "-"),
        ("timestamp", call.timestamp.isoformat()),
        ("case", call.case_id or "-"),
        ("purpose", call.purpose),
        ("model", call.model),
        ("provider", call.provider or "-"),
        ("operation", call.operation),
        (
            "tokens",
            f"{call.input_tokens or 0:,} in, {call.output_tokens or 0:,} out, "
            f"{call.tokens_used:,} total",
        ),
        ("latency", seconds(call.latency)),
        ("cost", _one_cost(call)),
        *((label, _shown(value)) for label, value in optional if value not in (None, [], "")),
        *((name, str(value)) for name, value in sorted(call.metadata.items())),
    ]


def _shown(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _one_cost(call: LLMInteraction) -> str:
    return cost_text(call.cost(), unpriced=0, local=call.is_local)
