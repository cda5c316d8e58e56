"""Comparing two 100,000-case results (3 metrics, 2 trials) vs just loading the two files.

Two results files are written (each 100,000 cases x 2 trials = 200,000 case
results, scores of two graded metrics and one pass/fail metric, no
interactions; the candidate is the baseline shifted a little). Then, each in a
fresh process, side by side in one run:

1. ``load``: ``EvaluationResult.load`` of both files;
2. ``compare``: the same loads, then ``evaltrace.compare(baseline, candidate)``
   with 1,000 bootstrap resamples (the default; scipy and statsmodels imported
   before the clock starts).

Reported: wall time of each step and the peak RSS of each process; the goal is
compare <= 2x the load time.

    .venv/bin/python benchmarks/bench_compare.py [--cases 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import work_dir  # noqa: E402

METRICS = ("correctness", "similarity", "exact_match")


def write_result(path: Path, n_cases: int, shift: float, seed: int) -> None:
    """A results file of ``n_cases`` x 2 trials, written as JSON directly (fast)."""
    rng = np.random.default_rng(seed)
    mu = 0.05 + 0.85 * rng.beta(2.0, 2.0, n_cases)
    cases = []
    for i in range(n_cases):
        for trial in range(2):
            m = min(0.99, max(0.01, mu[i] + shift))
            values = [float(rng.beta(m * 2.5, (1 - m) * 2.5)) for _ in range(2)]
            passed = bool(rng.random() < m)
            scores = [
                {"metric": METRICS[0], "value": values[0], "passed": values[0] >= 0.5},
                {"metric": METRICS[1], "value": values[1]},
                {"metric": METRICS[2], "value": float(passed), "passed": passed},
            ]
            cases.append(
                {
                    "case": {
                        "input": f"question {i}",
                        "expected": f"answer {i}",
                        "id": f"case-{i}",
                    },
                    "case_id": f"case-{i}",
                    "output": f"answer {i} ({trial})",
                    "scores": scores,
                    "trial": trial,
                }
            )
    data = {
        "schema_version": 6,
        "name": path.stem,
        "run_id": path.stem,
        "trace_id": "0" * 32,
        "started_at": "2026-01-01T00:00:00Z",
        "finished_at": "2026-01-01T01:00:00Z",
        "cases": cases,
        "metrics": {
            m: {"metric": m, "mean": 0.5, "count": 2 * n_cases, "failures": 0} for m in METRICS
        },
        "interactions": [],
        "totals": {},
        "repeat": 2,
        "dataset_fingerprint": "sha256:bench",
    }
    path.write_text(json.dumps(data), encoding="utf-8")


def child(step: str, baseline: str, candidate: str) -> None:
    """One measured step in this (fresh) process; prints a JSON line."""
    import scipy.stats  # noqa: F401  (imported before the clock: a one-off cost)
    import statsmodels.stats.multitest  # noqa: F401

    from evaltrace import EvaluationResult, compare

    start = time.perf_counter()
    base, cand = EvaluationResult.load(baseline), EvaluationResult.load(candidate)
    loaded = time.perf_counter()
    out: dict[str, Any] = {"step": step, "load_s": loaded - start}
    if step == "compare":
        comparison = compare(base, cand)
        out["compare_s"] = time.perf_counter() - loaded
        out["verdicts"] = {m: c.verdict.value for m, c in comparison.metrics.items()}
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(step: str, baseline: Path, candidate: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", step, str(baseline), str(candidate)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("STEP", "BASELINE", "CANDIDATE"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    work = work_dir("compare")
    baseline, candidate = work / "baseline.json", work / "candidate.json"
    write_result(baseline, args.cases, 0.0, seed=1)
    write_result(candidate, args.cases, 0.01, seed=2)
    size = baseline.stat().st_size / 1e6
    print(f"{args.cases:,} cases x 2 trials, 3 metrics; files of {size:.0f} MB each")
    for _ in range(args.repeat):
        load = measure("load", baseline, candidate)
        both = measure("compare", baseline, candidate)
        print(
            f"load both: {load['load_s']:.1f} s (peak RSS {load['peak_rss_mb']:.0f} MB) | "
            f"load both + compare: {both['load_s']:.1f} s + {both['compare_s']:.1f} s "
            f"(peak RSS {both['peak_rss_mb']:.0f} MB) | compare / load = "
            f"{both['compare_s'] / load['load_s']:.2f} | verdicts {both['verdicts']}"
        )


if __name__ == "__main__":
    main()
