"""Attribution rules: who a call is charged to."""

from __future__ import annotations

import pytest

from genai_cost.processor.domain.attribution import (
    NOTHING,
    Attribution,
    agent_or_service,
    inherit,
    service_name,
    span_attribution,
    tags,
)

A = "traceloop.association.properties."


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({}, NOTHING),
        ({"gen_ai.agent.name": "ours", A + "agent_name": "peer"}, Attribution("ours")),
        ({A + "agent_name": "tl", A + "session_id": "s1", A + "user_id": "u1"}, Attribution("tl", "s1", "u1")),
        ({"traceloop.span.kind": "agent", "traceloop.entity.name": "billing"}, Attribution("billing")),
        ({"traceloop.span.kind": "task", "traceloop.entity.name": "step"}, NOTHING),
        ({"metadata": '{"agent_name": "oi", "session_id": "s2", "user_id": "u2"}'}, Attribution("oi", "s2", "u2")),
        ({"metadata": "not json {"}, NOTHING),
        ({"gen_ai.conversation.id": "c1", "session.id": "s1"}, Attribution(session="c1")),
        ({"enduser.id": "e", "user.id": "u"}, Attribution(user="e")),
        ({"gen_ai.request.user": "r"}, Attribution(user="r")),
        ({"gen_ai.user": 42}, Attribution(user="42")),
        ({"gen_ai.agent.name": ""}, NOTHING),
    ],
)
def test_span_attribution(attrs: dict[str, object], expected: Attribution) -> None:
    assert span_attribution(attrs) == expected


def test_inherit_keeps_own_values() -> None:
    assert inherit(Attribution(None, "mine", None), Attribution("agent", "theirs", "u")) == Attribution(
        "agent", "mine", "u"
    )


def test_service_fallbacks() -> None:
    assert service_name({"service.name": "svc"}) == "svc"
    assert service_name({}) == "unknown_service"
    assert agent_or_service(NOTHING, "svc") == "svc"
    assert agent_or_service(Attribution("a"), "svc") == "a"


def test_tags_span_first_then_resource() -> None:
    found = tags(
        {"team": "search", "n": 3},
        {"team": "infra", "tenant": "acme"},
        {"team": "team", "tenant": "tenant", "n": "num", "absent": "absent"},
    )
    assert found == {"team": "search", "tenant": "acme", "num": "3"}
