"""Start ``phoenix serve`` with its OTLP gRPC receiver bound to loopback only.

Run by the *servers* virtualenv's interpreter (never imported by the test
process). Phoenix binds its HTTP server to ``PHOENIX_HOST`` but always binds its
gRPC receiver to ``[::]:PHOENIX_GRPC_PORT`` (all interfaces; there is no
setting for its host). This launcher rewrites wildcard gRPC bind addresses to
``127.0.0.1`` before handing over to Phoenix's own CLI, so a test run never
opens a port on a non-loopback interface. The tests check the listening
sockets of the process afterwards, so a Phoenix release that binds some other
way makes them fail instead of silently exposing a port.
"""

from __future__ import annotations

import sys
from typing import Any, cast

# grpc ships no type hints (and types-grpcio is not a dependency).
import grpc.aio._server as _grpc_aio_server  # type: ignore[import-untyped]

_WILDCARD_HOSTS = {"", "[::]", "0.0.0.0", "::", "*"}


def _loopback(address: str) -> str:
    host, sep, port = address.rpartition(":")
    if sep and host in _WILDCARD_HOSTS:
        return f"127.0.0.1:{port}"
    return address


_original_insecure = _grpc_aio_server.Server.add_insecure_port
_original_secure = _grpc_aio_server.Server.add_secure_port


def _add_insecure_port(self: Any, address: str) -> int:
    return cast(int, _original_insecure(self, _loopback(address)))


def _add_secure_port(self: Any, address: str, server_credentials: Any) -> int:
    return cast(int, _original_secure(self, _loopback(address), server_credentials))


_grpc_aio_server.Server.add_insecure_port = _add_insecure_port
_grpc_aio_server.Server.add_secure_port = _add_secure_port


def main() -> None:
    # Phoenix is installed only in the servers virtualenv that runs this file.
    from phoenix.server.main import main as phoenix_main  # type: ignore[import-not-found]

    sys.argv = ["phoenix", "serve", *sys.argv[1:]]
    phoenix_main()


if __name__ == "__main__":
    main()
