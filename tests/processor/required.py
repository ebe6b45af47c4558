"""Parts the tests need: missing ones fail the run in CI (where everything must be there) and skip elsewhere."""

from __future__ import annotations

import os
from typing import Any, NoReturn

import pytest


def missing(message: str) -> NoReturn:
    """Fail in CI, skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def compiled(module: Any, name: str) -> Any:
    """A compiled helper (None when it was not built)."""
    if module is None:
        missing(f"{name} was not built (a C compiler is needed)")
    return module
