"""Fixtures for the ledger read-side tests: ``ledger_rows`` builds ledgers from plain rows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_NAME = "genai_cost_tests_ledger_rows"


def _ledger_rows() -> ModuleType:
    if _NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parents[2] / "ledger_rows.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[_NAME]


@pytest.fixture
def ledger_rows() -> ModuleType:
    """The ``tests/processor/ledger_rows.py`` helpers (``row``, ``create_ledger``, ``read_all``)."""
    return _ledger_rows()
