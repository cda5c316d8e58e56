"""Providers by name: ``"openai:gpt-4o-mini"``, ``"anthropic:claude-sonnet-4-5"``..."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evaltrace.exceptions import ConfigurationError
from evaltrace.providers._model import Model
from evaltrace.providers._protocol import Provider

__all__ = ["as_model", "get_provider", "provider_names", "register_provider"]

Factory = Callable[..., Provider]


def _openai(model: str, **options: Any) -> Provider:
    from evaltrace.providers.openai_compat import OpenAIProvider

    return OpenAIProvider(model, **options)


def _anthropic(model: str, **options: Any) -> Provider:
    from evaltrace.providers.anthropic import AnthropicProvider

    return AnthropicProvider(model, **options)


def _local(model: str, **options: Any) -> Provider:
    from evaltrace.providers.local import LlamaCppProvider

    return LlamaCppProvider(model or None, **options)


_FACTORIES: dict[str, Factory] = {
    "openai": _openai,
    "openai-compatible": _openai,
    "anthropic": _anthropic,
    "local": _local,
}


def register_provider(prefix: str, factory: Factory) -> None:
    """Make ``"prefix:model"`` strings build providers with ``factory(model, **options)``."""
    _FACTORIES[prefix] = factory


def get_provider(spec: str | Provider, **options: Any) -> Provider:
    """Build the provider a ``"provider:model"`` string names (objects pass through)."""
    if not isinstance(spec, str):
        return spec
    prefix, sep, model = spec.partition(":")
    if not sep or prefix not in _FACTORIES:
        known = ", ".join(provider_names())
        raise ConfigurationError(
            f"unknown model {spec!r}: use 'provider:model' with provider one of {known}"
        )
    if prefix == "openai-compatible" and "base_url" not in options:
        raise ConfigurationError(f"{spec!r} needs base_url= (the server's /v1 URL)")
    return _FACTORIES[prefix](model, **options)


def as_model(
    spec: str | Provider | Model, *, max_concurrency: int | None = None, **options: Any
) -> Model:
    """A traced ``Model`` for a string, a provider, or a ``Model`` (returned as is).

    ``max_concurrency`` sets the new model's limit, never above a limit the
    provider declares for itself (an in-process model serving one call at a time).
    """
    if isinstance(spec, Model):
        return spec
    provider = get_provider(spec, **options)
    own = getattr(provider, "max_concurrency", None)
    if max_concurrency is not None and isinstance(own, int) and own > 0:
        max_concurrency = min(max_concurrency, own)
    return Model(provider, max_concurrency=max_concurrency)


def provider_names() -> list[str]:
    """The prefixes ``"provider:model"`` strings may use, sorted."""
    return sorted(_FACTORIES)
