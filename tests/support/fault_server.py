"""A real OpenAI-compatible HTTP server on loopback that misbehaves on schedule.

``FaultServer`` is an aiohttp application (``AppRunner`` + ``TCPSite`` on
127.0.0.1, port 0) serving ``POST /v1/chat/completions`` and ``GET /v1/models``.
Each chat request gets one ``Outcome`` chosen by the server's schedule:

* ``OK``            a valid ``chat.completion`` with ``usage`` and the reply text
* ``SLOW``          the same, after ``delay`` seconds
* ``RATE_LIMIT``    HTTP 429 with ``Retry-After``
* ``SERVER_ERROR``  HTTP 500 with an OpenAI-style error body
* ``MALFORMED``     HTTP 200, ``application/json``, a body that is not JSON
* ``DROP``          the connection is closed without any response

Schedules: ``FixedSchedule`` (one entry per request index, then a default),
``RandomSchedule`` (probabilities drawn from a seeded RNG) or any callable
``(index, body) -> Action``. Every request is logged (``server.requests``):
index, time, path, parsed body, its messages and the outcome chosen, so tests
can compare what evaltrace recorded with what the server really received.

Use it as an async context manager::

    async with FaultServer(RandomSchedule({Outcome.RATE_LIMIT: 0.05}, seed=1)) as server:
        provider = OpenAIProvider("judge", base_url=server.base_url, api_key="test")

Everything here binds to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

__all__ = [
    "DEFAULT_REPLY",
    "Action",
    "FaultServer",
    "FixedSchedule",
    "Outcome",
    "RandomSchedule",
    "RequestRecord",
    "Schedule",
    "chat_completion",
]

LOOPBACK = "127.0.0.1"
#: A reply LLM-judge metrics parse into score 0.8.
DEFAULT_REPLY = '{"score": 0.8, "explanation": "ok"}'
MALFORMED_BODY = '{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"ind'


class Outcome(enum.StrEnum):
    """What the server does with one request."""

    OK = "ok"
    SLOW = "slow"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    MALFORMED = "malformed"
    DROP = "drop"

    @property
    def failed(self) -> bool:
        """True when the client gets no usable completion."""
        return self not in (Outcome.OK, Outcome.SLOW)


@dataclasses.dataclass(frozen=True, slots=True)
class Action:
    """An outcome with its parameters (``text`` None: the server's reply text)."""

    outcome: Outcome
    delay: float = 0.0
    retry_after: float | None = 0.0
    text: str | None = None


Schedule = Callable[[int, dict[str, Any]], "Action | Outcome"]


class FixedSchedule:
    """``actions[i]`` for request ``i``; ``default`` after the list runs out."""

    def __init__(
        self, actions: Iterable[Action | Outcome], default: Action | Outcome = Outcome.OK
    ) -> None:
        self.actions = list(actions)
        self.default = default

    def __call__(self, index: int, body: dict[str, Any]) -> Action | Outcome:
        return self.actions[index] if index < len(self.actions) else self.default


class RandomSchedule:
    """Each request draws its outcome: ``probabilities`` (e.g. 5 % 429), else ``default``.

    The RNG is seeded, so the sequence of outcomes (by arrival order) is reproducible.
    """

    def __init__(
        self,
        probabilities: Mapping[Outcome | Action, float],
        *,
        seed: int = 0,
        default: Action | Outcome = Outcome.OK,
    ) -> None:
        if sum(probabilities.values()) > 1.0:
            raise ValueError("probabilities add up to more than 1")
        self.probabilities = dict(probabilities)
        self.default = default
        self._rng = random.Random(seed)

    def __call__(self, index: int, body: dict[str, Any]) -> Action | Outcome:
        draw = self._rng.random()
        for action, probability in self.probabilities.items():
            if draw < probability:
                return action
            draw -= probability
        return self.default


@dataclasses.dataclass(slots=True)
class RequestRecord:
    """One request the server received and what it did with it."""

    index: int
    time: float  # time.monotonic() on arrival
    method: str
    path: str
    body: dict[str, Any] | None
    outcome: Outcome | None = None
    finished: float | None = None  # when the handler finished (or gave up: client gone)
    authorization: bool = False  # an Authorization header was sent (its value is not kept)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of the request body."""
        return list((self.body or {}).get("messages") or [])

    def text(self) -> str:
        """All message contents, joined (to find markers such as a run or case name)."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


def chat_completion(
    text: str,
    *,
    model: str = "fault-model",
    prompt_tokens: int = 11,
    completion_tokens: int = 5,
    response_id: str = "chatcmpl-fault",
) -> dict[str, Any]:
    """A valid ``chat.completion`` response body."""
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class FaultServer:
    """The OpenAI-compatible fault-injecting server (see module doc).

    ``schedule`` picks each chat request's outcome (default: always ``OK``);
    ``reply`` is the assistant text of OK replies; ``slow_delay`` the delay of
    ``Outcome.SLOW`` when the schedule gives a bare outcome. ``base_url`` (with
    ``/v1``) is set once the server is started.
    """

    def __init__(
        self,
        schedule: Schedule | None = None,
        *,
        reply: str = DEFAULT_REPLY,
        model: str = "fault-model",
        slow_delay: float = 1.0,
        prompt_tokens: int = 11,
        completion_tokens: int = 5,
        shutdown_timeout: float = 1.0,
    ) -> None:
        self.schedule: Schedule = schedule or FixedSchedule([])
        self.reply = reply
        self.model = model
        self.slow_delay = slow_delay
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.requests: list[RequestRecord] = []
        self.port: int | None = None
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._chat_index = 0
        self._in_flight = 0

    # -- lifecycle ----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``."""
        if self.port is None:
            raise RuntimeError("the fault server is not started")
        return f"http://{LOOPBACK}:{self.port}/v1"

    async def start(self) -> FaultServer:
        """Bind to 127.0.0.1 on a free port and start serving."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        # handler_cancellation: a client that gives up (timeout) cancels its slow reply.
        runner = web.AppRunner(
            app,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        site = web.TCPSite(runner, LOOPBACK, 0, backlog=1024)
        await site.start()
        self._runner = runner
        self.port = _bound_port(runner)
        return self

    async def stop(self) -> None:
        """Stop serving and close every connection (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FaultServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- what was received --------------------------------------------------

    @property
    def chat_requests(self) -> list[RequestRecord]:
        """The chat completion requests, in arrival order."""
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    @property
    def in_flight(self) -> int:
        """Chat requests being handled right now."""
        return self._in_flight

    def outcomes(self) -> dict[Outcome, int]:
        """How many chat requests got each outcome."""
        counts: dict[Outcome, int] = {}
        for record in self.chat_requests:
            if record.outcome is not None:
                counts[record.outcome] = counts.get(record.outcome, 0) + 1
        return counts

    def clear(self) -> None:
        """Forget the log (indexes keep counting from where they were)."""
        self.requests.clear()

    # -- handlers -----------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        self._log(request, None)
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "test"}],
            }
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_unparsed": raw.decode("utf-8", "replace")}
        record = self._log(request, body if isinstance(body, dict) else {"_body": body})
        index = self._chat_index
        self._chat_index += 1
        chosen = self.schedule(index, record.body or {})
        action = chosen if isinstance(chosen, Action) else Action(chosen)
        record.outcome = action.outcome
        self._in_flight += 1
        try:
            return await self._respond(request, action, index)
        finally:
            self._in_flight -= 1
            record.finished = time.monotonic()

    async def _respond(
        self, request: web.Request, action: Action, index: int
    ) -> web.StreamResponse:
        outcome = action.outcome
        if outcome is Outcome.SLOW:
            await asyncio.sleep(action.delay or self.slow_delay)
        if outcome in (Outcome.OK, Outcome.SLOW):
            return web.json_response(
                chat_completion(
                    self.reply if action.text is None else action.text,
                    model=self.model,
                    prompt_tokens=self.prompt_tokens,
                    completion_tokens=self.completion_tokens,
                    response_id=f"chatcmpl-fault-{index}",
                )
            )
        if outcome is Outcome.RATE_LIMIT:
            headers = {}
            if action.retry_after is not None:
                headers["Retry-After"] = _seconds(action.retry_after)
            return web.json_response(
                _error_body("rate limit reached (fault server)", "rate_limit_exceeded"),
                status=429,
                headers=headers,
            )
        if outcome is Outcome.SERVER_ERROR:
            return web.json_response(
                _error_body("internal error (fault server)", "server_error"), status=500
            )
        if outcome is Outcome.MALFORMED:
            return web.Response(status=200, text=MALFORMED_BODY, content_type="application/json")
        if outcome is Outcome.DROP:
            return await _drop(request)
        raise AssertionError(f"unknown outcome {outcome!r}")

    def _log(self, request: web.Request, body: dict[str, Any] | None) -> RequestRecord:
        record = RequestRecord(
            index=len(self.requests),
            time=time.monotonic(),
            method=request.method,
            path=request.path,
            body=body,
            authorization="Authorization" in request.headers,
        )
        self.requests.append(record)
        return record


async def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without writing a byte of response."""
    transport = request.transport
    if transport is not None:
        transport.abort()  # RST rather than FIN: the client sees a reset/closed connection
    # aiohttp finds the transport gone and writes nothing; a handler must still return.
    raise asyncio.CancelledError  # ends the handler quietly (no 500, no traceback)


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": code, "param": None, "code": code}}


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _bound_port(runner: web.AppRunner) -> int:
    for site in runner.sites:
        server = getattr(site, "_server", None)
        for sock in getattr(server, "sockets", None) or ():
            return int(sock.getsockname()[1])
    raise RuntimeError("the fault server has no listening socket")
