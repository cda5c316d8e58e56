"""Collector ``file`` exporter output: JSON lines, rotation, zstd (both framings), gzip, errors.

Lines are written by OTel's own JSON encoder from real SDK spans; the zstd
framings follow the exporter's code (``exporter/fileexporter``: legacy
``exportMessageAsBuffer`` = 4-byte big-endian length + one zstd frame per
message; native compression = one zstd stream of the JSON lines).
"""

from __future__ import annotations

import gzip
import json
import logging
import struct
import tracemalloc
from pathlib import Path

import pytest
import zstandard
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_proto

from evaltrace.exceptions import ConfigurationError
from evaltrace.sources import DecodeError, OtlpFileSource, otlp_file_paths, read_otlp_files
from tests.unit.sources._support import expected, genai_spans, otlp_json, otlp_json_line, respell


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def _batches(count: int) -> tuple[list[str], set[int]]:
    """``count`` lines (one trace of 3 spans each) and every span id in them."""
    spans = genai_spans(traces=count)
    lines = [otlp_json_line(spans[i : i + 3]) for i in range(0, len(spans), 3)]
    return lines, {s.get_span_context().span_id for s in spans}  # type: ignore[union-attr]


def test_reads_a_file_written_by_otels_encoder(tmp_path: Path) -> None:
    spans = genai_spans(traces=3)
    path = _write_lines(
        tmp_path / "traces.json", [otlp_json_line(spans[:4]), otlp_json_line(spans[4:])]
    )
    records = list(read_otlp_files(path))
    assert sorted(records) == sorted(expected(s) for s in spans)


def test_rotated_files_are_read_oldest_first_then_the_live_one(tmp_path: Path) -> None:
    lines, _ = _batches(4)
    names = [
        "traces-2024-05-01T10-30-00.000.json",
        "traces-2024-05-02T08-00-00.000-size.json",  # timberjack adds the reason
        "traces.json",
    ]
    for name, line in zip(reversed(names), lines, strict=False):  # write out of order
        _write_lines(tmp_path / name, [line])
    with gzip.open(tmp_path / "traces-2024-04-30T00-00-00.000.json.gz", "wt") as handle:
        handle.write(lines[3] + "\n")
    paths = otlp_file_paths(tmp_path)
    assert [p.name for p in paths] == ["traces-2024-04-30T00-00-00.000.json.gz", *names]
    first_trace_per_file = [next(iter(read_otlp_files(p))).trace_id for p in paths]
    assert len(set(first_trace_per_file)) == 4
    assert len(list(read_otlp_files(tmp_path))) == 12


def test_glob_and_several_sources(tmp_path: Path) -> None:
    lines, ids = _batches(3)
    (tmp_path / "a").mkdir()
    _write_lines(tmp_path / "a" / "traces.json", lines[:1])
    _write_lines(tmp_path / "a" / "other.log", lines[1:2])
    _write_lines(tmp_path / "b.json", lines[2:])
    by_glob = read_otlp_files(str(tmp_path / "**" / "*.json"))
    assert len(list(by_glob)) == 6
    both = read_otlp_files([tmp_path / "a", tmp_path / "b.json"])
    assert {r.span_id for r in both} == ids


def test_nothing_there_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no OTLP files"):
        OtlpFileSource(tmp_path / "missing.json")
    with pytest.raises(ConfigurationError):
        OtlpFileSource(str(tmp_path / "*.json"))


def test_a_corrupt_line_is_reported_and_skipped(tmp_path: Path) -> None:
    lines, _ = _batches(3)
    bad_span = respell(json.loads(lines[1]))
    bad_span["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["traceId"] = "nope"
    content = [lines[0], '{"resourceSpans": [', json.dumps(bad_span), "", lines[2], "[1, 2]"]
    path = _write_lines(tmp_path / "traces.json", content)
    errors: list[DecodeError] = []
    source = OtlpFileSource(path, on_error=errors.append)
    records = list(source)
    assert len(records) == 3 + 2 + 3  # the bad line's other two spans survive
    assert [(e.path, e.line) for e in errors] == [(str(path), 2), (str(path), 3), (str(path), 6)]
    assert "not JSON" in errors[0].reason
    assert errors[1].trace_id == "nope" and errors[1].span_id is not None
    assert f"{path}:3: trace nope span" in str(errors[1])
    assert source.errors == 3 and source.first_errors == errors


def test_skipped_lines_are_logged_by_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines, _ = _batches(1)
    path = _write_lines(tmp_path / "traces.json", ["oops", lines[0]])
    with caplog.at_level(logging.WARNING, logger="evaltrace.sources"):
        assert len(list(read_otlp_files(path))) == 3
    assert f"{path}:1" in caplog.text


def test_bom_and_blank_lines(tmp_path: Path) -> None:
    lines, _ = _batches(2)
    path = tmp_path / "traces.json"
    path.write_bytes(b"\xef\xbb\xbf" + f"{lines[0]}\n\n  \n{lines[1]}".encode())
    assert len(list(read_otlp_files(path))) == 6


def test_hand_spelled_files(tmp_path: Path) -> None:
    """base64 ids, enum names, string or numeric ints, snake_case: one file each."""
    spans = genai_spans()
    want = sorted(expected(s) for s in spans)
    spellings = [
        {"ids": "base64", "enums": "names"},
        {"ids": "HEX", "enums": "lower", "ints": "numbers"},
        {"keys": "snake", "ints": "strings"},
        {"ids": "base64url", "legacy_scope": True},
    ]
    for number, spelling in enumerate(spellings):
        document = respell(otlp_json(spans), **spelling)  # type: ignore[arg-type]
        path = _write_lines(tmp_path / f"spelled-{number}.json", [json.dumps(document)])
        assert sorted(read_otlp_files(path)) == want, spelling


def test_zstd_native_stream(tmp_path: Path) -> None:
    lines, ids = _batches(4)
    compressor = zstandard.ZstdCompressor()
    # The exporter finalises a frame at each flush: several frames, one stream.
    frames = [compressor.compress("".join(f"{line}\n" for line in lines[i : i + 2]).encode())
              for i in (0, 2)]  # fmt: skip
    path = tmp_path / "traces.json.zst"
    path.write_bytes(b"".join(frames))
    assert {r.span_id for r in read_otlp_files(path)} == ids


def test_zstd_legacy_length_prefixed_frames(tmp_path: Path) -> None:
    lines, ids = _batches(3)
    compressor = zstandard.ZstdCompressor()
    path = tmp_path / "traces.json"  # the exporter keeps the name
    with path.open("wb") as handle:
        for line in lines:
            frame = compressor.compress(line.encode())
            handle.write(struct.pack(">I", len(frame)) + frame)
    assert {r.span_id for r in read_otlp_files(path)} == ids


def test_truncated_legacy_file_reports_the_record(tmp_path: Path) -> None:
    lines, _ = _batches(2)
    frame = zstandard.ZstdCompressor().compress(lines[0].encode())
    path = tmp_path / "traces.json"
    path.write_bytes(struct.pack(">I", len(frame)) + frame + struct.pack(">I", 999) + b"\x28\xb5")
    errors: list[DecodeError] = []
    assert len(list(read_otlp_files(path, on_error=errors.append))) == 3
    assert errors[0].line == 2 and "truncated record" in errors[0].reason


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_a_truncated_compressed_file_keeps_what_was_read(tmp_path: Path, suffix: str) -> None:
    lines, _ = _batches(200)  # several zstd blocks (of 128 KiB), so some come through whole
    content = "".join(f"{line}\n" for line in lines).encode()
    packed = (
        gzip.compress(content) if suffix == ".gz" else zstandard.ZstdCompressor().compress(content)
    )
    path = tmp_path / f"traces.json{suffix}"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    errors: list[DecodeError] = []
    records = list(read_otlp_files(path, on_error=errors.append))
    assert 0 < len(records) < 600 and len(records) % 3 == 0
    (error,) = errors
    assert error.path == str(path) and error.line == len(records) // 3 + 1
    assert "unreadable" in error.reason or "truncated zstd frame" in error.reason


def test_proto_format_is_refused_clearly(tmp_path: Path) -> None:
    body = encode_proto(genai_spans()).SerializeToString()
    path = tmp_path / "traces.proto"
    path.write_bytes(struct.pack(">I", len(body)) + body)
    errors: list[DecodeError] = []
    assert list(read_otlp_files(path, on_error=errors.append)) == []
    assert "format: proto" in errors[0].reason and errors[0].line == 1


def _peak_while_reading(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_otlp_files(path))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_file_grows(tmp_path: Path) -> None:
    """Streaming: ten times the lines, about the same peak (records are not kept)."""
    lines, _ = _batches(20)
    small = _write_lines(tmp_path / "small.json", lines * 25)  # 500 lines, 1500 spans
    large = _write_lines(tmp_path / "large.json", lines * 250)  # 5000 lines, 15000 spans
    small_count, small_peak = _peak_while_reading(small)
    large_count, large_peak = _peak_while_reading(large)
    assert (small_count, large_count) == (1500, 15000)
    assert large_peak < 2 * small_peak + 256 * 1024, (small_peak, large_peak)
