"""The compiled scanner (``ingest/_spanscan.c``) gives exactly the Python path's batch or error.

Every payload is decoded twice, with the scanner and with ``protobuf._spanscan`` set to None, and
the two outcomes (a DecodedBatch, or an OtlpDecodeError's message) must be equal: for the recorded
corpus, for requests built here, and for thousands of damaged copies of them. Payloads the scanner
leaves to the Python path (None) are named, so a scanner that gave up on everything would fail too.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from otlp_values import otlp_value
from required import compiled, missing

from genai_cost.processor.ingest import IngestOptions, OtlpDecodeError, decode_protobuf, protobuf
from genai_cost.processor.ingest.attribute_maps import value_of
from genai_cost.processor.ingest.dialects import base
from genai_cost.processor.ingest.model import SpanView, recorded_order
from genai_cost.processor.ingest.normalise import span_keys
from genai_cost.processor.ingest.values import MAX_TOKENS_PER_CALL, InvalidSpan

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT.parent / "shared" / "corpus"
OPENLIT = Path(__file__).resolve().parent / "data" / "openlit"
TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
OPTIONS = IngestOptions(tag_attributes={"team": "team", "service.name": "svc"})
LLM = [
    ("gen_ai.operation.name", "chat"),
    ("gen_ai.provider.name", "openai"),
    ("gen_ai.request.model", "gpt-4o-mini"),
    ("gen_ai.usage.input_tokens", 120),
    ("gen_ai.usage.output_tokens", 30),
    ("gen_ai.usage.cache_read.input_tokens", 20),
    ("gen_ai.agent.name", "planner"),
    ("team", "search"),
]


def scanner() -> Any:
    """The compiled module (required in CI)."""
    return compiled(protobuf._spanscan, "genai_cost.processor.ingest._spanscan")


def scan(body: bytes) -> Any:
    """The scanner's own answer: (received, views), or None when it leaves the payload to Python."""
    block_info = lambda *at: ("scope", "version", at)  # noqa: E731
    return scanner().scan(body, protobuf.MARKERS, span_keys(OPTIONS), value_of, block_info, _raw_view)


def _raw_view(*fields: Any) -> tuple[Any, ...]:
    return fields


def outcome(body: bytes) -> Any:
    try:
        return decode_protobuf(body, OPTIONS)
    except OtlpDecodeError as error:
        return f"OtlpDecodeError: {error}"


def both(body: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """(outcome with the scanner, outcome of the Python path)."""
    scanner()
    compiled = outcome(body)
    with monkeypatch.context() as patch:
        patch.setattr(protobuf, "_spanscan", None)
        python = outcome(body)
    return compiled, python


def span(n: int, attrs: list[tuple[str, Any]], parent: int = 0, **fields: Any) -> Span:
    return Span(
        trace_id=TRACE,
        span_id=n.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent else b"",
        name="chat gpt-4o-mini",
        start_time_unix_nano=1_750_000_000_000_000_000 + n,
        end_time_unix_nano=1_750_000_000_500_000_000 + n,
        attributes=[KeyValue(key=k, value=otlp_value(v)) for k, v in attrs],
        **fields,
    )


def request(*spans: Span, scope: str = "app", service: str = "svc-a") -> bytes:
    resource_spans = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
    resource_spans.resource.attributes.add(key="service.name", value=AnyValue(string_value=service))
    resource_spans.scope_spans[0].scope.name = scope
    resource_spans.scope_spans[0].scope.version = "1.2.3"
    return ExportTraceServiceRequest(resource_spans=[resource_spans]).SerializeToString()


def mixed_request() -> bytes:
    """LLM spans among HTTP spans, an error span, a parent agent span, arrays, events and links."""
    spans = [
        span(1, [("gen_ai.operation.name", "invoke_agent"), ("gen_ai.agent.name", "planner")]),
        span(2, [("http.request.method", "GET"), ("url.full", "https://x/y")], parent=1),
        span(
            3,
            [*LLM[:6], ("gen_ai.response.finish_reasons", AnyValue(array_value=ArrayValue(values=[otlp_value("s")])))],
            1,
        ),
        span(4, [*LLM, ("gen_ai.request.temperature", 0.5), ("gen_ai.response.id", "chatcmpl-1")], parent=1),
        span(5, [*LLM, ("error.type", "rate_limit_exceeded")], status=Status(code=Status.STATUS_CODE_ERROR)),
        span(6, [("db.system.name", "postgresql"), ("db.query.text", "SELECT 1")]),
        span(
            7,
            [*LLM, ("blob", b"\x00\xff"), ("kv", AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="a")])))],
            events=[
                Span.Event(name="gen_ai.choice", time_unix_nano=5, attributes=[KeyValue(key="i", value=otlp_value(1))])
            ],
            links=[Span.Link(trace_id=TRACE, span_id=b"\x01" * 8, trace_state="a=b")],
        ),
        span(8, [("llm.model_name", "gpt-4o"), ("openinference.span.kind", "LLM"), ("llm.token_count.prompt", 9)]),
    ]
    return request(*spans)


def corpus_payloads() -> list[tuple[str, bytes]]:
    if not CORPUS.is_dir():
        missing(f"recorded corpus not found at {CORPUS}")
    files = sorted(p for p in CORPUS.glob("*/*.pb") if not p.name.endswith(".metrics.pb"))
    files += sorted(OPENLIT.glob("*.pb"))
    return [(f"{path.parent.name}/{path.stem}", path.read_bytes()) for path in files]


def test_scanner_is_built_in_ci() -> None:
    assert scanner().scan is not None


def test_corpus_and_built_requests_are_scanned_and_decode_as_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    payloads = [*corpus_payloads(), ("mixed", mixed_request())]
    assert len(payloads) > 50
    for name, body in payloads:
        assert scan(body) is not None, f"{name}: left to the Python path"
        compiled, python = both(body, monkeypatch)
        assert compiled == python, name
    compiled, _ = both(mixed_request(), monkeypatch)
    assert [call.span_id[-1] for call in compiled.calls] == ["3", "4", "5", "7", "8"]
    assert [r.reason for r in compiled.rejected] == []
    assert compiled.spans_received == 8


def test_views_hold_the_wanted_attributes_in_recorded_order() -> None:
    attrs = [("team", "x"), ("gen_ai.usage.output_tokens", 3), ("other", 1), ("gen_ai.request.model", "m")]
    attrs += [("team", "y"), ("gen_ai.usage.input_tokens", -4), ("gen_ai.provider.name", "openai")]
    body = request(span(1, attrs, parent=9), span(2, [("url.full", "u")]))
    received, views = scan(body)
    assert received == 2 and len(views) == 1
    trace, span_id, parent, start, end, status, found, *block = views[0]
    assert (trace, span_id, parent, status) == (TRACE.hex(), "0000000000000001", "0000000000000009", 0)
    assert (start, end) == (1_750_000_000_000_000_001, 1_750_000_000_500_000_001)
    message = ExportTraceServiceRequest.FromString(body).resource_spans[0].scope_spans[0].spans[0]
    wanted = span_keys(OPTIONS)
    reference = SpanView("", "", None, 0, 0, 0, {}, "", "", {}, message=message)
    assert list(found) == [key for key in recorded_order(reference) if key in wanted]
    assert found == {
        "team": "y",
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.request.model": "m",
        "gen_ai.usage.input_tokens": -4,
        "gen_ai.provider.name": "openai",
    }
    name, version, (resource_start, resource_end, scope_start, scope_end) = block
    assert (name, version) == ("scope", "version")
    assert body[resource_start - 2 : resource_start] == b"\x0a" + bytes([resource_end - resource_start])
    assert (
        body[scope_start:scope_end]
        == ExportTraceServiceRequest.FromString(body).resource_spans[0].scope_spans[0].scope.SerializeToString()
    )


def _tag(number: int, wire_type: int) -> bytes:
    return bytes([number << 3 | wire_type])


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes([*out, n])


def _len(number: int, payload: bytes) -> bytes:
    return _tag(number, 2) + _varint(len(payload)) + payload


def _with_span_bytes(extra: bytes, attrs: list[tuple[str, Any]] | None = None) -> bytes:
    """A request with one LLM span whose serialized bytes end with ``extra``."""
    raw = span(1, attrs or LLM).SerializeToString() + extra
    scope_spans = _len(1, _len(1, b"app")) + _len(2, raw)
    resource_spans = _len(2, scope_spans)
    return _len(1, resource_spans)


LEFT_TO_PYTHON = {
    "invalid utf-8 in the span name": _with_span_bytes(_len(5, b"\xff\xfe")),
    "surrogate in trace_state": _with_span_bytes(_len(3, b"\xed\xa0\x80")),
    "overlong utf-8 in a key": _with_span_bytes(_len(9, _len(1, b"\xc0\xaf"))),
    "status twice": _with_span_bytes(_len(15, b"\x18\x02") + _len(15, b"\x18\x01")),
    "a group": _with_span_bytes(_tag(20, 3) + _tag(20, 4)),
    "start time as a varint": _with_span_bytes(_tag(7, 0) + b"\x05"),
    "two members in one AnyValue": _with_span_bytes(_len(9, _len(1, b"k") + _len(2, b"\x18\x01\x10\x01"))),
    "a key given twice in one KeyValue": _with_span_bytes(_len(9, _len(1, b"k") + _len(1, b"j"))),
    "trace id of 15 bytes": _with_span_bytes(_len(1, b"\x01" * 15)),
    "parent id of 4 bytes": _with_span_bytes(_len(4, b"\x01" * 4)),
    "status code beyond int32": _with_span_bytes(_len(15, b"\x18\xff\xff\xff\xff\x0f")),
    "truncated": request(span(1, LLM))[:-3],
    "unknown request field": request(span(1, LLM)) + _tag(2, 0) + b"\x01",
}


@pytest.mark.parametrize("name", list(LEFT_TO_PYTHON))
def test_unusual_payloads_are_left_to_the_python_path(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body = LEFT_TO_PYTHON[name]
    assert scan(body) is None
    compiled, python = both(body, monkeypatch)
    assert compiled == python


def test_what_protobuf_accepts_the_scanner_accepts_too(monkeypatch: pytest.MonkeyPatch) -> None:
    accepted = {
        "unknown span field": _with_span_bytes(_varint(99 << 3) + b"\x01"),
        "bad utf-8 in a span without markers": request(
            span(1, LLM), Span(trace_id=TRACE, span_id=b"\x02" * 8, name="z")
        ),
        "trace id repeated, the last one counts": _with_span_bytes(_len(1, b"\x02" * 16)),
    }
    bad = bytearray(accepted["bad utf-8 in a span without markers"])
    bad[-1:] = b"\xff"  # the name of the span without markers: the Python path does not read it either
    accepted["bad utf-8 in a span without markers"] = bytes(bad)
    for name, body in accepted.items():
        assert scan(body) is not None, name
        compiled, python = both(body, monkeypatch)
        assert compiled == python, name
    _, views = scan(accepted["trace id repeated, the last one counts"])
    assert views[0][0] == "02" * 16


def _damaged(body: bytes, rng: random.Random) -> bytes:
    buf = bytearray(body)
    kind = rng.randrange(5)
    at = rng.randrange(len(buf))
    if kind == 0:
        buf[at] = rng.randrange(256)
    elif kind == 1:
        buf[at] ^= 1 << rng.randrange(8)
    elif kind == 2:
        del buf[at:]
    elif kind == 3:
        buf.insert(at, rng.randrange(256))
    else:
        del buf[at : at + rng.randrange(1, 8)]
    return bytes(buf)


def test_damaged_payloads_decode_or_fail_exactly_as_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20261122)
    bodies = [body for _, body in corpus_payloads()] + [mixed_request()]
    scanned = 0
    for body in bodies:
        for _ in range(60):
            damaged = _damaged(body, rng)
            compiled, python = both(damaged, monkeypatch)
            assert compiled == python, damaged.hex()
            scanned += scan(damaged) is not None
    assert scanned > len(bodies) * 10  # most damage leaves the structure valid: the scanner decides those


def _reading_or_error(attrs: dict[str, Any], compiled: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as patch:
        if not compiled:
            patch.setattr(base, "_pick", None)
        try:
            return base.read_semconv(attrs, "semconv")
        except InvalidSpan as error:
            return ("InvalidSpan", error.reason, error.message)


def test_pick_reads_the_semconv_fields_exactly_as_the_python_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    pick = scanner().pick
    plan = base._SEMCONV_PLAN
    keys = sorted({key for keys, _ in plan for key in keys})
    kinds = {key: int if kind == 0 else str for keys, kind in plan for key in keys}
    values: list[Any] = [
        None, "", "chat", "Chat", "text_completion", "invoke_agent", "openai", "gpt-4o", "é模型",
        0, 1, 512, MAX_TOKENS_PER_CALL, MAX_TOKENS_PER_CALL + 1, -1, 2**70, True, False, 3.0, 2.5, [1], b"x",
    ]  # fmt: skip
    rng = random.Random(11)
    picked = 0
    for _ in range(4000):
        attrs = {key: rng.choice(values) for key in rng.sample(keys, rng.randint(0, len(keys)))}
        if rng.random() < 0.5:  # plain values only: the case the compiled reader answers
            attrs = {k: v for k, v in attrs.items() if type(v) is kinds[k] and (type(v) is str or 0 <= v < 2**20)}
        expected = _reading_or_error(attrs, False, monkeypatch)
        assert _reading_or_error(attrs, True, monkeypatch) == expected, attrs
        if pick(attrs, plan, MAX_TOKENS_PER_CALL) is not None:
            picked += 1
    assert picked > 1500


def test_several_resources_and_scopes_and_fields_in_any_order(monkeypatch: pytest.MonkeyPatch) -> None:
    def scope_spans(scope: str, *spans: Span, scope_last: bool = False) -> bytes:
        scope_field = _len(1, _len(1, scope.encode()))
        span_fields = b"".join(_len(2, s.SerializeToString()) for s in spans)
        return span_fields + scope_field if scope_last else scope_field + span_fields

    def resource(service: str) -> bytes:
        return _len(1, _len(1, _len(1, b"service.name") + _len(2, _len(1, service.encode()))))

    first = _len(2, scope_spans("a", span(1, LLM), span(2, [("url.full", "u")])))
    first += _len(2, scope_spans("b", span(3, LLM), scope_last=True))  # the scope after its spans
    second = _len(2, scope_spans("", span(4, [("gen_ai.agent.name", "x")])))
    body = _len(1, resource("svc-1") + first) + _len(1, resource("svc-2") + second) + _len(1, first)
    received, views = scan(body)
    assert received == 7
    assert [(v[1][-1], v[7], v[9][0]) for v in views] == [  # span, scope name, resource start
        ("1", "scope", views[0][9][0]),
        ("3", "scope", views[0][9][0]),
        ("4", "scope", views[2][9][0]),
        ("1", "scope", -1),  # the third ResourceSpans has no resource
        ("3", "scope", -1),
    ]
    compiled, python = both(body, monkeypatch)
    assert compiled == python
    assert [(c.span_id[-1], c.service) for c in compiled.calls] == [
        ("1", "svc-1"), ("3", "svc-1"), ("1", "unknown_service"), ("3", "unknown_service"),
    ]  # fmt: skip
    resource_last = _len(1, first + resource("svc-1"))  # the resource after spans were read
    assert scan(resource_last) is None
    compiled, python = both(resource_last, monkeypatch)
    assert compiled == python and {c.service for c in compiled.calls} == {"svc-1"}


def _random_value(rng: random.Random, depth: int = 0) -> AnyValue:
    kind = rng.randrange(9 if depth < 3 else 7)
    if kind == 0:
        return AnyValue(string_value=rng.choice(["", "chat", "gpt-4o", "openai", "anthropic", "é", "x" * 70]))
    if kind == 1:
        return AnyValue(int_value=rng.choice([0, 1, 7, 4096, -3, 2**40, -(2**63), 2**63 - 1]))
    if kind == 2:
        return AnyValue(double_value=rng.choice([0.0, 2.0, 2.5, -1.0, float("inf")]))
    if kind == 3:
        return AnyValue(bool_value=rng.random() < 0.5)
    if kind == 4:
        return AnyValue(bytes_value=rng.randbytes(rng.randrange(4)))
    if kind in (5, 6):
        return AnyValue()  # empty
    if kind == 7:
        return AnyValue(array_value=ArrayValue(values=[_random_value(rng, depth + 1) for _ in range(rng.randrange(3))]))
    pairs = [KeyValue(key=rng.choice(["a", "b"]), value=_random_value(rng, depth + 1)) for _ in range(rng.randrange(3))]
    return AnyValue(kvlist_value=KeyValueList(values=pairs))


def _random_request(rng: random.Random, keys: list[str]) -> bytes:
    request = ExportTraceServiceRequest()
    for _ in range(rng.randrange(1, 3)):
        resource_spans = request.resource_spans.add()
        if rng.random() < 0.8:
            resource_spans.resource.attributes.add(key="service.name", value=AnyValue(string_value="svc"))
        for _ in range(rng.randrange(1, 3)):
            scope_spans = resource_spans.scope_spans.add()
            if rng.random() < 0.8:
                scope_spans.scope.name = rng.choice(
                    ["app", "openlit.otel", "com.anthropic.sdk.python", "opentelemetry.instrumentation.anthropic"]
                )
                scope_spans.scope.version = rng.choice(["", "0.40.0", "0.33.9"])
            for _ in range(rng.randrange(1, 6)):
                attrs = [KeyValue(key=rng.choice(keys), value=_random_value(rng)) for _ in range(rng.randrange(1, 12))]
                s = span(rng.randrange(1, 6), [], parent=rng.choice([0, 0, 1, 2]))
                s.attributes.extend(attrs)
                s.status.code = rng.choice([0, 1, 2])
                if rng.random() < 0.2:
                    s.events.add(name="gen_ai.choice", attributes=[KeyValue(key="k", value=_random_value(rng))])
                scope_spans.spans.append(s)
    return request.SerializeToString()


def test_random_requests_decode_as_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid requests with values of every type under the keys the readers look at (and others)."""
    rng = random.Random(5)
    keys = [*sorted(span_keys(OPTIONS)), "other", "gen_ai.other", "llm.other"]
    scanned = 0
    for _ in range(300):
        body = _random_request(rng, keys)
        compiled, python = both(body, monkeypatch)
        assert compiled == python, body.hex()
        scanned += scan(body) is not None
    assert scanned == 300  # valid and plain: the scanner decides every one


def test_a_scan_for_other_keys_in_between_does_not_change_what_this_one_keeps() -> None:
    """A callback runs Python code, so another thread's scan (other wanted keys) can run in between."""
    module = scanner()
    array = AnyValue(array_value=ArrayValue(values=[otlp_value("a"), otlp_value("b")]))
    body = request(span(1, [("team", array), ("gen_ai.request.model", "m"), ("gen_ai.agent.name", "x")]))
    others = frozenset({"team"})
    calls = 0

    def value_of_with_a_scan_in_between(raw: bytes) -> Any:
        nonlocal calls
        calls += 1
        module.scan(body, protobuf.MARKERS, others, value_of, lambda *at: ("", "", {}), _raw_view)
        return value_of(raw)

    wanted = span_keys(OPTIONS)
    for _ in range(2):  # the second time the other scan's cached flags are there from the start
        _, views = module.scan(
            body, protobuf.MARKERS, wanted, value_of_with_a_scan_in_between, lambda *at: ("", "", {}), _raw_view
        )
        assert views[0][6] == {"team": ["a", "b"], "gen_ai.request.model": "m", "gen_ai.agent.name": "x"}
    assert calls == 2
