"""The pipeline depends on domain and ingest only: no transports, no storage engine, no Prometheus."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import genai_cost.processor.pipeline as pipeline_package

FORBIDDEN = ("grpc", "sqlite3", "prometheus_client", "http", "asyncio", "genai_cost.processor.adapters")
SOURCES = sorted(Path(pipeline_package.__file__).parent.glob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_pipeline_module_imports_no_adapter(path: Path) -> None:
    bad = sorted(n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN))
    assert bad == []


def test_the_scan_sees_the_modules() -> None:
    assert {"engine.py", "totals.py", "service.py", "ports.py"} <= {p.name for p in SOURCES}
