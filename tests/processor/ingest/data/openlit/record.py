"""Record OpenLIT spans for the ingest tests (run once; the .pb files are committed).

OpenLIT pins openai<3 and anthropic<1, so this runs in its own virtualenv::

    python3.11 -m venv .venv-openlit
    .venv-openlit/bin/pip install openlit==1.45.0 openai==2.54.0 anthropic==0.125.0
    .venv-openlit/bin/python tests/processor/ingest/data/openlit/record.py

The real ``openai`` and ``anthropic`` SDKs call a stdlib fake server on 127.0.0.1 that answers with
the corpus numbers (OpenAI chat prompt 1200 / cached 1024 / completion 300 / reasoning 128;
Responses 1210 / 1030 / 310 / 130; embeddings 7 tokens per input; Anthropic input 50 / cache read
10000 / cache creation 2000 / output 300). OpenLIT prices from ``pricing.json`` beside this file
(never downloaded). Each scenario is written as an OTLP ExportTraceServiceRequest ``<scenario>.pb``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHAT_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 128, "audio_tokens": 0},
}
ANTHROPIC_USAGE = {
    "input_tokens": 50,
    "cache_read_input_tokens": 10000,
    "cache_creation_input_tokens": 2000,
    "output_tokens": 300,
}
ANSWER = "The capital of France is Paris."


def _sse(event: str | None, data: Any) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}\n\n".encode()


def _chat(body: dict[str, Any]) -> tuple[int, Any]:
    base = {
        "id": "chatcmpl-OLFAKE01",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_fake0001",
        "service_tier": "default",
    }
    if not body.get("stream"):
        message = {"role": "assistant", "content": ANSWER}
        choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        return 200, {**base, "object": "chat.completion", "choices": [choice], "usage": CHAT_USAGE}
    chunk = {**base, "object": "chat.completion.chunk"}
    events = [
        _sse(None, {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
        _sse(None, {**chunk, "choices": [{"index": 0, "delta": {"content": ANSWER}}]}),
        _sse(None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ]
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(_sse(None, {**chunk, "choices": [], "usage": CHAT_USAGE}))
    events.append(_sse(None, "[DONE]"))
    return 200, events


def _responses(body: dict[str, Any]) -> tuple[int, Any]:
    usage = {
        "input_tokens": 1210,
        "input_tokens_details": {"cached_tokens": 1030},
        "output_tokens": 310,
        "output_tokens_details": {"reasoning_tokens": 130},
        "total_tokens": 1520,
    }
    content = [{"type": "output_text", "text": ANSWER, "annotations": []}]
    output = [{"type": "message", "id": "msg_OLFAKE01", "status": "completed", "role": "assistant", "content": content}]
    return 200, {
        "id": "resp_OLFAKE01",
        "object": "response",
        "created_at": 1,
        "status": "completed",
        "model": "o4-mini-2025-04-16",
        "output": output,
        "usage": usage,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "service_tier": "default",
    }


def _embeddings(body: dict[str, Any]) -> tuple[int, Any]:
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = [{"object": "embedding", "index": i, "embedding": [0.125] * 8} for i in range(len(inputs))]
    tokens = 7 * len(inputs)
    return 200, {
        "object": "list",
        "data": data,
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _messages(body: dict[str, Any]) -> tuple[int, Any]:
    message = {
        "id": "msg_OLFAKE01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "stop_reason": "end_turn",
        "stop_sequence": None,
    }
    if not body.get("stream"):
        content = [{"type": "text", "text": ANSWER}]
        return 200, {**message, "content": content, "usage": ANTHROPIC_USAGE}
    start_usage = {**ANTHROPIC_USAGE, "output_tokens": 1}
    events = [
        _sse(
            "message_start",
            {"type": "message_start", "message": {**message, "stop_reason": None, "content": [], "usage": start_usage}},
        ),
        _sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        _sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ANSWER}},
        ),
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": ANTHROPIC_USAGE,
            },
        ),
        _sse("message_stop", {"type": "message_stop"}),
    ]
    return 200, events


ROUTES = {
    "/v1/chat/completions": _chat,
    "/v1/responses": _responses,
    "/v1/embeddings": _embeddings,
    "/v1/messages": _messages,
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("model") == "fake-error-429":
            if self.path == "/v1/messages":
                error: Any = {"type": "error", "error": {"type": "rate_limit_error", "message": "fake"}}
            else:
                error = {"error": {"message": "fake", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
            status, reply = 429, error
        else:
            status, reply = ROUTES[self.path](body)
        if isinstance(reply, list):
            payload = b"".join(reply)
            self.send_response(status)
            self.send_header("Content-Type", "text/event-stream")
        else:
            payload = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main() -> None:
    import anthropic
    import openai
    import openlit
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "openlit-demo"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    openlit.init(
        application_name="openlit-demo",
        environment="test",
        disable_metrics=True,
        pricing_json=str(HERE / "pricing.json"),
    )

    oa = openai.OpenAI(base_url=base + "/v1", api_key="sk-fake", max_retries=0)
    an = anthropic.Anthropic(base_url=base, api_key="sk-ant-fake", max_retries=0)
    chat_args: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "max_tokens": 256,
        "temperature": 0.2,
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
    }
    msg_args: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
    }

    def stream_usage() -> None:
        for _ in oa.chat.completions.create(**chat_args, stream=True, stream_options={"include_usage": True}):
            pass

    def stream_nousage() -> None:
        for _ in oa.chat.completions.create(**chat_args, stream=True):
            pass

    def messages_stream() -> None:
        for _ in an.messages.create(**msg_args, stream=True):
            pass

    scenarios = {
        "openai_chat": lambda: oa.chat.completions.create(**chat_args),
        "openai_chat_assoc": lambda: oa.chat.completions.create(**chat_args, user="user-42"),
        "openai_chat_stream_usage": stream_usage,
        "openai_chat_stream_nousage": stream_nousage,
        "openai_chat_error": lambda: oa.chat.completions.create(**{**chat_args, "model": "fake-error-429"}),
        "openai_embeddings": lambda: oa.embeddings.create(
            model="text-embedding-3-small", input=["hello", "world"], encoding_format="float"
        ),
        "openai_responses": lambda: oa.responses.create(
            model="o4-mini", input="Capital of France?", max_output_tokens=256
        ),
        "anthropic_messages": lambda: an.messages.create(**msg_args),
        "anthropic_messages_stream": messages_stream,
        "anthropic_messages_error": lambda: an.messages.create(**{**msg_args, "model": "fake-error-429"}),
    }
    for name, call in scenarios.items():
        exporter.clear()
        with contextlib.suppress(openai.RateLimitError, anthropic.RateLimitError):
            call()
        spans = exporter.get_finished_spans()
        (HERE / f"{name}.pb").write_bytes(encode_spans(spans).SerializeToString())
        print(name, [(s.name, s.instrumentation_scope.name) for s in spans])
    server.shutdown()


if __name__ == "__main__":
    main()
