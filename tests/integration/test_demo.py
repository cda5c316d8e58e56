"""``evaltrace demo`` on the real embedded models: Gemma 3 270M and all-MiniLM-L6-v2."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evaltrace import EvaluationResult
from evaltrace.cli import main

pytestmark = pytest.mark.integration

pytest.importorskip("llama_cpp", reason="needs the evaltrace[local] extra")
pytest.importorskip("sentence_transformers", reason="needs the evaltrace[local] extra")


def counted(method: Callable[..., Any], calls: list[str], kind: str) -> Callable[..., Any]:
    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(kind)
        return await method(*args, **kwargs)

    return wrapper


def test_demo_runs_offline_and_records_one_interaction_per_model_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from evaltrace.providers.local import LlamaCppProvider, SentenceTransformerEmbedder

    calls: list[str] = []
    monkeypatch.setattr(
        LlamaCppProvider, "complete", counted(LlamaCppProvider.complete, calls, "task")
    )
    monkeypatch.setattr(
        SentenceTransformerEmbedder,
        "embed",
        counted(SentenceTransformerEmbedder.embed, calls, "embed"),
    )
    output = tmp_path / "results.json"

    code = main(["demo", "--limit", "3", "--output", str(output), "--no-progress"])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in out + err
    assert calls.count("task") == 3 and calls.count("embed") == 3  # one embedding per case

    result = EvaluationResult.load(output)
    assert result.complete and len(result.cases) == 3
    assert len(result.interactions) == len(calls) == 6
    by_purpose = result.by_purpose()
    assert set(by_purpose) == {
        ("task", "gemma-3-270m"),
        ("semantic_evaluation", "all-MiniLM-L6-v2"),
    }
    assert all(usage.calls == 3 and usage.errors == 0 for usage in by_purpose.values())
    task_calls = [i for i in result.interactions if i.purpose == "task"]
    embed_calls = [i for i in result.interactions if i.purpose == "semantic_evaluation"]
    assert all(i.input_tokens and i.output_tokens for i in task_calls)
    assert all(i.input_tokens for i in embed_calls)
    assert all(i.provider in ("llama.cpp", "sentence-transformers") for i in result.interactions)
    assert result.totals.cost_usd == 0
    for case in result.cases:
        assert case.output, f"{case.case_id}: the model gave no answer"
        assert len(case.interactions) == 2
        assert {s.metric for s in case.scores} == {"semantic_similarity", "contains", "exact_match"}
        assert all(s.error is None for s in case.scores)

    assert "Scores by metric" in out and "Model calls by purpose" in out
    assert "$0.00 (local)" in out
    assert f"results: {output}" in out


DOCS_CLI = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
_BLOCK = re.compile(
    r"(<!-- skip: (?P<why>[^>]+) -->\s*)?```sh\n(?P<code>.*?)```(\s*```text\n(?P<shown>.*?)```)?",
    re.DOTALL,
)


def test_cli_doc_examples_run_and_errors_read_as_documented(tmp_path: Path) -> None:
    """Every shell block of docs/cli.md runs; the error examples print what the page shows."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "COLUMNS": "100",
    }
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "EVALTRACE_TRACE_URL",
    ):
        env.pop(name, None)
    blocks = [m for m in _BLOCK.finditer(DOCS_CLI.read_text()) if not m["why"]]
    assert len(blocks) >= 5
    for block in blocks:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block["code"]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{block['code']}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stdout + done.stderr
        if "broken.jsonl" in block["code"]:
            printed = [
                line
                for line in (done.stderr + done.stdout).splitlines()
                if line.startswith(("evaltrace: error", "exit code"))
            ]
            assert sorted(printed) == sorted(block["shown"].splitlines())
