"""P3: a run with its OTLP collector down vs the same run with a real collector up.

Each measurement is a fresh Python process running one ``evaluate`` with spans
and metrics exported per the standard variables (evaltrace builds its own
provider, as for any user without tracing set up):

* ``up``   OTEL_EXPORTER_OTLP_ENDPOINT -> a real ``rotel-agent`` (PyPI ``rotel``,
           installed into benchmarks/.work/venv-rotel) with ``--exporter blackhole``;
* ``down`` the same variable -> a closed port on 127.0.0.1 (connection refused);
* ``off``  no OTEL_* variable (nothing exported), for reference;

over OTLP/HTTP (protobuf, the default) and OTLP/gRPC. The workload: 2,000 cases,
a task and an LLM judge that are ScriptedProviders answering after 40 ms (a fast
model), max_concurrency 16: about 10 s and 8,001 spans. The run's own wall time
(``evaluate`` call) is measured inside the child; medians over the rounds, the
variants alternating.

    .venv/bin/python benchmarks/bench_collector_down.py [--rounds 5] [--cases 2000] [--delay 0.04]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    LOOPBACK,
    ensure_venv,
    free_port,
    median,
    save,
    table,
    wait_for_port,
    work_dir,
)

_OTEL_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
)


async def child(cases: int, delay: float, concurrency: int) -> None:
    from evaltrace import Case, ScriptedProvider, SemanticSimilarity, evaluate

    task = ScriptedProvider("four", delay=delay)
    judge = ScriptedProvider('{"score": 0.8, "explanation": "ok"}', delay=delay)
    dataset = [Case(input=f"q{i}: 2 + 2?", expected="four") for i in range(cases)]
    started = time.perf_counter()
    result = await evaluate(
        dataset, [SemanticSimilarity()], task=task, judge=judge, max_concurrency=concurrency
    )
    wall = time.perf_counter() - started
    assert result.complete and len(result.interactions) == 2 * cases
    print(json.dumps({"wall": wall, "dropped_spans": result.dropped_spans}), flush=True)


class Rotel:
    """``rotel-agent start --exporter blackhole`` on loopback ports; stopped on exit."""

    def __init__(self) -> None:
        venv = ensure_venv("venv-rotel", ["rotel"])
        found = list(venv.glob("lib/python*/site-packages/rotel/rotel-agent"))
        if not found:
            raise RuntimeError(f"no rotel-agent binary in {venv}")
        self.binary = found[0]
        self.grpc_port, self.http_port = free_port(), free_port()
        self.dir = work_dir("rotel")
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Rotel:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROTEL_")}
        self._process = subprocess.Popen(
            [
                str(self.binary),
                "start",
                "--exporter",
                "blackhole",
                "--otlp-grpc-endpoint",
                f"{LOOPBACK}:{self.grpc_port}",
                "--otlp-http-endpoint",
                f"{LOOPBACK}:{self.http_port}",
                "--pid-file",
                str(self.dir / "rotel.pid"),
                "--log-file",
                str(self.dir / "rotel.log"),
            ],
            stdout=(self.dir / "stdout.log").open("wb"),
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        wait_for_port(self.grpc_port)
        wait_for_port(self.http_port)
        return self

    def __exit__(self, *exc: object) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def measure(
    env_extra: dict[str, str], cases: int, delay: float, concurrency: int
) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in _OTEL_VARS}
    env.update(env_extra)
    started = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--cases",
            str(cases),
            "--delay",
            str(delay),
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    process_wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    report["process_wall"] = process_wall
    return report


def main(rounds: int, cases: int, delay: float, concurrency: int) -> None:
    closed = free_port()  # nothing listens here
    results: dict[str, list[dict[str, Any]]] = {}
    with Rotel() as rotel:
        variants = {
            "off": {},
            "up http": {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{LOOPBACK}:{rotel.http_port}"},
            "down http": {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{LOOPBACK}:{closed}"},
            "up grpc": {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{LOOPBACK}:{rotel.grpc_port}",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            },
            "down grpc": {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{LOOPBACK}:{closed}",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            },
        }
        for round_ in range(rounds):
            for name, env in variants.items():
                report = measure(env, cases, delay, concurrency)
                results.setdefault(name, []).append(report)
                print(f"round {round_ + 1} {name}: {report}", flush=True)
    med = {k: {m: median([r[m] for r in v]) for m in v[0]} for k, v in results.items()}
    rows = []
    for name, values in med.items():
        protocol = name.split()[-1]
        up = med.get(f"up {protocol}")
        ratio = f"{values['wall'] / up['wall']:.3f}x" if up and name.startswith("down") else ""
        extra = f"{values['wall'] - up['wall']:+.2f}" if up and name.startswith("down") else ""
        rows.append(
            [
                name,
                f"{values['wall']:.2f}",
                f"{values['process_wall']:.2f}",
                int(values["dropped_spans"]),
                ratio,
                extra,
            ]
        )
    print(
        table(
            rows,
            ["collector", "run wall s", "process wall s", "dropped spans", "down/up", "extra s"],
        )
    )
    print("target: down/up <= 1.1x; extra <= 1.5 s (the flush deadline)")
    save(
        "p3-collector-down",
        {"rounds": rounds, "cases": cases, "delay": delay, "results": results, "median": med},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.04)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.cases, args.delay, args.concurrency))
    else:
        main(args.rounds, args.cases, args.delay, args.concurrency)
