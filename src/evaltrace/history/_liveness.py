"""Whether the process that began a run is still there."""

from __future__ import annotations

import os
import socket
import sys
from datetime import datetime, timedelta

__all__ = ["DEFAULT_STALE_AFTER", "process_gone", "this_host"]

#: A ``running`` run older than this reads as ``incomplete`` wherever it ran.
DEFAULT_STALE_AFTER = timedelta(hours=24)


def this_host() -> str:
    """The name runs begun here record as their host."""
    return socket.gethostname()


def process_gone(
    host: str, pid: int, started_at: datetime, now: datetime, stale: timedelta
) -> bool:
    """True when a ``running`` run cannot still be running.

    Its process ran on this host and is no longer alive (or is a zombie), or
    the run began longer than ``stale`` ago. A run begun on another host is
    trusted until it is stale: its process cannot be seen from here.
    """
    if now - started_at > stale:
        return True
    return host == this_host() and not _alive(pid)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate it there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, as another user's process
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return False
    return bool(fields) and fields[0] in {"Z", "X"}
