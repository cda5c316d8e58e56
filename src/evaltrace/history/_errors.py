"""The run store's errors, all under ``StoreError``.

::

    StoreError                 any failure of the run store (one-line message, no credentials)
     ├── StoreURLError         a store URL that cannot be used: bad scheme, unparseable, no path
     ├── StoreUnavailableError the database could not be opened, reached or written
     ├── StoreSchemaError      the store was written by a newer evaltrace
     └── RunRefError           a run reference that names no run, or several
          ├── RunNotFoundError
          └── AmbiguousRunRefError
"""

from __future__ import annotations

from evaltrace.exceptions import EvaltraceError

__all__ = [
    "AmbiguousRunRefError",
    "RunNotFoundError",
    "RunRefError",
    "StoreError",
    "StoreSchemaError",
    "StoreURLError",
    "StoreUnavailableError",
]


class StoreError(EvaltraceError):
    """Root of every run-store error; its message is one line and never holds a password."""


class StoreURLError(StoreError):
    """A store URL with an unknown scheme, that cannot be parsed, or that names nothing."""


class StoreUnavailableError(StoreError):
    """The database could not be opened, reached, or written."""


class StoreSchemaError(StoreError):
    """The store's schema was written by a newer evaltrace than this one."""


class RunRefError(StoreError):
    """A run reference (id, id prefix, ``NAME@latest``, ``NAME@COMMIT``) that fails to resolve."""


class RunNotFoundError(RunRefError):
    """No recorded run matches the reference."""


class AmbiguousRunRefError(RunRefError):
    """Several recorded runs (or commits) match the reference."""
