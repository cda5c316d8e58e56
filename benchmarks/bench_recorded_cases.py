"""Recorded calls -> cases: the cost of ``read_recorded_cases`` on top of decoding the file.

Uses ``bench_decode``'s file (traces of an ``invoke_agent`` root and 9 chat
calls with semconv content, OTel's own JSON encoder) and times, median of
``--repeat`` runs, side by side in one process:

* decode: ``OtlpFileSource`` streaming the file into span records;
* cases: ``read_recorded_cases`` on the same file (decode, inheritance over
  the traces, truncation checks, the one converter, ``Case`` per call).

    .venv/bin/python benchmarks/bench_recorded_cases.py [--spans 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table, work_dir  # noqa: E402
from bench_decode import _timed, decode, write_file  # noqa: E402

from evaltrace import read_recorded_cases  # noqa: E402


def cases(path: Path) -> int:
    """How many cases the file's calls make."""
    return len(asyncio.run(read_recorded_cases(str(path))).calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = work_dir("recorded-cases") / "traces.json"
    spans = write_file(path, args.spans)
    decode_s, decoded = _timed(decode, path, args.repeat)
    cases_s, made = _timed(cases, path, args.repeat)
    rows = [
        ["decode (OtlpFileSource)", f"{decoded}", f"{decoded / decode_s:,.0f} spans/s", "1.00x"],
        [
            "cases (read_recorded_cases)",
            f"{made} cases",
            f"{spans / cases_s:,.0f} spans/s",
            f"{cases_s / decode_s:.2f}x",
        ],
    ]
    print(table(rows, ["step", "count", "throughput", "time vs decode"]))


if __name__ == "__main__":
    main()
