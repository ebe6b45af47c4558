"""Scripted HTTP errors and bad requests in each provider's real error shape."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai
import pytest

from genai_cost.fakes.llm_server import FakeLLMServer, Script

MESSAGES: Any = [{"role": "user", "content": "hello"}]


@pytest.mark.parametrize(
    ("status", "exc_type", "err_type", "code"),
    [
        (429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
        (500, openai.InternalServerError, "server_error", None),
        (400, openai.BadRequestError, "invalid_request_error", None),
        (401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key"),
    ],
)
def test_openai_errors_map_to_sdk_exceptions(
    server: FakeLLMServer, oai: openai.OpenAI, status: int, exc_type: type[Exception], err_type: str, code: str | None
) -> None:
    server.script(Script(status=status))

    with pytest.raises(exc_type) as info:
        oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)

    error = info.value
    assert isinstance(error, openai.APIStatusError)
    assert error.status_code == status
    assert isinstance(error.body, dict)
    assert (error.body["type"], error.body["code"], error.body["param"]) == (err_type, code, None)
    assert error.request_id is not None and error.request_id.startswith("req_")


def test_openai_error_headers_and_overrides(server: FakeLLMServer, http: httpx.Client) -> None:
    server.script(Script(status=429, error_type="tokens", error_code="rate_limit_exceeded", error_message="slow down"))

    response = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES})

    assert response.status_code == 429
    assert response.json() == {
        "error": {"message": "slow down", "type": "tokens", "param": None, "code": "rate_limit_exceeded"}
    }
    assert response.headers["retry-after"] == "0"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert response.headers["content-length"] == str(len(response.content))


@pytest.mark.parametrize(
    ("status", "exc_type", "err_type"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        # Older SDKs (before OverloadedError existed) map 529 to their generic server error.
        (529, getattr(anthropic, "OverloadedError", anthropic.InternalServerError), "overloaded_error"),
        (400, anthropic.BadRequestError, "invalid_request_error"),
    ],
)
def test_anthropic_errors_map_to_sdk_exceptions(
    server: FakeLLMServer, ant: anthropic.Anthropic, status: int, exc_type: type[Exception], err_type: str
) -> None:
    server.script(Script(status=status))

    with pytest.raises(exc_type) as info:
        ant.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)

    error = info.value
    assert isinstance(error, anthropic.APIStatusError)
    assert error.status_code == status
    assert isinstance(error.body, dict)
    assert error.body["type"] == "error"
    assert error.body["error"]["type"] == err_type
    assert error.request_id == error.body["request_id"]
    assert error.response.headers["request-id"] == error.body["request_id"]


async def test_async_clients_raise_rate_limit(
    server: FakeLLMServer, aoai: openai.AsyncOpenAI, aant: anthropic.AsyncAnthropic
) -> None:
    server.script(Script(status=429), Script(status=429))

    with pytest.raises(openai.RateLimitError):
        await aoai.responses.create(model="gpt-4o", input="hi")
    with pytest.raises(anthropic.RateLimitError):
        await aant.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES, stream=True)


def test_openai_missing_field_is_a_400_naming_it(oai: openai.OpenAI, http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", json={"model": "gpt-4o"})

    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": "Missing required parameter: 'messages'.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": None,
    }
    with pytest.raises(openai.BadRequestError) as info:
        oai.embeddings.create(model="text-embedding-3-small", input=[])
    assert isinstance(info.value.body, dict) and info.value.body["param"] == "input"


def test_anthropic_missing_field_is_a_400_naming_it(http: httpx.Client) -> None:
    response = http.post("/v1/messages", json={"model": "claude-haiku-4-5", "messages": MESSAGES})

    assert response.status_code == 400
    assert response.json()["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}


def test_non_json_request_body_is_a_400(server: FakeLLMServer, http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", content=b"not json", headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert server.requests[-1].body is None
    assert server.requests[-1].raw == b"not json"


def test_unknown_path_is_a_404_in_the_callers_provider_shape(http: httpx.Client) -> None:
    openai_style = http.post("/v1/models/nope", json={})
    anthropic_style = http.get("/v1/nope", headers={"anthropic-version": "2023-06-01"})

    assert openai_style.status_code == 404
    assert openai_style.json()["error"]["message"] == "Invalid URL (POST /v1/models/nope)"
    assert anthropic_style.status_code == 404
    assert anthropic_style.json()["error"]["type"] == "not_found_error"
