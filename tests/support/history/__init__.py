"""Shared pieces of the run-store tests (see ``checks``), with pytest's assertion messages."""

import pytest

pytest.register_assert_rewrite("tests.support.history.checks")
