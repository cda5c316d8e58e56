"""A real PostgreSQL server for tests: Debian's binaries, a throwaway cluster, a loopback port.

:func:`start_postgres` runs ``initdb`` on a fresh temporary directory and
``pg_ctl start`` with ``listen_addresses='127.0.0.1'`` on a free port and the
Unix socket inside that directory, then creates a login role with a password
(connections over TCP must give it: ``scram-sha-256``) so the tests see a real
password. :class:`PostgresServer` makes one empty database per test
(:meth:`PostgresServer.new_database`) and stops the cluster (``pg_ctl stop``)
and removes its directory at the end. :func:`postgres_server` is the
session-scoped pytest fixture over it (import it into a conftest or test module).

``initdb`` refuses to run as root: as root (CI), every server command runs as
the ``postgres`` user that Debian's package creates (``runuser -u postgres``),
the temporary directory chowned to it. The binaries are found under
``/usr/lib/postgresql/<version>/bin`` (the newest version); ``make postgres``
installs them. When they are missing, :class:`PostgresMissing` is raised: the
fixture fails, it never skips.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

__all__ = ["PostgresMissing", "PostgresServer", "find_bindir", "postgres_server", "start_postgres"]

LOOPBACK = "127.0.0.1"
SUPERUSER = "postgres"
APP_USER = "evaltrace_app"
_SERVICE_USER = "postgres"  # the OS user Debian's package creates; runs the server under root
_DEBIAN_BINARIES = Path("/usr/lib/postgresql")
_START_TIMEOUT = 120  # seconds pg_ctl waits for the server to accept connections
_START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it


class PostgresMissing(RuntimeError):
    """PostgreSQL's server binaries (or the user to run them as) are not on this machine."""


@dataclasses.dataclass(frozen=True)
class PostgresServer:
    """A running throwaway cluster: where it listens and who may log in."""

    port: int
    password: str = dataclasses.field(repr=False)
    socket_dir: Path
    user: str = APP_USER
    host: str = LOOPBACK

    def url(self, database: str, *, password: str | None = None, scheme: str = "postgresql") -> str:
        """The URL of ``database`` over TCP, as the app user (with ``password`` if given)."""
        secret = self.password if password is None else password
        return f"{scheme}://{self.user}:{secret}@{self.host}:{self.port}/{database}"

    def new_database(self, prefix: str = "runs") -> str:
        """Create an empty database owned by the app user; returns its URL."""
        name = f"{prefix}_{secrets.token_hex(6)}"
        with self.admin() as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(self.user)
                )
            )
        return self.url(name)

    @contextlib.contextmanager
    def admin(self, database: str = "postgres") -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """A superuser connection over the Unix socket (autocommit)."""
        with psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=SUPERUSER,
            dbname=database,
            autocommit=True,
        ) as connection:
            yield connection


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb`` and ``pg_ctl``."""
    found = [
        initdb.parent
        for initdb in _DEBIAN_BINARIES.glob("*/bin/initdb")
        if (initdb.parent / "pg_ctl").exists()
    ]
    if not found:
        raise PostgresMissing(
            f"no PostgreSQL server under {_DEBIAN_BINARIES}/<version>/bin: "
            "run `make postgres` (apt-get install postgresql)"
        )
    return max(found, key=lambda bindir: _version_key(bindir.parent.name))


@contextlib.contextmanager
def start_postgres() -> Iterator[PostgresServer]:
    """Run a throwaway PostgreSQL cluster for as long as the context lasts."""
    bindir = find_bindir()
    owner = _service_owner()
    root = Path(tempfile.mkdtemp(prefix="evaltrace-pg-"))
    try:
        if owner is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)
        data = root / "data"
        _run(owner, [str(bindir / "initdb"), *_initdb_args(data)])
        port = _start(owner, bindir, root, data)
        try:
            server = PostgresServer(port=port, password=_password(), socket_dir=root)
            _create_app_user(server)
            yield server
        finally:
            _run(owner, [str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _initdb_args(data: Path) -> list[str]:
    return [
        "-D",
        str(data),
        "-U",
        SUPERUSER,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
    ]


def _start(owner: pwd.struct_passwd | None, bindir: Path, root: Path, data: Path) -> int:
    """Start the server on a free port (trying again if it was taken); returns the port."""
    conf = data / "postgresql.conf"
    base = conf.read_text(encoding="utf-8")
    log = root / "server.log"
    for attempt in range(_START_ATTEMPTS):
        port = _free_port()
        conf.write_text(base + _settings(port, root), encoding="utf-8")
        command = [str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w"]
        started = _run(owner, [*command, "-t", str(_START_TIMEOUT)], check=False)
        if started.returncode == 0:
            return port
        if attempt == _START_ATTEMPTS - 1:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stdout}{started.stderr}\n{tail}")
    raise AssertionError("unreachable")


def _settings(port: int, socket_dir: Path) -> str:
    return (
        "\n# evaltrace tests\n"
        f"listen_addresses = '{LOOPBACK}'\n"
        f"port = {port}\n"
        f"unix_socket_directories = '{socket_dir}'\n"
        "fsync = off\n"
        "synchronous_commit = off\n"
        "full_page_writes = off\n"
        "max_connections = 50\n"
    )


def _create_app_user(server: PostgresServer) -> None:
    with server.admin() as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(server.user), sql.Literal(server.password)
            )
        )


def _password() -> str:
    """A password unlike any other text in a log, so a leak is easy to find."""
    return f"pw{secrets.token_hex(10)}"


def _service_owner() -> pwd.struct_passwd | None:
    """The user the server runs as under root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_SERVICE_USER)
    except KeyError:
        raise PostgresMissing(
            f"running as root, and there is no {_SERVICE_USER!r} user to run PostgreSQL as "
            "(Debian's postgresql package creates it): run `make postgres`"
        ) from None


def _run(
    owner: pwd.struct_passwd | None, command: list[str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if owner is not None:
        command = ["runuser", "-u", owner.pw_name, "--", *command]
    done = subprocess.run(
        command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False, cwd="/"
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")
    return done


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session; fails (never skips) if it cannot run."""
    try:
        with start_postgres() as server:
            yield server
    except PostgresMissing as missing:
        pytest.fail(str(missing), pytrace=False)
