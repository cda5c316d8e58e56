"""Spans from files written by the OpenTelemetry Collector's ``file`` exporter.

The exporter (``format: json``, the default) writes one OTLP/JSON
``TracesData`` per line. With ``rotation`` it renames the full file by putting
a timestamp before its extension (``traces.json`` ->
``traces-2024-05-01T10-30-00.000.json``) and starts a new ``traces.json``.
Its only ``compression`` is ``zstd``, framed two ways depending on the
collector's version and feature gate:

* legacy: each message is one zstd frame preceded by its length as a 4-byte
  big-endian unsigned integer;
* native compression (``exporter.file.nativeCompression``): one zstd stream
  of the same JSON lines (a ``zstd -d``-able file).

Both are read (zstd needs the ``zstandard`` package: ``evaltrace[zstd]``).
The exporter never writes gzip, but rotated files gzipped afterwards
(logrotate) are read too. Formats are recognised by their first bytes, not by
the file name. ``format: proto`` files are refused with a DecodeError.

A source is a file, a directory (every regular file in it, not recursive)
or a glob pattern. Files are read in order: for each base name, the rotated
files oldest first (their timestamps sort as text), then the live file.

Reading is streamed, one line (or record) at a time: memory stays flat
however large the files are. A line that cannot be decoded, or a bad span in
it, is reported (file and line number) to ``on_error`` and skipped; the rest
decodes. Without ``on_error`` the error is logged as a warning on the
``evaltrace.sources`` logger.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import os
import re
import struct
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from evaltrace.exceptions import ConfigurationError
from evaltrace.sources._errors import DecodeError, log_skipped
from evaltrace.sources._otlp_json import ErrorHandler, decode_traces
from evaltrace.tracing._record import SpanRecord

__all__ = ["OtlpFileSource", "otlp_file_paths", "read_otlp_files"]

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_BOM = b"\xef\xbb\xbf"
_GLOB_CHARS = frozenset("*?[")
_MAX_RECORD = 1 << 31  # a length prefix past this is not a record length
_CHUNK = 1 << 16
# ``<base>-2024-05-01T10-30-00.000[-size]<ext>``: the lumberjack/timberjack backup
# time format, with the rotation reason timberjack may add.
_ROTATED = re.compile(
    r"^(?P<base>.+?)-(?P<stamp>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(?:\.\d+)?)"
    r"(?:-[A-Za-z]+)?(?P<rest>(?:\.[^.]+)*)$"
)


# --------------------------------------------------------------------------
# Which files
# --------------------------------------------------------------------------


def _order_key(path: Path) -> tuple[str, str, int, str]:
    """Group a rotated file with its live file; rotated ones first, oldest first."""
    name = path.name
    for suffix in (".gz", ".zst", ".zstd"):
        name = name.removesuffix(suffix)
    match = _ROTATED.match(name)
    if match:
        return (str(path.parent), match["base"] + match["rest"], 0, match["stamp"])
    return (str(path.parent), name, 1, "")


#: A file, a directory, a glob pattern, or several of them.
Source = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


def otlp_file_paths(source: Source) -> list[Path]:
    """The files a source names, in reading order (rotated before live, oldest first).

    Raises:
        ConfigurationError: nothing exists at (or matches) the source.
    """
    sources = [source] if isinstance(source, str | os.PathLike) else list(source)
    found: dict[Path, None] = {}
    for item in sources:
        for path in _expand(item):
            found.setdefault(path, None)
    if not found:
        raise ConfigurationError(f"no OTLP files at {', '.join(map(str, sources)) or '(nothing)'}")
    return sorted(found, key=_order_key)


def _expand(item: str | os.PathLike[str]) -> list[Path]:
    text = os.fspath(item)
    path = Path(text)
    if path.is_dir():
        return [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    if path.is_file():
        return [path]
    if _GLOB_CHARS & set(text):
        return [Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file()]
    return []


# --------------------------------------------------------------------------
# Reading one file
# --------------------------------------------------------------------------


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError:
        raise ConfigurationError(
            "this file is zstd-compressed: install the `zstandard` package "
            "(pip install 'evaltrace[zstd]')"
        ) from None
    return zstandard


def _stream_errors() -> tuple[type[BaseException], ...]:
    """What a truncated or corrupt file raises while it is read."""
    errors: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)
    try:
        import zstandard
    except ImportError:
        return errors
    return (*errors, zstandard.ZstdError)


def _records(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line or record number, JSON bytes) of one file, streamed.

    Raises:
        DecodeError: the file cannot be read on (corrupt or truncated), at the
            line after the last one read.
    """
    number = 0
    try:
        with path.open("rb") as raw:
            for number, data in _framed(raw, path):
                yield number, data
    except DecodeError as exc:
        raise exc.located(path=str(path), line=number + 1) from None
    except _stream_errors() as exc:
        reason = f"unreadable ({type(exc).__name__}: {exc})"
        raise DecodeError(reason, path=str(path), line=number + 1) from None


def _framed(raw: io.BufferedReader, path: Path) -> Iterator[tuple[int, bytes]]:
    head = raw.peek(8)[:8]
    if head.startswith(_GZIP_MAGIC):
        with gzip.open(raw) as unzipped:
            yield from _lines(unzipped)
    elif head.startswith(_ZSTD_MAGIC):
        yield from _lines(_split_lines(_unzstd_chunks(raw)))
    elif _length_prefixed_head(head):
        yield from _length_prefixed(raw, path)
    else:
        yield from _lines(raw)


def _length_prefixed_head(head: bytes) -> bool:
    """A zstd frame after 4 bytes, or a length under 16 MiB (a NUL first byte: no text)."""
    return len(head) >= 8 and (head[4:8] == _ZSTD_MAGIC or head[0] == 0)


def _lines(stream: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, start=1):
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        if line.strip():
            yield number, line


def _length_prefixed(raw: IO[bytes], path: Path) -> Iterator[tuple[int, bytes]]:
    """Legacy framing: ``[uint32 big-endian length][message]`` repeated."""
    decompress = None
    number = 0
    while True:
        prefix = raw.read(4)
        if not prefix:
            return
        number += 1
        if len(prefix) < 4:
            raise DecodeError("truncated record length", path=str(path), line=number)
        (size,) = struct.unpack(">I", prefix)
        body = raw.read(size) if size < _MAX_RECORD else b""
        if len(body) != size:
            reason = f"truncated record ({len(body)} of {size} bytes)"
            raise DecodeError(reason, path=str(path), line=number)
        if body.startswith(_ZSTD_MAGIC):
            if decompress is None:
                decompress = _zstandard().ZstdDecompressor()
            yield number, _unzstd(decompress, body, path, number)
        elif body[:1] in (b"{", b"["):
            yield number, body
        else:
            raise DecodeError(
                "not OTLP/JSON (a `format: proto` file?); export with `format: json`",
                path=str(path),
                line=number,
            )


def _unzstd(decompressor: Any, body: bytes, path: Path, number: int) -> bytes:
    try:
        return b"".join(_unzstd_chunks(io.BytesIO(body), decompressor))
    except DecodeError as exc:
        raise exc.located(path=str(path), line=number) from None
    except Exception as exc:  # zstandard.ZstdError
        raise DecodeError(f"corrupt zstd frame ({exc})", path=str(path), line=number) from None


def _unzstd_chunks(raw: IO[bytes], decompressor: Any = None) -> Iterator[bytes]:
    """Decompressed chunks of concatenated zstd frames; a truncated frame is an error.

    (``zstandard``'s stream reader ends quietly at a truncated frame; a
    decompression object says whether its frame ended.)
    """
    decompressor = decompressor or _zstandard().ZstdDecompressor()
    frame, in_frame = decompressor.decompressobj(), False
    while chunk := raw.read(_CHUNK):
        while chunk:
            in_frame = True
            if out := frame.decompress(chunk):
                yield out
            chunk = b""
            if frame.eof:
                chunk, in_frame = frame.unused_data, False
                frame = decompressor.decompressobj()
    if in_frame:
        raise DecodeError("truncated zstd frame")


def _split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a stream given in chunks (a line may span many chunks)."""
    pending: list[bytes] = []
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            pending.append(chunk[start : end + 1])
            yield b"".join(pending)
            pending.clear()
            start = end + 1
        if start < len(chunk):
            pending.append(chunk[start:])
    if pending:
        yield b"".join(pending)


# --------------------------------------------------------------------------
# The source
# --------------------------------------------------------------------------


class OtlpFileSource:
    """The spans of Collector ``file`` exporter output, streamed.

    Iterate it (more than once if you like: each pass reads the files again).
    ``errors`` counts what was skipped in the last pass; ``first_errors``
    keeps the first few of them.

    Args:
        source: a file, a directory, a glob pattern, or several of them.
        on_error: called with each skipped line or span (a ``DecodeError``
            with file and line); default: a warning on ``evaltrace.sources``.
    """

    #: How many skipped errors a pass keeps in ``first_errors``.
    KEEP_ERRORS = 20

    def __init__(self, source: Source, *, on_error: ErrorHandler | None = None) -> None:
        self.paths = tuple(otlp_file_paths(source))
        self._on_error = on_error or log_skipped
        self.errors = 0
        self.first_errors: list[DecodeError] = []

    def __repr__(self) -> str:
        return f"OtlpFileSource({[str(p) for p in self.paths]!r})"

    def _report(self, error: DecodeError) -> None:
        self.errors += 1
        if len(self.first_errors) < self.KEEP_ERRORS:
            self.first_errors.append(error)
        self._on_error(error)

    def __iter__(self) -> Iterator[SpanRecord]:
        self.errors = 0
        self.first_errors = []
        for path in self.paths:
            yield from self._read(path)

    def _read(self, path: Path) -> Iterator[SpanRecord]:
        where = str(path)
        records = _records(path)
        while True:
            try:
                number, data = next(records)
            except StopIteration:
                return
            except DecodeError as exc:  # the framing is broken: the rest is unreadable
                self._report(exc.located(path=where))
                return
            yield from self._decode(data, where, number)

    def _decode(self, data: bytes, where: str, number: int) -> Iterator[SpanRecord]:
        def located(error: DecodeError) -> None:
            self._report(error.located(path=where, line=number))

        try:
            document = json.loads(data)
        except RecursionError:
            located(DecodeError("JSON nested too deeply"))
            return
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, digit limits
            located(DecodeError(f"not JSON: {exc}"))
            return
        try:
            yield from decode_traces(document, on_error=located)
        except DecodeError as exc:  # the envelope itself
            located(exc)


def read_otlp_files(
    source: Source, *, on_error: ErrorHandler | None = None
) -> Iterator[SpanRecord]:
    """The spans of Collector ``file`` exporter output (see ``OtlpFileSource``).

    Raises:
        ConfigurationError: nothing at the source, or zstd files without
            the ``zstandard`` package.
    """
    return iter(OtlpFileSource(source, on_error=on_error))
