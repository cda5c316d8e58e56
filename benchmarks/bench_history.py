"""What recording a run in the run store costs: a run with no store, a SQLite store, and one
that also keeps the whole result, side by side.

Each round runs the three variants in turn (rotating which goes first) on the same
``--cases`` scripted cases (a ``ScriptedProvider`` task, ``ExactMatch`` and ``Contains``)
into one SQLite file per variant, and times ``evaluate_sync`` end to end. Reported: the
median wall time of each variant and its ratio to the run without a store, and the
median time the store adds per run (begin + finish, git included).

    .venv/bin/python benchmarks/bench_history.py [--cases 200] [--rounds 9]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, save, table, work_dir  # noqa: E402

from evaltrace import Case, Contains, ExactMatch, ScriptedProvider, evaluate_sync  # noqa: E402

VARIANTS = ("no store", "sqlite", "sqlite + keep_result")


def one_run(cases: list[Case], variant: str, where: Path) -> float:
    options: dict[str, Any] = {}
    if variant != "no store":
        options["store"] = str(where / f"{variant.replace(' ', '')}.db")
        options["keep_result"] = variant.endswith("keep_result")
    task = ScriptedProvider([f"answer {i}" for i in range(len(cases))], model="bench")
    start = time.perf_counter()
    result = evaluate_sync(cases, [ExactMatch(), Contains()], task=task, name="bench", **options)
    elapsed = time.perf_counter() - start
    assert result.warnings == [], result.warnings
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    where = work_dir("history")
    for old in where.glob("*.db*"):
        old.unlink()
    cases = [Case(id=f"c{i}", input=f"q{i}", expected=f"answer {i}") for i in range(args.cases)]
    one_run(cases, "no store", where)  # warm-up: imports, first provider
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for round_ in range(args.rounds):
        order = VARIANTS[round_ % 3 :] + VARIANTS[: round_ % 3]
        for variant in order:
            samples[variant].append(one_run(cases, variant, where))
    base = median(samples["no store"])
    rows = [
        [
            v,
            f"{median(samples[v]) * 1000:.1f} ms",
            f"{median(samples[v]) / base:.3f}x",
            f"{(median(samples[v]) - base) * 1000:+.1f} ms",
        ]
        for v in VARIANTS
    ]
    print(f"{args.cases} cases, {args.rounds} rounds (median)")
    print(table(rows, ["variant", "wall time", "vs no store", "added per run"]))
    save("history", {"cases": args.cases, "rounds": args.rounds, "samples": samples})


if __name__ == "__main__":
    main()
