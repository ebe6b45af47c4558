"""Exact values of the overview's range panels, evaluated by promtool on hand-made series.

Prices and token counts are powers of two so every figure is exact in floating point. Ten minutes
of one-minute samples, evaluated at 10m with ``$__range`` = 10m: increase() sees exactly ten steps.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from dashboard_queries import REPO_ROOT, panel_queries
from prom_harness import require_binary

pytestmark = pytest.mark.slow

RULES = REPO_ROOT / "deploy" / "prometheus" / "rules" / "genai-cost-recording.rules.yml"

# (agent, provider, model, token_type): (tokens per minute, USD per minute)
USAGE = {
    ("support", "openai", "gpt-4o", "input"): (1024, 2**-8),  # 2^-18 USD per token
    ("support", "openai", "gpt-4o", "cache_read"): (4096, 2**-10),  # 2^-22 USD per token
    ("support", "openai", "gpt-4o", "output"): (512, 2**-6),
    ("research", "anthropic", "claude-sonnet-4", "input"): (2048, 2**-8),  # 2^-19 USD per token
    ("research", "anthropic", "claude-sonnet-4", "cache_read"): (8192, 2**-9),  # 2^-22
    ("research", "anthropic", "claude-sonnet-4", "cache_write"): (1024, 2**-7),  # 2^-17: dearer than input
    # Cached tokens but no uncached input: no input price to compare with, so no savings figure.
    ("support", "gcp.gemini", "gemini-2.5-pro", "cache_read"): (4096, 2**-12),
}


def _series() -> list[dict[str, str]]:
    series: list[dict[str, str]] = []
    for (agent, provider, model, token_type), (tokens, usd) in USAGE.items():
        labels = (
            f'agent="{agent}", provider="{provider}", model="{model}", operation="chat", '
            f'token_type="{token_type}", instance="p1:9464", job="genai-cost"'
        )
        series.append({"series": f"genai_tokens_total{{{labels}}}", "values": f"0+{tokens}x10"})
        series.append({"series": f"genai_cost_usd_total{{{labels}}}", "values": f"0+{usd!r}x10"})
    series.append(
        {
            "series": 'genai_unpriced_requests_total{provider="acme", model="mystery-1", instance="p1:9464"}',
            "values": "0+3x10",
        }
    )
    return series


def _expr(title: str, values: dict[str, str] | None = None) -> str:
    query = next(q for q in panel_queries() if q.dashboard == "genai-cost-overview" and q.panel == title)
    return query.promql({"__range": "10m", **(values or {})})


CASES: list[tuple[str, dict[str, str], list[dict[str, Any]]]] = [
    # gpt-4o: 40960 cached tokens at 2^-18 = 0.15625, minus their cost 0.009765625.
    # claude: 92160 cached tokens at 2^-19 = 0.17578125, minus 0.01953125 + 0.078125.
    ("Cache savings in range", {}, [{"labels": "{}", "value": 0.146484375 + 0.078125}]),
    ("Cache savings in range", {"agent": "research"}, [{"labels": "{}", "value": 0.078125}]),
    ("Cache savings in range", {"model": "gemini-2.5-pro"}, []),
    ("Spend in range", {}, [{"labels": "{}", "value": 0.34423828125}]),
    ("Spend today", {"provider": "openai"}, [{"labels": "{}", "value": 0.205078125}]),
    (
        "Top models by spend",
        {},
        [
            {"labels": '{provider="openai", model="gpt-4o"}', "value": 0.205078125},
            {"labels": '{provider="anthropic", model="claude-sonnet-4"}', "value": 0.13671875},
            {"labels": '{provider="gcp.gemini", model="gemini-2.5-pro"}', "value": 0.00244140625},
        ],
    ),
    (
        "Tokens in range by type",
        {"agent": "support"},
        [
            {"labels": '{token_type="input"}', "value": 10240},
            {"labels": '{token_type="cache_read"}', "value": 81920},
            {"labels": '{token_type="output"}', "value": 5120},
        ],
    ),
    ("Unpriced calls in range", {}, [{"labels": "{}", "value": 30}]),
]


def test_overview_range_panels_have_exact_values(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    test_file = tmp_path / "dashboard.test.yml"
    test_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(RULES)],
                "evaluation_interval": "1m",
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": _series(),
                        "promql_expr_test": [
                            {"expr": _expr(title, values), "eval_time": "10m", "exp_samples": samples}
                            for title, values, samples in CASES
                        ],
                    }
                ],
            },
            sort_keys=False,
        )
    )
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_expected_value_fails(tmp_path: Path) -> None:
    """Guards the test above: promtool compares values exactly here."""
    promtool = require_binary("promtool")
    test_file = tmp_path / "dashboard.test.yml"
    test_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(RULES)],
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": _series(),
                        "promql_expr_test": [
                            {
                                "expr": _expr("Cache savings in range"),
                                "eval_time": "10m",
                                "exp_samples": [{"labels": "{}", "value": 0.224609376}],
                            }
                        ],
                    }
                ],
            }
        )
    )
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "2.24609375E-01" in result.stdout + result.stderr
