"""deploy/prometheus: promtool checks and unit tests, rule conventions, the metric contract."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from metric_contract import CONTRACT_SERIES, HTTP_PORT, METRICS_PATH, PROMETHEUS_SERIES, SCRAPE_JOB
from prom_harness import PROMETHEUS_DIR, render_config, require_binary
from promql_names import selected_series

RULES_DIR = PROMETHEUS_DIR / "rules"
TESTS_DIR = PROMETHEUS_DIR / "tests"
RULE_FILES = sorted(RULES_DIR.glob("*.rules.yml"))
TEST_FILES = sorted(TESTS_DIR.glob("*.test.yml"))
RUNBOOK = PROMETHEUS_DIR / "runbook.md"
RUNBOOK_PREFIX = "https://runbooks.example.com/genai-cost/runbook.md#"

RECORD_NAME = re.compile(r"^[a-z_]*:[a-z][a-z0-9_]*:[a-z0-9_]+$")
ALERT_NAME = re.compile(r"^GenAI(?:[A-Z][a-z0-9]*)+$")

EXPECTED_ALERTS = {
    "GenAIBudgetProjectedOverspend": "warning",
    "GenAISpendRateAnomaly": "warning",
    "GenAIUnpricedModel": "warning",
    "GenAIProcessorDown": "critical",
    "GenAIProcessorAbsent": "critical",
    "GenAIProcessorRejectingSpans": "warning",
    "GenAIAlertSendsFailing": "critical",
}
EXPECTED_RECORDS = [
    "agent_provider_model_operation:genai_cost_usd:rate5m",
    "agent_provider_model_token_type:genai_cost_usd:rate5m",
    "agent_provider_model_token_type:genai_tokens:rate5m",
    "agent_provider_model_outcome:genai_requests:rate5m",
    "provider_model:genai_unpriced_requests:rate5m",
    "agent:genai_cost_usd:rate1h",
    "agent:genai_cost_usd:avg_over_time7d_rate1h",
]


def _rules() -> list[dict[str, Any]]:
    return [
        rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]
    ]


def _alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in _rules() if "alert" in rule}


def _records() -> list[str]:
    return [rule["record"] for rule in _rules() if "record" in rule]


def _run(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_promtool_check_config() -> None:
    promtool = require_binary("promtool")
    result = _run(promtool, "check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in result.stdout


@pytest.mark.slow
def test_promtool_check_rules() -> None:
    promtool = require_binary("promtool")
    result = _run(promtool, "check", "rules", *(str(p.relative_to(PROMETHEUS_DIR)) for p in RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS: 7 rules found") == 2


@pytest.mark.slow
@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda p: p.name)
def test_promtool_test_rules(test_file: Path) -> None:
    promtool = require_binary("promtool")
    result = _run(promtool, "test", "rules", str(test_file.relative_to(PROMETHEUS_DIR)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.slow
def test_promtool_test_rules_fails_when_a_threshold_changes(tmp_path: Path) -> None:
    """The unit tests pin the rules: a looser threshold makes them fail."""
    promtool = require_binary("promtool")
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    for path in RULE_FILES:
        (tmp_path / "rules" / path.name).write_text(path.read_text().replace("> 0.05", "> 0.2"))
    test_file = TESTS_DIR / "genai-cost-alerts.test.yml"
    (tmp_path / "tests" / test_file.name).write_text(test_file.read_text())
    result = _run(promtool, "test", "rules", f"tests/{test_file.name}", cwd=tmp_path)
    assert result.returncode == 1
    assert "alertname: GenAIProcessorRejectingSpans, time: 16m" in result.stdout + result.stderr


def test_rule_files_hold_the_expected_rules() -> None:
    assert {name: rule["labels"]["severity"] for name, rule in _alerts().items()} == EXPECTED_ALERTS
    assert _records() == EXPECTED_RECORDS


@pytest.mark.parametrize("record", EXPECTED_RECORDS)
def test_recording_rule_names_follow_level_metric_operations(record: str) -> None:
    assert RECORD_NAME.match(record), record
    metric = record.split(":")[1]
    rule = next(r for r in _rules() if r.get("record") == record)
    # The metric part names the source metric (without _total), directly or through a recorded series.
    assert any(
        name.removesuffix("_total").endswith(metric) or f":{metric}:" in name for name in selected_series(rule["expr"])
    ), rule["expr"]


def test_levels_spell_the_kept_labels() -> None:
    """``agent_provider_model_token_type`` keeps agent, provider, model, token_type (label names contain _)."""
    for rule in _rules():
        if "record" not in rule:
            continue
        by = re.search(r"sum by \(([^)]*)\)", rule["expr"])
        level = rule["record"].split(":")[0]
        if by is None:  # avg_over_time of a recorded series keeps its labels
            assert level == rule["expr"].split("(")[1].split(":")[0]
            continue
        assert "_".join(label.strip() for label in by.group(1).split(",")) == level


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_alert_conventions(name: str) -> None:
    rule = _alerts()[name]
    assert ALERT_NAME.match(name)
    assert rule["labels"]["severity"] in {"info", "warning", "critical"}
    assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
    assert rule["annotations"]["runbook_url"] == f"{RUNBOOK_PREFIX}{name.lower()}"
    assert f"\n## {name}\n" in RUNBOOK.read_text()


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_every_alert_has_a_firing_and_a_not_firing_case(name: str) -> None:
    cases = [
        case
        for path in TEST_FILES
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case["alertname"] == name
    ]
    assert any(case["exp_alerts"] for case in cases), f"{name}: no case where it fires"
    assert any(not case["exp_alerts"] for case in cases), f"{name}: no case where it must not fire"


def test_test_files_load_every_rule_file_they_need() -> None:
    for path in TEST_FILES:
        loaded = {(path.parent / f).resolve() for f in yaml.safe_load(path.read_text())["rule_files"]}
        assert loaded <= set(RULE_FILES), path
        assert (RULES_DIR / "genai-cost-recording.rules.yml") in loaded, path


def test_rules_only_select_contract_and_recorded_series() -> None:
    allowed = CONTRACT_SERIES | PROMETHEUS_SERIES | set(EXPECTED_RECORDS)
    for rule in _rules():
        used = selected_series(rule["expr"])
        assert used, rule
        assert used <= allowed, f"{rule.get('alert') or rule.get('record')}: {sorted(used - allowed)}"


def test_prometheus_yml_scrapes_the_processor_and_loads_every_rule_file() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == SCRAPE_JOB)
    assert job["metrics_path"] == METRICS_PATH
    assert job["static_configs"] == [{"targets": [f"processor:{HTTP_PORT}"]}]
    assert config["rule_files"] == ["rules/*.rules.yml"]
    assert sorted(PROMETHEUS_DIR.glob(config["rule_files"][0])) == RULE_FILES
    assert config["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    for test_file in TEST_FILES:
        assert re.search(r"job=\"genai-cost\"", test_file.read_text()), test_file
    assert 'job="genai-cost"' in (RULES_DIR / "genai-cost-alerts.rules.yml").read_text()


def test_render_config_points_the_job_at_the_target_only() -> None:
    config = render_config("127.0.0.1:1234", alertmanager="127.0.0.1:9093")
    assert config["scrape_configs"] == [
        {"job_name": SCRAPE_JOB, "metrics_path": METRICS_PATH, "static_configs": [{"targets": ["127.0.0.1:1234"]}]}
    ]
    assert config["global"] == {"scrape_interval": "1s", "evaluation_interval": "1s"}
    assert config["rule_files"] == [str(RULES_DIR / "*.rules.yml")]
    assert config["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:9093"]}]}]}
    assert "alerting" not in render_config("127.0.0.1:1234")
