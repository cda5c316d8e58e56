"""In-process models use the CPUs their process was given (``OMP_NUM_THREADS``, as Ray sets)."""

from __future__ import annotations

import os

import pytest

from evaltrace.providers.local import model_threads


def test_omp_num_threads_sets_the_model_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert model_threads() == 3


@pytest.mark.parametrize("value", [None, "", "0", "two", "-1"])
def test_without_a_usable_setting_every_core_is_used(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert model_threads() == (os.cpu_count() or 1)
