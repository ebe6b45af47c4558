"""Who a call is charged to: agent, session, end user and configured tags, from span attributes.

Rules (first match wins, our semantic-convention names before peers'):

- agent: ``gen_ai.agent.name``; OpenLLMetry association properties (``agent_name``/``agent``);
  an OpenLLMetry agent span's ``traceloop.entity.name``; OpenInference ``agent.name`` or the
  ``agent_name`` key of its ``metadata`` JSON. Missing on the LLM span itself, the nearest ancestor
  span in the same batch that names one is used (:func:`inherit`); else the resource ``service.name``
  (else ``unknown_service``).
- session: ``gen_ai.conversation.id``, ``session.id``, association ``session_id``, metadata ``session_id``.
- user: ``enduser.id``, ``user.id``, ``gen_ai.request.user``, ``gen_ai.user``, association ``user_id``,
  metadata ``user_id``.
- tags: for each configured attribute key, the span's value, else the resource's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from genai_cost.processor.domain.records_fast import positional_constructor

UNKNOWN_SERVICE = "unknown_service"
_ASSOC = "traceloop.association.properties."

_AGENT_KEYS = ("gen_ai.agent.name", _ASSOC + "agent_name", _ASSOC + "agent", "agent.name")
_SESSION_KEYS = ("gen_ai.conversation.id", "session.id", _ASSOC + "session_id")
_USER_KEYS = ("enduser.id", "user.id", "gen_ai.request.user", "gen_ai.user", _ASSOC + "user_id")
_SPAN_KIND = "traceloop.span.kind"
_ENTITY = "traceloop.entity.name"
_METADATA = "metadata"

#: Every span attribute key :func:`span_attribution` reads.
SPAN_KEYS = frozenset(_AGENT_KEYS + _SESSION_KEYS + _USER_KEYS + (_SPAN_KIND, _ENTITY, _METADATA))


@dataclass(frozen=True, slots=True)
class Attribution:
    """What one span says about who it is for; None where it says nothing."""

    agent: str | None = None
    session: str | None = None
    user: str | None = None

    @property
    def complete(self) -> bool:
        return self.agent is not None and self.session is not None and self.user is not None


NOTHING = Attribution()
_new_attribution = positional_constructor(Attribution)  # Attribution(agent, session, user), positional


def _as_text(value: object) -> str | None:
    if type(value) is str:
        return value or None
    if value is None or isinstance(value, list | dict | bytes | bool):
        return None
    result = str(value)
    return result or None


def _first(attrs: Mapping[str, object], keys: tuple[str, ...]) -> str | None:
    get = attrs.get
    for key in keys:
        value = get(key)
        if value is None:
            continue
        if type(value) is not str:
            value = _as_text(value)
        if value:
            return value  # type: ignore[return-value]
    return None


def _metadata(attrs: Mapping[str, object]) -> Mapping[str, object]:
    """OpenInference's ``metadata`` attribute: a JSON object string (ignored when not one)."""
    raw = attrs.get(_METADATA)
    if type(raw) is not str or not raw.startswith("{"):
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def span_attribution(attrs: Mapping[str, object]) -> Attribution:
    """The agent, session and user a span names itself."""
    agent = _first(attrs, _AGENT_KEYS)
    if agent is None and attrs.get(_SPAN_KIND) == "agent":
        agent = _as_text(attrs.get(_ENTITY))
    session = _first(attrs, _SESSION_KEYS)
    user = _first(attrs, _USER_KEYS)
    if (agent is None or session is None or user is None) and _METADATA in attrs:
        meta = _metadata(attrs)
        agent = agent or _as_text(meta.get("agent_name")) or _as_text(meta.get("agent"))
        session = session or _as_text(meta.get("session_id"))
        user = user or _as_text(meta.get("user_id"))
    if agent is None and session is None and user is None:
        return NOTHING
    return _new_attribution(agent, session, user)


def inherit(own: Attribution, ancestor: Attribution) -> Attribution:
    """Fill what a span does not say from an ancestor span (the span's own values win)."""
    if ancestor is NOTHING or own.complete:
        return own
    return Attribution(own.agent or ancestor.agent, own.session or ancestor.session, own.user or ancestor.user)


def service_name(resource: Mapping[str, object]) -> str:
    """The resource's ``service.name``, else ``unknown_service``."""
    return _as_text(resource.get("service.name")) or UNKNOWN_SERVICE


def agent_or_service(attribution: Attribution, service: str) -> str:
    """The agent a call is charged to: the attributed agent, else the service."""
    return attribution.agent or service


def tags(
    attrs: Mapping[str, object], resource: Mapping[str, object], tag_attributes: Mapping[str, str]
) -> dict[str, str]:
    """Configured extra dimensions: ``{label: value}`` from the span attribute, else the resource's."""
    if not tag_attributes:
        return {}
    found: dict[str, str] = {}
    for key, label in tag_attributes.items():
        value = _as_text(attrs.get(key))
        if value is None:
            value = _as_text(resource.get(key))
        if value is not None:
            found[label] = value
    return found
