"""``evaltrace.sources`` imports only the span record, the error tree and itself."""

from __future__ import annotations

import ast
from pathlib import Path

import evaltrace.sources

ALLOWED = ("evaltrace.tracing._record", "evaltrace.exceptions", "evaltrace.sources")
PACKAGE = Path(evaltrace.sources.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_sources_import_no_other_part_of_evaltrace() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 5
    for path in modules:
        own = {m for m in _imports(path) if m == "evaltrace" or m.startswith("evaltrace.")}
        stray = {m for m in own if not m.startswith(ALLOWED)}
        assert not stray, f"{path.name} imports {sorted(stray)}"


def test_public_names_are_sorted_and_resolvable() -> None:
    names = evaltrace.sources.__all__
    assert names == sorted(names) and len(set(names)) == len(names)
    for name in names:
        assert hasattr(evaltrace.sources, name), name
    public = {n for n in vars(evaltrace.sources) if not n.startswith("_")}
    assert public - set(names) == set(), "a public name is missing from __all__"
