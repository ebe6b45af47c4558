"""The budget HTTP API on the :9464 server.

Read (no token): ``GET /api/v1/budgets`` (every budget's status and the paused scopes) and
``GET /api/v1/enforcement`` (the scopes the instrumentation must refuse, polled by it).

Admin (``Authorization: Bearer <token>``; 401 without or with a malformed header, 403 with a
wrong token or when no admin token is configured), each persisted and audited:

- ``POST|PUT /api/v1/budgets/limit`` ``{"budget": "team-a", "limit_usd": "250"}``
  (``"limit_usd": null`` restores the configured limit)
- ``POST /api/v1/budgets/pause`` and ``/unpause`` ``{"budget": "team-a"}`` or
  ``{"match": {"agent": "crawler"}}``, with an optional ``"reason"``
- ``GET /api/v1/budgets/audit?limit=100``: the audit trail, newest first

The actor recorded is the token's name, followed by the ``X-GenAI-Cost-Actor`` header in
parentheses when a client sends one (``ops (alice)``). Money is exact decimal text.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from genai_cost.processor.adapters.http_server import BadBody, BodyTooLarge, Request, Response, Routes
from genai_cost.processor.budget_service import BudgetService, UnknownBudgetError
from genai_cost.processor.domain.budgets import (
    BlockedScope,
    BudgetConfigError,
    BudgetStatus,
    local_iso,
    parse_match,
    parse_usd,
)

BUDGETS_PATH: Final = "/api/v1/budgets"
ENFORCEMENT_PATH: Final = "/api/v1/enforcement"
LIMIT_PATH: Final = "/api/v1/budgets/limit"
PAUSE_PATH: Final = "/api/v1/budgets/pause"
UNPAUSE_PATH: Final = "/api/v1/budgets/unpause"
AUDIT_PATH: Final = "/api/v1/budgets/audit"
ACTOR_HEADER: Final = "X-GenAI-Cost-Actor"
MAX_BODY_BYTES: Final = 64 * 1024
ENFORCEMENT_REFRESH_SECONDS: Final = 5
JSON: Final = "application/json"
_CHALLENGE: Final = 'Bearer realm="genai-cost"'


def _json(status: int, body: object, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, json.dumps(body, separators=(",", ":")).encode() + b"\n", JSON, headers or {})


def _error(status: int, message: str, *, headers: Mapping[str, str] | None = None, **extra: object) -> Response:
    return _json(status, {"error": message, **extra}, headers)


def _iso(t_ns: int, timezone: str = "UTC") -> str:
    return local_iso(t_ns, timezone)


def status_json(status: BudgetStatus) -> dict[str, Any]:
    """One budget's status as the API and ``genai-cost budgets`` show it (money as exact text)."""
    budget = status.budget
    window = status.window
    return {
        "name": budget.name,
        "description": budget.description,
        "match": budget.match.as_dict(),
        "period": budget.period.value,
        "timezone": budget.timezone,
        "period_start": _iso(window.start_ns, budget.timezone) if window.end_ns is not None else None,
        "period_end": _iso(window.end_ns, budget.timezone) if window.end_ns is not None else None,
        "limit_usd": str(status.limit_usd),
        "configured_limit_usd": str(budget.limit_usd),
        "limit_overridden": status.limit_overridden,
        "spend_usd": str(status.spend_usd),
        "utilization": str(status.utilization),
        "projected_usd": str(status.projected_usd.quantize(Decimal("0.000001"))),
        "thresholds": [{"threshold": t.label, "severity": t.severity.value} for t in budget.thresholds],
        "firing": [{"threshold": t.label, "severity": t.severity.value} for t in status.firing],
        "enforce": {"grace": str(budget.enforce.grace)} if budget.enforce is not None else None,
        "paused": status.paused,
        "blocked": status.blocked,
    }


def blocked_json(scope: BlockedScope) -> dict[str, Any]:
    return {
        "budget": scope.budget,
        "reason": scope.reason,
        "match": scope.match.as_dict(),
        "spend_usd": None if scope.spend_usd is None else str(scope.spend_usd),
        "limit_usd": None if scope.limit_usd is None else str(scope.limit_usd),
        "grace": None if scope.grace is None else str(scope.grace),
    }


def parse_admin_tokens(raw: str) -> dict[str, str]:
    """``GENAI_COST_ADMIN_TOKENS`` text: ``TOKEN`` (named ``admin``) or ``name:TOKEN,name2:TOKEN2``."""
    tokens: dict[str, str] = {}
    for index, item in enumerate(part.strip() for part in raw.split(",")):
        if not item:
            continue
        name, sep, token = item.partition(":")
        if not sep:
            name, token = "admin", item
        name, token = name.strip(), token.strip()
        if not name or not token:
            raise ValueError(f"admin token {index}: expected NAME:TOKEN or TOKEN, got an empty name or token")
        tokens[name] = token
    return tokens


class BudgetApi:
    """Handlers of the budget endpoints over one :class:`BudgetService`."""

    def __init__(self, service: BudgetService, admin_tokens: Mapping[str, str] | None = None) -> None:
        self.service = service
        self._tokens = [(name, token.encode()) for name, token in (admin_tokens or {}).items()]

    def register(self, routes: Routes) -> None:
        routes.add("GET", BUDGETS_PATH, self.list_budgets)
        routes.add("GET", ENFORCEMENT_PATH, self.enforcement)
        routes.add("POST", LIMIT_PATH, self.set_limit)
        routes.add("PUT", LIMIT_PATH, self.set_limit)
        routes.add("POST", PAUSE_PATH, self.pause)
        routes.add("POST", UNPAUSE_PATH, self.unpause)
        routes.add("GET", AUDIT_PATH, self.audit)

    # -- read -----------------------------------------------------------------------------------

    def list_budgets(self, request: Request) -> Response:
        service = self.service
        paused = [
            {
                "match": p.match.as_dict(),
                "reason": p.reason,
                "paused_at": _iso(p.paused_at_ns),
                "paused_by": p.paused_by,
            }
            for p in service.paused_scopes()
        ]
        return _json(
            200,
            {
                "generated_at": _iso(service.now()),
                "budgets": [status_json(s) for s in service.statuses()],
                "paused_scopes": paused,
            },
        )

    def enforcement(self, request: Request) -> Response:
        return _json(
            200,
            {
                "refresh_seconds": ENFORCEMENT_REFRESH_SECONDS,
                "blocked": [blocked_json(s) for s in self.service.blocked()],
            },
        )

    # -- admin ----------------------------------------------------------------------------------

    def _actor(self, request: Request) -> str | Response:
        """The authenticated actor's name, or the 401/403 response."""
        header = request.header("Authorization").strip()
        scheme, _, token = header.partition(" ")
        if not header:
            return _error(401, "missing Authorization: Bearer <token> header", headers={"WWW-Authenticate": _CHALLENGE})
        if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
            return _error(
                401,
                "malformed Authorization header; expected 'Bearer <token>'",
                headers={"WWW-Authenticate": _CHALLENGE + ', error="invalid_request"'},
            )
        if not self._tokens:
            return _error(403, "the admin API is disabled: no admin token is configured (GENAI_COST_ADMIN_TOKENS)")
        given = token.strip().encode()
        name = None
        for candidate, expected in self._tokens:
            if hmac.compare_digest(given, expected):
                name = candidate
        if name is None:
            return _error(403, "the bearer token is not valid for the admin API")
        who = request.header(ACTOR_HEADER).strip()[:200]
        return f"{name} ({who})" if who else name

    def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            raw = request.read_body(MAX_BODY_BYTES)
        except BodyTooLarge as exc:
            return _error(413, str(exc))
        except BadBody as exc:
            return _error(400, str(exc))
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"request body is not JSON: {exc}")
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object")
        return body

    def _authorized_body(self, request: Request) -> tuple[str, dict[str, Any]] | Response:
        actor = self._actor(request)
        if isinstance(actor, Response):
            return actor
        body = self._body(request)
        if isinstance(body, Response):
            return body
        return actor, body

    def set_limit(self, request: Request) -> Response:
        parsed = self._authorized_body(request)
        if isinstance(parsed, Response):
            return parsed
        actor, body = parsed
        name = body.get("budget")
        if not isinstance(name, str):
            return _error(400, f"budget: {name!r} is not a budget name", field="budget", value=name)
        if "limit_usd" not in body:
            return _error(400, 'limit_usd: missing (a positive amount such as "250.00", or null)', field="limit_usd")
        raw = body["limit_usd"]
        limit = None
        if raw is not None:
            limit = parse_usd(raw) if isinstance(raw, str | int) else None
            if limit is None:
                return _error(400, f"limit_usd: {raw!r} is not a positive amount of USD", field="limit_usd", value=raw)
        try:
            status = self.service.set_limit(name, limit, actor=actor)
        except UnknownBudgetError as exc:
            return _error(404, str(exc), field="budget", value=name)
        except ValueError as exc:
            return _error(400, f"limit_usd: {exc}", field="limit_usd", value=raw)
        return _json(200, status_json(status))

    def pause(self, request: Request) -> Response:
        return self._set_paused(request, True)

    def unpause(self, request: Request) -> Response:
        return self._set_paused(request, False)

    def _set_paused(self, request: Request, paused: bool) -> Response:
        parsed = self._authorized_body(request)
        if isinstance(parsed, Response):
            return parsed
        actor, body = parsed
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            return _error(400, f"reason: {reason!r} is not a string", field="reason", value=reason)
        if ("budget" in body) == ("match" in body):
            return _error(400, "give exactly one of budget (a budget name) or match (a scope)")
        if "budget" in body:
            name = body["budget"]
            if not isinstance(name, str):
                return _error(400, f"budget: {name!r} is not a budget name", field="budget", value=name)
            try:
                status = self.service.set_budget_paused(name, paused, actor=actor, reason=reason)
            except UnknownBudgetError as exc:
                return _error(404, str(exc), field="budget", value=name)
            return _json(200, status_json(status))
        try:
            match = parse_match(body["match"])
        except BudgetConfigError as exc:
            return _error(400, str(exc), field="match", value=body["match"])
        if match.is_everything:
            return _error(400, "match: an empty match would pause everything; name at least one field", field="match")
        changed = self.service.set_scope_paused(match, paused, actor=actor, reason=reason)
        return _json(200, {"match": match.as_dict(), "paused": paused, "changed": changed})

    def audit(self, request: Request) -> Response:
        actor = self._actor(request)
        if isinstance(actor, Response):
            return actor
        raw = request.query.get("limit", ["100"])[-1]
        if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
            return _error(400, f"limit: {raw!r} is not a whole number from 1 to 10000", field="limit", value=raw)
        entries = self.service.audit(int(raw))
        rows = [{**e.as_json(), "at": _iso(e.at_ns)} for e in entries]
        return _json(200, {"entries": rows})
