from __future__ import annotations
from typing import Any
import pytest
from evaltrace import Case, Contains, RayExecutor, ScriptedProvider, evaluate

pytestmark = pytest.mark.integration

async def test_smoke(ray_cluster: Any) -> None:
    cases = [Case(id=f"c{i}", input=f"q{i}", expected="yes") for i in range(20)]
    ex = RayExecutor(workers=2, concurrency_per_worker=3)
    result = await evaluate(cases, [Contains()], task=ScriptedProvider(["yes"]), executor=ex)
    print(result.totals, len(result.interactions), result.lost_attempts)
    assert len(result.cases) == 20 and result.complete
    assert len(result.interactions) == 20
