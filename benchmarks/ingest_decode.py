"""Micro-benchmark of OTLP ingest decoding and pricing, as ratios against same-run baselines.

Prints spans per CPU-second for 512-span batches, mixed traffic (20 % LLM spans, the rest HTTP/DB
spans) and 100 % LLM spans:
- baseline: ``ExportTraceServiceRequest.FromString`` (parse only)
- ``decode_protobuf`` (find, parse and normalise the LLM spans), and its Python path (no compiled scanner)
- ``decode_json`` on the same batch as OTLP/JSON
- ``decode_protobuf`` + ``link_duplicates`` + ``Pricer.price`` of every call (what the processor does
  before its ledger commit)
then a per-span breakdown of the protobuf path on the 100 % LLM batch (microseconds per span) and the
cost of pricing one call: ``genai_prices.calc_price`` vs the cached ``Pricer.price``.

Run: ``.venv/bin/python benchmarks/ingest_decode.py`` (the machine is noisy: compare ratios).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable

import orjson
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from genai_cost.processor.domain.dedup import link_duplicates
from genai_cost.processor.domain.pricing import Pricer
from genai_cost.processor.ingest import IngestOptions, decode_json, decode_protobuf

BATCH = 512
OPTIONS = IngestOptions(tag_attributes={"team": "team"})


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def _ids(rng: random.Random) -> dict[str, bytes]:
    return {"trace_id": rng.randbytes(16), "span_id": rng.randbytes(8), "parent_span_id": rng.randbytes(8)}


def llm_span(rng: random.Random, i: int) -> Span:
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": f"chatcmpl-{i:029d}",
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.temperature": 0.2,
        "server.address": "api.openai.com",
        "server.port": 443,
        "gen_ai.usage.input_tokens": 1200 + i % 7,
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.cache_read.input_tokens": 1024,
        "gen_ai.usage.reasoning.output_tokens": 128,
        "gen_ai.agent.name": f"agent-{i % 5}",
        "gen_ai.conversation.id": f"conv-{i % 50}",
        "openai.response.service_tier": "default",
        "gen_ai.response.finish_reasons": "stop",
    }
    now = 1_790_000_000_000_000_000 + i * 1_000_000
    return Span(
        name="chat gpt-4o-mini",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=now,
        end_time_unix_nano=now + 900_000_000,
        attributes=[_kv(k, v) for k, v in attrs.items()],
        **_ids(rng),
    )


def other_span(rng: random.Random, i: int) -> Span:
    if i % 2:
        attrs = {
            "http.request.method": "GET",
            "url.full": f"https://shop.example.com/api/items/{i}",
            "http.route": "/api/items/{id}",
            "http.response.status_code": 200,
            "server.address": "shop",
            "server.port": 8080,
            "user_agent.original": "Mozilla/5.0 (X11; Linux x86_64)",
            "network.protocol.version": "1.1",
            "client.address": "10.0.0.12",
        }
        name = "GET /api/items/{id}"
    else:
        attrs = {
            "db.system.name": "postgresql",
            "db.namespace": "shop",
            "db.operation.name": "SELECT",
            "db.query.text": "SELECT id, name, price FROM items WHERE id = $1",
            "server.address": "db",
            "server.port": 5432,
            "db.collection.name": "items",
        }
        name = "SELECT items"
    now = 1_790_000_000_000_000_000 + i * 1_000_000
    return Span(
        name=name,
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=now,
        end_time_unix_nano=now + 5_000_000,
        attributes=[_kv(k, v) for k, v in attrs.items()],
        **_ids(rng),
    )


def batch(llm_share: float, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    spans = [llm_span(rng, i) if rng.random() < llm_share else other_span(rng, i) for i in range(BATCH)]
    resource = Resource(
        attributes=[_kv("service.name", "shop"), _kv("team", "search"), _kv("telemetry.sdk.language", "python")]
    )
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=resource, scope_spans=[ScopeSpans(scope=InstrumentationScope(name="bench"), spans=spans)]
            )
        ]
    )
    return request.SerializeToString()


def to_json(body: bytes) -> bytes:
    request = ExportTraceServiceRequest.FromString(body)
    document = MessageToDict(request)
    for rs_msg, rs in zip(request.resource_spans, document["resourceSpans"], strict=True):
        for ss_msg, ss in zip(rs_msg.scope_spans, rs["scopeSpans"], strict=True):
            for span_msg, span in zip(ss_msg.spans, ss["spans"], strict=True):
                span["traceId"], span["spanId"] = span_msg.trace_id.hex(), span_msg.span_id.hex()
                span["parentSpanId"] = span_msg.parent_span_id.hex()
    return orjson.dumps(document)


def rate(work: Callable[[], object], items: int, seconds: float = 1.0) -> float:
    """Items per CPU-second, repeating ``work`` for about ``seconds`` of CPU time."""
    work()
    rounds = 0
    start = time.process_time()
    while (elapsed := time.process_time() - start) < seconds:
        work()
        rounds += 1
    return rounds * items / elapsed


def _without_compiled_scanner(decode: Callable[[bytes, IngestOptions], object], body: bytes) -> object:
    """``decode(body)`` on the Python path of ``decode_protobuf`` (as without a C compiler)."""
    from genai_cost.processor.ingest import protobuf

    scanner, protobuf._spanscan = protobuf._spanscan, None  # type: ignore[assignment]
    try:
        return decode(body, OPTIONS)
    finally:
        protobuf._spanscan = scanner


def decode_and_price(body: bytes, pricer: Pricer) -> None:
    """Everything the processor does to an export before the ledger commit."""
    price = pricer.price
    for call in link_duplicates(decode_protobuf(body, OPTIONS).calls).unique:
        price(call)


def breakdown(body: bytes) -> list[tuple[str, float]]:
    """Microseconds per span of each step of ``decode_protobuf`` (internal functions, same order)."""
    from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans

    from genai_cost.processor.ingest import normalise, protobuf, wire
    from genai_cost.processor.ingest.attribute_maps import ScopeAttributeMaps

    blocks = wire.walk_request(body)
    found, received = protobuf._find_candidates(body, blocks)
    joined = protobuf._joined(body, found)
    messages, maps = ScopeSpans.FromString(joined).spans, ScopeAttributeMaps.FromString(joined).spans
    wanted = normalise.span_keys(OPTIONS)
    views = protobuf._views(body, found, messages, maps, wanted)
    calls = normalise.build_batch(views, received, OPTIONS).calls
    pricer = Pricer()
    steps: list[tuple[str, Callable[[], object]]] = [
        ("compiled scan to span views (all above)", lambda: protobuf._scanned(body, wanted)),
        ("Python path: wire walk", lambda: wire.walk_request(body)),
        ("Python path: find candidates", lambda: protobuf._find_candidates(body, blocks)),
        (
            "Python path: parse Span + maps",
            lambda: (ScopeSpans.FromString(joined), ScopeAttributeMaps.FromString(joined)),
        ),
        ("Python path: span views", lambda: protobuf._views(body, found, messages, maps, wanted)),
        ("dialects, attribution, LlmCall", lambda: normalise.build_batch(views, received, OPTIONS)),
        ("link_duplicates", lambda: link_duplicates(calls)),
        ("Pricer.price", lambda: [pricer.price(call) for call in calls]),
    ]
    return [(label, 1e6 / rate(work, BATCH, 0.5)) for label, work in steps]


def main() -> None:
    print(f"{BATCH}-span batches, spans per CPU-second (ratio to parse-only baseline)")
    for label, share in (("mixed 20% LLM", 0.2), ("100% LLM", 1.0)):
        body = batch(share)
        json_body = to_json(body)
        n_llm = len(decode_protobuf(body, OPTIONS).calls)
        pricer = Pricer()
        base = rate(lambda body=body: ExportTraceServiceRequest.FromString(body), BATCH)
        proto = rate(lambda body=body: decode_protobuf(body, OPTIONS), BATCH)
        python_path = rate(lambda body=body: _without_compiled_scanner(decode_protobuf, body), BATCH)
        js = rate(lambda json_body=json_body: decode_json(json_body, OPTIONS), BATCH)
        priced = rate(lambda body=body, pricer=pricer: decode_and_price(body, pricer), BATCH)
        print(
            f"  {label:14s} ({n_llm} LLM spans): baseline parse {base:10,.0f}   decode_protobuf {proto:10,.0f} "
            f"({proto / base:.2f})   its Python path {python_path:10,.0f} ({python_path / base:.2f})   "
            f"decode_json {js:9,.0f} ({js / base:.2f})   "
            f"decode+link+price {priced:9,.0f} ({priced / base:.2f})"
        )
    print("100% LLM batch, microseconds per span (the compiled scan replaces the four Python-path steps):")
    for label, micros in breakdown(batch(1.0)):
        print(f"  {label:32s} {micros:6.2f}")

    from genai_prices import Usage, calc_price

    (call,) = decode_protobuf(batch(1.0)[:0] or batch(1.0), OPTIONS).calls[:1]
    at = dt.datetime.fromtimestamp(call.end_time_ns / 1e9, dt.UTC)
    usage = Usage(input_tokens=1200, cache_read_tokens=1024, output_tokens=428)
    library = rate(lambda: calc_price(usage, call.model, provider_id="openai", genai_request_timestamp=at), 1)
    pricer = Pricer()
    cached = rate(lambda: pricer.price(call), 1)
    print(
        f"pricing one call: genai_prices.calc_price {1e6 / library:6.1f} us, cached Pricer.price "
        f"{1e6 / cached:6.1f} us ({library and cached / library:.0f}x faster)"
    )


if __name__ == "__main__":
    main()
