"""Configuration: flags > GENAI_COST_* env > YAML file > defaults; precise errors."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

from genai_cost.processor import config as cfg
from genai_cost.processor import environment_variables as env


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cfg.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    c = cfg.load(_args(), environ={})
    assert (c.grpc_enabled, c.grpc, c.grpc_workers) == (True, cfg.Listen("127.0.0.1", 4317), 8)
    assert (c.otlp_http_enabled, c.otlp_http) == (True, cfg.Listen("127.0.0.1", 4318))
    assert c.http == cfg.Listen("127.0.0.1", 9464)
    assert c.max_request_bytes == 16 * 1024 * 1024
    assert c.ledger_path == tmp_path / "data" / "genai-cost" / "ledger.sqlite3"
    assert (c.ledger_synchronous, c.ledger_response_window) == ("full", 500_000)
    assert (c.queue_max_calls, c.max_commit_calls, c.ack_timeout_s) == (50_000, 20_000, 9.0)
    assert (c.nested_window_calls, c.shutdown_grace_s) == (20_000, 10.0)
    assert (c.label_value_limit, c.overflow_value) == (1000, "other")
    assert (c.pricing_overrides_file, c.tag_attributes, c.log_level) == (None, {}, "info")
    assert (c.sections, c.source) == ({}, None)


def test_flag_beats_env_beats_file(tmp_path: Path) -> None:
    file = tmp_path / "genai-cost.yaml"
    file.write_text(
        "otlp:\n  grpc:\n    port: 1111\n    host: 0.0.0.0\n  http:\n    port: 2222\n"
        "http:\n  port: 3333\nledger:\n  path: ~/ledgers/x.sqlite3\n"
        "ingest:\n  tag_attributes: [team, tenant]\n"
        "budgets:\n  - name: monthly\n    limit_usd: 100\nalertmanager:\n  url: http://am:9093\n"
    )
    environ = {env.GENAI_COST_OTLP_HTTP_PORT: "4444", env.GENAI_COST_HTTP_PORT: "5555"}
    c = cfg.load(_args("--config", str(file), "--http-port", "6666"), environ=environ)
    assert c.grpc == cfg.Listen("0.0.0.0", 1111)  # file
    assert c.otlp_http.port == 4444  # env over file
    assert c.http.port == 6666  # flag over env
    assert c.ledger_path == Path("~/ledgers/x.sqlite3").expanduser()
    assert c.tag_attributes == {"team": "team", "tenant": "tenant"}
    assert c.sections == {"budgets": [{"name": "monthly", "limit_usd": 100}], "alertmanager": {"url": "http://am:9093"}}
    assert c.source == file


def test_config_file_from_the_environment(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("pipeline:\n  queue_max_calls: 7\nlog_level: DEBUG\n")
    environ = {env.GENAI_COST_CONFIG: str(file), env.GENAI_COST_INGEST_TAG_ATTRIBUTES: "app.team=team, b"}
    c = cfg.load(_args(), environ=environ)
    assert (c.queue_max_calls, c.log_level, c.tag_attributes) == (7, "debug", {"app.team": "team", "b": "b"})


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("otlp:\n  grcp:\n    port: 1\n", "otlp.grcp.port: unknown setting"),
        ("ledger:\n  synchronous: fast\n", "ledger.synchronous: 'fast' is not one of full, normal, extra, off"),
        ("otlp:\n  grpc:\n    port: 70000\n", "otlp.grpc.port: 70000 must be between 0 and 65535"),
        ("http:\n  port: eighty\n", "http.port: 'eighty' is not an integer"),
        ("otlp:\n  grpc:\n    enabled: maybe\n", "otlp.grpc.enabled: 'maybe' is not a boolean"),
        ("pipeline:\n  ack_timeout_seconds: -1\n", "pipeline.ack_timeout_seconds: -1 must be a positive number"),
        ("ingest:\n  tag_attributes: [team, 3]\n", "ingest.tag_attributes: 3 is not an attribute name"),
        ("ingest:\n  tag_attributes: {app.team: ''}\n", "ingest.tag_attributes: '' is not a tag label name"),
        (
            "ingest:\n  tag_attributes: {app.team: app.team}\n",
            "ingest.tag_attributes: 'app.team' is not a Prometheus label name (for attribute 'app.team')",
        ),
        (
            "ingest:\n  tag_attributes: {genai_cost.tag.model: model}\n",
            "ingest.tag_attributes: 'model' is already a metric label (for attribute 'genai_cost.tag.model')",
        ),
        ("colour: blue\n", "colour: unknown setting"),
        ("- a\n- b\n", "the top level must be a mapping"),
        ("otlp: [\n", "not valid YAML"),
    ],
)
def test_file_errors_name_the_setting_and_value(tmp_path: Path, yaml_text: str, message: str) -> None:
    file = tmp_path / "c.yaml"
    file.write_text(yaml_text)
    with pytest.raises(cfg.ConfigError) as info:
        cfg.load(_args("--config", str(file)), environ={})
    assert message in str(info.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(cfg.ConfigError, match=r"config file '.*nope\.yaml': cannot read: No such file"):
        cfg.load(_args("--config", str(tmp_path / "nope.yaml")), environ={})


def test_bad_flag_names_the_flag() -> None:
    with pytest.raises(cfg.ConfigError, match="--otlp-grpc-port: '-3' must be between 0 and 65535"):
        cfg.load(_args("--otlp-grpc-port", "-3"), environ={})


def test_bad_env_value_is_logged_and_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("http:\n  port: 9999\n")
    with caplog.at_level(logging.WARNING, logger="genai_cost.processor.config"):
        c = cfg.load(_args("--config", str(file)), environ={env.GENAI_COST_HTTP_PORT: "nine"})
    assert c.http.port == 9999
    assert "ignoring GENAI_COST_HTTP_PORT: 'nine' is not an integer" in caplog.text


def test_every_setting_has_a_documented_env_constant() -> None:
    documented = {name for name in vars(env) if name.startswith("GENAI_COST_")}
    assert {s.env for s in cfg.SETTINGS} | {env.GENAI_COST_CONFIG} == documented
    for setting in cfg.SETTINGS:
        assert setting.env == "GENAI_COST_" + setting.path.upper().replace(".", "_")
