"""The public API lives at the package root, with a sorted and complete ``__all__``."""

from __future__ import annotations

import evaltrace
from evaltrace import exceptions, metrics, providers, records, report, results

# Names deliberately kept off the root (reachable from their subpackage).
NOT_AT_ROOT = {
    "DEFAULT_PROVIDER_CONCURRENCY",
    "JudgeVerdict",
    "parse_verdict",
    "as_model",
    # Type aliases for annotations, kept with their metrics.
    "ArgumentMatch",
    "ExpectedTool",
    "SequenceMode",
    "summarise_metrics",
}


def test_all_is_sorted_and_resolvable() -> None:
    assert evaltrace.__all__ == sorted(evaltrace.__all__)
    assert len(set(evaltrace.__all__)) == len(evaltrace.__all__)
    for name in evaltrace.__all__:
        assert hasattr(evaltrace, name), name


def test_all_is_complete() -> None:
    exported = set(evaltrace.__all__)
    for module in (exceptions, metrics, providers, records, report, results):
        missing = set(module.__all__) - exported - NOT_AT_ROOT
        assert not missing, f"{module.__name__} exports {sorted(missing)} not at the root"
    public = {n for n in vars(evaltrace) if not n.startswith("_")}
    submodules = {
        "exceptions",
        "history",
        "metrics",
        "providers",
        "records",
        "results",
        "runner",
        "tracing",
        "datasets",
        "cli",
        "compare",
        "sources",
        "backfill",
        "demo",
        "report",
        "testing",
    }
    assert public - exported - submodules == set()
