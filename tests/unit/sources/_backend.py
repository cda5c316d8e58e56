"""An in-process HTTP server (aiohttp, on 127.0.0.1) that answers like a tracing backend.

Tests register, per path, the replies to give in turn (the last one repeats):
a status, a JSON or text body (fixtures from tests/fixtures/backends, with
their ``_source`` key removed), and optionally a hang until the test ends
(to make the client time out). Every request is recorded: method, path,
query (as a list of pairs, order kept), headers and body.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "backends"


def fixture(name: str) -> dict[str, Any]:
    """A backend answer fixture, without its ``_source`` note."""
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert body.pop("_source"), f"{name} must say which document it follows"
    return body


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes as they are
    hang: bool = False
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


class FakeBackend:
    """Routes by exact path; an unknown path answers 404 with a plain body."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self.release = asyncio.Event()
        self.base_url = ""

    def on(self, path: str, *replies: Reply) -> None:
        self.replies[path] = list(replies)

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            Seen(
                request.method,
                request.path,
                list(request.query.items()),
                dict(request.headers),
                body,
            )
        )
        queue = self.replies.get(request.path)
        if not queue:
            return web.Response(status=404, text="404 page not found")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if reply.hang:
            await self.release.wait()
        if isinstance(reply.body, dict | list):
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        if isinstance(reply.body, bytes):
            return web.Response(body=reply.body, status=reply.status, headers=reply.headers)
        return web.Response(text=reply.body or "", status=reply.status, headers=reply.headers)


async def serve() -> AsyncIterator[FakeBackend]:
    """The body of a pytest fixture: start the server, yield it, stop it."""
    backend = FakeBackend()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", backend.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    backend.base_url = str(server.make_url("")).rstrip("/")
    try:
        yield backend
    finally:
        backend.release.set()
        await server.close()
