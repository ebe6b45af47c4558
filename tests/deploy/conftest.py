"""Fixtures for the deploy kit tests; makes this folder's helper modules importable.

Helpers (import them by name in tests here and in tests/grafana):
``metric_contract`` (the metric list), ``promql_names`` (series a PromQL expression selects),
``prom_harness`` (run the real Prometheus), ``dashboard_queries`` (every dashboard query),
``fake_exporter`` (a /metrics endpoint serving every contract metric).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from fake_exporter import FakeExporter  # noqa: E402
from prom_harness import PrometheusServer, running_prometheus  # noqa: E402


@pytest.fixture(scope="module")
def fake_exporter() -> Iterator[FakeExporter]:
    """A fake processor /metrics endpoint on a free loopback port."""
    with FakeExporter() as exporter:
        yield exporter


@pytest.fixture(scope="module")
def prometheus_on_fake(
    fake_exporter: FakeExporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    """The real Prometheus with deploy/prometheus rules, scraping the fake exporter, rules evaluated."""
    with running_prometheus(fake_exporter.address, tmp_path_factory.mktemp("prometheus")) as prometheus:
        prometheus.wait_for_scrapes(3)
        prometheus.wait_for_rules_evaluated()
        yield prometheus
