"""What a comparison needs to trust two runs: the dataset, the models and the metrics' settings.

All plain JSON values, recorded in the ``EvaluationResult`` (``dataset_fingerprint``,
``models``, ``metric_settings``, ``repeat``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from pydantic import JsonValue

from evaltrace.metrics import Metric
from evaltrace.runner._plan import RunPlan

__all__ = ["describe_model", "metric_settings", "run_identity"]


def run_identity(
    plan: RunPlan, metrics: Sequence[Metric], *, task: object, judge: object
) -> dict[str, Any]:
    """The ``EvaluationResult.build`` keywords that say what the run was."""
    models = {role: describe_model(spec) for role, spec in (("task", task), ("judge", judge))}
    return {
        "repeat": plan.repeat,
        "dataset_fingerprint": plan.fingerprint,
        "models": {role: text for role, text in models.items() if text is not None},
        "metric_settings": {m.name: metric_settings(m) for m in metrics},
    }


def describe_model(spec: object) -> str | None:
    """A task or judge as text: ``provider:model``, or ``module:function`` for a function."""
    if spec is None:
        return None
    if isinstance(spec, str):
        return spec
    name = getattr(spec, "name", None)
    model = getattr(spec, "model", None)
    if isinstance(name, str) and isinstance(model, str):  # a Provider
        return f"{name}:{model}"
    if isinstance(name, str) and not callable(spec):  # a Model: name is provider:model
        return name
    module = getattr(spec, "__module__", None) or type(spec).__module__
    qualname = getattr(spec, "__qualname__", None) or type(spec).__qualname__
    return f"{module}:{qualname}"


def metric_settings(metric: Metric) -> dict[str, JsonValue]:
    """A metric's type and its plain parameters (dataclass fields that are JSON scalars)."""
    settings: dict[str, JsonValue] = {
        "type": f"{type(metric).__module__}.{type(metric).__qualname__}",
        "purpose": metric.purpose,
    }
    if dataclasses.is_dataclass(metric) and not isinstance(metric, type):
        for field in dataclasses.fields(metric):
            value = getattr(metric, field.name)
            settings[field.name] = _plain(value)
    return settings


def _plain(value: object) -> JsonValue:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value):
        return list(value)
    return type(value).__qualname__
