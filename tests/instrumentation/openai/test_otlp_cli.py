"""End to end: an app under the real ``opentelemetry-instrument`` CLI exports our spans over OTLP/HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

APP = textwrap.dedent(
    """
    import openai

    client = openai.OpenAI(base_url={base_url!r}, api_key="sk-test", max_retries=0)
    messages = [{{"role": "user", "content": "hi"}}]
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True))
    print(reply.usage.prompt_tokens, len(chunks), chunks[-1].usage)
    """
)


class Receiver(ThreadingHTTPServer):
    """A tiny OTLP/HTTP traces receiver: decodes each ExportTraceServiceRequest into plain spans."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[dict[str, Any]] = []
        self.received = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.server.spans.append(
                        {
                            "name": span.name,
                            "kind": span.kind,
                            "scope": scope_spans.scope.name,
                            "service": resource.get("service.name"),
                            "attributes": {kv.key: _value(kv.value) for kv in span.attributes},
                        }
                    )
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
        self.server.received.set()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(v) for v in value.array_value.values)
    return getattr(value, kind)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _cli() -> str:
    path = Path(sys.executable).with_name("opentelemetry-instrument")
    found = str(path) if path.exists() else shutil.which("opentelemetry-instrument")
    if found is None:
        message = "opentelemetry-instrument not found (pip install opentelemetry-distro)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.mark.slow
def test_spans_arrive_over_otlp_with_tokens(fake_llm: Any, receiver: Receiver, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP.format(base_url=fake_llm.openai_base_url))
    env = {
        **os.environ,
        "OTEL_SERVICE_NAME": "cli-app",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}/v1/traces",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "genai_cost_anthropic,openai_v2",
        "GENAI_COST_OPENAI_INCLUDE_USAGE": "true",
    }
    env.pop("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", None)
    done = subprocess.run(
        [_cli(), sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1200", "7", "None"]  # the caller saw no usage chunk
    assert receiver.received.wait(10)
    ours = [s for s in receiver.spans if s["scope"] == "genai_cost.instrumentation.openai"]
    assert [(s["name"], s["kind"], s["service"]) for s in ours] == [("chat gpt-4o-mini", 3, "cli-app")] * 2
    for span, stream in zip(ours, (False, True), strict=True):
        attrs = span["attributes"]
        assert attrs["gen_ai.request.stream"] is stream
        assert {k: attrs[k] for k in attrs if k.startswith("gen_ai.usage.")} == {
            "gen_ai.usage.input_tokens": 1200,
            "gen_ai.usage.cache_read.input_tokens": 1024,
            "gen_ai.usage.output_tokens": 300,
            "gen_ai.usage.reasoning.output_tokens": 128,
        }
        assert (attrs["gen_ai.provider.name"], attrs["server.port"]) == ("openai", fake_llm.port)
