"""The ``evaltrace`` command line (``evaltrace demo``, ``run``, ``show``)."""

from evaltrace.cli.main import main

__all__ = ["main"]
