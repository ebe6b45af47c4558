"""``GET /api/v1/costs`` and ``/api/v1/export`` served by the real HTTP server on a free loopback port."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import ledger_rows as ledger_rows_helpers
import pytest
from prometheus_client import CollectorRegistry

from genai_cost.processor.adapters import http_api_costs
from genai_cost.processor.adapters.http_server import HttpServer, Request, Routes
from genai_cost.processor.adapters.ledger.schema import CALL_COLUMNS

lr = ledger_rows_helpers


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) * 1_000_000_000


ROWS = [
    lr.row(agent="planner", provider="openai", model="gpt-4o", session="s1",
           end_time_ns=ns("2024-05-01T10:00:00+00:00"), input_tokens=1000, output_tokens=300,
           cost_input_pusd=2_500_000_000, cost_output_pusd=3_000_000_000),
    lr.row(agent="planner", provider="anthropic", model="claude-sonnet-4",
           end_time_ns=ns("2024-05-01T23:30:00+00:00"), input_tokens=500, cache_write_tokens=100,
           cost_input_pusd=1_500_000_000, cost_cache_write_pusd=375_000_000),
    lr.row(agent="writer", provider="openai", model="gpt-4o", tags='{"team":"docs"}',
           end_time_ns=ns("2024-05-02T00:30:00+00:00"), output_tokens=1000,
           cost_output_pusd=10_000_000_007),
    lr.row(agent="writer", provider="openai", model="ft:mystery", price_source="unpriced",
           end_time_ns=ns("2024-05-02T12:00:00+00:00"), input_tokens=100),
]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server for the module (stopping one takes half a second); the tests only read."""
    ledger = lr.create_ledger(tmp_path_factory.mktemp("api") / "ledger.sqlite3", ROWS)
    http = HttpServer("127.0.0.1", 0)
    http_api_costs.register(http.routes, ledger)
    http.start()
    yield f"http://127.0.0.1:{http.port}"
    http.stop()


def get(base: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(base + path, params=params, timeout=10)


def test_costs_by_agent(server: str) -> None:
    response = get(server, "/api/v1/costs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    assert [(g["agent"], g["calls"], g["unpriced_calls"], g["cost_usd"]) for g in doc["groups"]] == [
        ("writer", 2, 1, "0.010000000007"),
        ("planner", 2, 0, "0.007375"),
    ]
    assert doc["total"]["cost_usd"] == "0.017375000007"
    assert doc["total"]["tokens"] == {"input": 1600, "cache_read": 0, "cache_write": 100, "output": 1300,
                                      "reasoning": 0}  # fmt: skip
    assert (doc["group_by"], doc["currency"], doc["since"], doc["filters"]) == ("agent", "USD", None, {})


def test_costs_by_day_in_a_zone_with_range_and_filter(server: str) -> None:
    response = get(
        server, "/api/v1/costs", group_by="day", tz="America/New_York", since="2024-05-01",
        until="2024-05-03", provider="openai",
    )  # fmt: skip
    assert response.status_code == 200
    doc = response.json()
    # New York is -04:00: 00:30Z on 2 May is 20:30 on 1 May; 12:00Z on 2 May is 08:00 on 2 May
    assert [(g["day"], g["calls"], g["cost_usd"]) for g in doc["groups"]] == [
        ("2024-05-01", 2, "0.015500000007"),
        ("2024-05-02", 1, "0.000000"),
    ]
    assert (doc["since"], doc["until"], doc["timezone"], doc["filters"]) == (
        "2024-05-01T00:00:00-04:00",
        "2024-05-03T00:00:00-04:00",
        "America/New_York",
        {"provider": "openai"},
    )


@pytest.mark.parametrize(
    ("params", "parameter", "value", "error"),
    [
        ({"group_by": "week"}, "group_by", "week",
         "group_by: 'week' is not one of agent, model, provider, session, day, month"),
        ({"since": "7x"}, "since", "7x", "since: '7x' is not an ISO date (2024-05-01), an ISO datetime"),
        ({"tz": "Mars/Olympus"}, "tz", "Mars/Olympus",
         "tz: 'Mars/Olympus' is not a known IANA time zone (e.g. UTC, Europe/Paris)"),
        ({"since": "2024-05-02", "until": "2024-05-01"}, "until", "2024-05-01",
         "until: 2024-05-01T00:00:00+00:00 is not after since (2024-05-02T00:00:00+00:00)"),
        ({"groupby": "model"}, "groupby", "model", "groupby: unknown parameter (known: group_by, since, until"),
        ({"agent": ["a", "b"]}, "agent", "b", "agent: given 2 times, at most once"),
        ({"model": ""}, "model", "", "model: must not be empty"),
    ],
)  # fmt: skip
def test_costs_bad_parameters_are_400_naming_parameter_and_value(
    server: str, params: dict[str, Any], parameter: str, value: str, error: str
) -> None:
    response = get(server, "/api/v1/costs", **params)
    assert response.status_code == 400
    body = response.json()
    assert (body["parameter"], body["value"]) == (parameter, value)
    assert body["error"].startswith(error)


def test_export_csv_is_streamed_and_equals_the_ledger(server: str) -> None:
    with httpx.stream("GET", server + "/api/v1/export", timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == 'attachment; filename="genai-cost-export.csv"'
        text = response.read().decode()
    records = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(records) == len(ROWS)
    for record, row in zip(records, sorted(ROWS, key=lambda r: r["end_time_ns"]), strict=True):
        for column in CALL_COLUMNS:
            if column.endswith("_pusd"):
                got = Decimal(record[column.removesuffix("_pusd") + "_usd"])
                assert got == Decimal(row[column]) / Decimal(10**12), column
            else:
                assert record[column] == ("" if row[column] is None else str(row[column])), column
        seconds = row["end_time_ns"] // 10**9
        assert record["time"] == datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_export_json_formats_with_filters(server: str, fmt: str) -> None:
    response = get(server, "/api/v1/export", format=fmt, agent="writer", since="2024-05-02T00:00:00Z")
    assert response.status_code == 200
    if fmt == "jsonl":
        assert response.headers["content-type"] == "application/x-ndjson"
        records = [json.loads(line) for line in response.text.splitlines()]
    else:
        assert response.headers["content-type"] == "application/json"
        records = response.json()
    assert [(r["model"], r["cost_output_usd"], r["cost_total_usd"], r["tags"]) for r in records] == [
        ("gpt-4o", "0.010000000007", "0.010000000007", {"team": "docs"}),
        ("ft:mystery", "0.000000", "0.000000", {}),
    ]
    assert [r["price_source"] for r in records] == ["genai-prices", "unpriced"]


def test_export_bad_format_is_400(server: str) -> None:
    response = get(server, "/api/v1/export", format="xml")
    assert response.status_code == 400
    assert response.json() == {
        "error": "format: 'xml' is not one of csv, jsonl, json",
        "parameter": "format",
        "value": "xml",
    }


def test_missing_ledger_is_503(tmp_path: Path) -> None:
    http = HttpServer("127.0.0.1", 0)
    http_api_costs.register(http.routes, tmp_path / "gone.sqlite3")
    http.start()
    try:
        for path in ("/api/v1/costs", "/api/v1/export"):
            response = httpx.get(f"http://127.0.0.1:{http.port}{path}", timeout=10)
            assert response.status_code == 503
            assert response.json() == {
                "error": f"ledger unavailable: ledger '{tmp_path / 'gone.sqlite3'}' does not exist"
            }
    finally:
        http.stop()


def test_post_is_not_allowed(server: str) -> None:
    response = httpx.post(server + "/api/v1/costs", timeout=10)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_head_export_sends_headers_only(server: str) -> None:
    response = httpx.head(server + "/api/v1/export", params={"format": "jsonl"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.content == b""


def test_error_answers_are_counted(tmp_path: Path) -> None:
    routes = Routes()
    registry = CollectorRegistry()
    ledger = lr.create_ledger(tmp_path / "counted.sqlite3", ROWS[:1])
    http_api_costs.register(routes, ledger, registry)

    def call(target: str) -> int:
        path = target.split("?")[0]
        handler = routes.resolve("GET", path)
        assert callable(handler)
        return handler(Request("GET", target, Message(), io.BytesIO())).status

    assert call("/api/v1/costs?group_by=model") == 200
    assert call("/api/v1/costs?group_by=year") == 400
    assert call("/api/v1/costs?since=soon") == 400
    assert call("/api/v1/export?format=xml") == 400
    ledger.unlink()
    assert call("/api/v1/export") == 503

    def count(route: str, reason: str) -> float | None:
        return registry.get_sample_value("genai_processor_api_errors_total", {"route": route, "reason": reason})

    assert count("/api/v1/costs", "bad_parameter") == 2
    assert count("/api/v1/export", "bad_parameter") == 1
    assert count("/api/v1/export", "ledger_unavailable") == 1
    assert count("/api/v1/costs", "ledger_unavailable") is None
