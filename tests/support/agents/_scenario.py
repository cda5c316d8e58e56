"""The scripted conversation every agent plays, and the tools it calls.

One scenario drives the three agents, so their spans can be compared: the
model asks for ``get_weather`` twice (Paris, then Oslo), then for
``convert_temperature`` once, one tool call per model turn (a deterministic
order), and finally answers. Four model requests, three tool invocations.

The tools are plain methods of :class:`Toolbox`, which records every
invocation (name, parsed arguments, result, in order) itself: that record,
not the spans, is the ground truth the span readers are tested against.
Each tool returns a JSON string, so every framework hands the model (and its
spans) the same text.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CONVERT_TEMPERATURE_DESCRIPTION",
    "FINAL_ANSWER",
    "GET_WEATHER_DESCRIPTION",
    "MODEL_NAME",
    "QUESTION",
    "TOOL_SCHEMAS",
    "WEATHER_SCRIPT",
    "ModelTurn",
    "ToolCallRequest",
    "ToolInvocation",
    "Toolbox",
    "tool_requests",
]

MODEL_NAME = "scripted-weather-1"
QUESTION = "Which is warmer right now, Paris or Oslo? Answer in Fahrenheit."
FINAL_ANSWER = "Paris is warmer: 64.4 F."
GET_WEATHER_DESCRIPTION = "Current weather of a city: its temperature in Celsius and the sky."
CONVERT_TEMPERATURE_DESCRIPTION = "Convert a temperature in Celsius to 'fahrenheit' or 'kelvin'."

#: The tools in the OpenAI ``tools`` format (what the plain agent sends its model).
TOOL_SCHEMAS: tuple[dict[str, Any], ...] = (
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": GET_WEATHER_DESCRIPTION,
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "convert_temperature",
            "description": CONVERT_TEMPERATURE_DESCRIPTION,
            "parameters": {
                "type": "object",
                "properties": {"value": {"type": "number"}, "unit": {"type": "string"}},
                "required": ["value", "unit"],
            },
        },
    },
)

_CELSIUS = {"paris": 18.0, "oslo": 7.0}
_SKY = {"paris": "sunny", "oslo": "overcast"}


@dataclasses.dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """One tool call the model asks for: its id, the tool's name and its arguments."""

    call_id: str
    name: str
    arguments: Mapping[str, Any]

    @property
    def arguments_json(self) -> str:
        """The arguments as the model sends them (a JSON object, as text)."""
        return json.dumps(dict(self.arguments))


@dataclasses.dataclass(frozen=True, slots=True)
class ModelTurn:
    """What the model answers to one request: tool calls, or the final text."""

    tool_calls: tuple[ToolCallRequest, ...] = ()
    text: str | None = None


WEATHER_SCRIPT: tuple[ModelTurn, ...] = (
    ModelTurn(tool_calls=(ToolCallRequest("call_w1", "get_weather", {"city": "Paris"}),)),
    ModelTurn(tool_calls=(ToolCallRequest("call_w2", "get_weather", {"city": "Oslo"}),)),
    ModelTurn(
        tool_calls=(
            ToolCallRequest(
                "call_c1", "convert_temperature", {"value": 18.0, "unit": "fahrenheit"}
            ),
        )
    ),
    ModelTurn(text=FINAL_ANSWER),
)


@dataclasses.dataclass(frozen=True, slots=True)
class ToolInvocation:
    """A tool as it really ran: name, parsed arguments and the result it returned."""

    name: str
    arguments: Mapping[str, Any]
    result: str


class Toolbox:
    """The agent's tools; each call is appended to :attr:`invocations`."""

    def __init__(self) -> None:
        self.invocations: list[ToolInvocation] = []

    def get_weather(self, city: str) -> str:
        """The weather of ``city`` as JSON: ``{"city", "celsius", "sky"}``."""
        key = city.strip().lower()
        result = json.dumps({"city": city, "celsius": _CELSIUS[key], "sky": _SKY[key]})
        return self._record("get_weather", {"city": city}, result)

    def convert_temperature(self, value: float, unit: str) -> str:
        """``value`` (Celsius) in ``unit`` (``fahrenheit`` or ``kelvin``), as JSON."""
        converted = value * 9 / 5 + 32 if unit == "fahrenheit" else value + 273.15
        result = json.dumps({"value": round(converted, 2), "unit": unit})
        return self._record("convert_temperature", {"value": value, "unit": unit}, result)

    def call(self, name: str, arguments: Mapping[str, Any]) -> str:
        """Run the tool ``name`` with ``arguments`` (for agents that dispatch by name)."""
        if name == "get_weather":
            return self.get_weather(**arguments)
        if name == "convert_temperature":
            return self.convert_temperature(**arguments)
        raise KeyError(f"no tool named {name!r}")

    def _record(self, name: str, arguments: dict[str, Any], result: str) -> str:
        self.invocations.append(ToolInvocation(name, arguments, result))
        return result


def tool_requests(script: Sequence[ModelTurn]) -> list[ToolCallRequest]:
    """Every tool call the script asks for, in order."""
    return [call for turn in script for call in turn.tool_calls]
