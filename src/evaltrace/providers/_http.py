"""What HTTP providers share: the server a client talks to, as semconv wants it."""

from __future__ import annotations

from urllib.parse import urlparse

__all__ = ["server_of"]


def server_of(base_url: object) -> tuple[str | None, int | None]:
    """``(server.address, server.port)`` of a base URL; the port defaults by scheme."""
    url = urlparse(str(base_url))
    return url.hostname, url.port or (443 if url.scheme == "https" else 80)
