"""The git commit and dirty flag of a working directory, read with the ``git`` binary."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GitState", "git_state"]

#: Seconds each git command may take before the state is given up as unknown.
GIT_TIMEOUT = 3.0


@dataclass(frozen=True)
class GitState:
    """The commit checked out, and whether tracked files differ from it."""

    commit: str
    dirty: bool


def git_state(cwd: str | Path | None = None) -> GitState | None:
    """The git state of ``cwd`` (default: the working directory), None when unknown.

    None when ``cwd`` is not in a git repository, git is missing, or it does
    not answer within ``GIT_TIMEOUT``; never raises. Untracked files do not
    make the tree dirty (results files and caches would, on every run).
    """
    where = Path.cwd() if cwd is None else Path(cwd)
    commit = _git(where, "rev-parse", "--verify", "HEAD")
    if commit is None:
        return None
    changes = _git(where, "status", "--porcelain", "--untracked-files=no")
    if changes is None:
        return None
    return GitState(commit=commit, dirty=bool(changes))


def _git(cwd: Path, *args: str) -> str | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
