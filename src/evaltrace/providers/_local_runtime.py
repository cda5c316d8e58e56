"""What the in-process models share: one load per model file, one worker thread per library."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["EXTRA", "Shared", "in_worker", "load_counts", "shared_lock", "shared_model"]

#: The extra that installs the in-process models.
EXTRA = "local"


@dataclass(frozen=True)
class Shared:
    """A loaded model and the lock that serialises its calls (one context is not thread-safe)."""

    model: Any
    lock: threading.Lock


_shared: dict[tuple[str, str, int], Shared] = {}
shared_lock = threading.Lock()
_loads = {"llama.cpp": 0, "sentence-transformers": 0}
_workers: dict[str, ThreadPoolExecutor] = {}
_workers_lock = threading.Lock()
_T = TypeVar("_T")


def load_counts() -> dict[str, int]:
    """How many model files this process has loaded, per provider name (each loads once)."""
    with shared_lock:
        return dict(_loads)


def shared_model(kind: str, path: Path, variant: int, load: Callable[[], Any]) -> Shared:
    """The model ``load`` returns, loaded once per (kind, file, variant) in this process."""
    key = (kind, str(path.resolve()), variant)
    with shared_lock:
        shared = _shared.get(key)
        if shared is None:
            shared = Shared(load(), threading.Lock())
            _shared[key] = shared
            _loads[kind] += 1
        return shared


async def in_worker(kind: str, work: Callable[[], _T]) -> _T:
    """Run ``work`` on the one worker thread of ``kind``, off the event loop.

    Calls queue here rather than each holding a thread of asyncio's default
    pool while it waits for the model (which would starve the application's
    own ``to_thread`` work and the other model).
    """
    with _workers_lock:
        worker = _workers.get(kind)
        if worker is None:
            worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"evaltrace-{kind}")
            _workers[kind] = worker
    return await asyncio.get_running_loop().run_in_executor(worker, work)
