"""Provider selection, configuration errors, and structured-output fallbacks."""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx2
import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import (
    Case,
    Completion,
    ConfigurationError,
    ExactMatch,
    GenerationParams,
    Message,
    Model,
    Provider,
    ProviderError,
    evaluate,
    get_provider,
)
from evaltrace.metrics._parse import JUDGE_SCHEMA
from evaltrace.providers import RetryPolicy
from evaltrace.providers.openai_compat import OpenAIProvider

from ._helpers import chat_completion_body


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("openai:gpt-4o-mini", "OPENAI_API_KEY"),
        ("anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
        ("openai-compatible:llama3", "base_url"),
        ("mistral:large", "unknown model 'mistral:large'"),
        ("gpt-4o", "provider:model"),
    ],
)
def test_configuration_errors_name_what_to_set(spec: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        get_provider(spec)


def test_openai_compatible_server_needs_no_key() -> None:
    provider = get_provider("openai-compatible:llama3", base_url="http://127.0.0.1:8000/v1")
    assert (provider.server_address, provider.server_port) == ("127.0.0.1", 8000)
    assert provider.model == "llama3"


class FormatServer:
    """Answers structured requests per a script of (status, message) before succeeding."""

    def __init__(self, failures: list[tuple[int, str]]) -> None:
        self.failures = list(failures)
        self.formats: list[str | None] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.formats.append((body.get("response_format") or {}).get("type"))
        if self.failures:
            status, message = self.failures.pop(0)
            return httpx2.Response(status, json={"error": {"message": message}})
        return httpx2.Response(200, json=chat_completion_body('{"score": 1, "explanation": "x"}'))


def _model(server: FormatServer) -> Model:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(server))
    return Model(
        OpenAIProvider("m", base_url="http://127.0.0.1:9/v1", http_client=client),
        retry=RetryPolicy(max_attempts=4, initial_delay=0.0),
    )


async def _ask(server: FormatServer, model: Model | None = None) -> None:
    model = model or _model(server)
    await model.complete("rate", params=GenerationParams(json_schema=JUDGE_SCHEMA))


@pytest.fixture(autouse=True)
def _provider(tracer_provider: TracerProvider) -> None:
    """Calls outside a run trace to a throwaway provider."""


async def test_a_server_naming_the_format_gets_the_next_format() -> None:
    server = FormatServer([(500, "json_schema is not supported")])
    await _ask(server)
    assert server.formats == ["json_schema", "json_object"]


async def test_other_400s_do_not_change_the_format() -> None:
    server = FormatServer([(400, "maximum context length exceeded")])
    with pytest.raises(ProviderError):
        await _ask(server)
    assert server.formats == ["json_schema"]


async def test_one_transient_500_keeps_the_format_and_a_working_format_is_kept() -> None:
    server = FormatServer([(500, "upstream overloaded")])
    model = _model(server)
    await _ask(server, model)
    assert server.formats == ["json_schema", "json_schema"]
    server.failures = [(500, "overloaded"), (500, "overloaded")]  # after it worked
    await _ask(server, model)
    assert server.formats[-1] == "json_schema"


async def test_a_format_failing_twice_in_a_row_before_ever_working_is_given_up() -> None:
    server = FormatServer([(500, "internal error"), (500, "internal error")])
    await _ask(server)
    assert server.formats == ["json_schema", "json_schema", "json_object"]


async def test_concurrent_rejections_step_down_one_format_only() -> None:
    import asyncio

    class RejectsJsonSchema(FormatServer):
        def __call__(self, request: httpx2.Request) -> httpx2.Response:
            format_ = (json.loads(request.content).get("response_format") or {}).get("type")
            self.failures = (
                [(500, "json_schema is not supported")] if format_ == "json_schema" else []
            )
            return super().__call__(request)

    server = RejectsJsonSchema([])
    model = _model(server)
    await asyncio.gather(_ask(server, model), _ask(server, model))
    assert server.formats.count("json_schema") == 2
    assert "json_object" in server.formats  # the schema-carrying fallback was not skipped
    provider = model.provider
    assert isinstance(provider, OpenAIProvider)
    assert provider._json_format == 1  # json_object with schema  # noqa: SLF001


# --- chat.completion bodies read as plain JSON -------------------------------------------


def _answering(response: httpx2.Response) -> OpenAIProvider:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(lambda request: response))
    return OpenAIProvider("m", base_url="http://127.0.0.1:9/v1", http_client=client)


async def test_a_completion_is_read_from_the_json_body() -> None:
    provider = _answering(httpx2.Response(200, json=chat_completion_body("Paris", model="m-1")))
    completion = await provider.complete([], GenerationParams())
    assert (completion.text, completion.input_tokens, completion.output_tokens) == ("Paris", 11, 5)
    assert (completion.response_model, completion.response_id) == ("m-1", "chatcmpl-test123")
    assert completion.finish_reason == "stop"


async def test_content_parts_and_odd_usage_are_read_leniently() -> None:
    body = chat_completion_body("x")
    body["choices"][0]["message"]["content"] = [
        {"type": "text", "text": "Par"},
        {"type": "image_url", "image_url": {"url": "data:,"}},
        {"type": "text", "text": "is"},
    ]
    body["usage"] = {"prompt_tokens": "11", "completion_tokens": True}
    del body["model"]
    completion = await _answering(httpx2.Response(200, json=body)).complete([], GenerationParams())
    assert completion.text == "Paris"
    assert (completion.input_tokens, completion.output_tokens, completion.response_model) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("response", "error_type"),
    [
        (httpx2.Response(200, json={"choices": []}), "EmptyResponse"),
        (httpx2.Response(200, json={"object": "chat.completion"}), "EmptyResponse"),
        (httpx2.Response(200, json={"choices": ["Paris"]}), "EmptyResponse"),
        (httpx2.Response(200, json=["not", "an", "object"]), "MalformedResponse"),
        (httpx2.Response(200, text="<html>gateway</html>"), "MalformedResponse"),
        (
            httpx2.Response(200, text="{oops", headers={"content-type": "application/json"}),
            "JSONDecodeError",
        ),
    ],
)
async def test_bodies_that_are_not_a_completion_are_retryable_errors(
    response: httpx2.Response, error_type: str
) -> None:
    with pytest.raises(ProviderError) as info:
        await _answering(response).complete([], GenerationParams())
    assert info.value.retryable and info.value.error_type == error_type


class _AcmeProvider:
    """A user's provider with plain class attributes, as docs/providers.md shows."""

    name = "acme"
    model = "acme-1"
    operation = "chat"
    in_process = False
    server_address = "api.acme.test"
    server_port = None

    async def complete(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        return Completion(text=f"echo: {messages[-1].content}", input_tokens=3, output_tokens=2)

    async def aclose(self) -> None:
        pass


async def test_a_plain_user_provider_satisfies_the_protocol(
    tracer_provider: TracerProvider,
) -> None:
    """Also a static check: ``make lint`` runs mypy --strict over this file."""
    provider: Provider = _AcmeProvider()  # read-only protocol members accept plain attributes
    assert isinstance(provider, Provider)
    result = await evaluate(
        [Case(input="hi", expected="echo: hi")],
        [ExactMatch()],
        task=Model(provider),
        tracer_provider=tracer_provider,
    )
    (call,) = result.interactions
    assert (call.provider, call.model, call.response) == ("acme", "acme-1", "echo: hi")
    assert call.server_address == "api.acme.test"
    assert result.cases[0].scores[0].value == 1.0
