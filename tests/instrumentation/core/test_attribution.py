"""Attribution: context manager, decorator, nesting, and W3C baggage across a process boundary."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from opentelemetry import baggage, context
from opentelemetry.baggage.propagation import W3CBaggagePropagator

from genai_cost.instrumentation import attribute_to
from genai_cost.instrumentation.core.attribution import Attribution, current_attribution, span_attributes


def test_context_manager_sets_and_restores() -> None:
    assert span_attributes() == {}
    with attribute_to(agent="billing", agent_id="a-1", session="s-1", user="u-1", tags={"team": "care", "tier": 2}):
        assert span_attributes() == {
            "gen_ai.agent.name": "billing",
            "gen_ai.agent.id": "a-1",
            "gen_ai.conversation.id": "s-1",
            "enduser.id": "u-1",
            "genai_cost.tag.team": "care",
            "genai_cost.tag.tier": "2",
        }
    assert span_attributes() == {}


def test_nested_scopes_override_field_by_field_and_merge_tags() -> None:
    with (
        attribute_to(agent="outer", session="s-1", tags={"team": "care"}),
        attribute_to(agent="inner", tags={"x": "1"}),
    ):
        assert current_attribution() == Attribution(agent="inner", session="s-1", tags={"team": "care", "x": "1"})


def test_unrelated_baggage_is_not_copied() -> None:
    token = context.attach(baggage.set_baggage("tenant.secret", "nope"))
    try:
        with attribute_to(user="u-9"):
            assert span_attributes() == {"enduser.id": "u-9"}
    finally:
        context.detach(token)


def test_decorator_sync_and_async_with_concurrent_calls() -> None:
    @attribute_to(agent="sync-agent")
    def sync_fn() -> dict[str, str]:
        return span_attributes()

    @attribute_to(agent="async-agent")
    async def async_fn(delay: float) -> dict[str, str]:
        await asyncio.sleep(delay)
        return span_attributes()

    async def both() -> list[dict[str, str]]:
        return list(await asyncio.gather(async_fn(0.01), async_fn(0)))

    assert sync_fn() == {"gen_ai.agent.name": "sync-agent"}
    assert asyncio.run(both()) == [{"gen_ai.agent.name": "async-agent"}] * 2
    assert span_attributes() == {}


_CHILD = """
import json, sys
from opentelemetry import context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from genai_cost.instrumentation.core.attribution import span_attributes
headers = json.loads(sys.stdin.read())
ctx = W3CBaggagePropagator().extract(headers)
token = context.attach(ctx)
print(json.dumps(span_attributes()))
"""


def test_attribution_crosses_a_process_boundary_in_w3c_headers() -> None:
    headers: dict[str, str] = {}
    with attribute_to(agent="planner", session="conv 7", tags={"team": "r&d"}):
        W3CBaggagePropagator().inject(headers)
    assert set(headers) == {"baggage"}

    out = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps(headers),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == {
        "gen_ai.agent.name": "planner",
        "gen_ai.conversation.id": "conv 7",
        "genai_cost.tag.team": "r&d",
    }


def test_add_span_attributes_extends_a_span_dict_in_place() -> None:
    from genai_cost.instrumentation.core.attribution import add_span_attributes

    attrs: dict[str, object] = {"gen_ai.operation.name": "chat"}
    add_span_attributes(attrs)  # no baggage at all: nothing added
    assert attrs == {"gen_ai.operation.name": "chat"}
    ctx = baggage.set_baggage("other", "x", baggage.set_baggage("gen_ai.agent.name", "router"))
    add_span_attributes(attrs, ctx)
    assert attrs == {"gen_ai.operation.name": "chat", "gen_ai.agent.name": "router"}
