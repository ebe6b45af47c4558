"""Script FIFO, latency, malformed bodies, cut streams, recording and connection handling."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from genai_cost.fakes.llm_server import FakeLLMServer, Script

MESSAGES: Any = [{"role": "user", "content": "hello"}]


def _chat(client: openai.OpenAI) -> Any:
    return client.chat.completions.create(model="gpt-4o", messages=MESSAGES)


def test_scripts_are_consumed_in_order_then_default_applies(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.script(Script(output_tokens=1), Script(output_tokens=2))
    assert server.pending_scripts == 2

    outputs = [_chat(oai).usage.completion_tokens for _ in range(3)]

    assert outputs == [1, 2, 300]
    assert server.pending_scripts == 0


def test_default_script_is_replaceable(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.default = Script(output_tokens=11)

    assert _chat(oai).usage.completion_tokens == 11
    assert server.default == Script(output_tokens=11)


def test_unknown_paths_do_not_consume_scripts(server: FakeLLMServer, http: httpx.Client) -> None:
    server.script(Script(status=500))

    http.get("/v1/models")

    assert server.pending_scripts == 1


def test_latency_delays_the_response(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.script(Script(latency=0.3))

    started = time.perf_counter()
    _chat(oai)
    elapsed = time.perf_counter() - started

    assert 0.3 <= elapsed < 2.0


def test_chunk_interval_spaces_stream_events(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.script(Script(chunks=2, chunk_interval=0.05))

    started = time.perf_counter()
    chunks = list(oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    elapsed = time.perf_counter() - started

    assert len(chunks) == 4
    assert elapsed >= 0.05 * 4  # 5 events (incl. [DONE]) -> 4 pauses


def test_malformed_json_body(server: FakeLLMServer, oai: openai.OpenAI, ant: anthropic.Anthropic) -> None:
    server.script(Script(malformed=True), Script(malformed=True))

    with pytest.raises(json.JSONDecodeError):
        _chat(oai)
    with pytest.raises(json.JSONDecodeError):
        ant.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)


def test_malformed_stream_event(server: FakeLLMServer, oai: openai.OpenAI, http: httpx.Client) -> None:
    server.script(Script(malformed=True), Script(malformed=True))

    with pytest.raises(json.JSONDecodeError):
        list(oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    raw = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES, "stream": True})
    assert raw.text.startswith('data: {"id": "broken", "choices": [ {"index": 0,\n\n')
    assert raw.text.endswith("data: [DONE]\n\n")


def test_cut_stream_openai_raises_connection_error_after_n_chunks(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.script(Script(cut_after=3))
    received: list[Any] = []

    with pytest.raises(openai.APIConnectionError):
        for chunk in oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
            received.append(chunk)

    assert len(received) == 3


def test_cut_stream_anthropic_raises_after_n_events(server: FakeLLMServer, ant: anthropic.Anthropic) -> None:
    server.script(Script(cut_after=2))
    received: list[str] = []

    # anthropic lets the transport error through unwrapped
    with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
        for event in ant.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES, stream=True):
            received.append(event.type)

    assert received == ["message_start", "content_block_start"]


def test_cut_stream_is_an_incomplete_body_on_the_wire(server: FakeLLMServer, http: httpx.Client) -> None:
    server.script(Script(cut_after=1))
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True}

    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/v1/chat/completions", json=body)
    assert http.post("/v1/chat/completions", json=body).text.endswith("data: [DONE]\n\n")


def test_requests_are_recorded(server: FakeLLMServer, oai: openai.OpenAI, http: httpx.Client) -> None:
    oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers={"X-Custom": "Yes"})
    http.post("/v1/embeddings?api-version=2024-10-21", content=b"[1, 2]")

    chat, embed = server.requests
    assert (chat.method, chat.path, chat.query) == ("POST", "/v1/chat/completions", "")
    assert chat.body == {"messages": MESSAGES, "model": "gpt-4o"}
    assert json.loads(chat.raw) == chat.body
    assert chat.headers["x-custom"] == "Yes"
    assert chat.headers["authorization"] == "Bearer test-key"
    assert all(name == name.lower() for name in chat.headers)
    assert (embed.path, embed.query, embed.body, embed.raw) == (
        "/v1/embeddings",
        "api-version=2024-10-21",
        None,
        b"[1, 2]",
    )


def test_reset_clears_scripts_and_records(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.script(Script(output_tokens=1), Script(output_tokens=2))
    _chat(oai)

    server.reset()

    assert (server.requests, server.pending_scripts) == ([], 0)
    assert _chat(oai).usage.completion_tokens == 300


def test_prefixed_paths_are_routed_for_compatible_clients(server: FakeLLMServer) -> None:
    client = openai.OpenAI(base_url=server.base_url + "/api/openai/v1", api_key="k", max_retries=0)

    completion = _chat(client)

    assert completion.usage is not None and completion.usage.total_tokens == 1500
    assert server.requests[-1].path == "/api/openai/v1/chat/completions"


def test_keep_alive_reuses_one_connection(server: FakeLLMServer, oai: openai.OpenAI, http: httpx.Client) -> None:
    for _ in range(3):
        _chat(oai)
    stream_body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True}
    http.post("/v1/chat/completions", json=stream_body)  # fully read, terminator included
    http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES})
    http.post("/v1/chat/completions", json=stream_body)

    assert server.connections_accepted == 2  # one per client
    assert len(server.requests) == 6


def test_concurrent_requests_are_all_recorded(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.default = Script(latency=0.1)
    threads = [threading.Thread(target=_chat, args=(oai,)) for _ in range(8)]

    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(server.requests) == 8
    assert time.perf_counter() - started < 0.8  # served in parallel, not one after another


def test_stop_ends_pending_latency_and_idle_connections() -> None:
    server = FakeLLMServer().start()
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0, timeout=10)
    _chat(client)  # leaves an idle keep-alive connection
    server.script(Script(latency=30))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            _chat(client)
        except openai.APIError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 5
    while server.pending_scripts and time.monotonic() < deadline:  # the request has taken its script
        time.sleep(0.01)
    started = time.perf_counter()
    server.stop()
    thread.join(timeout=5)

    assert time.perf_counter() - started < 3
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], openai.APIConnectionError)
    client.close()


def test_addresses_and_lifecycle_errors() -> None:
    server = FakeLLMServer()
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.base_url
    with server:
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert server.openai_base_url == server.base_url + "/v1"
        assert server.anthropic_base_url == server.base_url
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
    server.stop()  # idempotent
