"""Tools through the OpenAI and Anthropic providers: what each API is sent, and what is read back.

Each SDK talks to an ``httpx2.MockTransport`` that records the request bodies
and answers as the API does; the assertions are on those bodies and on the
``Completion`` (or streamed completion) the provider makes of the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import Case, GenerationParams, Message, Model, ToolCall, evaluate
from evaltrace.providers.anthropic import AnthropicProvider
from evaltrace.providers.openai_compat import OpenAIProvider

from ._helpers import chat_completion_body

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
OPENAI_WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": WEATHER_SCHEMA,
        "strict": True,
    },
}
PLAIN_CLOCK = {"name": "get_time", "description": "The time now.", "parameters": {"type": "object"}}
PARIS = ToolCall(name="get_weather", arguments={"city": "Paris"}, call_id="call_1")
OSLO = ToolCall(name="get_weather", arguments='{"city": "Oslo"}', call_id="call_2")
CONVERSATION = [
    Message(role="system", content="Answer briefly."),
    Message(role="user", content="Paris or Oslo: which is warmer?"),
    Message(role="assistant", content="Let me look.", tool_calls=(PARIS, OSLO)),
    Message(role="tool", content='{"celsius": 18}', tool_call_id="call_1"),
    Message(role="tool", content='{"celsius": 7}', tool_call_id="call_2"),
]


class Recorder:
    """A mock transport's handler: records each JSON body, answers with ``reply``."""

    def __init__(self, reply: Callable[[], httpx2.Response]) -> None:
        self.reply = reply
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.bodies.append(json.loads(request.content))
        return self.reply()

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))


def _sse(events: list[tuple[str | None, Any]]) -> httpx2.Response:
    lines = []
    for name, data in events:
        prefix = f"event: {name}\n" if name else ""
        text = data if isinstance(data, str) else json.dumps(data)
        lines.append(f"{prefix}data: {text}\n\n")
    return httpx2.Response(
        200, content="".join(lines).encode(), headers={"content-type": "text/event-stream"}
    )


# --- OpenAI-compatible ---------------------------------------------------------------------


def _tool_call_body(message: dict[str, Any]) -> dict[str, Any]:
    body = chat_completion_body("")
    body["choices"][0].update(message=message, finish_reason="tool_calls")
    return body


def _openai(recorder: Recorder) -> OpenAIProvider:
    return OpenAIProvider("m", base_url="http://127.0.0.1:9/v1", http_client=recorder.client())


async def test_openai_is_sent_the_tools_the_tool_calls_and_their_results() -> None:
    recorder = Recorder(lambda: httpx2.Response(200, json=chat_completion_body("Paris.")))
    params = GenerationParams(
        tools=(OPENAI_WEATHER, PLAIN_CLOCK, {"type": "custom", "custom": {"name": "grep"}}),
        extra={"tool_choice": "required"},
    )
    await _openai(recorder).complete(CONVERSATION, params)
    (body,) = recorder.bodies
    assert body["tools"] == [
        OPENAI_WEATHER,
        {
            "type": "function",
            "function": {
                "name": "get_time",
                "parameters": {"type": "object"},
                "description": "The time now.",
            },
        },
        {"type": "custom", "custom": {"name": "grep"}},
    ]
    assert body["tool_choice"] == "required"
    assert body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Paris or Oslo: which is warmer?"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                },
            ],
        },
        {"role": "tool", "content": '{"celsius": 18}', "tool_call_id": "call_1"},
        {"role": "tool", "content": '{"celsius": 7}', "tool_call_id": "call_2"},
    ]


async def test_openai_sends_no_tools_key_without_tools_and_null_content_for_a_bare_call() -> None:
    recorder = Recorder(lambda: httpx2.Response(200, json=chat_completion_body("ok")))
    bare = Message(role="assistant", content="", tool_calls=(PARIS,))
    await _openai(recorder).complete([bare], GenerationParams())
    (body,) = recorder.bodies
    assert "tools" not in body and "tool_choice" not in body
    assert body["messages"][0]["content"] is None


@pytest.mark.parametrize("reasoning_key", ["reasoning_content", "reasoning"])
async def test_openai_tool_calls_and_reasoning_are_read_from_the_reply(reasoning_key: str) -> None:
    message = {
        "role": "assistant",
        "content": None,
        reasoning_key: "Two cities: two calls.",
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "call_b",
                "type": "function",
                "function": {"name": "get_time", "arguments": "{oops"},
            },
        ],
    }
    recorder = Recorder(lambda: httpx2.Response(200, json=_tool_call_body(message)))
    completion = await _openai(recorder).complete(CONVERSATION[:2], GenerationParams())
    assert completion.text == ""
    assert completion.finish_reason == "tool_calls"
    assert completion.reasoning == "Two cities: two calls."
    assert completion.tool_calls == (
        ToolCall(name="get_weather", arguments={"city": "Paris"}, call_id="call_a"),
        ToolCall(name="get_time", arguments="{oops", call_id="call_b"),  # not JSON: the raw text
    )


def _openai_stream() -> httpx2.Response:
    base = {"id": "chatcmpl-t1", "object": "chat.completion.chunk", "created": 1, "model": "m-1"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
        return None, {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def piece(index: int, arguments: str, **first: Any) -> dict[str, Any]:
        function: dict[str, Any] = {"arguments": arguments}
        if first:
            function["name"] = first.pop("name")
        return {"tool_calls": [{"index": index, **first, "function": function}]}

    return _sse(
        [
            chunk({"role": "assistant", "reasoning_content": "Both "}),
            chunk({"reasoning_content": "cities."}),
            chunk(piece(0, "", id="call_p", type="function", name="get_weather")),
            chunk(piece(0, '{"city": ')),
            chunk(piece(1, '{"city": "Os', id="call_o", type="function", name="get_weather")),
            chunk(piece(0, '"Paris"}')),
            chunk(piece(1, 'lo"}')),
            chunk({}, "tool_calls"),
            (None, {**base, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 20}}),
            (None, "[DONE]"),
        ]
    )


async def test_openai_streamed_tool_calls_are_assembled_into_the_completion_and_interaction(
    tracer_provider: TracerProvider,
) -> None:
    recorder = Recorder(_openai_stream)
    model = Model(_openai(recorder))
    completions = []

    async def task(question: str) -> str:
        params = GenerationParams(tools=(OPENAI_WEATHER,))
        async with model.stream(question, params=params) as stream:
            assert [text async for text in stream] == []  # tool calls only: no text
        completions.append(stream.completion)
        return stream.text

    result = await evaluate([Case(input="warmer?")], task=task, tracer_provider=tracer_provider)
    assert recorder.bodies[0]["tools"] == [OPENAI_WEATHER]
    (completion,) = completions
    assert completion is not None
    expected = (
        ToolCall(name="get_weather", arguments={"city": "Paris"}, call_id="call_p"),
        ToolCall(name="get_weather", arguments={"city": "Oslo"}, call_id="call_o"),
    )
    assert completion.tool_calls == expected
    assert (completion.finish_reason, completion.reasoning) == ("tool_calls", "Both cities.")
    (call,) = result.interactions
    assert call.tool_calls == expected and call.reasoning == "Both cities."
    assert call.finish_reasons == ["tool_calls"]
    assert call.response.splitlines() == [
        'tool_call: get_weather({"city": "Paris"})',
        'tool_call: get_weather({"city": "Oslo"})',
    ]


# --- Anthropic -----------------------------------------------------------------------------


def _message_body(content: list[dict[str, Any]], stop_reason: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 30, "output_tokens": 12},
    }


def _anthropic(recorder: Recorder) -> AnthropicProvider:
    return AnthropicProvider("claude-sonnet-4-5", api_key="sk-ant-x", http_client=recorder.client())


def _end_turn() -> httpx2.Response:
    return httpx2.Response(
        200, json=_message_body([{"type": "text", "text": "Paris."}], "end_turn")
    )


async def test_anthropic_is_sent_tools_tool_use_blocks_and_one_turn_of_tool_results() -> None:
    recorder = Recorder(_end_turn)
    server_tool = {"type": "web_search_20250305", "name": "web_search"}
    params = GenerationParams(tools=(OPENAI_WEATHER, PLAIN_CLOCK, server_tool))
    await _anthropic(recorder).complete(
        [*CONVERSATION, Message(role="user", content="And in Kelvin?")], params
    )
    (body,) = recorder.bodies
    assert body["system"] == "Answer briefly."
    assert body["tools"] == [
        {
            "name": "get_weather",
            "input_schema": WEATHER_SCHEMA,
            "description": "Current weather of a city.",
        },
        {"name": "get_time", "input_schema": {"type": "object"}, "description": "The time now."},
        server_tool,
    ]
    assert body["messages"] == [
        {"role": "user", "content": "Paris or Oslo: which is warmer?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {
                    "type": "tool_use",
                    "id": "call_2",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": '{"celsius": 18}'},
                {"type": "tool_result", "tool_use_id": "call_2", "content": '{"celsius": 7}'},
            ],
        },
        {"role": "user", "content": "And in Kelvin?"},
    ]
    assert "tool_choice" not in body


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("required", {"type": "any"}),
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "tool", "name": "get_weather"},
        ),
        ({"type": "tool", "name": "get_time"}, {"type": "tool", "name": "get_time"}),
    ],
)
async def test_anthropic_tool_choice_is_sent_in_its_own_terms(choice: Any, sent: Any) -> None:
    recorder = Recorder(_end_turn)
    params = GenerationParams(tools=(OPENAI_WEATHER,), extra={"tool_choice": choice})
    await _anthropic(recorder).complete(CONVERSATION[:2], params)
    assert recorder.bodies[0]["tool_choice"] == sent


async def test_anthropic_tool_use_and_thinking_blocks_are_read_from_the_reply() -> None:
    content: list[dict[str, Any]] = [
        {"type": "thinking", "thinking": "Two cities.", "signature": "sig"},
        {"type": "text", "text": "Checking both."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Oslo"}},
    ]
    recorder = Recorder(lambda: httpx2.Response(200, json=_message_body(content, "tool_use")))
    completion = await _anthropic(recorder).complete(CONVERSATION[:2], GenerationParams())
    assert (completion.text, completion.reasoning) == ("Checking both.", "Two cities.")
    assert completion.finish_reason == "tool_use"
    assert completion.tool_calls == (
        ToolCall(name="get_weather", arguments={"city": "Paris"}, call_id="toolu_1"),
        ToolCall(name="get_weather", arguments={"city": "Oslo"}, call_id="toolu_2"),
    )


def _anthropic_stream() -> httpx2.Response:
    def delta(index: int, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": data}

    def start(index: int, block: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "content_block_start", {
            "type": "content_block_start",
            "index": index,
            "content_block": block,
        }

    message = _message_body([], "tool_use") | {"stop_reason": None}
    tool_use = {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {}}
    return _sse(
        [
            ("message_start", {"type": "message_start", "message": message}),
            start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            delta(0, {"type": "thinking_delta", "thinking": "Paris, "}),
            delta(0, {"type": "thinking_delta", "thinking": "then."}),
            start(1, {"type": "text", "text": ""}),
            delta(1, {"type": "text_delta", "text": "Checking."}),
            start(2, tool_use),
            delta(2, {"type": "input_json_delta", "partial_json": '{"city"'}),
            delta(2, {"type": "input_json_delta", "partial_json": ': "Paris"}'}),
            start(3, {**tool_use, "id": "toolu_10", "name": "get_time"}),  # no arguments streamed
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                    "usage": {"output_tokens": 25},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
    )


async def test_anthropic_streamed_tool_use_and_thinking_reach_the_completion(
    tracer_provider: TracerProvider,
) -> None:
    model = Model(_anthropic(Recorder(_anthropic_stream)))
    completions = []

    async def task(question: str) -> str:
        async with model.stream(question) as stream:
            text = "".join([piece async for piece in stream])
        completions.append(stream.completion)
        return text

    result = await evaluate([Case(input="warmer?")], task=task, tracer_provider=tracer_provider)
    (completion,) = completions
    assert completion is not None
    assert (completion.text, completion.reasoning) == ("Checking.", "Paris, then.")
    assert completion.finish_reason == "tool_use"
    assert completion.tool_calls == (
        ToolCall(name="get_weather", arguments={"city": "Paris"}, call_id="toolu_9"),
        ToolCall(name="get_time", arguments={}, call_id="toolu_10"),
    )
    (call,) = result.interactions
    assert call.tool_calls == completion.tool_calls
    assert (
        call.response
        == 'Checking.\ntool_call: get_weather({"city": "Paris"})\ntool_call: get_time({})'
    )
