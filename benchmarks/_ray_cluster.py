"""A local multi-node Ray cluster for the benchmarks: head + one worker node, on 127.0.0.1.

The same settings as the tests (tests/integration/ray/conftest.py): usage
stats off, loopback only, token authentication with a token made for this
process, and ``PYTHONPATH`` so workers import this checkout and these scripts.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def local_cluster(cpus_per_node: int = 2) -> Iterator[float]:
    """Start the cluster and connect; yields the seconds the start took."""
    os.environ.update(
        {
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": secrets.token_hex(32),
        }
    )
    paths = [str(_ROOT / "src"), str(_ROOT), str(_ROOT / "benchmarks")]
    os.environ["PYTHONPATH"] = os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")])
    import ray as ray_module
    from ray.cluster_utils import Cluster

    ray: Any = ray_module
    started = time.perf_counter()
    cluster: Any = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": cpus_per_node, "include_dashboard": False},
    )
    try:
        cluster.add_node(num_cpus=cpus_per_node)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
        yield time.perf_counter() - started
    finally:
        ray.shutdown()
        cluster.shutdown()
