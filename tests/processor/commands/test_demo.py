"""``genai-cost demo``: the real CLI end to end, with its budget alert delivered to a real Alertmanager."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY_TESTS = Path(__file__).resolve().parents[2] / "deploy"
if str(DEPLOY_TESTS) not in sys.path:
    sys.path.insert(0, str(DEPLOY_TESTS))

from am_harness import WebhookReceiver, running_alertmanager  # noqa: E402

from genai_cost.processor.commands.demo import budget_line  # noqa: E402

pytestmark = pytest.mark.slow
GENAI_COST = str(Path(sys.executable).with_name("genai-cost"))


def test_demo_records_every_call_and_its_budget_alert_lands_in_alertmanager(tmp_path: Path) -> None:
    ledger = tmp_path / "demo.sqlite3"
    with WebhookReceiver() as webhook, running_alertmanager(tmp_path / "am", webhook.url) as alertmanager:
        args = ["--rounds", "2", "--http-port", "0", "--budget-usd", "0.05", "--alertmanager", alertmanager.url]
        result = subprocess.run(
            [GENAI_COST, "demo", *args, "--ledger", str(ledger)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "Spend by agent (16 of 16 calls recorded, 8 per round)" in out
        for agent in ("research-agent", "billing-agent", "support-bot", "labs-agent"):
            assert re.search(rf"^{agent} +\d+ ", out, re.MULTILINE), agent
        # Two rounds: 4 Claude calls at $0.01515 each dominate; the unknown model is listed, not $0.
        assert re.search(r"^claude-sonnet-4-5 +4 +0 +200 +40,000 +8,000 +1,200 +0 +0\.060600", out, re.MULTILINE)
        assert "Unpriced: openai/acme-llm-1 (2 calls)" in out
        assert "Budget demo-monthly (month):" in out and "100% critical" in out

        notifications = webhook.wait_for(1, timeout=30)
        alerts = [a for n in notifications for a in n["alerts"]]
        assert {a["labels"]["budget"] for a in alerts} == {"demo-monthly"}
        assert {a["labels"]["alertname"] for a in alerts} == {"GenAIBudgetThreshold"}
    assert ledger.exists()  # --ledger keeps the ledger for later reports


def test_budget_line_reads_as_a_sentence() -> None:
    line = budget_line(
        {
            "name": "team",
            "period": "month",
            "spend_usd": "0.44826876",
            "limit_usd": "0.40",
            "utilization": "1.1206719",
            "projected_usd": "0.619798",
            "period_end": "2026-12-01T00:00:00+00:00",
            "firing": [{"threshold": "0.5", "severity": "info"}, {"threshold": "1", "severity": "critical"}],
        }
    )
    assert line == (
        "Budget team (month): $0.4483 of $0.40 (112%), projected $0.6198 by 2026-12-01; "
        "alerts firing: 50% info, 100% critical"
    )
