"""Import a provider's SDK only when the provider is used."""

from __future__ import annotations

import importlib
from types import ModuleType

from evaltrace.exceptions import ConfigurationError

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or fail with the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigurationError(
            f"{module!r} is not installed; install it with: pip install 'evaltrace[{extra}]'"
        ) from exc
