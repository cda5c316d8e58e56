"""Shared pieces of the CLI tests: scripted models by name, running ``main``, reading tables."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from evaltrace import ScriptedProvider, register_provider
from evaltrace.cli import main
from tests.unit._helpers import no_global_tracer_provider

PREFIX = "clitest"


@pytest.fixture
def plain_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables at the CLI's default width for pipes, whatever the terminal running pytest."""
    for name in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


class Models:
    """The scripted providers built for ``clitest:<model>``, by model name."""

    def __init__(self) -> None:
        self.replies: dict[str, list[object]] = {}
        self.built: dict[str, ScriptedProvider] = {}

    def script(self, model: str, *replies: object) -> None:
        self.replies[model] = list(replies)

    def __call__(self, model: str, **options: object) -> ScriptedProvider:
        provider = ScriptedProvider(self.replies[model], model=model)  # type: ignore[arg-type]
        self.built[model] = provider
        return provider

    def calls(self, model: str) -> int:
        return len(self.built[model].calls)


@pytest.fixture
def models() -> Models:
    registry = Models()
    register_provider(PREFIX, registry)
    return registry


def write_jsonl(path: Path, records: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def qa_dataset(tmp_path: Path) -> Path:
    return write_jsonl(
        tmp_path / "qa.jsonl",
        [
            {"id": "capital", "input": "What is the capital of France?", "expected": "Paris"},
            {"id": "sum", "input": "What is 7 times 8?", "expected": "56"},
            {
                "id": "given",
                "input": "Largest ocean?",
                "expected": "Pacific",
                "output": "The Atlantic",
            },
        ],
    )


def run(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``evaltrace ARGV`` in this process; the global tracer provider it installs is undone."""
    with no_global_tracer_provider():
        code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def row(out: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell is ``first_cell``."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{out}")
