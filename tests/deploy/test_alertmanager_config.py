"""deploy/alertmanager: amtool checks, routing, grouping, inhibition, secrets left to files."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from am_harness import ALERTMANAGER_CONFIG, WebhookReceiver, render_config, running_alertmanager
from metric_contract import BUDGET_ALERT_NAME
from prom_harness import require_binary


def _config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    return loaded


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    amtool = require_binary("amtool")
    return subprocess.run([amtool, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
def test_amtool_check_config_passes() -> None:
    result = _amtool("check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert " - 2 inhibit rules" in result.stdout
    assert " - 4 receivers" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (
            {"alertname": BUDGET_ALERT_NAME, "budget": "team", "threshold": "1.0", "severity": "critical"},
            "genai-cost-critical",
        ),
        (
            {"alertname": BUDGET_ALERT_NAME, "budget": "team", "threshold": "0.75", "severity": "warning"},
            "genai-cost-warning",
        ),
        ({"alertname": BUDGET_ALERT_NAME, "budget": "team", "threshold": "0.5", "severity": "info"}, "genai-cost-info"),
        ({"alertname": "GenAIProcessorDown", "severity": "critical"}, "genai-cost-critical"),
        ({"alertname": "SomethingElse"}, "genai-cost-webhook"),
    ],
)
def test_amtool_routes_by_severity(labels: dict[str, str], receiver: str) -> None:
    result = _amtool(
        "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *(f"{k}={v}" for k, v in labels.items())
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_grouping_is_by_alert_name_and_budget() -> None:
    route = _config()["route"]
    assert route["group_by"] == ["alertname", "budget"]
    assert [r["matchers"] for r in route["routes"]] == [
        ['severity="critical"'],
        ['severity="warning"'],
        ['severity="info"'],
    ]


def test_inhibit_rules_silence_lower_severities_of_the_same_budget_only() -> None:
    assert _config()["inhibit_rules"] == [
        {
            "source_matchers": ['severity="critical"', 'budget=~".+"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": ["budget"],
        },
        {
            "source_matchers": ['severity="warning"', 'budget=~".+"'],
            "target_matchers": ['severity="info"'],
            "equal": ["budget"],
        },
    ]


def test_example_receivers_leave_secrets_to_files() -> None:
    config = _config()
    receivers = {r["name"]: r for r in config["receivers"]}
    kinds = {name: sorted(k for k in r if k.endswith("_configs")) for name, r in receivers.items()}
    assert kinds == {
        "genai-cost-webhook": ["webhook_configs"],
        "genai-cost-critical": ["email_configs", "slack_configs", "webhook_configs"],
        "genai-cost-warning": ["slack_configs", "webhook_configs"],
        "genai-cost-info": ["webhook_configs"],
    }
    assert config["global"]["smtp_auth_password_file"] == "/etc/alertmanager/secrets/smtp_password"
    assert config["global"]["slack_api_url_file"] == "/etc/alertmanager/secrets/slack_webhook_url"
    text = ALERTMANAGER_CONFIG.read_text()
    for secret_key in ("smtp_auth_password:", "api_url:", "auth_password:", "service_key:", "routing_key:"):
        assert secret_key not in text.replace("_file:", "_FILE:"), secret_key


def test_rendered_test_config_keeps_routing_and_only_posts_to_the_webhook() -> None:
    config = render_config("http://127.0.0.1:1/alerts")
    assert config["route"]["group_by"] == ["alertname", "budget"]
    assert config["route"]["group_wait"] == "1s"
    assert config["inhibit_rules"] == _config()["inhibit_rules"]
    for receiver in config["receivers"]:
        assert sorted(k for k in receiver if k.endswith("_configs")) == ["webhook_configs"]
        assert [w["url"] for w in receiver["webhook_configs"]] == ["http://127.0.0.1:1/alerts"]
    assert config["global"] == {"resolve_timeout": "5m"}


def _budget_alert(budget: str, threshold: str, severity: str) -> dict[str, Any]:
    return {
        "labels": {
            "alertname": BUDGET_ALERT_NAME,
            "budget": budget,
            "threshold": threshold,
            "severity": severity,
            "period": "month",
        },
        "annotations": {"summary": f"{budget} crossed {threshold}"},
    }


@pytest.mark.slow
def test_real_alertmanager_routes_groups_and_inhibits(tmp_path: Path) -> None:
    """Critical silences warning for the same budget only; notifications group by alert name and budget."""
    with WebhookReceiver() as hook, running_alertmanager(tmp_path, hook.url) as am:
        am.post_alerts(
            [
                _budget_alert("team-a", "0.9", "critical"),
                _budget_alert("team-a", "1.0", "critical"),
                _budget_alert("team-a", "0.75", "warning"),
                _budget_alert("team-b", "0.75", "warning"),
            ]
        )
        notifications = hook.wait_for(2)
        states = {
            (a["labels"]["budget"], a["labels"]["threshold"]): (a["status"]["state"], bool(a["status"]["inhibitedBy"]))
            for a in am.alerts()
        }
    assert states == {
        ("team-a", "0.9"): ("active", False),
        ("team-a", "1.0"): ("active", False),
        ("team-a", "0.75"): ("suppressed", True),
        ("team-b", "0.75"): ("active", False),
    }
    delivered = sorted(
        (n["receiver"], n["groupLabels"].get("budget", ""), sorted(a["labels"]["threshold"] for a in n["alerts"]))
        for n in notifications
    )
    assert delivered == [
        ("genai-cost-critical", "team-a", ["0.9", "1.0"]),
        ("genai-cost-warning", "team-b", ["0.75"]),
    ]
    assert all(n["groupLabels"]["alertname"] == BUDGET_ALERT_NAME for n in notifications)
