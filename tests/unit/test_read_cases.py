"""read_cases: a dataset file read case by case, planned without holding its cases (issue 15)."""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import (
    Case,
    CaseFile,
    CaseResult,
    ConfigurationError,
    Contains,
    DatasetError,
    ExactMatch,
    Metric,
    ScriptedProvider,
    evaluate,
    load_cases,
    read_case_results,
    read_cases,
)
from evaltrace._values import dataset_fingerprint
from evaltrace.runner import LocalExecutor, RunPlan
from evaltrace.runner._plan import case_ids
from evaltrace.tracing import _attributes as attr

RECORDS: list[dict[str, object]] = [
    {"id": "a", "input": "2+2?", "expected": "4", "metadata": {"level": "easy"}},
    {"input": "Capital of Peru?", "output": "Lima", "context": ["Peru", "Lima"]},
    {"input": "Capital of Peru?", "output": "Lima", "context": ["Peru", "Lima"]},
    {"id": 7, "input": "q", "expected": "x", "source": "wiki"},
    {"input": "no id", "expected": "e"},
]

CSV = (
    "id,input,expected,output,source\n"
    "a,2+2?,4,,book\n"
    ',"Capital of\nPeru?",,Lima,\n'
    ",Capital of France?,Paris,,\n"
    "7,q,x,,wiki\n"
)


def jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def numbered(path: Path, n: int, *, ids: bool = True) -> Path:
    """A JSONL file of ``n`` small cases (with ids, or identified by their content)."""
    records: list[dict[str, object]] = [
        {"input": f"question {i}", "expected": "yes", **({"id": f"c{i}"} if ids else {})}
        for i in range(n)
    ]
    return jsonl(path, records)


def plan_of(cases: tuple[Case, ...] | CaseFile) -> RunPlan:
    return RunPlan(name="t", run_id="r", cases=cases)


@pytest.fixture(params=["jsonl", "json", "csv"])
def dataset(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    suffix = request.param
    if suffix == "csv":
        path = tmp_path / "qa.csv"
        path.write_text(CSV, encoding="utf-8")
        return path
    if suffix == "json":
        path = tmp_path / "qa.json"
        path.write_text(json.dumps(RECORDS, indent=2), encoding="utf-8")
        return path
    return jsonl(tmp_path / "qa.jsonl", RECORDS)


# --- the same cases, ids and fingerprint as load_cases ---------------------------------


def test_a_case_file_yields_the_cases_load_cases_reads_each_time(dataset: Path) -> None:
    source = read_cases(dataset)
    assert list(source) == load_cases(dataset)
    assert list(source) == load_cases(dataset)  # re-iterable: the file is read again
    assert source.count() == len(load_cases(dataset))


def test_a_count_is_read_once_and_again_when_the_file_changes(tmp_path: Path) -> None:
    path = numbered(tmp_path / "qa.jsonl", 3)
    source = read_cases(path)
    assert source.count() == 3 == source.count()
    numbered(path, 12)
    assert source.count() == 12
    path.unlink()
    with pytest.raises(DatasetError, match="qa.jsonl: no such file"):
        source.count()


def test_a_planned_file_has_the_ids_and_fingerprint_of_its_cases_in_memory(
    dataset: Path,
) -> None:
    loaded = load_cases(dataset)
    from_file, in_memory = plan_of(read_cases(dataset)), plan_of(tuple(loaded))
    assert from_file.ids == in_memory.ids == case_ids(loaded)
    assert from_file.fingerprint == in_memory.fingerprint == dataset_fingerprint(loaded)
    assert from_file.count == len(loaded) and from_file.size == len(loaded)
    jobs = list(from_file.jobs({}))
    assert [job.case for job in jobs] == loaded
    assert [job.key for job in jobs] == [job.key for job in in_memory.jobs({})]


def test_the_fingerprint_ignores_order_and_counts_every_case(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "qa.jsonl", RECORDS)
    backwards = jsonl(tmp_path / "backwards.jsonl", RECORDS[::-1])
    fewer = jsonl(tmp_path / "fewer.jsonl", RECORDS[:2])  # one of the two twins left out
    fingerprint = plan_of(read_cases(path)).fingerprint
    assert plan_of(read_cases(backwards)).fingerprint == fingerprint
    assert plan_of(read_cases(fewer)).fingerprint != fingerprint != dataset_fingerprint([])


# --- errors: file, line, field ------------------------------------------------------------


def test_a_bad_case_is_an_error_naming_file_line_and_field_once_reached(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text('{"input": "a"}\n\n{"input": "b", "context": 3}\n', encoding="utf-8")
    cases = iter(read_cases(path))
    assert next(cases) == Case(input="a")  # read before the bad line is reached
    with pytest.raises(DatasetError) as info:
        next(cases)
    assert str(info.value) == (
        f"{path}:3: field 'context': must be a string or a list of strings, not a number"
    )


def test_the_file_type_fields_and_the_file_itself_are_checked_when_it_is_named(
    tmp_path: Path,
) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        read_cases(tmp_path / "missing.jsonl")
    with pytest.raises(DatasetError, match="unsupported file type '.txt'"):
        read_cases(tmp_path / "qa.txt")
    with pytest.raises(DatasetError, match="cannot map unknown case field 'answer'"):
        read_cases(jsonl(tmp_path / "qa.jsonl", RECORDS), fields={"answer": "a"})


def test_a_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_bytes(b'{"input": "a"}\r\n{"input": "b"}\r\n{"input": "\xff"}\r\n')
    with pytest.raises(DatasetError, match=r"qa.jsonl:3: not UTF-8 text"):
        list(read_cases(path))


def test_lines_end_as_python_reads_them_and_a_line_separator_stays_in_its_string(
    tmp_path: Path,
) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_bytes(b'{"input": "a"}\r{"input": "b"}\r\n{"input": "c\xe2\x80\xa8d"}\n')
    assert [c.input for c in read_cases(path)] == ["a", "b", "c\u2028d"]
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"input": "a"}\r{"input": "b"}\r\n{"input": }\n')
    with pytest.raises(DatasetError, match=r"bad.jsonl:3: invalid JSON"):
        list(read_cases(bad))


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_a_file_with_no_case_is_an_error_however_it_is_read(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(text, encoding="utf-8")
    for read in (load_cases, lambda p: list(read_cases(p)), lambda p: plan_of(read_cases(p))):
        with pytest.raises(DatasetError, match="the dataset has no cases"):
            read(path)


def test_a_repeated_id_names_both_lines_when_the_run_is_planned(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "qa.jsonl", [{"id": "x", "input": "a"}, {"id": "x", "input": "b"}])
    with pytest.raises(DatasetError) as info:
        plan_of(read_cases(path))
    assert str(info.value) == f"{path}:2: field 'id': duplicate id 'x' (first used on line 1)"


def test_an_own_id_equal_to_another_case_s_content_id_is_refused(tmp_path: Path) -> None:
    anonymous = Case(input="a")
    (content,) = case_ids([anonymous])
    path = jsonl(tmp_path / "qa.jsonl", [{"input": "a"}, {"id": content, "input": "b"}])
    with pytest.raises(ConfigurationError, match=f"case ids must be unique; repeated: .*{content}"):
        plan_of(read_cases(path))


# --- a file that changes between the plan and the run ------------------------------------


def test_a_case_replaced_after_planning_fails_the_run_naming_its_line(tmp_path: Path) -> None:
    path = numbered(tmp_path / "qa.jsonl", 4)
    plan = plan_of(read_cases(path))
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records[2]["id"] = "other"
    jsonl(path, records)
    jobs = plan.jobs({})
    assert [next(jobs).key.case_id for _ in range(2)] == ["c0", "c1"]
    with pytest.raises(DatasetError) as info:
        next(jobs)
    assert str(info.value) == (
        f"{path}:3: the file changed after the run was planned: case 3 is not 'c2'"
    )


def test_a_case_without_id_is_recognised_by_its_content(tmp_path: Path) -> None:
    path = numbered(tmp_path / "qa.jsonl", 3, ids=False)
    plan = plan_of(read_cases(path))
    assert [job.key.case_id for job in plan.jobs({})] == list(plan.ids)
    numbered(path, 2, ids=False)
    path.write_text(
        path.read_text(encoding="utf-8") + '{"input": "changed", "expected": "yes"}\n',
        encoding="utf-8",
    )
    with pytest.raises(DatasetError, match=r"qa.jsonl:3: the file changed .*: case 3 is not"):
        list(plan.jobs({}))


@pytest.mark.parametrize(
    ("now", "what"), [(2, "it has 2 cases, not 3"), (4, "it has more than the 3 cases planned")]
)
def test_a_file_that_grew_or_shrank_after_planning_fails_the_run(
    tmp_path: Path, now: int, what: str
) -> None:
    path = numbered(tmp_path / "qa.jsonl", 3)
    plan = plan_of(read_cases(path))
    numbered(path, now)
    with pytest.raises(DatasetError, match=f"the file changed after the run was planned: {what}"):
        list(plan.jobs({}))


# --- memory: the cases are never all held ------------------------------------------------


def test_reading_a_file_holds_one_case_at_a_time(tmp_path: Path) -> None:
    path = numbered(tmp_path / "qa.jsonl", 2000)
    read: list[weakref.ref[Case]] = []
    most = 0
    for case in read_cases(path):
        read.append(weakref.ref(case))
        most = max(most, sum(1 for ref in read[-50:] if ref() is not None))
    assert len(read) == 2000 and most <= 2
    assert not any(ref() for ref in read[:-1])


async def test_a_run_over_a_file_never_holds_all_its_cases(
    tmp_path: Path, tracer_provider: TracerProvider
) -> None:
    n, concurrency = 3000, 4
    path = numbered(tmp_path / "qa.jsonl", n)
    held: list[int] = []

    def live_cases() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is Case)

    def on_case(result: CaseResult) -> None:
        if len(held) < 8 and int(result.case_id[1:]) % 400 == 399:
            held.append(live_cases() - before)

    before = live_cases()  # other tests' cases still alive in this process

    result = await evaluate(
        read_cases(path),
        [Contains()],
        task=ScriptedProvider(["yes"]),
        results_path=tmp_path / "out.jsonl",
        keep_cases=False,
        executor=LocalExecutor(concurrency),
        on_case=on_case,
        tracer_provider=tracer_provider,
    )
    assert result.complete and result.totals.calls == n
    # A list of the cases would hold all 3,000; in flight, a few per worker at most.
    assert len(held) == 7 and max(held) < 50, held
    assert len(read_case_results(tmp_path / "out.jsonl")) == n


# --- evaluate with a file ---------------------------------------------------------------


async def test_evaluate_gives_the_same_result_for_a_file_and_its_list(
    tmp_path: Path, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    path = jsonl(tmp_path / "qa.jsonl", RECORDS)
    metrics: list[Metric] = [Contains(), ExactMatch()]
    replies = ["4", "no"]
    runs = []
    for cases in (load_cases(path), read_cases(path)):
        runs.append(
            await evaluate(
                cases,
                metrics,
                task=ScriptedProvider(replies),
                repeat=2,
                executor=LocalExecutor(1),
                tracer_provider=tracer_provider,
            )
        )
    listed, lazy = runs
    assert [(c.case_id, c.trial, c.output) for c in lazy.cases] == [
        (c.case_id, c.trial, c.output) for c in listed.cases
    ]
    assert lazy.metrics == listed.metrics and lazy.trials == listed.trials
    assert lazy.dataset_fingerprint == listed.dataset_fingerprint is not None
    roots = [s for s in span_exporter.get_finished_spans() if s.name == "evaluate evaluation"]
    assert [r.attributes and r.attributes[attr.DATASET_SIZE] for r in roots] == [5, 5]
