"""Fixtures shared by the unit tests of the command line."""

from tests.unit.cli_support import models, plain_console, qa_dataset

__all__ = ["models", "plain_console", "qa_dataset"]
