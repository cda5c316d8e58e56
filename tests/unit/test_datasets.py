"""load_cases: every supported format, and an error naming file, line and field for each problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaltrace import Case, ConfigurationError, DatasetError
from evaltrace.datasets import load_cases
from evaltrace.demo import demo_cases


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(tmp_path: Path, *records: object, name: str = "cases.jsonl") -> Path:
    return write(tmp_path, name, "".join(json.dumps(r) + "\n" for r in records))


def load_error(path: Path) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        load_cases(path)
    return info.value


# --- reading -------------------------------------------------------------------------


def test_jsonl_reads_every_field_and_skips_blank_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "qa.jsonl",
        '{"id": "q1", "input": "2+2?", "expected": "4", "metadata": {"level": "easy"}}\n'
        "\n"
        '{"input": "Capital of Peru?", "output": "Lima", "context": ["Peru", "Lima"]}\n',
    )
    assert load_cases(path) == [
        Case(id="q1", input="2+2?", expected="4", metadata={"level": "easy"}),
        Case(input="Capital of Peru?", output="Lima", context=["Peru", "Lima"]),
    ]


def test_jsonl_unknown_keys_go_to_metadata(tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"input": "q", "source": "wiki", "metadata": {"tier": 1}})
    assert load_cases(path)[0].metadata == {"source": "wiki", "tier": 1}


def test_integer_ids_become_strings(tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"id": 7, "input": "q"})
    assert load_cases(path)[0].id == "7"


def test_json_list_of_objects(tmp_path: Path) -> None:
    cases = [{"id": "a", "input": "x", "expected": "y"}, {"input": "z", "context": "ctx"}]
    path = write(tmp_path, "qa.json", json.dumps(cases, indent=2))
    assert load_cases(path) == [
        Case(id="a", input="x", expected="y"),
        Case(input="z", context="ctx"),
    ]


def test_csv_known_columns_fill_fields_and_others_go_to_metadata(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "qa.csv",
        "id,input,expected,output,context,category\n"
        'c1,"What is 2+2?",4,,,math\n'
        'c2,"Two\nlines",b,given,some context,misc\n',
    )
    assert load_cases(path) == [
        Case(id="c1", input="What is 2+2?", expected="4", metadata={"category": "math"}),
        Case(
            id="c2",
            input="Two\nlines",
            expected="b",
            output="given",
            context="some context",
            metadata={"category": "misc"},
        ),
    ]


def test_csv_with_byte_order_mark_and_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffinput,expected\r\nq1,a1\r\n\r\nq2,a2\r\n".encode())
    assert [c.input for c in load_cases(path)] == ["q1", "q2"]


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"input": "q"}, name="CASES.JSONL")
    assert len(load_cases(path)) == 1


def test_demo_dataset_has_thirty_distinct_cases_with_expected_answers() -> None:
    cases = demo_cases()
    assert len(cases) == 30
    assert len({c.id for c in cases}) == 30
    assert all(c.expected and c.metadata.get("category") for c in cases)
    assert {"What is 7 times 8?": "56"}.items() <= {c.input: c.expected for c in cases}.items()


def test_demo_limit() -> None:
    assert [c.id for c in demo_cases(limit=2)] == [c.id for c in demo_cases()[:2]]
    with pytest.raises(ConfigurationError, match="at least 1"):
        demo_cases(limit=0)


# --- errors --------------------------------------------------------------------------


def test_missing_input_names_line_and_field(tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"input": "ok"}, {"expected": "no input here"})
    error = load_error(path)
    assert (error.line, error.field) == (2, "input")
    assert str(error) == f"{path}:2: field 'input': missing (every case needs an input)"


def test_json_values_keep_their_types_and_a_null_output_is_an_output(tmp_path: Path) -> None:
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    path = jsonl(
        tmp_path,
        {"input": {"city": "Paris"}, "expected": 4},
        {"input": conversation, "output": None, "expected": ["a", {"b": True}]},
        {"input": "plain", "expected": "text"},
    )
    first, second, third = load_cases(path)
    assert (first.input, first.expected, first.has_output) == ({"city": "Paris"}, 4, False)
    assert (second.input, second.output, second.has_output) == (conversation, None, True)
    assert second.expected == ["a", {"b": True}]
    assert (third.input, third.expected) == ("plain", "text")


def test_invalid_json_line_is_reported_with_its_number(tmp_path: Path) -> None:
    lines = [json.dumps({"input": f"q{i}"}) for i in range(6)] + ['{"input": "q6",}']
    path = write(tmp_path, "qa.jsonl", "\n".join(lines) + "\n")
    error = load_error(path)
    assert error.line == 7
    assert str(error).startswith(f"{path}:7: invalid JSON")


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, "qa.jsonl", '["input", "q"]\n')
    assert "must be a JSON object, not a list" in str(load_error(path))


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"input": None}, "input", "must not be empty"),
        ({"input": "   "}, "input", "must not be empty"),
        ({"input": [{"role": "user"}]}, "input", "message 0: missing 'content'"),
        ({"input": [{"role": "user", "content": "a"}, {"content": "b"}]}, "input", "message 1"),
        ({"input": "q", "context": {"a": 1}}, "context", "not an object"),
        ({"input": "q", "context": ["a", 2]}, "context", "a list holding non-strings"),
        ({"input": "q", "id": True}, "id", "must be a string or an integer, not a boolean"),
        ({"input": "q", "id": ""}, "id", "must not be empty"),
        ({"input": "q", "metadata": "x"}, "metadata", "must be an object, not a string"),
    ],
)
def test_bad_field_values(
    tmp_path: Path, record: dict[str, object], field: str, reason: str
) -> None:
    error = load_error(jsonl(tmp_path, record))
    assert (error.line, error.field) == (1, field)
    assert reason in error.reason


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path, {"id": "a", "input": "1"}, {"id": "b", "input": "2"}, {"id": "a", "input": "3"}
    )
    error = load_error(path)
    assert (error.line, error.field) == (3, "id")
    assert "duplicate id 'a' (first used on line 1)" in str(error)


def test_json_item_errors_name_the_line_and_the_item(tmp_path: Path) -> None:
    text = '[\n  {"input": "fine"},\n  {\n    "input": "q",\n    "context": false\n  }\n]\n'
    error = load_error(write(tmp_path, "qa.json", text))
    assert (error.line, error.field) == (3, "context")
    assert str(error).endswith("must be a string or a list of strings, not a boolean (item 2)")


def test_json_syntax_error_line(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "qa.json", '[\n  {"input": "a"}\n  {"input": "b"}\n]'))
    assert error.line == 3
    assert "invalid JSON" in error.reason


def test_json_must_be_a_list(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "qa.json", '{"input": "a"}'))
    assert "must be a list of case objects, not an object" in str(error)


def test_csv_without_input_column(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "qa.csv", "question,expected\nq,a\n"))
    assert (error.line, error.field) == (1, "input")
    assert "no 'input' column (columns: question, expected)" in str(error)


def test_csv_empty_input_cell_names_the_row_line(tmp_path: Path) -> None:
    # The first row spans lines 2-3 (a quoted newline); the bad row starts on line 4.
    text = 'input,expected\n"multi\nline",a\n,b\n'
    error = load_error(write(tmp_path, "qa.csv", text))
    assert (error.line, error.field) == (4, "input")
    assert "must not be empty" in str(error)


def test_csv_row_with_too_many_cells(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "qa.csv", "input,expected\nq,a,extra\n"))
    assert error.line == 2
    assert "3 cells but the header has 2 columns" in str(error)


def test_csv_duplicate_header_column(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "qa.csv", "input,tag,tag\nq,a,b\n"))
    assert (error.line, error.field) == (1, "tag")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("empty.jsonl", ""),
        ("blank.jsonl", "\n  \n"),
        ("empty.json", "[]"),
        ("header.csv", "input\n"),
    ],
)
def test_empty_dataset(tmp_path: Path, name: str, text: str) -> None:
    assert "has no cases" in str(load_error(write(tmp_path, name, text)))


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    assert str(load_error(path)) == f"{path}: no such file"


def test_unsupported_suffix(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "qa.txt", "input\nq\n"))
    assert "unsupported file type '.txt'" in str(error)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"input": "ok"}\n{"input": "caf\xe9"}\n')
    error = load_error(path)
    assert error.line == 2
    assert "not UTF-8" in error.reason


def test_dataset_error_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_cases(tmp_path / "missing.csv")


def test_demo_questions_are_not_among_the_local_models_few_shot_examples() -> None:
    from evaltrace.providers.local import DEFAULT_EXAMPLES

    shown = {question.casefold() for question, _ in DEFAULT_EXAMPLES}
    assert not [c.input for c in demo_cases() if str(c.input).casefold() in shown]


# --- other names for the case fields (fields=) -----------------------------------------

QA_FIELDS = {"input": "question", "expected": "answer", "id": "qid"}


def test_fields_map_csv_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "qa.csv", "qid,question,answer,input\nq1,2+2?,4,ignored\n")
    assert load_cases(path, fields=QA_FIELDS) == [
        Case(id="q1", input="2+2?", expected="4", metadata={"input": "ignored"})
    ]


@pytest.mark.parametrize("name", ["qa.jsonl", "qa.json"])
def test_fields_map_json_keys(tmp_path: Path, name: str) -> None:
    records = [{"qid": 1, "question": "2+2?", "answer": "4", "input": "old", "topic": "math"}]
    text = json.dumps(records) if name.endswith(".json") else json.dumps(records[0]) + "\n"
    path = write(tmp_path, name, text)
    assert load_cases(path, fields=QA_FIELDS) == [
        Case(id="1", input="2+2?", expected="4", metadata={"input": "old", "topic": "math"})
    ]


def test_errors_name_the_files_own_field_names(tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"question": "ok"}, {"input": "no question"})
    with pytest.raises(DatasetError) as info:
        load_cases(path, fields={"input": "question"})
    assert str(info.value) == f"{path}:2: field 'question': missing (every case needs an input)"
    csv_path = write(tmp_path, "qa.csv", "input,answer\nq,a\n")
    with pytest.raises(DatasetError, match=r"qa.csv:1: field 'question': the header has no "):
        load_cases(csv_path, fields={"input": "question"})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prompt": "q"}, "cannot map unknown case field 'prompt': the fields are input, "),
        ({"input": "q", "expected": "q"}, "'q' is named for both field 'input' and field"),
        ({"input": " "}, "the name given for field 'input' is empty"),
    ],
)
def test_bad_field_maps_are_refused(tmp_path: Path, fields: dict[str, str], message: str) -> None:
    path = jsonl(tmp_path, {"input": "q"})
    with pytest.raises(DatasetError, match=message):
        load_cases(path, fields=fields)
