"""Ledger rows as export records, serialized as CSV, JSON lines or one JSON array, in chunks.

Each record holds every ledger column in ``schema.CALL_COLUMNS`` order, preceded by ``time``
(the call's end time, RFC 3339 UTC with nanoseconds). Money columns ``cost_*_pusd`` are exported
as ``cost_*_usd``: exact decimal text (see ``domain.report.format_usd``), never a float. In JSON,
``tags`` is an object and ``usage_reported`` a boolean; in CSV, ``tags`` is its JSON text,
``usage_reported`` is ``1``/``0`` and a missing value (no session, no response id) is empty.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterable, Iterator
from enum import StrEnum

import orjson

from genai_cost.processor.adapters.ledger.schema import CALL_COLUMNS
from genai_cost.processor.domain.report import format_usd
from genai_cost.processor.domain.timespec import iso_utc_ns

ROWS_PER_CHUNK = 500


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"  # one JSON object per line
    JSON = "json"  # one JSON array

    @property
    def media_type(self) -> str:
        return {
            ExportFormat.CSV: "text/csv; charset=utf-8",
            ExportFormat.JSONL: "application/x-ndjson",
            ExportFormat.JSON: "application/json",
        }[self]


def _export_name(column: str) -> str:
    return column[: -len("_pusd")] + "_usd" if column.endswith("_pusd") else column


EXPORT_COLUMNS: tuple[str, ...] = ("time", *(_export_name(c) for c in CALL_COLUMNS))

_JSON_KEYS = EXPORT_COLUMNS
_MONEY_NAMES: tuple[tuple[int, str], ...] = tuple(
    (i, _export_name(c)) for i, c in enumerate(CALL_COLUMNS) if c.endswith("_pusd")
)
_END_TIME = CALL_COLUMNS.index("end_time_ns")
_TAGS = CALL_COLUMNS.index("tags")
_USAGE_REPORTED = CALL_COLUMNS.index("usage_reported")


def json_record(row: tuple[object, ...]) -> dict[str, object]:
    """The JSON export record of one ledger row (``CALL_COLUMNS`` order)."""
    record: dict[str, object] = dict(zip(_JSON_KEYS, (iso_utc_ns(row[_END_TIME]), *row), strict=True))  # type: ignore[arg-type]
    for index, name in _MONEY_NAMES:
        record[name] = format_usd(row[index])  # type: ignore[arg-type]
    tags = row[_TAGS]
    if tags == "{}":
        record["tags"] = {}
    else:
        with contextlib.suppress(orjson.JSONDecodeError):  # else kept as stored text
            record["tags"] = orjson.loads(tags)  # type: ignore[arg-type]
    record["usage_reported"] = bool(row[_USAGE_REPORTED])
    return record


def csv_values(row: tuple[object, ...]) -> list[object]:
    """The CSV cells of one ledger row (``None`` becomes an empty cell)."""
    cells: list[object] = [iso_utc_ns(row[_END_TIME]), *row]  # type: ignore[arg-type]
    for index, _ in _MONEY_NAMES:
        cells[index + 1] = format_usd(row[index])  # type: ignore[arg-type]
    return cells


def serialize(rows: Iterable[tuple[object, ...]], fmt: ExportFormat) -> Iterator[bytes]:
    """UTF-8 chunks of the whole export of ``rows`` (a header or bracket even when empty)."""
    if fmt is ExportFormat.CSV:
        yield from _csv_chunks(rows)
    elif fmt is ExportFormat.JSONL:
        yield from _jsonl_chunks(rows)
    else:
        yield from _json_array_chunks(rows)


def _batches(rows: Iterable[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= ROWS_PER_CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _csv_chunks(rows: Iterable[tuple[object, ...]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue().encode()
    for batch in _batches(rows):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_values(row) for row in batch)
        yield buffer.getvalue().encode()


def _jsonl_chunks(rows: Iterable[tuple[object, ...]]) -> Iterator[bytes]:
    for batch in _batches(rows):
        yield b"".join(orjson.dumps(json_record(row)) + b"\n" for row in batch)


def _json_array_chunks(rows: Iterable[tuple[object, ...]]) -> Iterator[bytes]:
    yield b"["
    first = True
    for batch in _batches(rows):
        parts = [orjson.dumps(json_record(row)) for row in batch]
        yield (b"\n" if first else b",\n") + b",\n".join(parts)
        first = False
    yield b"\n]\n" if not first else b"]\n"
