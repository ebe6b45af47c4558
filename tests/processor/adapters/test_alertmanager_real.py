"""The Alertmanager client against the real ``prometheus-alertmanager`` binary."""

from __future__ import annotations

from pathlib import Path

import alertmanager_harness
import pytest

from genai_cost.processor.adapters.alertmanager import Alert, AlertmanagerClient, AlertmanagerSettings, SendOutcome

h = alertmanager_harness

LABELS = {"alertname": "GenAIBudgetThreshold", "budget": "b1", "threshold": "0.5", "severity": "info", "period": "day"}


@pytest.mark.slow
def test_alert_sent_while_alertmanager_is_down_arrives_when_it_is_back(tmp_path: Path) -> None:
    webhook = h.WebhookReceiver()
    am = h.Alertmanager(tmp_path, webhook.url)
    am.start()
    client = AlertmanagerClient(
        AlertmanagerSettings(urls=(am.url,), backoff_initial=0.05, backoff_max=0.2, timeout=1.0)
    )
    client.start()
    try:
        am.stop()
        client.update([Alert(labels=LABELS, annotations={"summary": "b1 at 50%"})])
        h.wait_for(lambda: client.sends()[SendOutcome.UNREACHABLE] >= 2)
        am.start()
        (alert,) = h.wait_for(lambda: am.alerts(budget="b1"), timeout=5)
        assert alert["labels"] == LABELS
        assert alert["annotations"] == {"summary": "b1 at 50%"}
        assert alert["status"]["state"] == "active"
        notes = webhook.wait(lambda ns: any(n["status"] == "firing" for n in ns))
        assert [a["labels"]["budget"] for a in notes[-1]["alerts"]] == ["b1"]
        assert client.sends()[SendOutcome.SUCCESS] >= 1
    finally:
        client.stop()
        am.stop()
        webhook.close()
