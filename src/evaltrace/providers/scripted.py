"""``ScriptedProvider``: a model that answers from a script, for tests (yours and ours).

Offline and deterministic. Each reply is a string, a ``Completion`` (returned
as it is: its ``tool_calls`` and ``reasoning`` too), an exception to raise, or
a callable that takes the messages and returns one of those. Token counts
default to whitespace-separated word counts.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Union

from evaltrace.providers._protocol import Completion, GenerationParams, StreamChunk
from evaltrace.records import Message

__all__ = ["ScriptedProvider"]

Reply = Union[str, Completion, BaseException, Callable[[Sequence[Message]], "Reply"]]  # noqa: UP007


class ScriptedProvider:
    """Answers calls in order from ``replies`` (cycling when ``cycle``), recording each request.

    ``calls`` holds the messages of every call made, so tests can assert on
    exactly what was sent. ``delay`` seconds pass before each reply. A streamed
    reply breaks (``ConnectionResetError``) after ``break_after`` words if set.
    """

    name = "evaltrace.scripted"
    operation = "chat"
    in_process = True
    server_address: str | None = None
    server_port: int | None = None

    def __init__(
        self,
        replies: Iterable[Reply] | Reply,
        *,
        model: str = "scripted-model",
        cycle: bool = True,
        delay: float = 0.0,
        break_after: int | None = None,
    ) -> None:
        items = (
            [replies]
            if isinstance(replies, str | Completion | BaseException) or callable(replies)
            else list(replies)
        )
        self.model = model
        self._replies = itertools.cycle(items) if cycle else iter(items)
        self._delay = delay
        self._break_after = break_after
        self.calls: list[list[Message]] = []
        self.params: list[GenerationParams] = []

    async def complete(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        """Answer with the next scripted reply."""
        self.calls.append(list(messages))
        self.params.append(params)
        if self._delay:
            await asyncio.sleep(self._delay)
        reply: Reply = next(self._replies)
        while callable(reply) and not isinstance(reply, BaseException):
            reply = reply(messages)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, Completion):
            return reply
        return Completion(
            text=reply,
            input_tokens=sum(len(m.content.split()) for m in messages),
            output_tokens=len(reply.split()),
            response_model=self.model,
            finish_reason="stop",
        )

    async def stream(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncIterator[StreamChunk]:
        """The next scripted reply, a word at a time; usage and tool calls come with the last chunk.

        An exception in the script is raised after ``break_after`` words.
        """
        reply = await self.complete(messages, params)
        words = reply.text.split(" ")
        for index, word in enumerate(words):
            if self._break_after is not None and index == self._break_after:
                raise ConnectionResetError("scripted stream broke")
            yield StreamChunk(text=word if index == 0 else f" {word}")
        yield StreamChunk(
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            response_model=reply.response_model,
            response_id=reply.response_id,
            finish_reason=reply.finish_reason,
            tool_calls=reply.tool_calls,
            reasoning=reply.reasoning or "",
        )

    async def aclose(self) -> None:
        """Nothing to release."""
