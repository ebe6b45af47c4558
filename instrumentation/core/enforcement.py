"""Budget enforcement: refuse a call, before any request is sent, when its scope is blocked.

Off unless ``GENAI_COST_ENFORCE=true`` and ``GENAI_COST_PROCESSOR_URL`` is set. When on, a daemon
thread polls the processor's ``GET /api/v1/enforcement`` (every ``refresh_seconds`` it answers,
5 s by default) for the scopes that are over their limit + grace or paused, and keeps them in
memory. :func:`check_call` only reads that cached list: with nothing blocked it costs a global
read and a truth test; it never does I/O. **Fail-open**: while the processor cannot be reached
(or before its first answer) nothing is blocked.

The scope of a call is the attribution in force (:func:`attribute_to`: agent, tags), the
provider and requested model, and the service (``OTEL_SERVICE_NAME`` or the tracer provider's
``service.name``). As in the processor, a call with no agent set is attributed to the service.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from opentelemetry import baggage, context, trace

from genai_cost.instrumentation.core import semconv, settings

_logger = logging.getLogger(__name__)

ENFORCEMENT_PATH: Final = "/api/v1/enforcement"
DEFAULT_REFRESH_S: Final = 5.0
REQUEST_TIMEOUT_S: Final = 2.0
_MIN_REFRESH_S: Final = 0.05
_AGENT_KEY: Final = semconv.AGENT_NAME
_BAGGAGE_CONTEXT_KEY: Final = getattr(baggage, "_BAGGAGE_KEY", None)


def _baggage_entries() -> Mapping[str, object]:
    """The current baggage as a mapping, read in one context look-up.

    ``baggage.get_all()`` validates and copies every entry (~0.5 us); the raw dict the API keeps
    under its context key is read directly when available.
    """
    if _BAGGAGE_CONTEXT_KEY is not None:
        raw = context.get_value(_BAGGAGE_CONTEXT_KEY)
        return raw if isinstance(raw, dict) else {}
    return baggage.get_all()


class BudgetExceededError(RuntimeError):
    """A call was refused before it was sent: its scope is over budget (or paused).

    Attributes: ``budget`` (name, or ``None`` for a scope paused by hand), ``scope`` (the blocked
    scope: agent, provider, model, service, tags), ``reason`` (``over_limit`` or ``paused``),
    ``spend_usd`` and ``limit_usd`` (Decimal, when known), ``provider`` and ``model`` of the call.
    """

    def __init__(
        self,
        *,
        budget: str | None,
        scope: Mapping[str, Any],
        reason: str,
        spend_usd: Decimal | None = None,
        limit_usd: Decimal | None = None,
        grace: Decimal | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> None:
        self.budget = budget
        self.scope = dict(scope)
        self.reason = reason
        self.spend_usd = spend_usd
        self.limit_usd = limit_usd
        self.grace = grace
        self.provider = provider
        self.model = model
        super().__init__(self._message())

    def _message(self) -> str:
        where = describe_scope(self.scope)
        call = f"{self.provider}/{self.model or 'unknown model'}"
        name = f"budget {self.budget!r}" if self.budget else "an administrator"
        if self.reason == "paused":
            return f"{call} call refused: calls for {where} are paused by {name}"
        figures = ""
        if self.spend_usd is not None and self.limit_usd is not None:
            grace = f" + {(self.grace * 100).normalize():f}% grace" if self.grace else ""
            figures = f": spend ${self.spend_usd:f} of the ${self.limit_usd:f} limit{grace}"
        return f"{call} call refused: budget {self.budget!r} is exceeded for {where}{figures}"


def describe_scope(scope: Mapping[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in scope.items() if k != "tags"]
    tags = scope.get("tags")
    if isinstance(tags, Mapping):
        parts.extend(f"tags.{k}={v}" for k, v in tags.items())
    return ", ".join(parts) or "everything"


@dataclass(frozen=True, slots=True)
class BlockedRule:
    """One blocked scope from the processor; ``None`` fields match anything."""

    agent: str | None
    provider: str | None
    model: str | None
    service: str | None
    tags: tuple[tuple[str, str], ...]
    budget: str | None
    reason: str
    scope: Mapping[str, Any]
    spend_usd: Decimal | None
    limit_usd: Decimal | None
    grace: Decimal | None

    tag_keys: tuple[tuple[str, str], ...] = ()  # ``tags`` keyed as baggage entries (genai_cost.tag.<name>)

    def error(self, provider: str, model: str | None) -> BudgetExceededError:
        return BudgetExceededError(
            budget=self.budget, scope=self.scope, reason=self.reason, spend_usd=self.spend_usd,
            limit_usd=self.limit_usd, grace=self.grace, provider=provider, model=model,
        )  # fmt: skip


def _decimal(value: object) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def parse_rules(document: object) -> tuple[tuple[BlockedRule, ...], float]:
    """The blocked rules and refresh interval of an enforcement document; ``ValueError`` if malformed."""
    if not isinstance(document, dict) or not isinstance(document.get("blocked"), list):
        raise ValueError("expected a JSON object with a 'blocked' list")
    rules: list[BlockedRule] = []
    for entry in document["blocked"]:
        match = entry.get("match") if isinstance(entry, dict) else None
        if not isinstance(match, dict):
            raise ValueError(f"blocked entry without a match object: {entry!r}")
        tags = match.get("tags") or {}
        fields = {k: match.get(k) for k in ("agent", "provider", "model", "service")}
        if not all(v is None or isinstance(v, str) for v in fields.values()) or not isinstance(tags, dict):
            raise ValueError(f"blocked entry with a malformed match: {match!r}")
        rule = BlockedRule(
            agent=fields["agent"], provider=fields["provider"], model=fields["model"],
            service=fields["service"], tags=tuple(sorted((str(k), str(v)) for k, v in tags.items())),
            budget=entry.get("budget"), reason=str(entry.get("reason", "over_limit")), scope=match,
            spend_usd=_decimal(entry.get("spend_usd")), limit_usd=_decimal(entry.get("limit_usd")),
            grace=_decimal(entry.get("grace")),
            tag_keys=tuple(sorted((semconv.TAG_PREFIX + str(k), str(v)) for k, v in tags.items())),
        )  # fmt: skip
        rules.append(rule)
    refresh = document.get("refresh_seconds", DEFAULT_REFRESH_S)
    if isinstance(refresh, bool) or not isinstance(refresh, int | float) or refresh <= 0:
        refresh = DEFAULT_REFRESH_S
    return tuple(rules), max(float(refresh), _MIN_REFRESH_S)


def _service_name() -> str:
    """``OTEL_SERVICE_NAME``, else the SDK tracer provider's ``service.name``, else ``unknown_service``."""
    name = os.environ.get("OTEL_SERVICE_NAME", "").strip()
    if name:
        return name
    resource = getattr(trace.get_tracer_provider(), "resource", None)
    value = getattr(resource, "attributes", {}).get("service.name") if resource is not None else None
    return str(value) if value else "unknown_service"


class Enforcer:
    """The cached blocked scopes of one processor, refreshed by a daemon thread."""

    def __init__(self, processor_url: str, *, refresh_s: float = DEFAULT_REFRESH_S) -> None:
        self.url = processor_url.rstrip("/") + ENFORCEMENT_PATH
        self.rules: tuple[BlockedRule, ...] = ()
        self.service = _service_name()
        self.refreshes = 0  # successful fetches
        self.failures = 0
        self._refresh_s = refresh_s
        self._failing = False
        self._stop = threading.Event()
        self._refreshed = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="genai-cost-enforcement", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self._refresh_s)

    def refresh(self) -> bool:
        """Fetch the blocked scopes now; on any failure clear them (fail-open). Returns success."""
        try:
            with urllib.request.urlopen(self.url, timeout=REQUEST_TIMEOUT_S) as response:
                rules, refresh_s = parse_rules(json.loads(response.read()))
        except Exception as exc:  # unreachable, HTTP error, bad JSON: allow every call
            self.rules = ()
            self.failures += 1
            if not self._failing:
                _logger.warning("budget enforcement: cannot read %s (%s); allowing all calls", self.url, exc)
            self._failing = True
            ok = False
        else:
            self.service = _service_name()
            self.rules = rules
            self._refresh_s = refresh_s
            self.refreshes += 1
            if self._failing:
                _logger.info("budget enforcement: %s reachable again", self.url)
            self._failing = False
            ok = True
        with self._refreshed:
            self._refreshed.notify_all()
        return ok

    def wait_refreshed(self, count: int, timeout: float) -> bool:
        """Block until ``count`` fetches succeeded (for start-up and tests)."""
        with self._refreshed:
            return self._refreshed.wait_for(lambda: self.refreshes >= count, timeout)

    def check(self, provider: str, model: str | None) -> None:
        rules = self.rules
        if not rules:
            return
        service = self.service
        entries = _baggage_entries()
        agent = entries.get(_AGENT_KEY)
        agent = str(agent) if agent is not None else service
        for rule in rules:
            if rule.provider is not None and rule.provider != provider:
                continue
            if rule.model is not None and rule.model != model:
                continue
            if rule.agent is not None and rule.agent != agent:
                continue
            if rule.service is not None and rule.service != service:
                continue
            if rule.tags and not all(entries.get(key) == value for key, value in rule.tag_keys):
                continue
            raise rule.error(provider, model)


class _Disabled:
    rules: tuple[BlockedRule, ...] = ()

    def check(self, provider: str, model: str | None) -> None:
        return None


_DISABLED: Final = _Disabled()
_enforcer: Enforcer | _Disabled | None = None
_init_lock = threading.Lock()


def configure(enabled: bool | None = None, processor_url: str | None = None) -> Enforcer | None:
    """(Re)configure from arguments, else ``GENAI_COST_ENFORCE`` / ``GENAI_COST_PROCESSOR_URL``.

    Starts the refresher when enforcement is on and returns it; ``None`` when it is off.
    Instrumentors call this from ``instrument()`` so the cache is warm before the first call.
    """
    global _enforcer
    with _init_lock:
        if isinstance(_enforcer, Enforcer):
            _enforcer.stop()
        on = settings.env_flag(settings.GENAI_COST_ENFORCE) if enabled is None else enabled
        url = processor_url if processor_url is not None else os.environ.get(settings.GENAI_COST_PROCESSOR_URL, "")
        if not on:
            _enforcer = _DISABLED
            return None
        if not url.strip():
            _logger.warning(
                "%s=true but %s is not set; budget enforcement is off",
                settings.GENAI_COST_ENFORCE,
                settings.GENAI_COST_PROCESSOR_URL,
            )
            _enforcer = _DISABLED
            return None
        enforcer = Enforcer(url.strip())
        enforcer.start()
        _enforcer = enforcer
        return enforcer


def ensure_configured() -> None:
    """Configure from the environment unless already configured (instrumentors call this at
    instrument time, so the blocked-scope cache is warming before the first call)."""
    if _enforcer is None:
        configure()


def reset() -> None:
    """Stop enforcement and forget the configuration (read the environment again on next use)."""
    global _enforcer
    with _init_lock:
        if isinstance(_enforcer, Enforcer):
            _enforcer.stop()
        _enforcer = None


def check_call(provider: str, model: str | None) -> None:
    """Raise :class:`BudgetExceededError` if a call to ``provider``/``model`` must be refused.

    Called by every wrapper before a request is sent; reads only the cached list.
    """
    enforcer = _enforcer
    if enforcer is None:
        configure()
        enforcer = _enforcer
        assert enforcer is not None
    if enforcer.rules:
        enforcer.check(provider, model)
