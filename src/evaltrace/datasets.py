"""Read evaluation cases from ``.jsonl``, ``.json`` and ``.csv`` files.

``load_cases`` returns them as a list; ``read_cases`` returns a ``CaseFile``
that reads them from the file each time it is iterated (one case in memory
at a time, except a ``.json`` list, which is parsed whole). Both check the
same things and raise the same errors: ``load_cases`` is ``list(read_cases())``.

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
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from evaltrace.exceptions import DatasetError
from evaltrace.records import Case

__all__ = ["CASE_FIELDS", "SUPPORTED_SUFFIXES", "CaseFile", "load_cases", "read_cases"]

#: File name endings ``load_cases`` and ``read_cases`` read.
SUPPORTED_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")

#: The fields of a case in a dataset file (``fields=`` of ``load_cases`` may rename them).
CASE_FIELDS = ("input", "output", "expected", "context", "id", "metadata")
_CASE_FIELDS = frozenset(CASE_FIELDS)


def load_cases(path: str | Path, *, fields: Mapping[str, str] | None = None) -> list[Case]:
    """Read the cases of a dataset file; raise ``DatasetError`` on any problem.

    ``fields`` maps case fields to the names the file uses for them, e.g.
    ``{"input": "question", "expected": "answer"}``. The whole dataset is in
    memory; ``read_cases`` reads it case by case instead.
    """
    return list(read_cases(path, fields=fields))


def read_cases(path: str | Path, *, fields: Mapping[str, str] | None = None) -> CaseFile:
    """The cases of a dataset file, read from the file each time they are iterated.

    The file's type, ``fields`` and that the file can be read are checked now;
    each case is checked as it is read, with the errors of ``load_cases``.
    """
    return CaseFile(path, fields=fields)


class CaseFile:
    """A dataset file as a re-iterable of ``Case``: each iteration reads the file again.

    A ``.jsonl`` or ``.csv`` file is read line by line (row by row), so only
    the case being read is in memory; a ``.json`` file is parsed whole on each
    iteration (a JSON list cannot be read item by item), its cases then made
    one at a time. Reading raises ``DatasetError`` naming the file, the line
    and the field, as ``load_cases`` does, also for a file with no case.
    ``evaluate`` and ``evaltrace run`` take a ``CaseFile`` without holding
    its cases (docs/scale-out.md).
    """

    def __init__(self, path: str | Path, *, fields: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        #: The file as the caller named it (errors name it so).
        self.name = str(path)
        self.fields: dict[str, str] = dict(fields or {})
        self._names = _field_names(self.fields, self.name)
        self._suffix = _dataset_suffix(self.path, self.name)
        _check_readable(self.path, self.name)
        self._counted: tuple[tuple[int, int], int] | None = None  # (file state, cases)

    def __iter__(self) -> Iterator[Case]:
        """The cases, read from the file."""
        for _, case in self.with_lines():
            yield case

    def __repr__(self) -> str:
        return f"CaseFile({self.name!r})"

    def with_lines(self, *, unique_ids: bool = True) -> Iterator[tuple[int, Case]]:
        """Each case with the 1-based line it starts on.

        ``unique_ids=False`` skips the check that no two cases share an id (it
        keeps every id read so far), for a reader that checks ids itself.
        """
        state = _file_state(self.path)
        count = 0
        for located in _cases(
            self._rows(), self.name, self._suffix, self._names, unique_ids=unique_ids
        ):
            count += 1
            yield located
        if count == 0:
            raise DatasetError(self.name, None, None, "the dataset has no cases")
        self._counted = (state, count)

    def count(self) -> int:
        """How many cases the file holds (counted once, again only if the file changed)."""
        if self._counted is None or self._counted[0] != _file_state(self.path):
            for _ in self.with_lines():
                pass
        assert self._counted is not None  # a whole read sets it, or raised
        return self._counted[1]

    def _rows(self) -> Iterator[Row]:
        if self._suffix == ".json":
            return _json_rows(_read_text(self.path, self.name), self.name)
        lines = _decoded_lines(self.path, self.name)
        if self._suffix == ".csv":
            return _csv_rows(lines, self.name, self._names)
        return _jsonl_rows(lines, self.name)


def _dataset_suffix(source: Path, name: str) -> str:
    suffix = source.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DatasetError(
            name,
            None,
            None,
            f"unsupported file type {source.suffix or '(none)'!r}"
            f": use one of {', '.join(SUPPORTED_SUFFIXES)}",
        )
    return suffix


def _file_state(source: Path) -> tuple[int, int]:
    """What tells that a file changed: its size and modification time."""
    try:
        stat = source.stat()
    except OSError:
        return (-1, -1)
    return (stat.st_size, stat.st_mtime_ns)


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


def _check_readable(source: Path, name: str) -> None:
    """Raise the ``DatasetError`` that opening ``source`` would raise, if any."""
    with _opened(source, name):
        pass


@contextmanager
def _opened(source: Path, name: str) -> Iterator[BinaryIO]:
    try:
        file = source.open("rb")
    except FileNotFoundError:
        raise DatasetError(name, None, None, "no such file") from None
    except IsADirectoryError:
        raise DatasetError(name, None, None, "is a directory, not a dataset file") from None
    except OSError as exc:
        raise DatasetError(name, None, None, f"cannot read the file: {exc.strerror}") from None
    with file:
        yield file


def _read_text(source: Path, name: str) -> str:
    with _opened(source, name) as file:
        data = file.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError(name, line, None, f"not UTF-8 text ({exc.reason})") from None


#: A carriage return not followed by a line feed: a line end of its own (old Mac files).
_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")


def _decoded_lines(source: Path, name: str) -> Iterator[str]:
    """The file's lines, one at a time, each with its line end (\\n, \\r\\n or \\r).

    A line that is not UTF-8 raises ``DatasetError`` naming it.
    """
    number = 0
    with _opened(source, name) as file:
        for chunk in file:
            for raw in _LONE_CR.split(chunk):
                if not raw:
                    continue
                number += 1
                try:
                    text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise DatasetError(
                        name, number, None, f"not UTF-8 text ({exc.reason})"
                    ) from None
                yield text


# Each reader yields (line number, raw record) pairs.
Row = tuple[int, Any]


def _jsonl_rows(lines: Iterable[str], name: str) -> Iterator[Row]:
    for number, text in enumerate(lines, start=1):
        line = text.rstrip("\r\n")
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


def _csv_rows(lines: Iterable[str], name: str, names: dict[str, str]) -> Iterator[Row]:
    reader = csv.reader(lines)
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


def _cases(
    rows: Iterator[Row], name: str, suffix: str, names: dict[str, str], *, unique_ids: bool
) -> Iterator[tuple[int, Case]]:
    """Each row as a checked case, with its line; ``unique_ids``: no id used twice."""
    seen: dict[str, int] = {}
    renaming = any(field != source for field, source in names.items())
    sources = {source: field for field, source in names.items()}
    for index, (line, record) in enumerate(rows, start=1):
        where = _Where(name, line, index if suffix == ".json" else None, names)
        case = _case(_renamed(record, sources) if renaming else record, where)
        if unique_ids and case.id is not None:
            if case.id in seen:
                raise where.error(
                    "id", f"duplicate id {case.id!r} (first used on line {seen[case.id]})"
                )
            seen[case.id] = line
        yield line, case


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
