"""``genai-cost export``: every recorded call in a range, as CSV, JSON lines or a JSON array, streamed."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from genai_cost.processor.adapters.ledger.export import EXPORT_COLUMNS, ExportFormat, serialize
from genai_cost.processor.adapters.ledger.queries import connect_readonly, count_calls, iter_calls
from genai_cost.processor.commands import query_options as opts
from genai_cost.processor.pipeline.ports import LedgerError

NAME = "export"
PROGRESS_INTERVAL_S = 0.1

DESCRIPTION = f"""\
Export recorded calls, oldest first, one record per call with the columns
{", ".join(EXPORT_COLUMNS)}.
Costs are exact USD text (never floats); time is the end time in RFC 3339 UTC. Rows are
streamed, so memory stays flat on any ledger size; a progress bar is drawn on stderr when it is
a terminal and the records do not go to that terminal.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(NAME, help="export recorded calls as CSV or JSON", description=DESCRIPTION)
    parser.add_argument(
        "--format",
        choices=[f.value for f in ExportFormat],
        default=ExportFormat.CSV.value,
        help="csv (default), jsonl (one JSON object per line) or json (one array)",
    )
    parser.add_argument("-o", "--output", metavar="FILE", type=Path, help="write here instead of stdout")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw a progress bar on stderr (default: when stderr is a terminal and stdout is not)",
    )
    opts.add_range_options(parser)
    opts.add_label_filters(parser)
    opts.add_ledger_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the export; exit 0, 1 when the ledger or the output cannot be used, 2 for bad options."""
    try:
        _cfg, _tz, selection, path = opts.resolve(args)
    except opts.UsageError as exc:
        return opts.usage_error(NAME, str(exc))
    try:
        conn = connect_readonly(path)
    except LedgerError as exc:
        return opts.runtime_error(NAME, str(exc))
    rows = iter_calls(conn, selection.where)
    try:
        return _export(args, conn, selection, rows)
    finally:
        rows.close()
        conn.close()


def _export(
    args: argparse.Namespace,
    conn: sqlite3.Connection,
    selection: opts.Selection,
    rows: Iterator[tuple[object, ...]],
) -> int:
    to_file = args.output is not None
    show = args.progress
    if show is None:
        show = sys.stderr.isatty() and (to_file or not sys.stdout.isatty())
    bar: ProgressBar | None = None
    if show:
        bar = ProgressBar(count_calls(conn, selection.where), sys.stderr)
        rows = bar.track(rows)
    chunks = serialize(rows, ExportFormat(args.format))
    try:
        if to_file:
            with open(args.output, "wb") as out:
                _write(chunks, out)
        else:
            _write(chunks, sys.stdout.buffer)
    except BrokenPipeError:
        _silence_stdout()  # the reader went away (e.g. `| head`): not an error
    except OSError as exc:
        return opts.runtime_error(NAME, f"cannot write {str(args.output)!r}: {exc.strerror or exc}")
    finally:
        if bar is not None:
            bar.finish()
    return 0


def _write(chunks: Iterable[bytes], out: BinaryIO) -> None:
    for chunk in chunks:
        out.write(chunk)
    out.flush()


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class ProgressBar:
    """A one-line ``[#####-----]  45%  450,000/1,000,000 calls`` bar, redrawn at most 10 times a second."""

    WIDTH = 30

    def __init__(self, total: int, out: TextIO) -> None:
        self.total = total
        self.done = 0
        self._out = out
        self._last = 0.0

    def track(self, rows: Iterable[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
        for row in rows:
            self.done += 1
            if self.done % 1000 == 0:
                now = time.monotonic()
                if now - self._last >= PROGRESS_INTERVAL_S:
                    self._last = now
                    self.draw()
            yield row

    def line(self) -> str:
        fraction = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(fraction * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        return f"[{bar}] {int(fraction * 100):3d}%  {self.done:,}/{self.total:,} calls"

    def draw(self) -> None:
        self._out.write("\r" + self.line())
        self._out.flush()

    def finish(self) -> None:
        self.draw()
        self._out.write("\n")
        self._out.flush()
