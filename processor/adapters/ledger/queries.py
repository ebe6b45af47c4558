"""Read-side queries over the SQLite ledger: summaries, export rows, unpriced models, re-pricing.

Money is summed without any chance of overflow or rounding: SQLite's ``SUM`` of 64-bit integers
raises past 2^63 pico-USD (about 9.2 million USD), so each cost column is summed as two parts,
``x / 10^6`` and ``x % 10^6``, that cannot overflow for any realistic ledger, and recombined as a
Python int. Callers turn the pico-USD ints into Decimal (see ``domain.report``).

Calendar grouping (day, month) is exact in any IANA zone: the local midnights covering the
selected rows are put in a temporary table and each period is read with a range scan of the
``end_time_ns`` index. A call belongs to the period its ``end_time_ns`` falls in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from tzinfo_alias import _unused  # noqa: F401  (placeholder removed below)
