"""``--task`` / ``--judge`` specs: a provider's model, a server, or an importable function."""

from __future__ import annotations

import importlib
import os
import sys
from typing import cast

from evaltrace import ConfigurationError, Model, Provider, get_provider
from evaltrace._tasks import TaskSpec
from evaltrace.providers._registry import provider_names

__all__ = ["DEFAULT_SERVER_MODEL", "ModelArg", "TaskArg", "model_spec", "task_spec"]

TaskArg = TaskSpec  #: what ``evaluate(task=...)`` accepts
ModelArg = str | Provider | Model
#: The server-side model name used with ``--task-base-url`` when ``--task`` names none.
DEFAULT_SERVER_MODEL = "default"


def model_spec(spec: str | None, base_url: str | None) -> ModelArg | None:
    """``--judge`` (or a model ``--task``) as evaluate takes it; with a URL, a compatible server."""
    if base_url is None:
        return spec
    spec = spec or DEFAULT_SERVER_MODEL
    if ":" not in spec:
        spec = f"openai-compatible:{spec}"
    return get_provider(spec, base_url=base_url)


def task_spec(spec: str | None, base_url: str | None) -> TaskArg | None:
    """``--task``: ``provider:model``, a server's model, or ``module:function`` (imported here).

    A registered provider prefix wins over a module of the same name; the
    current directory is importable, as with ``python -m``.
    """
    if spec is None or base_url is not None:
        return model_spec(spec, base_url)
    prefix, sep, attribute = spec.partition(":")
    if not sep or not prefix or not attribute:
        raise ConfigurationError(
            f"--task {spec!r}: use PROVIDER:MODEL (providers: {', '.join(provider_names())}) "
            "or MODULE:FUNCTION"
        )
    if prefix in provider_names():
        return spec
    return _import_function(spec, prefix, attribute)


def _import_function(spec: str, module_name: str, attribute: str) -> TaskArg:
    module = _import_module(spec, module_name)
    target: object = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ConfigurationError(
                f"--task {spec!r}: module {module_name!r} has no attribute {attribute!r}"
            )
        target = getattr(target, part)
    if not callable(target):
        raise ConfigurationError(
            f"--task {spec!r}: {attribute!r} is a {type(target).__name__}, not a function"
        )
    return cast(TaskArg, target)  # the user's function: its replies are checked when it runs


def _import_module(spec: str, module_name: str) -> object:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as missing:
        name = missing.name or ""
        if name == module_name or module_name.startswith(name + "."):
            raise ConfigurationError(
                f"--task {spec!r}: {module_name!r} is neither a provider "
                f"({', '.join(provider_names())}) nor an importable module "
                f"(from {os.getcwd()} or the installed packages)"
            ) from None
        raise ConfigurationError(
            f"--task {spec!r}: importing {module_name!r} failed: {missing}"
        ) from None
    except Exception as error:  # the user's module failed while importing
        raise ConfigurationError(
            f"--task {spec!r}: importing {module_name!r} failed: {type(error).__name__}: {error}"
        ) from None
