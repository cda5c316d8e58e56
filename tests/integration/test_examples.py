"""Every script in ``examples/`` runs as a user runs it: its own process, offline, exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))

#: Lines each example must print (what its docs promise).
EXPECTED_LINES = {
    "weather_agent.py": [
        "paris: 'It is 18 C in Paris.'  contains=1, tool_called:get_weather=1, "
        "tool_sequence=1, budget=1, trajectory=0.9",
        "oslo-f: 'It is 44.6 F in Oslo.'  contains=1, tool_called:get_weather=1, "
        "tool_sequence=1, budget=0, trajectory=0.9",
        '    tool  to_fahrenheit({"celsius": 7.0})',
        "task                   scripted-weather   calls=8 tokens=449",
        "trajectory_evaluation  scripted-model     calls=3 tokens=417",
    ],
}


def test_every_example_is_checked() -> None:
    assert [s.name for s in SCRIPTS] == sorted(EXPECTED_LINES)


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for expected in EXPECTED_LINES[script.name]:
        assert expected in lines, f"{expected!r} not in:\n{done.stdout}"
