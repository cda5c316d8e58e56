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
object); any other key also goes to ``metadata``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evaltrace.exceptions import DatasetError
from evaltrace.records import Case

__all__ = ["SUPPORTED_SUFFIXES", "load_cases"]

#: File name endings ``load_cases`` reads.
SUPPORTED_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")

_TEXT_FIELDS = ("output", "expected")
_CASE_FIELDS = frozenset({"input", "output", "expected", "context", "id", "metadata"})


def load_cases(path: str | Path) -> list[Case]:
    """Read the cases of a dataset file; raise ``DatasetError`` on any problem."""
    source = Path(path)
    name = str(path)
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
        rows = _csv_rows(text, name)
    elif suffix == ".json":
        rows = _json_rows(text, name)
    else:
        rows = _jsonl_rows(text, name)
    cases = _cases(rows, name, suffix)
    if not cases:
        raise DatasetError(name, None, None, "the dataset has no cases")
    return cases


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


def _csv_rows(text: str, name: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = _csv_header(header, name)
        start = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                yield start, _csv_record(columns, cells, name, start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(name, reader.line_num, None, f"invalid CSV: {exc}") from None


def _csv_header(header: list[str], name: str) -> list[str]:
    columns = [c.strip() for c in header]
    if "input" not in columns:
        raise DatasetError(
            name,
            1,
            "input",
            f"the header has no 'input' column (columns: {', '.join(columns) or 'none'})",
        )
    for index, column in enumerate(columns):
        if not column:
            raise DatasetError(name, 1, None, f"column {index + 1} of the header has no name")
        if columns.index(column) != index:
            raise DatasetError(name, 1, column, "the column appears twice in the header")
    return columns


def _csv_record(columns: list[str], cells: list[str], name: str, line: int) -> dict[str, Any]:
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
        if column in _CASE_FIELDS and column != "metadata":
            if cell != "" or column == "input":
                record[column] = cell
        else:
            metadata[column] = cell
    record["metadata"] = metadata
    return record


def _cases(rows: Iterator[Row], name: str, suffix: str) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for index, (line, record) in enumerate(rows, start=1):
        item = index if suffix == ".json" else None
        case = _case(record, _Where(name, line, item))
        if case.id is not None:
            if case.id in seen:
                raise _Where(name, line, item).error(
                    "id", f"duplicate id {case.id!r} (first used on line {seen[case.id]})"
                )
            seen[case.id] = line
        cases.append(case)
    return cases


class _Where:
    """Where a record sits in its file, to name it in errors."""

    def __init__(self, name: str, line: int | None, item: int | None) -> None:
        self.name, self.line, self.item = name, line, item

    def error(self, field: str | None, reason: str) -> DatasetError:
        suffix = f" (item {self.item})" if self.item is not None else ""
        return DatasetError(self.name, self.line, field, reason + suffix)


def _case(record: Any, where: _Where) -> Case:
    if not isinstance(record, dict):
        raise where.error(None, f"each case must be a JSON object, not {_json_type(record)}")
    if "input" not in record:
        raise where.error("input", "missing (every case needs an input)")
    text = record["input"]
    if not isinstance(text, str):
        raise where.error("input", f"must be a string, not {_json_type(text)}")
    if not text.strip():
        raise where.error("input", "must not be empty")
    for field in _TEXT_FIELDS:
        value = record.get(field)
        if value is not None and not isinstance(value, str):
            raise where.error(field, f"must be a string or null, not {_json_type(value)}")
    return Case(
        input=text,
        output=record.get("output"),
        expected=record.get("expected"),
        context=_context(record.get("context"), where),
        id=_case_id(record.get("id"), where),
        metadata=_metadata(record, where),
    )


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
