"""Shared by the processor tests: the helper modules in this folder are importable by name.

``calls`` (LlmCall/PricedCall builders, pricer and decoder doubles), ``ledger_rows`` (ledgers built
from plain rows), ``otlp_values`` (AnyValues from Python values), ``required`` (what is missing
fails in CI) and ``alertmanager_harness`` (the real Alertmanager binary); the ``calls`` and
``ledger_rows`` fixtures hand the first two to tests.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import calls as calls_helpers  # noqa: E402
import ledger_rows as ledger_rows_helpers  # noqa: E402


@pytest.fixture
def calls() -> ModuleType:
    """The ``calls.py`` helpers (``call``, ``cost``, ``priced``, ``TablePricer``, ``TableDecoder``)."""
    return calls_helpers


@pytest.fixture
def ledger_rows() -> ModuleType:
    """The ``ledger_rows.py`` helpers (``row``, ``create_ledger``, ``read_all``)."""
    return ledger_rows_helpers
