"""A local OpenAI-compatible chat server that answers from a script: the agents' model.

``ScriptedChatServer`` is an aiohttp application on 127.0.0.1 (port 0) serving
``POST /v1/chat/completions`` (non-streaming). Request ``i`` gets turn ``i`` of
the script: an assistant message with ``tool_calls`` or with the final text.
Every request body is logged in :attr:`ScriptedChatServer.requests`, so tests
count the model requests the server really received and read what the agent
sent back (tool results, tool call ids). A request past the end of the script
gets HTTP 500: an agent that loops fails loudly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from tests.support.agents._scenario import MODEL_NAME, ModelTurn

__all__ = ["ScriptedChatServer", "completion_body"]

LOOPBACK = "127.0.0.1"
PROMPT_TOKENS = 40
COMPLETION_TOKENS = 12


def completion_body(turn: ModelTurn, index: int, model: str = MODEL_NAME) -> dict[str, Any]:
    """The ``chat.completion`` body of one scripted turn."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.text}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json},
            }
            for call in turn.tool_calls
        ]
    return {
        "id": f"chatcmpl-scripted-{index}",
        "object": "chat.completion",
        "created": 1700000000 + index,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if turn.tool_calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS + index,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + index + COMPLETION_TOKENS,
        },
    }


class ScriptedChatServer:
    """The scripted model behind an OpenAI-compatible endpoint (see the module doc)."""

    def __init__(self, script: Sequence[ModelTurn], *, model: str = MODEL_NAME) -> None:
        self.script = tuple(script)
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``."""
        if self.port is None:
            raise RuntimeError("the scripted server is not started")
        return f"http://{LOOPBACK}:{self.port}/v1"

    async def __aenter__(self) -> ScriptedChatServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, LOOPBACK, 0)
        await site.start()
        self._runner = runner
        self.port = _bound_port(runner)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _chat(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        index = len(self.requests)
        self.requests.append(body)
        if body.get("stream"):
            return web.json_response(
                {"error": {"message": "streaming is not scripted"}}, status=400
            )
        if index >= len(self.script):
            return web.json_response({"error": {"message": "the script is over"}}, status=500)
        return web.json_response(completion_body(self.script[index], index, self.model))


def _bound_port(runner: web.AppRunner) -> int:
    for site in runner.sites:
        server = getattr(site, "_server", None)
        for sock in getattr(server, "sockets", None) or ():
            return int(sock.getsockname()[1])
    raise RuntimeError("the scripted server has no listening socket")
