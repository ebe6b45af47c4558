"""The demo's live per-agent table, read from the ledger while the workload runs."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import TextIO

from genai_cost.processor.adapters.ledger.queries import CallFilter, connect_readonly, count_calls, summarize
from genai_cost.processor.domain.report import GroupBy, render_table

_CLEAR = "\x1b[H\x1b[J"


def agent_table(ledger: Path) -> tuple[int, str]:
    """(calls recorded, the per-agent table) from the ledger as it is now."""
    conn = connect_readonly(ledger)
    try:
        calls = count_calls(conn, CallFilter())
        rows = summarize(conn, GroupBy.AGENT, CallFilter(), UTC)
    finally:
        conn.close()
    return calls, render_table(rows, GroupBy.AGENT)


class LiveTable:
    """Redraws the per-agent table every ``interval`` seconds on a terminal (a line per update otherwise)."""

    def __init__(
        self, ledger: Path, out: TextIO, progress: Callable[[], str], *, tty: bool, interval: float = 1.0
    ) -> None:
        self._ledger = ledger
        self._out = out
        self._progress = progress
        self._tty = tty
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-live-table", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        last = ""
        while not self._stop.wait(self._interval):
            try:
                calls, table = agent_table(self._ledger)
            except sqlite3.Error:
                continue  # the ledger is being created: try again next tick
            line = f"{self._progress()} | {calls} calls recorded"
            if self._tty:
                self._out.write(f"{_CLEAR}{line}\n\n{table}\n")
            elif line != last:
                self._out.write(line + "\n")
            last = line
            self._out.flush()
