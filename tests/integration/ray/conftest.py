"""One real multi-node Ray cluster for the session: a head and a worker node, on 127.0.0.1.

``ray.cluster_utils.Cluster`` starts real raylets and GCS in subprocesses.
Every process of the cluster inherits the environment set here: usage
stats off, Ray on 127.0.0.1 (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``), token
authentication on with a token made for this session (``RAY_AUTH_MODE`` and
``RAY_AUTH_TOKEN`` the same for the driver and every node), and a
``PYTHONPATH`` that lets workers import this checkout and its tests.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_ROOT = Path(__file__).resolve().parents[3]
_ENVIRONMENT = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "token",
    "RAY_DEDUP_LOGS": "0",
}


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A head node and one worker node (2 CPUs each), connected; shut down at session end."""
    saved = {k: os.environ.get(k) for k in (*_ENVIRONMENT, "RAY_AUTH_TOKEN", "PYTHONPATH")}
    os.environ.update(_ENVIRONMENT)  # before Ray is imported: it reads its config then
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    paths = [str(_ROOT / "src"), str(_ROOT), os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    try:
        import ray as ray_module
        from ray.cluster_utils import Cluster
    except ImportError:  # make test installs it: a missing extra fails, never skips
        pytest.fail("the Ray tests need evaltrace[ray]: pip install -e '.[test]'", pytrace=False)
    ray: Any = ray_module  # untyped
    cluster: Any = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "include_dashboard": False},
    )
    try:
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, namespace="evaltrace-tests", log_to_driver=False)
        nodes = [n for n in ray.nodes() if n["Alive"]]
        assert len(nodes) >= 2, nodes
        assert {n["NodeManagerAddress"] for n in nodes} == {"127.0.0.1"}, nodes
        assert cluster.address.startswith("127.0.0.1:"), cluster.address
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
