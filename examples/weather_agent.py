"""A tool-using agent evaluated offline: its answers, its tool calls and its budget.

Run it with ``python examples/weather_agent.py`` (no key, no network). The
agent is a plain loop over evaltrace's ``Model``: the model asks for tools,
the agent runs them inside ``execute_tool`` spans (the GenAI semantic
conventions), and feeds the results back. The "model" is a scripted stand-in
that reads the conversation, so the run is deterministic; replace it with
``Model("openai:gpt-4o-mini")`` for a real one.

The metrics read what the agent did from each case's trace: ``ToolCalled``,
``ToolSequence``, ``Budget`` and ``TrajectoryJudge`` (here with a scripted
judge, whose call is traced and counted like any judge call).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence

from opentelemetry import trace

from evaltrace import (
    Budget,
    Case,
    Completion,
    Contains,
    GenerationParams,
    Message,
    Metric,
    Model,
    ScriptedProvider,
    ToolCall,
    ToolCalled,
    ToolSequence,
    TrajectoryJudge,
    evaluate,
    install_tracer_provider,
)

CELSIUS = {"paris": 18.0, "oslo": 7.0, "lima": 22.0}
TOOLS = (
    {
        "name": "get_weather",
        "description": "Current temperature of a city, in Celsius.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
    {
        "name": "to_fahrenheit",
        "description": "Convert Celsius to Fahrenheit.",
        "parameters": {"type": "object", "properties": {"celsius": {"type": "number"}}},
    },
)


def get_weather(city: str) -> str:
    return json.dumps({"city": city, "celsius": CELSIUS[city.lower()]})


def to_fahrenheit(celsius: float) -> str:
    return json.dumps({"fahrenheit": round(celsius * 9 / 5 + 32, 1)})


TOOL_FUNCTIONS: dict[str, Callable[..., str]] = {
    "get_weather": get_weather,
    "to_fahrenheit": to_fahrenheit,
}


def scripted_model(messages: Sequence[Message]) -> Completion:
    """Stands in for a tool-calling model: weather first, then a conversion if asked."""
    question = messages[0].content
    results = [json.loads(m.content) for m in messages if m.role == "tool"]
    city = re.findall(r"in (\w+)", question)[-1]
    if not results:
        return _ask("get_weather", {"city": city}, "call_1")
    latest = results[-1]
    if "fahrenheit" in question.lower() and "fahrenheit" not in latest:
        return _ask("to_fahrenheit", {"celsius": latest["celsius"]}, "call_2")
    if "fahrenheit" in latest:
        return _reply(f"It is {latest['fahrenheit']} F in {city}.")
    return _reply(f"It is {latest['celsius']:g} C in {city}.")


def _ask(tool: str, arguments: dict[str, object], call_id: str) -> Completion:
    call = ToolCall(name=tool, arguments=arguments, call_id=call_id)
    return Completion(
        text="", finish_reason="tool_calls", tool_calls=(call,), input_tokens=40, output_tokens=9
    )


def _reply(text: str) -> Completion:
    return Completion(text=text, finish_reason="stop", input_tokens=60, output_tokens=8)


model = Model(ScriptedProvider(scripted_model, model="scripted-weather"))
tracer = trace.get_tracer("examples.weather_agent")


def run_tool(call: ToolCall) -> str:
    """Run one tool in an ``execute_tool`` span, as the GenAI conventions spell it."""
    with tracer.start_as_current_span(f"execute_tool {call.name}") as span:
        span.set_attribute("gen_ai.operation.name", "execute_tool")
        span.set_attribute("gen_ai.tool.name", call.name)
        span.set_attribute("gen_ai.tool.call.id", call.call_id or "")
        span.set_attribute("gen_ai.tool.call.arguments", json.dumps(call.arguments))
        result = TOOL_FUNCTIONS[call.name](**call.arguments)
        span.set_attribute("gen_ai.tool.call.result", result)
        return result


async def weather_agent(question: str) -> str:
    """Ask the model, run the tools it asks for, until it answers."""
    messages = [Message(role="user", content=question)]
    params = GenerationParams(tools=TOOLS)
    while True:
        reply = await model.complete(messages, params=params)
        if not reply.tool_calls:
            return reply.text
        messages.append(Message(role="assistant", content=reply.text, tool_calls=reply.tool_calls))
        for call in reply.tool_calls:
            messages.append(Message(role="tool", content=run_tool(call), tool_call_id=call.call_id))


CASES = [
    Case(id="paris", input="How warm is it in Paris?", expected="18 C",
         metadata={"expected_tools": ["get_weather"]}),
    Case(id="oslo-f", input="How warm is it in Fahrenheit in Oslo?", expected="44.6 F",
         metadata={"expected_tools": ["get_weather", "to_fahrenheit"]}),
    Case(id="lima-f", input="Lima in Fahrenheit, please: how warm is it in Lima?",
         expected="71.6 F", metadata={"expected_tools": ["get_weather", "to_fahrenheit"]}),
]  # fmt: skip

METRICS: list[Metric] = [
    Contains(),
    ToolCalled("get_weather"),
    ToolSequence(mode="exact"),  # each case's metadata["expected_tools"]
    Budget(max_model_calls=3, max_tool_calls=2, max_tokens=150),
    TrajectoryJudge(),
]


async def main() -> None:
    install_tracer_provider()  # this script owns its process: its tool spans are traced
    judge = ScriptedProvider('{"score": 0.9, "explanation": "right tools, no detours"}')
    result = await evaluate(
        CASES, METRICS, task=weather_agent, judge=judge, name="weather-agent",
        keep_trajectory=True,
    )  # fmt: skip
    for case in result.cases:
        scores = ", ".join(f"{s.metric}={s.value:g}" for s in case.scores if s.value is not None)
        print(f"{case.case_id}: {case.output!r}  {scores}")
        for step in case.trajectory or ():
            arguments = f"({json.dumps(step.arguments)})" if step.kind == "tool" else ""
            print(f"    {step.kind:5} {step.name}{arguments}")
    for (purpose, name), usage in result.by_purpose().items():
        print(f"{purpose:22} {name:18} calls={usage.calls} tokens={usage.tokens}")


if __name__ == "__main__":
    asyncio.run(main())
