"""Tool definitions and tool calls, whatever shape a provider's API gives them.

``GenerationParams.tools`` takes a tool as OpenAI writes it
(``{"type": "function", "function": {name, description, parameters}}``), as a
plain ``{name, description, parameters}`` or with Anthropic's ``input_schema``;
``FunctionTool.of`` reads any of them, and each provider writes it in its API's
form. ``StreamedToolCalls`` assembles the tool calls of a streamed reply from
their pieces.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from evaltrace.records import ToolCall
from evaltrace.tracing._conventions import parse_json_value

__all__ = ["FunctionTool", "StreamedToolCalls", "arguments_json"]


class FunctionTool(NamedTuple):
    """A function the model may call: its name, description and JSON Schema of arguments."""

    name: str
    description: str | None
    parameters: dict[str, Any]

    @classmethod
    def of(cls, tool: Mapping[str, Any]) -> FunctionTool | None:
        """The function of a tool definition; None for a provider's own tool kind.

        A tool with a ``type`` other than ``function`` and no ``function`` (a
        provider's built-in tool, such as a web search) is not a function.
        """
        function = tool.get("function")
        if not isinstance(function, Mapping):
            if tool.get("type", "function") != "function":
                return None
            function = tool
        parameters = function.get("parameters", function.get("input_schema"))
        description = function.get("description")
        return cls(
            name=str(function.get("name", "")),
            description=description if isinstance(description, str) else None,
            parameters=dict(parameters) if isinstance(parameters, Mapping) else _NO_ARGUMENTS,
        )


#: The schema of a function without arguments.
_NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}}


def arguments_json(arguments: Any) -> str:
    """A tool call's arguments as the JSON text an API expects (a string as it is)."""
    if isinstance(arguments, str):
        return arguments
    return json.dumps({} if arguments is None else arguments, ensure_ascii=False)


class _Pieces:
    """What arrived of one streamed tool call so far."""

    __slots__ = ("arguments", "call_id", "initial", "name")

    def __init__(self) -> None:
        self.call_id: str | None = None
        self.name = ""
        self.arguments: list[str] = []
        self.initial: Any = None


class StreamedToolCalls:
    """The tool calls of a streamed reply, assembled from pieces keyed by their index.

    A call's id and name come once (in its first piece), its arguments as
    fragments of JSON text; ``take`` hands over the calls complete so far.
    """

    def __init__(self) -> None:
        self._calls: dict[int, _Pieces] = {}

    def add(
        self,
        index: int,
        *,
        call_id: str | None = None,
        name: str | None = None,
        arguments: str | None = None,
        initial: Any = None,
    ) -> None:
        """Add a piece of the call at ``index``; ``initial`` stands for arguments never streamed."""
        pieces = self._calls.setdefault(index, _Pieces())
        if call_id:
            pieces.call_id = call_id
        if name:
            pieces.name += name
        if arguments:
            pieces.arguments.append(arguments)
        if initial is not None:
            pieces.initial = initial

    def take(self) -> tuple[ToolCall, ...]:
        """The calls assembled so far, in index order (arguments parsed when JSON); then none."""
        calls = tuple(
            ToolCall(
                name=pieces.name,
                arguments=(
                    parse_json_value("".join(pieces.arguments))
                    if pieces.arguments
                    else pieces.initial
                ),
                call_id=pieces.call_id,
            )
            for _, pieces in sorted(self._calls.items())
        )
        self._calls.clear()
        return calls
