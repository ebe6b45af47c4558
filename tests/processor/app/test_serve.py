"""Acceptance: the real ``genai-cost serve`` process receives spans from the real OTLP exporters
(gRPC and HTTP protobuf) and a raw OTLP/JSON POST, and /metrics shows the exact totals; the same
batch twice counts once; a restart leaves the totals unchanged; a second interrupt forces the exit.

Expected costs are written down from the published per-million-token prices:
gpt-4o-mini $0.15 input / $0.60 output; claude-3-5-haiku $0.80 input / $0.08 cache read / $4 output.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow

READY = re.compile(
    r"genai-cost ready: otlp-grpc 127\.0\.0\.1:(\d+), otlp-http 127\.0\.0\.1:(\d+), http 127\.0\.0\.1:(\d+)"
)


class Serve:
    """A ``genai-cost serve`` subprocess on free ports."""

    def __init__(self, tmp_path: Path) -> None:
        env = {
            **os.environ,
            "HOME": str(tmp_path / "home"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "GENAI_COST_LEDGER_PATH": str(tmp_path / "ledger.sqlite3"),
        }
        env.pop("GENAI_COST_CONFIG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "genai_cost.processor.cli", "serve",
             "--otlp-grpc-port", "0", "--otlp-http-port", "0", "--http-port", "0", "--log-level", "warning"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = READY.search(line)
        if match is None:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            pytest.fail(f"serve did not start: {line!r}\n{err}")
        self.grpc, self.otlp_http, self.http = (int(g) for g in match.groups())

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        text = httpx.get(f"http://127.0.0.1:{self.http}/metrics", timeout=10).text
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        return code


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    server = Serve(tmp_path)
    yield server
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait(10)


def _spans(attributes: dict[str, object], service: str = "checkout") -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(f"chat {attributes['gen_ai.request.model']}", kind=SpanKind.CLIENT) as span:
        span.set_attributes(attributes)  # type: ignore[arg-type]
    provider.shutdown()
    return list(memory.get_finished_spans())


def _key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (name, frozenset(labels.items()))


OPENAI = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.response.id": "chatcmpl-serve-1",
    "gen_ai.usage.input_tokens": 1000,
    "gen_ai.usage.output_tokens": 200,
    "gen_ai.agent.name": "planner",
}
ANTHROPIC = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": "claude-3-5-haiku-latest",
    "gen_ai.response.model": "claude-3-5-haiku-latest",
    "gen_ai.response.id": "msg_serve_1",
    "gen_ai.usage.input_tokens": 1200,  # semconv: includes the 200 cached tokens
    "gen_ai.usage.cache_read.input_tokens": 200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.agent.name": "writer 写作",
}
JSON_EXPORT = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-app"}}]},
            "scopeSpans": [
                {
                    "scope": {"name": "raw"},
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "name": "chat gpt-4o-mini",
                            "kind": 3,
                            "startTimeUnixNano": "1750000000000000000",
                            "endTimeUnixNano": "1750000001000000000",
                            "attributes": [
                                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                                {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
                                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                                {"key": "gen_ai.response.id", "value": {"stringValue": "chatcmpl-json-1"}},
                                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "500"}},
                                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 50}},
                            ],
                        }
                    ],
                }
            ],
        }
    ]
}


def test_real_exporters_deliver_exact_totals_counted_once_and_kept_across_restart(serve: Serve, tmp_path: Path) -> None:
    openai_spans = _spans(OPENAI)
    grpc_exporter = GrpcExporter(endpoint=f"127.0.0.1:{serve.grpc}", insecure=True)
    assert grpc_exporter.export(openai_spans) is SpanExportResult.SUCCESS
    http_exporter = HttpExporter(endpoint=f"http://127.0.0.1:{serve.otlp_http}/v1/traces")
    assert http_exporter.export(_spans(ANTHROPIC, service="writer-svc")) is SpanExportResult.SUCCESS
    response = httpx.post(
        f"http://127.0.0.1:{serve.otlp_http}/v1/traces",
        content=orjson.dumps(JSON_EXPORT),
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.content) == (200, b"{}")
    # The exporter retries the same batch: counted once.
    assert grpc_exporter.export(openai_spans) is SpanExportResult.SUCCESS
    grpc_exporter.shutdown()
    http_exporter.shutdown()

    m = serve.metrics()
    planner = {"agent": "planner", "provider": "openai", "model": "gpt-4o-mini-2024-07-18", "operation": "chat"}
    writer = {"agent": "writer 写作", "provider": "anthropic", "model": "claude-3-5-haiku-latest", "operation": "chat"}
    raw = {"agent": "json-app", "provider": "openai", "model": "gpt-4o-mini", "operation": "chat"}
    expected = {
        _key("genai_cost_usd_total", **planner, token_type="input"): 0.00015,
        _key("genai_cost_usd_total", **planner, token_type="output"): 0.00012,
        _key("genai_tokens_total", **planner, token_type="input"): 1000,
        _key("genai_tokens_total", **planner, token_type="output"): 200,
        _key("genai_requests_total", **planner, outcome="ok"): 1,
        _key("genai_cost_usd_total", **writer, token_type="input"): 0.0008,
        _key("genai_cost_usd_total", **writer, token_type="cache_read"): 0.000016,
        _key("genai_cost_usd_total", **writer, token_type="output"): 0.0012,
        _key("genai_tokens_total", **writer, token_type="input"): 1000,
        _key("genai_tokens_total", **writer, token_type="cache_read"): 200,
        _key("genai_requests_total", **writer, outcome="ok"): 1,
        _key("genai_cost_usd_total", **raw, token_type="input"): 0.000075,
        _key("genai_cost_usd_total", **raw, token_type="output"): 0.00003,
        _key("genai_requests_total", **raw, outcome="ok"): 1,
        _key("genai_processor_spans_received_total", transport="grpc"): 2,
        _key("genai_processor_spans_received_total", transport="http_protobuf"): 1,
        _key("genai_processor_spans_received_total", transport="http_json"): 1,
        _key("genai_processor_duplicate_calls_total", kind="span_replay"): 1,
    }
    assert {k: m.get(k) for k in expected} == expected
    totals = {
        k: v for k, v in m.items() if k[0] in ("genai_cost_usd_total", "genai_tokens_total", "genai_requests_total")
    }
    assert sum(v for k, v in totals.items() if k[0] == "genai_requests_total") == 3

    assert serve.stop() == 0
    restarted = Serve(tmp_path)
    try:
        after = restarted.metrics()
        assert {k: v for k, v in after.items() if k in totals} == totals
    finally:
        assert restarted.stop() == 0


def test_a_second_interrupt_exits_at_once_and_nothing_unacknowledged_is_recorded(serve: Serve, tmp_path: Path) -> None:
    # Another connection holds the ledger's write lock, so the export's commit waits (busy timeout 5 s).
    blocker = sqlite3.connect(tmp_path / "ledger.sqlite3", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    answers: list[object] = []

    def post() -> None:
        try:
            answers.append(
                httpx.post(
                    f"http://127.0.0.1:{serve.otlp_http}/v1/traces",
                    content=orjson.dumps(JSON_EXPORT),
                    headers={"Content-Type": "application/json"},
                    timeout=30,
                ).status_code
            )
        except httpx.HTTPError as exc:
            answers.append(exc)

    exporter = threading.Thread(target=post)
    exporter.start()
    received = _key("genai_processor_spans_received_total", transport="http_json")
    deadline = time.monotonic() + 5
    while serve.metrics().get(received, 0) < 1:  # decoded: its commit is now waiting for the lock
        assert time.monotonic() < deadline, "the export never arrived"
        time.sleep(0.02)
    serve.proc.send_signal(signal.SIGINT)  # graceful: waits for the in-flight commit
    time.sleep(0.3)
    assert serve.proc.poll() is None, "the first interrupt must drain, not exit"
    interrupted = time.monotonic()
    serve.proc.send_signal(signal.SIGINT)
    assert serve.proc.wait(3) == 130
    assert time.monotonic() - interrupted < 3  # long before the lock would have been given up
    assert serve.proc.stderr is not None
    assert "second interrupt, exiting without draining" in serve.proc.stderr.read()
    exporter.join(10)
    assert answers and not isinstance(answers[0], int), answers  # never acknowledged
    blocker.execute("ROLLBACK")
    assert blocker.execute("SELECT COUNT(*) FROM calls").fetchone() == (0,)
    blocker.close()
