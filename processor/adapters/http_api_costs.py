"""``GET /api/v1/costs`` (JSON summaries) and ``GET /api/v1/export`` (streamed CSV / JSON lines / JSON).

Both read the ledger through their own read-only connection per request, so they never block the
writer. Query parameters (all optional, each at most once):

- ``group_by`` (costs only): agent, model, provider, session, day, month (default agent)
- ``format`` (export only): csv, jsonl, json (default csv)
- ``since`` / ``until``: an ISO date, an ISO datetime, ``now`` or a duration ago (``7d``);
  since inclusive, until exclusive, on the call's end time
- ``tz``: IANA zone for days, months and offset-less times (default UTC)
- ``agent``, ``model``, ``provider``, ``session``: exact matches

A bad parameter gets ``400`` with ``{"error": ..., "parameter": ..., "value": ...}``; a ledger that
cannot be read gets ``503`` with ``{"error": ...}``. Both are counted in
``genai_processor_api_errors_total{route, reason}`` (reason: bad_parameter,
ledger_unavailable). The JSON of ``/costs`` is the document of
``genai-cost report --format json``; money is exact USD text (``"0.015150"``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import orjson
from prometheus_client import CollectorRegistry, Counter

from genai_cost.processor.adapters.http_server import Request, Response, Routes
from genai_cost.processor.adapters.ledger.export import ExportFormat, serialize
from genai_cost.processor.adapters.ledger.queries import (
    CallFilter,
    connect_readonly,
    iter_calls,
    summarize,
)
from genai_cost.processor.domain.report import GroupBy, report_document
from genai_cost.processor.domain.timespec import TimeSpec, TimeSpecError, parse_zone, to_ns
from genai_cost.processor.pipeline.ports import LedgerError

COSTS_PATH = "/api/v1/costs"
EXPORT_PATH = "/api/v1/export"
JSON = "application/json"
BAD_PARAMETER = "bad_parameter"
LEDGER_UNAVAILABLE = "ledger_unavailable"

_RANGE_PARAMS = ("since", "until", "tz", "agent", "model", "provider", "session")
COSTS_PARAMS = ("group_by", *_RANGE_PARAMS)
EXPORT_PARAMS = ("format", *_RANGE_PARAMS)


class BadParameter(ValueError):
    """A query parameter with a bad value; names the parameter and the value."""

    def __init__(self, parameter: str, value: str | None, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.value = value


def _error(status: int, body: dict[str, object]) -> Response:
    return Response(status, orjson.dumps(body) + b"\n", JSON)


def _single(query: Mapping[str, Sequence[str]], allowed: Sequence[str]) -> dict[str, str]:
    """One value per known parameter; unknown or repeated parameters are errors."""
    out: dict[str, str] = {}
    for name, values in query.items():
        if name not in allowed:
            shown = values[0] if values else None
            raise BadParameter(name, shown, f"unknown parameter (known: {', '.join(allowed)})")
        if len(values) != 1:
            raise BadParameter(name, values[-1] if values else None, f"given {len(values)} times, at most once")
        out[name] = values[0]
    return out


@dataclass(frozen=True, slots=True)
class _Query:
    where: CallFilter
    tz: tzinfo
    since: datetime | None
    until: datetime | None
    labels: dict[str, str]


def _selection(params: Mapping[str, str], now: datetime) -> _Query:
    tz: tzinfo = UTC
    if "tz" in params:
        try:
            tz = parse_zone(params["tz"])
        except ValueError as exc:
            raise BadParameter("tz", params["tz"], str(exc)) from None
    bounds: dict[str, datetime] = {}
    for name in ("since", "until"):
        if name in params:
            try:
                bounds[name] = TimeSpec.parse(params[name]).resolve(now, tz)
            except TimeSpecError as exc:
                raise BadParameter(name, params[name], str(exc)) from None
    since, until = bounds.get("since"), bounds.get("until")
    if since is not None and until is not None and since >= until:
        raise BadParameter("until", params["until"], f"{until.isoformat()} is not after since ({since.isoformat()})")
    labels: dict[str, str] = {}
    for name in ("agent", "model", "provider", "session"):
        if name in params:
            if not params[name]:
                raise BadParameter(name, params[name], "must not be empty")
            labels[name] = params[name]
    where = CallFilter(
        since_ns=to_ns(since) if since else None,
        until_ns=to_ns(until) if until else None,
        **labels,
    )
    return _Query(where, tz, since, until, labels)


ErrorHook = Callable[[str, str], None]
"""Called with (route, reason) for every error answer."""


E = TypeVar("E", bound=StrEnum)


def _choice(params: Mapping[str, str], name: str, choices: type[E], default: E) -> E:
    """An enum-valued query parameter; a value outside the enum is a :class:`BadParameter`."""
    raw = params.get(name, default.value)
    try:
        return choices(raw)
    except ValueError:
        options = ", ".join(c.value for c in choices)
        raise BadParameter(name, raw, f"{raw!r} is not one of {options}") from None


class CostsApi:
    """The cost API over one ledger file."""

    def __init__(
        self,
        ledger_path: Path | str,
        clock: Callable[[], datetime] | None = None,
        on_error: ErrorHook | None = None,
    ) -> None:
        self._ledger_path = Path(ledger_path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._on_error = on_error

    def _bad(self, route: str, exc: BadParameter) -> Response:
        if self._on_error is not None:
            self._on_error(route, BAD_PARAMETER)
        return _error(400, {"error": str(exc), "parameter": exc.parameter, "value": exc.value})

    def _unavailable(self, route: str, exc: Exception) -> Response:
        if self._on_error is not None:
            self._on_error(route, LEDGER_UNAVAILABLE)
        return _error(503, {"error": f"ledger unavailable: {exc}"})

    def _connect(self) -> sqlite3.Connection:
        return connect_readonly(self._ledger_path)

    def costs(self, request: Request) -> Response:
        """``GET /api/v1/costs``: the report document as JSON."""
        try:
            params = _single(request.query, COSTS_PARAMS)
            group_by = _choice(params, "group_by", GroupBy, GroupBy.AGENT)
            q = _selection(params, self._clock())
        except BadParameter as exc:
            return self._bad(COSTS_PATH, exc)
        try:
            conn = self._connect()
            try:
                rows = summarize(conn, group_by, q.where, q.tz)
            finally:
                conn.close()
        except (LedgerError, sqlite3.Error) as exc:
            return self._unavailable(COSTS_PATH, exc)
        meta: dict[str, object] = {
            "since": q.since.isoformat() if q.since else None,
            "until": q.until.isoformat() if q.until else None,
            "timezone": str(q.tz),
            "filters": q.labels,
        }
        document = report_document(rows, group_by, meta)
        return Response(200, orjson.dumps(document) + b"\n", JSON)

    def export(self, request: Request) -> Response:
        """``GET /api/v1/export``: every selected call, streamed oldest first."""
        try:
            params = _single(request.query, EXPORT_PARAMS)
            fmt = _choice(params, "format", ExportFormat, ExportFormat.CSV)
            q = _selection(params, self._clock())
        except BadParameter as exc:
            return self._bad(EXPORT_PATH, exc)
        try:
            conn = self._connect()
        except (LedgerError, sqlite3.Error) as exc:
            return self._unavailable(EXPORT_PATH, exc)
        headers = {"Content-Disposition": f'attachment; filename="genai-cost-export.{fmt.value}"'}
        if request.method == "HEAD":
            conn.close()
            return Response(200, iter(()), fmt.media_type, headers)
        return Response(200, _stream(conn, q.where, fmt), fmt.media_type, headers)


def _stream(conn: sqlite3.Connection, where: CallFilter, fmt: ExportFormat) -> Iterator[bytes]:
    """The export's chunks; the connection closes when the stream ends or is closed early."""
    rows = iter_calls(conn, where)
    try:
        yield from serialize(rows, fmt)
    finally:
        rows.close()
        conn.close()


def register(routes: Routes, ledger_path: Path | str, registry: CollectorRegistry | None = None) -> CostsApi:
    """Serve ``GET /api/v1/costs`` and ``GET /api/v1/export`` for the ledger at ``ledger_path``.

    With a ``registry``, error answers are counted in ``genai_processor_api_errors_total``.
    """
    on_error: ErrorHook | None = None
    if registry is not None:
        errors = Counter(
            "genai_processor_api_errors",
            "Cost API requests answered with an error, by route and reason (bad_parameter, ledger_unavailable).",
            ["route", "reason"],
            registry=registry,
        )
        on_error = lambda route, reason: errors.labels(route, reason).inc()  # noqa: E731
    api = CostsApi(ledger_path, on_error=on_error)
    routes.add("GET", COSTS_PATH, api.costs)
    routes.add("GET", EXPORT_PATH, api.export)
    return api
