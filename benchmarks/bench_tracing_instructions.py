"""P1 in instructions: the tracing cost of one model call, counted by callgrind, not timed.

Wall-clock ratios on a shared two-core machine spread from 1.3x to 2.2x
between runs of the same code (docs/benchmarks.md). Instruction counts do
not: ``valgrind --tool=callgrind`` counts the same total for the same code
and inputs whatever else runs. Each workload of ``bench_tracing_overhead.py``
(the tracing path, ``Model.complete``, the bare SDK span around the same
call) runs in its own process under callgrind twice, with ``SMALL`` and
``LARGE`` calls; the difference divided by ``LARGE - SMALL`` is the cost of
one call, start-up and imports cancelled out.

    .venv/bin/python benchmarks/bench_tracing_instructions.py [--checkout DIR]

``--checkout`` measures another checkout's sources and workloads with this
venv (``git worktree add /tmp/base <commit>``), for before/after figures.
Needs Debian's ``valgrind``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMALL, LARGE = 200, 1200
WORKLOADS = ("path", "model", "bare")


def run_workload(mode: str, calls: int) -> None:
    """One workload of ``bench_tracing_overhead``, imported from the checkout measured."""
    # Python puts this script's own directory first; the checkout's benchmarks must win.
    if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
        del sys.path[0]
    import bench_tracing_overhead as bench

    async def main() -> None:
        name, start, end = await bench.evaltrace_span_template()
        provider, _ = bench.batch_provider()
        if mode == "path":
            await bench.run_tracing_path(calls, provider)
        elif mode == "model":
            await bench.run_evaltrace(calls, provider)
        else:
            await bench.bare_runner(name, start, end, provider)(calls, True)
        provider.force_flush()

    asyncio.run(main())


def instructions(checkout: Path, mode: str, calls: int) -> int:
    """Instructions callgrind counts for one workload process."""
    env = {**os.environ, "PYTHONPATH": f"{checkout / 'src'}{os.pathsep}{checkout / 'benchmarks'}"}
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}/callgrind.out",
                sys.executable,
                str(HERE / "bench_tracing_instructions.py"),
                "--worker",
                mode,
                str(calls),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no total:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_call(checkout: Path, mode: str) -> float:
    """Instructions of one call of ``mode`` (start-up cancelled out)."""
    small = instructions(checkout, mode, SMALL)
    large = instructions(checkout, mode, LARGE)
    return (large - small) / (LARGE - SMALL)


def main(checkout: Path) -> None:
    sys.path.insert(0, str(HERE))  # only here: a worker imports the checkout's own benchmarks
    from _common import save, table

    counts = {mode: per_call(checkout, mode) for mode in WORKLOADS}
    bare = counts["bare"]
    rows = [
        ["tracing path (OwnCall + conversion + batch export)", f"{counts['path']:,.0f}"],
        ["Model.complete in a run", f"{counts['model']:,.0f}"],
        ["bare SDK span around the same call", f"{bare:,.0f}"],
    ]
    print(f"checkout: {checkout}")
    print(table(rows, ["per call", "instructions"]))
    print(f"ratio tracing path / bare span: {counts['path'] / bare:.3f}x (target <= 1.6x)")
    print(f"ratio Model.complete / bare span: {counts['model'] / bare:.3f}x")
    save("p1-instructions", {"checkout": str(checkout), "per_call": counts})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkout", type=Path, default=HERE.parent)
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_workload(args.worker[0], int(args.worker[1]))
    else:
        main(args.checkout.resolve())
