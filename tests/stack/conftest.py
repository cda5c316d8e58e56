"""Fixtures for the observability-stack tests: real receivers from the servers venv.

A missing servers venv is a test *failure* with instructions, never a skip:
these tests are the only proof that the stack files and receivers work.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import servers


@pytest.fixture(scope="session")
def servers_venv() -> Path:
    try:
        return servers.servers_venv()
    except servers.ServersVenvMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def rotel(servers_venv: Path, tmp_path: Path) -> Iterator[servers.RotelAgent]:
    """A rotel-agent that logs every span it receives and drops it."""
    with servers.run_rotel(tmp_path / "rotel", venv=servers_venv) as agent:
        yield agent


@pytest.fixture(scope="module")
def phoenix(
    servers_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[servers.PhoenixServer]:
    """One Phoenix per test module (it takes a while to start); use a project per test."""
    with servers.run_phoenix(tmp_path_factory.mktemp("phoenix"), venv=servers_venv) as server:
        yield server
