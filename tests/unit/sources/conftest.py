"""Hypothesis keeps its files (example database, constants cache) out of the work tree."""

from __future__ import annotations

import tempfile

from hypothesis import configuration

configuration.set_hypothesis_home_dir(tempfile.mkdtemp(prefix="evaltrace-hypothesis-"))
