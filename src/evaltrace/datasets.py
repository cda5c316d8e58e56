"""Read evaluation cases from ``.jsonl``, ``.json`` and ``.csv`` files.

Every problem raises ``DatasetError`` naming the file, the 1-based line and the
field, e.g. ``qa.jsonl:7: field 'expected': must be a string or null, not int``.

* ``.jsonl`` (or ``.ndjson``): one JSON object per line; blank lines are skipped.
* ``.json``: a list of objects; errors name the line where the object starts.
* ``.csv``: a header row, then one case per row. The columns ``input``,
  ``output``, ``expected``, ``context`` and ``id`` fill those fields (an empty
  cell means "not given"); every other column goes to ``metadata``.

In JSON files the fields are ``input`` (required), ``output``, ``expected``,
``context`` (a string or a list of strings), ``id`` and ``metadata`` (an
object); any other key also goes to ``metadata``. ``input``, ``output`` and
``expected`` keep their JSON types (a CSV cell is a string): an object, a
number, a list (a conversation: ``[{"role": ..., "content": ...}, ...]``). An
``output`` key that is present (even ``null``) is the case's output, so the
task does not run for it.

Files whose keys or columns have other names are read with ``fields``, which
maps a case field to the name in the file: ``load_cases("qa.csv",
fields={"input": "question", "expected": "answer"})``. Errors then name the
file's own name (``field 'question'``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from evaltrace.exceptions import DatasetError
from evaltrace.records import Case

__all__ = ["CASE_FIELDS", "SUPPORTED_SUFFIXES", "load_cases"]

#: File name endings ``load_cases`` reads.
SUPPORTED_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")

#: The fields of a case in a dataset file (``fields=`` of ``load_cases`` may rename them).
CASE_FIELDS = ("input", "output", "expected", "context", "id", "metadata")
_CASE_FIELDS = frozenset(CASE_FIELDS)


def load_cases(path: str | Path, *, fields: Mapping[str, str] | None = None) -> list[Case]:
    """Read the cases of a dataset file; raise ``DatasetError`` on any problem.

    ``fields`` maps case fields to the names the file uses for them, e.g.
    ``{"input": "question", "expected": "answer"}``.
    """
    source = Path(path)
    name = str(path)
    names = _field_names(fields or {}, name)
    suffix = source.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DatasetError(
            name,
            None,
            None,
            f"unsupported file type {source.suffix or '(none)'!r}"
            f": use one of {', '.join(SUPPORTED_SUFFIXES)}",
        )
    text = _read_text(source, name)
    if suffix == ".csv":
        rows = _csv_rows(text, name, names)
    elif suffix == ".json":
        rows = _json_rows(text, name)
    else:
        rows = _jsonl_rows(text, name)
    cases = _cases(rows, name, suffix, names)
    if not cases:
        raise DatasetError(name, None, None, "the dataset has no cases")
    return cases


def _field_names(fields: Mapping[str, str], name: str) -> dict[str, str]:
    """Every case field's name in the file: ``fields`` over the defaults."""
    unknown = sorted(set(fields) - _CASE_FIELDS)
    if unknown:
        raise DatasetError(
            name,
            None,
            None,
            f"cannot map unknown case field {unknown[0]!r}: "
            f"the fields are {', '.join(CASE_FIELDS)}",
        )
    names = {field: fields.get(field, field) for field in CASE_FIELDS}
    used: dict[str, str] = {}
    for field, source in names.items():
        if not source.strip():
            raise DatasetError(name, None, None, f"the name given for field {field!r} is empty")
        if source in used and field in fields:
            raise DatasetError(
                name,
                None,
                None,
                f"{source!r} is named for both field {used[source]!r} and field {field!r}",
            )
        used.setdefault(source, field)
    return names


def _read_text(source: Path, name: str) -> str:
    try:
        return source.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(name, None, None, "no such file") from None
    except IsADirectoryError:
        raise DatasetError(name, None, None, "is a directory, not a dataset file") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise DatasetError(name, line, None, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise DatasetError(name, None, None, f"cannot read the file: {exc.strerror}") from None


# Each reader yields (line number, raw record) pairs.
Row = tuple[int, Any]


def _jsonl_rows(text: str, name: str) -> Iterator[Row]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                name, number, None, f"invalid JSON: {exc.msg} (column {exc.colno})"
            ) from None


def _json_rows(text: str, name: str) -> Iterator[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            name, exc.lineno, None, f"invalid JSON: {exc.msg} (column {exc.colno})"
        ) from None
    if not isinstance(data, list):
        raise DatasetError(
            name,
            None,
            None,
            f"a .json dataset must be a list of case objects, not {_json_type(data)}",
        )
    return iter(list(zip(_item_lines(text), data, strict=True)))


def _item_lines(text: str) -> Iterator[int]:
    """Line on which each item of a (valid) top-level JSON list starts."""
    decoder = json.JSONDecoder()
    pos = _skip_blank(text, text.index("[") + 1)
    while text[pos] != "]":
        yield text.count("\n", 0, pos) + 1
        _, end = decoder.raw_decode(text, pos)
        pos = _skip_blank(text, end)
        if text[pos] == ",":
            pos = _skip_blank(text, pos + 1)


def _skip_blank(text: str, pos: int) -> int:
    while text[pos] in " \t\r\n":
        pos += 1
    return pos


def _csv_rows(text: str, name: str, names: dict[str, str]) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = _csv_header(header, name, names["input"])
        fields = {source: field for field, source in names.items() if field != "metadata"}
        start = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                yield start, _csv_record(columns, cells, name, start, fields, names["metadata"])
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(name, reader.line_num, None, f"invalid CSV: {exc}") from None


def _csv_header(header: list[str], name: str, input_name: str) -> list[str]:
    columns = [c.strip() for c in header]
    if input_name not in columns:
        raise DatasetError(
            name,
            1,
            input_name,
            f"the header has no {input_name!r} column (columns: {', '.join(columns) or 'none'})",
        )
    for index, column in enumerate(columns):
        if not column:
            raise DatasetError(name, 1, None, f"column {index + 1} of the header has no name")
        if columns.index(column) != index:
            raise DatasetError(name, 1, column, "the column appears twice in the header")
    return columns


def _csv_record(
    columns: list[str],
    cells: list[str],
    name: str,
    line: int,
    fields: dict[str, str],
    metadata_column: str,
) -> dict[str, Any]:
    """One row as a record; ``fields`` maps the file's column names to case fields."""
    if len(cells) > len(columns):
        raise DatasetError(
            name,
            line,
            None,
            f"the row has {len(cells)} cells but the header has {len(columns)} columns",
        )
    record: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    for column, cell in zip(columns, cells, strict=False):
        if column in fields:
            if cell != "" or fields[column] == "input":
                record[column] = cell
        else:
            metadata[column] = cell
    record[metadata_column] = metadata
    return record


def _cases(rows: Iterator[Row], name: str, suffix: str, names: dict[str, str]) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, int] = {}
    renaming = any(field != source for field, source in names.items())
    sources = {source: field for field, source in names.items()}
    for index, (line, record) in enumerate(rows, start=1):
        where = _Where(name, line, index if suffix == ".json" else None, names)
        case = _case(_renamed(record, sources) if renaming else record, where)
        if case.id is not None:
            if case.id in seen:
                raise where.error(
                    "id", f"duplicate id {case.id!r} (first used on line {seen[case.id]})"
                )
            seen[case.id] = line
        cases.append(case)
    return cases


def _renamed(record: Any, sources: dict[str, str]) -> Any:
    """The record with the file's names for case fields (``sources``' keys) replaced by theirs.

    A key that has a case field's name but is not the file's name for it goes to metadata.
    """
    if not isinstance(record, dict):
        return record
    renamed: dict[str, Any] = {}
    displaced: dict[str, Any] = {}
    for key, value in record.items():
        if key in sources:
            renamed[sources[key]] = value
        elif key in _CASE_FIELDS:
            displaced[key] = value
        else:
            renamed[key] = value
    if displaced:
        metadata = renamed.get("metadata")
        if isinstance(metadata, dict):
            renamed["metadata"] = {**displaced, **metadata}
        elif metadata is None:
            renamed["metadata"] = displaced
    return renamed


class _Where:
    """Where a record sits in its file, to name it in errors (by the file's field names)."""

    def __init__(
        self, name: str, line: int | None, item: int | None, names: dict[str, str]
    ) -> None:
        self.name, self.line, self.item, self.names = name, line, item, names

    def error(self, field: str | None, reason: str) -> DatasetError:
        suffix = f" (item {self.item})" if self.item is not None else ""
        shown = self.names.get(field, field) if field is not None else None
        return DatasetError(self.name, self.line, shown, reason + suffix)


def _case(record: Any, where: _Where) -> Case:
    if not isinstance(record, dict):
        raise where.error(None, f"each case must be a JSON object, not {_json_type(record)}")
    if "input" not in record:
        raise where.error("input", "missing (every case needs an input)")
    value = record["input"]
    if value is None or (isinstance(value, str) and not value.strip()):
        raise where.error("input", "must not be empty")
    _check_conversation(value, where)
    fields: dict[str, Any] = {
        "input": value,
        "expected": record.get("expected"),
        "context": _context(record.get("context"), where),
        "id": _case_id(record.get("id"), where),
        "metadata": _metadata(record, where),
    }
    if "output" in record:  # given, even as null: the task does not run for this case
        fields["output"] = record["output"]
    return Case(**fields)


def _check_conversation(value: Any, where: _Where) -> None:
    """A list of objects with a ``role`` is a conversation: every message needs one, and content."""
    if not isinstance(value, list) or not value or not all(isinstance(m, dict) for m in value):
        return
    if not any("role" in m for m in value):
        return
    for index, message in enumerate(value):
        role = message.get("role")
        if not isinstance(role, str) or not role.strip():
            raise where.error("input", f"message {index}: 'role' must be a non-empty string")
        if "content" not in message:
            raise where.error("input", f"message {index}: missing 'content'")


def _context(value: Any, where: _Where) -> str | list[str] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    what = "a list holding non-strings" if isinstance(value, list) else _json_type(value)
    raise where.error("context", f"must be a string or a list of strings, not {what}")


def _case_id(value: Any, where: _Where) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise where.error("id", f"must be a string or an integer, not {_json_type(value)}")
    if isinstance(value, str) and not value.strip():
        raise where.error("id", "must not be empty")
    return str(value)


def _metadata(record: dict[str, Any], where: _Where) -> dict[str, Any]:
    declared = record.get("metadata")
    if declared is not None and not isinstance(declared, dict):
        raise where.error("metadata", f"must be an object, not {_json_type(declared)}")
    extra = {k: v for k, v in record.items() if k not in _CASE_FIELDS}
    return {**extra, **(declared or {})}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
