"""The app lifecycle: readiness, /metrics from the totals, restart resume, extension hooks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from genai_cost.processor.adapters.http_server import Request, Response
from genai_cost.processor.app import App, AppContext
from genai_cost.processor.config import Config
from genai_cost.processor.domain.records import PricedCall, TokenUsage

PB = {"Content-Type": "application/x-protobuf"}
LABELS = {"agent": "planner", "provider": "openai", "model": "gpt-4o-mini-2024-07-18", "operation": "chat"}


def _config(tmp_path: Path, **values: Any) -> Config:
    base = {
        "otlp.grpc.port": 0,
        "otlp.http.port": 0,
        "http.port": 0,
        "ledger.path": tmp_path / "ledger.sqlite3",
        "ledger.synchronous": "normal",
        "pipeline.shutdown_grace_seconds": 2.0,
    }
    return Config.from_values({**base, **values})


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def decoder(calls: Any) -> Any:
    return calls.TableDecoder()


def _app(tmp_path: Path, calls: Any, decoder: Any, extensions: Sequence[Any] = ()) -> App:
    return App(
        _config(tmp_path),
        registry=CollectorRegistry(),
        extensions=list(extensions),
        pricer=calls.TablePricer(),
        decoders=decoder.decoders(),
        ingest_options=object(),
    )


@pytest.fixture
def running(tmp_path: Path, calls: Any, decoder: Any) -> Iterator[App]:
    app = _app(tmp_path, calls, decoder)
    app.start()
    yield app
    app.stop()


def test_health_readiness_and_exact_metrics_after_an_export(running: App, calls: Any, decoder: Any) -> None:
    decoder.batches[b"b"] = calls.FakeBatch(4, [calls.call(usage=TokenUsage(input=1000, output=100))])
    base = f"http://127.0.0.1:{running.http_port}"
    assert httpx.get(f"{base}/healthz").text == "ok\n"
    ready = httpx.get(f"{base}/readyz")
    assert (ready.status_code, ready.text) == (200, "ready\n")
    answer = httpx.post(f"http://127.0.0.1:{running.otlp_http_port}/v1/traces", content=b"b", headers=PB)
    assert answer.status_code == 200
    metrics = httpx.get(f"{base}/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _samples(metrics.text)
    assert samples[("genai_cost_usd_total", frozenset({**LABELS, "token_type": "input"}.items()))] == 0.00015
    assert samples[("genai_cost_usd_total", frozenset({**LABELS, "token_type": "output"}.items()))] == 0.00006
    assert samples[("genai_tokens_total", frozenset({**LABELS, "token_type": "input"}.items()))] == 1000
    assert samples[("genai_requests_total", frozenset({**LABELS, "outcome": "ok"}.items()))] == 1
    assert samples[("genai_processor_spans_received_total", frozenset({"transport": "http_protobuf"}.items()))] == 4
    assert samples[("genai_processor_queue_depth", frozenset())] == 0


def test_the_ledger_gets_the_configured_response_window(tmp_path: Path, calls: Any, decoder: Any) -> None:
    app = App(
        _config(tmp_path, **{"ledger.response_window_calls": 1234}),
        registry=CollectorRegistry(),
        extensions=[],
        pricer=calls.TablePricer(),
        decoders=decoder.decoders(),
        ingest_options=object(),
    )
    app.start()
    try:
        assert app.ledger is not None
        assert app.ledger.response_window == 1234  # type: ignore[attr-defined]
    finally:
        app.stop()


def test_totals_resume_after_a_restart(tmp_path: Path, calls: Any, decoder: Any) -> None:
    decoder.batches[b"b"] = calls.FakeBatch(
        2,
        [
            calls.call(usage=TokenUsage(input=3, output=1)),
            calls.call(response_model="no-price-model", usage=TokenUsage(input=9)),
        ],
    )
    first = _app(tmp_path, calls, decoder)
    first.start()
    try:
        assert httpx.post(f"http://127.0.0.1:{first.otlp_http_port}/v1/traces", content=b"b", headers=PB).is_success
        before = _samples(httpx.get(f"http://127.0.0.1:{first.http_port}/metrics").text)
    finally:
        first.stop()
    second = _app(tmp_path, calls, decoder)
    second.start()
    try:
        after = _samples(httpx.get(f"http://127.0.0.1:{second.http_port}/metrics").text)
        # The same batch again after the restart is still recognised as already recorded.
        assert httpx.post(f"http://127.0.0.1:{second.otlp_http_port}/v1/traces", content=b"b", headers=PB).is_success
        again = _samples(httpx.get(f"http://127.0.0.1:{second.http_port}/metrics").text)
    finally:
        second.stop()

    def totals(samples: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> dict[Any, float]:
        return {k: v for k, v in samples.items() if k[0].startswith("genai_") and "processor" not in k[0]}

    assert totals(after) == totals(before) == totals(again)
    unpriced = frozenset({"provider": "openai", "model": "no-price-model"}.items())
    assert totals(after)[("genai_unpriced_requests_total", unpriced)] == 1
    assert totals(after)[("genai_tokens_total", frozenset({**LABELS, "token_type": "input"}.items()))] == 3


def test_extensions_get_listener_route_collector_hooks_before_ready(tmp_path: Path, calls: Any, decoder: Any) -> None:
    committed: list[PricedCall] = []
    ready_during_setup: list[bool] = []
    app_holder: list[App] = []

    def setup(ctx: AppContext) -> None:
        ready_during_setup.append(app_holder[0].ready.is_set())
        ctx.pipeline.add_commit_listener(committed.extend)
        ctx.routes.add("GET", "/api/v1/hello", lambda r: Response.text(200, f"hello {r.query['name'][0]}"))

        class One:
            def collect(self) -> Iterator[GaugeMetricFamily]:
                yield GaugeMetricFamily("genai_budget_limit_usd", "limit", value=12.5)

        ctx.registry.register(One())  # type: ignore[arg-type]
        ctx.on_stop(lambda: committed.append("stopped"))  # type: ignore[arg-type]

    app = _app(tmp_path, calls, decoder, [("test.extension", setup)])
    app_holder.append(app)
    c = calls.call()
    decoder.batches[b"b"] = calls.FakeBatch(1, [c])
    app.start()
    try:
        assert ready_during_setup == [False]
        assert httpx.get(f"http://127.0.0.1:{app.http_port}/api/v1/hello?name=x").text == "hello x\n"
        assert "genai_budget_limit_usd 12.5" in httpx.get(f"http://127.0.0.1:{app.http_port}/metrics").text
        assert httpx.post(f"http://127.0.0.1:{app.otlp_http_port}/v1/traces", content=b"b", headers=PB).is_success
        assert [p.call for p in committed] == [c]
    finally:
        app.stop()
    assert committed[-1] == "stopped"


def test_a_failing_extension_stops_the_start_up_and_releases_everything(
    tmp_path: Path, calls: Any, decoder: Any
) -> None:
    def broken(ctx: AppContext) -> None:
        raise ValueError("budgets[0].period: 'fortnight' is not one of day, week, month, total")

    app = _app(tmp_path, calls, decoder, [("genai_cost.processor.extensions.budgets", broken)])
    with pytest.raises(RuntimeError) as info:
        app.start()
    assert str(info.value) == (
        "extension genai_cost.processor.extensions.budgets failed to start: "
        "budgets[0].period: 'fortnight' is not one of day, week, month, total"
    )
    assert app.otlp_http_port is None and app.grpc_port is None
    # The ledger was closed and can be opened again right away.
    again = _app(tmp_path, calls, decoder)
    again.start()
    again.stop()


def test_route_handler_errors_answer_500(running: App) -> None:
    def boom(request: Request) -> Response:
        raise RuntimeError("bug")

    running.routes.add("GET", "/boom", boom)
    response = httpx.get(f"http://127.0.0.1:{running.http_port}/boom")
    assert (response.status_code, response.text) == (500, "internal error\n")
    assert httpx.get(f"http://127.0.0.1:{running.http_port}/healthz").status_code == 200


def test_a_busy_port_is_an_error_naming_the_setting(tmp_path: Path, calls: Any, decoder: Any) -> None:
    import socket

    from genai_cost.processor.config import ConfigError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        app = App(
            Config.from_values(
                {"http.port": port, "otlp.grpc.port": 0, "otlp.http.port": 0, "ledger.path": tmp_path / "l.sqlite3"}
            ),
            registry=CollectorRegistry(),
            extensions=[],
            pricer=calls.TablePricer(),
            decoders=decoder.decoders(),
            ingest_options=object(),
        )
        with pytest.raises(
            ConfigError, match=rf"^http\.port: cannot listen on 127\.0\.0\.1:{port}: Address already in use$"
        ):
            app.start()


def test_tune_gc_freezes_the_start_up_objects_and_raises_the_young_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from genai_cost.processor import app as app_module

    done: list[object] = []
    monkeypatch.setattr(gc, "collect", lambda: done.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: done.append("freeze"))
    monkeypatch.setattr(gc, "get_threshold", lambda: (700, 11, 12))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: done.append(t))
    app_module.tune_gc()
    assert done == ["collect", "freeze", (20_000, 11, 12)]
