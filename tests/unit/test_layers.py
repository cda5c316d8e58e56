"""The layers stay one-way and no module imports itself back through others (docs/design.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src" / "evaltrace"

#: Packages a layer may never import (DESIGN.md: who may import whom).
FORBIDDEN = {
    "evaltrace.tracing": ("evaltrace.metrics", "evaltrace.providers", "evaltrace.runner"),
    "evaltrace.providers": ("evaltrace.metrics", "evaltrace.runner"),
    "evaltrace.metrics": ("evaltrace.runner",),
    "evaltrace.sources": ("evaltrace.runner", "evaltrace.backfill"),
    "evaltrace.backfill": ("evaltrace.cli",),
    "evaltrace.records": ("evaltrace.tracing", "evaltrace.providers", "evaltrace.runner"),
}


def _module_name(path: Path) -> str:
    parts = ("evaltrace", *path.relative_to(SOURCE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every evaltrace module and the evaltrace modules it imports (TYPE_CHECKING ones too)."""
    modules = {_module_name(p): p for p in SOURCE.rglob("*.py")}
    found: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
        found[name] = {t for t in targets if t in modules and t != name}
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), package re-exports aside."""
    packages = {m for m in graph if (SOURCE / Path(*m.split(".")[1:]) / "__init__.py").exists()}
    edges = {m: graph[m] - packages for m in graph if m not in packages}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in edges.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in edges:
        if module not in index:
            visit(module)
    return groups


def test_no_module_imports_itself_back() -> None:
    assert _cycles(_imports()) == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_layers_above_it(layer: str) -> None:
    offending = {
        (module, target)
        for module, targets in _imports().items()
        if module == layer or module.startswith(f"{layer}.")
        for target in targets
        if any(target == f or target.startswith(f"{f}.") for f in FORBIDDEN[layer])
    }
    assert offending == set()
