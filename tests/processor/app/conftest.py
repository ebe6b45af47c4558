"""Fixtures for the app and serve tests: ``calls`` builds LlmCall/PricedCall values."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_NAME = "genai_cost_tests_calls"


def load_calls() -> ModuleType:
    if _NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parents[1] / "calls.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[_NAME]


@pytest.fixture
def calls() -> ModuleType:
    """The ``tests/processor/calls.py`` helpers (``call``, ``cost``, ``priced``, ``TablePricer``)."""
    return load_calls()
