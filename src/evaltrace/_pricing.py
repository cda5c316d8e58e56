"""Prices of model calls, from the ``genai-prices`` data snapshot (no network)."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from functools import lru_cache

__all__ = ["LOCAL_PROVIDERS", "is_local", "price_usd"]

#: Providers that run on the user's own machine: a call costs nothing.
LOCAL_PROVIDERS = frozenset({"llama.cpp", "sentence-transformers", "evaltrace.scripted"})

# Provider names as semconv spells them -> genai-prices provider ids.
_PROVIDER_IDS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure.ai.openai": "azure",
    "aws.bedrock": "aws",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "mistral_ai": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
    "x_ai": "x-ai",
    "cohere": "cohere",
}


@lru_cache(maxsize=256)
def is_local(provider: str | None, server_address: str | None = None) -> bool:
    """True for a model in this process or behind a server on this machine (loopback)."""
    if provider in LOCAL_PROVIDERS:
        return True
    if server_address is None:
        return False
    if server_address == "localhost":
        return True
    try:
        return ipaddress.ip_address(server_address).is_loopback
    except ValueError:
        return False


def price_usd(
    provider: str | None,
    model: str,
    input_tokens: int | None,
    output_tokens: int | None,
    server_address: str | None = None,
) -> Decimal | None:
    """Return the price of one call in USD, or None when it is not known.

    Models on this machine (in-process, or a server on a loopback address) cost
    zero, whatever their name. A model genai-prices has no price for is None,
    never a guess.
    """
    if is_local(provider, server_address):
        return Decimal(0)
    if input_tokens is None and output_tokens is None:
        return None
    return _price(_PROVIDER_IDS.get(provider or ""), model, input_tokens or 0, output_tokens or 0)


@lru_cache(maxsize=4096)
def _price(
    provider_id: str | None, model: str, input_tokens: int, output_tokens: int
) -> Decimal | None:
    from genai_prices import Usage, calc_price

    try:
        calculation = calc_price(
            Usage(input_tokens=input_tokens, output_tokens=output_tokens),
            model_ref=model,
            provider_id=provider_id,
        )
    except LookupError:
        return None
    return calculation.total_price
