"""Every Python example in the docs runs (those needing a key or network say so and are skipped)."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
# Pages whose examples need the embedded local models run in tests/integration/test_docs_local.py.
LOCAL_MODEL_PAGES = {"quickstart.md", "local-models.md"}
_BLOCK = re.compile(r"(<!-- skip: (?P<why>[^>]+) -->\s*)?```python\n(?P<code>.*?)```", re.DOTALL)


def python_blocks(page: Path) -> list[str]:
    return [m["code"] for m in _BLOCK.finditer(page.read_text()) if not m["why"]]


def run_page(page: Path) -> str:
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    out = io.StringIO()

    async def run_all() -> None:
        for code in python_blocks(page):
            compiled = compile(code, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            with contextlib.redirect_stdout(out):
                coroutine = eval(compiled, namespace)  # noqa: S307 - our own docs
                if coroutine is not None:
                    await coroutine

    asyncio.run(run_all())
    return out.getvalue()


PAGES = sorted(
    p for p in DOCS.rglob("*.md") if python_blocks(p) and p.name not in LOCAL_MODEL_PAGES
)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_doc_examples_run(page: Path) -> None:
    output = run_page(page)
    assert output.strip(), f"{page.name}: the examples printed nothing"


def test_the_interaction_page_prints_the_seed_use_cases() -> None:
    output = run_page(DOCS / "api" / "interactions.md")
    assert "semantic_evaluation: " in output and "Average latency: " in output
    assert "Interaction 1:" in output and "  Model: gpt-4o-mini" in output
