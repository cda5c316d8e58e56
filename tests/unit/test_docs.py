"""Every Python example in the docs runs (those needing a key or network say so and are skipped)."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import re
import sys
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
# Pages whose examples need the embedded local models run in tests/integration/test_docs_local.py.
LOCAL_MODEL_PAGES = {"quickstart.md"}
_BLOCK = re.compile(r"(<!-- skip: (?P<why>[^>]+) -->\s*)?```python\n(?P<code>.*?)```", re.DOTALL)


def python_blocks(page: Path) -> list[str]:
    return [m["code"] for m in _BLOCK.finditer(page.read_text()) if not m["why"]]


def run_page(page: Path) -> str:
    module = types.ModuleType(f"docs_{page.stem.replace('-', '_')}")
    sys.modules[module.__name__] = module  # dataclasses defined in examples look it up
    namespace = module.__dict__
    out = io.StringIO()

    with asyncio.Runner() as runner, contextlib.redirect_stdout(out):
        for code in python_blocks(page):
            compiled = compile(code, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            if compiled.co_flags & inspect.CO_COROUTINE:  # top-level await, as in a notebook
                runner.run(eval(compiled, namespace))  # noqa: S307 - our own docs
            else:  # a script, which may call asyncio.run itself
                exec(compiled, namespace)  # noqa: S102 - our own docs
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


def test_the_agents_page_prints_what_it_says() -> None:
    output = run_page(DOCS / "agents.md").splitlines()
    assert output[:3] == [
        'tool_called:get_weather    1  called get_weather with arguments {"city":"Paris"}: '
        'get_weather({"city":"Paris"})',
        "tool_called:delete_account 1  delete_account was never called",
        "tool_sequence              1  exact: expected get_weather; 1 of 1 matched in "
        'get_weather({"city":"Paris"})',
    ]
    assert "['model', 'tool', 'model']" in output
    assert "0 repeated of 1 tool calls, 2 chats" in output
