"""The quickstart and the README's example run on the embedded local models."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_docs import python_blocks, run_page

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_runs_on_the_local_models(local_extra: None) -> None:
    output = run_page(ROOT / "docs" / "quickstart.md")
    assert "task gemma-3-270m" in output
    assert "semantic_evaluation all-MiniLM-L6-v2" in output


def test_readme_quickstart_runs(local_extra: None) -> None:
    readme = ROOT / "README.md"
    assert python_blocks(readme), "the README has no runnable example"
    output = run_page(readme)
    assert "task gemma-3-270m" in output
