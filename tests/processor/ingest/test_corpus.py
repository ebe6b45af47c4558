"""Acceptance: every recorded peer scenario is decoded (protobuf and OTLP/JSON), normalised to the
true usage, counted once and priced to the exact Decimal of the model's published prices.

True usage (the fake server's numbers, corpus/ATTRIBUTES.md):
OpenAI chat: prompt 1200 (cached 1024), completion 300 (reasoning 128)
  -> disjoint: input 176, cache_read 1024, output 172, reasoning 128.
Responses: input 1210 (cached 1030), output 310 (reasoning 130) -> 180 / 1030 / 180 / 130.
Embeddings: 7 tokens per input. Anthropic: input 50, cache_read 10000, cache_write 2000, output 300.

Published prices (USD per million tokens, genai-prices' bundled data):
gpt-4o-mini      input 0.15, cache read 0.075, output 0.60
o4-mini          input 1.10, cache read 0.275, output 4.40
text-embedding-3-small input 0.02
claude-sonnet-4-5 input 3, cache read 0.30, cache write (5 min) 3.75, output 15 (under 200k input)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import pytest

from genai_cost.processor.domain.dedup import link_duplicates
from genai_cost.processor.domain.pricing import Pricer
from genai_cost.processor.domain.records import UNPRICED, Cost, Outcome, PriceSource, TokenUsage
from genai_cost.processor.ingest import IngestOptions, OtlpDecodeError, decode_json, decode_protobuf

M = Decimal(1_000_000)

CHAT = TokenUsage(input=176, cache_read=1024, output=172, reasoning=128)
# 176 * 0.15 + 1024 * 0.075 + (172 + 128) * 0.60 = 26.4 + 76.8 + 180 = 283.2 per million
CHAT_COST = (176 * Decimal("0.15") + 1024 * Decimal("0.075") + 300 * Decimal("0.60")) / M
assert Decimal("0.0002832") == CHAT_COST

# OpenLLMetry chat streams report no reasoning count: output 300 stays visible output.
# The price is the same (reasoning is priced as output).
CHAT_NO_REASONING = TokenUsage(input=176, cache_read=1024, output=300)

# opentelemetry-instrumentation-openai-v2 records neither cached nor reasoning tokens: the span
# says 1200 input, 300 output, so it is priced as uncached input (the span carries no more).
CHAT_V2 = TokenUsage(input=1200, output=300)
CHAT_V2_COST = (1200 * Decimal("0.15") + 300 * Decimal("0.60")) / M
assert Decimal("0.00036") == CHAT_V2_COST

RESPONSES = TokenUsage(input=180, cache_read=1030, output=180, reasoning=130)
# 180 * 1.10 + 1030 * 0.275 + (180 + 130) * 4.40 = 198 + 283.25 + 1364 = 1845.25 per million
RESPONSES_COST = (180 * Decimal("1.10") + 1030 * Decimal("0.275") + 310 * Decimal("4.40")) / M
assert Decimal("0.00184525") == RESPONSES_COST

EMBED_2 = TokenUsage(input=14)
EMBED_2_COST = 14 * Decimal("0.02") / M  # 2.8e-7
EMBED_1 = TokenUsage(input=7)
EMBED_1_COST = 7 * Decimal("0.02") / M  # 1.4e-7

ANTHROPIC = TokenUsage(input=50, cache_read=10000, cache_write=2000, output=300)
# 50 * 3 + 10000 * 0.30 + 2000 * 3.75 + 300 * 15 = 150 + 3000 + 7500 + 4500 = 15150 per million
ANTHROPIC_COST = (50 * Decimal(3) + 10000 * Decimal("0.30") + 2000 * Decimal("3.75") + 300 * Decimal(15)) / M
assert Decimal("0.01515") == ANTHROPIC_COST

GPT = "gpt-4o-mini-2024-07-18"
O4 = "o4-mini-2025-04-16"
EMB = "text-embedding-3-small"
CLAUDE = "claude-sonnet-4-5-20250929"


@dataclass(frozen=True)
class Expect:
    provider: str
    model: str  # the billed model (response model, else request model)
    usage: TokenUsage | None  # None: the span reported no usage
    cost: Decimal | None  # None: UNPRICED
    operation: str = "chat"
    outcome: Outcome = Outcome.OK
    agent: str | None = None  # None: the folder's service.name
    session: str | None = None
    user: str | None = None
    source: PriceSource = PriceSource.PRICES


def chat(usage: TokenUsage = CHAT, cost: Decimal = CHAT_COST, **kw: Any) -> Expect:
    return Expect("openai", GPT, usage, cost, **kw)


ERROR_OPENAI = Expect("openai", "fake-error-429", None, Decimal(0), outcome=Outcome.ERROR)
ERROR_ANTHROPIC = Expect("anthropic", "fake-error-429", None, Decimal(0), outcome=Outcome.ERROR)
NO_USAGE = Expect("openai", GPT, None, None, source=PriceSource.UNPRICED)
RESP = Expect("openai", O4, RESPONSES, RESPONSES_COST)
EMBEDS = {
    "openai_embeddings": Expect("openai", EMB, EMBED_2, EMBED_2_COST, operation="embeddings"),
    "openai_embeddings_async": Expect("openai", EMB, EMBED_1, EMBED_1_COST, operation="embeddings"),
}
CLAUDE_OK = Expect("anthropic", CLAUDE, ANTHROPIC, ANTHROPIC_COST)
ANTHROPIC_SCENARIOS = (
    "anthropic_messages",
    "anthropic_messages_async",
    "anthropic_messages_stream",
    "anthropic_messages_stream_async",
    "anthropic_messages_stream_helper",
    "anthropic_messages_stream_legacy_delta",
)

TRACELOOP = {
    "openai_chat": chat(),
    "openai_chat_async": chat(),
    "openai_chat_assoc": chat(user="user-42"),
    "openai_chat_stream_usage": chat(CHAT_NO_REASONING),
    "openai_chat_stream_usage_async": chat(CHAT_NO_REASONING),
    "openai_chat_stream_nousage": NO_USAGE,
    "openai_chat_error": ERROR_OPENAI,
    **EMBEDS,
    "openai_responses": RESP,
    "openai_responses_async": RESP,
    "openai_responses_stream": RESP,
    # includes the three streams where the span says output 301 (message_start counted twice)
    **dict.fromkeys(ANTHROPIC_SCENARIOS, CLAUDE_OK),
    "anthropic_messages_error": ERROR_ANTHROPIC,
}

V2 = {
    "openai_chat": chat(CHAT_V2, CHAT_V2_COST),
    "openai_chat_async": chat(CHAT_V2, CHAT_V2_COST),
    # the agent and conversation are on the parent invoke_agent span only
    "openai_chat_assoc": chat(CHAT_V2, CHAT_V2_COST, agent="billing-agent", session="conv-123"),
    "openai_chat_stream_usage": chat(CHAT_V2, CHAT_V2_COST),
    "openai_chat_stream_usage_async": chat(CHAT_V2, CHAT_V2_COST),
    "openai_chat_stream_nousage": NO_USAGE,
    "openai_chat_error": ERROR_OPENAI,
    **EMBEDS,
}

OPENINFERENCE = {
    "openai_chat": chat(),
    "openai_chat_async": chat(),
    "openai_chat_assoc": chat(agent="billing-agent", session="sess-7", user="user-42"),
    "openai_chat_stream_usage": chat(),
    "openai_chat_stream_usage_async": chat(),
    "openai_chat_stream_nousage": NO_USAGE,
    "openai_chat_error": ERROR_OPENAI,
    **EMBEDS,
    "openai_responses": RESP,
    "openai_responses_async": RESP,
    "openai_responses_stream": RESP,
    **dict.fromkeys(ANTHROPIC_SCENARIOS, CLAUDE_OK),
    "anthropic_messages_error": ERROR_ANTHROPIC,
}

SDK_NATIVE = {**dict.fromkeys(ANTHROPIC_SCENARIOS, CLAUDE_OK), "anthropic_messages_error": ERROR_ANTHROPIC}

FOLDERS = {
    "traceloop": ("traceloop-demo", TRACELOOP),
    "otel-openai-v2": ("otel-openai-v2-demo", V2),
    "otel-openai-v2-latest": ("otel-openai-v2-latest-demo", V2),
    "openinference": ("openinference-demo", OPENINFERENCE),
    "sdk-native": ("sdk-native-demo", SDK_NATIVE),
}
CASES = [
    pytest.param(folder, scenario, id=f"{folder}/{scenario}")
    for folder, (_, table) in FOLDERS.items()
    for scenario in table
]

# Two usage spans for one Anthropic call (OpenInference's span + the SDK's own span):
# linked (nested / same trace) -> one duplicate; messages.stream() puts them in two traces with no
# shared response id -> not merged, flagged as suspected.
OI_LINKED = {
    "anthropic_messages",
    "anthropic_messages_async",
    "anthropic_messages_stream",
    "anthropic_messages_stream_async",
    "anthropic_messages_stream_legacy_delta",
    "anthropic_messages_error",
}
OI_SUSPECTED = {"anthropic_messages_stream_helper"}

PRICER = Pricer()


def _decode(fmt: str, body: bytes, to_json: Any) -> Any:
    if fmt == "protobuf":
        return decode_protobuf(body, IngestOptions())
    return decode_json(orjson.dumps(to_json(body)), IngestOptions())


@pytest.mark.parametrize("fmt", ["protobuf", "json"])
@pytest.mark.parametrize(("folder", "scenario"), CASES)
def test_scenario_normalised_once_and_priced(
    folder: str, scenario: str, fmt: str, load_pb: Any, otlp_json: Any
) -> None:
    service, table = FOLDERS[folder]
    expect = table[scenario]
    batch = _decode(fmt, load_pb(folder, scenario), otlp_json)
    assert batch.rejected == []
    linked = link_duplicates(batch.calls)

    two_spans = folder == "openinference" and scenario in OI_LINKED | OI_SUSPECTED
    assert len(batch.calls) == (2 if two_spans else 1)
    assert len(linked.duplicates) == (1 if folder == "openinference" and scenario in OI_LINKED else 0)
    suspected = folder == "openinference" and scenario in OI_SUSPECTED
    assert len(linked.suspected) == (1 if suspected else 0)
    assert len(linked.unique) == (2 if suspected else 1)

    for call in linked.unique:
        assert (call.provider, call.model, call.operation, call.outcome) == (
            expect.provider,
            expect.model,
            expect.operation,
            expect.outcome,
        )
        assert call.usage_reported is (expect.usage is not None)
        assert call.usage == (expect.usage or TokenUsage())
        assert (call.agent, call.service, call.session, call.user) == (
            expect.agent or service,
            service,
            expect.session,
            expect.user,
        )
        cost = PRICER.price(call)
        if expect.cost is None:
            assert cost == UNPRICED
        else:
            assert (cost.source, cost.total) == (expect.source, expect.cost)
    if suspected:
        # the unmerged pair would double the spend: exactly two identical prices, one flagged
        assert [PRICER.price(c).total for c in linked.unique] == [ANTHROPIC_COST, ANTHROPIC_COST]


def test_anthropic_cost_split_by_token_type(load_pb: Any) -> None:
    (call,) = decode_protobuf(load_pb("sdk-native", "anthropic_messages"), IngestOptions()).calls
    assert PRICER.price(call) == Cost(
        PriceSource.PRICES,
        input=Decimal("0.00015"),  # 50 * 3 / 1e6
        cache_read=Decimal("0.003"),  # 10000 * 0.30 / 1e6
        cache_write=Decimal("0.0075"),  # 2000 * 3.75 / 1e6
        output=Decimal("0.0045"),  # 300 * 15 / 1e6
    )


def test_openinference_anthropic_keeps_sdk_record_with_merged_attribution(load_pb: Any) -> None:
    batch = decode_protobuf(load_pb("openinference", "anthropic_messages"), IngestOptions())
    (kept,), ((same, dropped),) = link_duplicates(batch.calls)[:2]
    assert kept is same
    assert (kept.dialect, kept.response_id, dropped.dialect) == ("anthropic-sdk", "msg_FAKE0001", "openinference")
    assert kept.parent_span_id == dropped.span_id


def test_openinference_metadata_and_session_attribution(load_pb: Any) -> None:
    (call,) = decode_protobuf(load_pb("openinference", "openai_chat_assoc"), IngestOptions()).calls
    assert (call.agent, call.session, call.user, call.request_model) == (
        "billing-agent",
        "sess-7",
        "user-42",
        "gpt-4o-mini",
    )


def test_traceloop_anthropic_stream_overcount_corrected_only_on_stream_path(load_pb: Any) -> None:
    outputs = {
        scenario: decode_protobuf(load_pb("traceloop", scenario), IngestOptions()).calls[0].usage.output
        for scenario in ANTHROPIC_SCENARIOS
    }
    assert outputs == dict.fromkeys(ANTHROPIC_SCENARIOS, 300)


def test_v2_agent_span_is_context_not_priced(load_pb: Any) -> None:
    batch = decode_protobuf(load_pb("otel-openai-v2-latest", "openai_chat_assoc"), IngestOptions())
    assert (batch.spans_received, len(batch.calls), batch.skipped_aggregate) == (2, 1, 0)


def test_corpus_json_with_base64_ids_is_rejected_precisely(corpus_dir: Any) -> None:
    body = (corpus_dir / "sdk-native" / "anthropic_messages.json").read_bytes()
    trace_id = orjson.loads(body)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
    with pytest.raises(OtlpDecodeError) as raised:
        decode_json(body, IngestOptions())
    assert str(raised.value) == (
        f"resourceSpans[0].scopeSpans[0].spans[0].traceId: {trace_id!r} is not 32 hex characters "
        "(it looks base64-encoded: OTLP/JSON encodes trace and span ids as hex)"
    )


def test_all_corpus_files_in_one_batch_need_unique_response_ids(load_pb: Any, otlp_json: Any) -> None:
    """Response ids repeat across files (constant fake ids): after making them unique per file,
    the whole corpus in one batch is still counted once per call."""
    resource_spans: list[Any] = []
    expected_calls = 0
    for folder, (_, table) in FOLDERS.items():
        for scenario in table:
            document = otlp_json(load_pb(folder, scenario))
            for rs in document["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    for span in ss["spans"]:
                        for attr in span.get("attributes", []):
                            if attr["key"] == "gen_ai.response.id":
                                attr["value"]["stringValue"] += f"-{folder}-{scenario}"
            resource_spans.extend(document["resourceSpans"])
            expected_calls += 2 if folder == "openinference" and scenario in OI_SUSPECTED else 1
    batch = decode_json(orjson.dumps({"resourceSpans": resource_spans}), IngestOptions())
    linked = link_duplicates(batch.calls)
    assert (len(linked.unique), len(linked.duplicates), len(linked.suspected)) == (expected_calls, 6, 1)
