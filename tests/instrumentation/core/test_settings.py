"""Settings from the environment: live (a change is seen at the next call) and parsed once per value."""

from __future__ import annotations

import logging
import os

import pytest

from genai_cost.instrumentation.core import settings

NAME = "GENAI_COST_TEST_SETTING"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NAME, raising=False)


def test_cached_env_follows_every_change(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []

    def parse(name: str) -> bool:
        parsed.append(os.environ.get(name, "<unset>"))
        return settings.env_flag(name)

    flag = settings.CachedEnv(NAME, parse)
    assert [flag(), flag()] == [False, False]
    monkeypatch.setenv(NAME, "true")
    assert [flag(), flag()] == [True, True]
    monkeypatch.setenv(NAME, "off")
    assert flag() is False
    monkeypatch.delenv(NAME)
    assert flag() is False
    assert parsed == ["<unset>", "true", "off", "<unset>"]  # parsed once per distinct value


def test_cached_env_logs_a_bad_value_once(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=settings.__name__)
    flag = settings.CachedEnv(NAME, settings.env_flag)
    monkeypatch.setenv(NAME, "maybe")
    assert [flag(), flag(), flag()] == [False, False, False]
    assert [r.getMessage() for r in caplog.records] == [f"{NAME}='maybe' is not a boolean; using False"]


def test_cached_env_reads_a_replaced_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    flag = settings.CachedEnv(NAME, settings.env_flag)
    monkeypatch.setattr(os, "environ", {NAME: "yes"})
    assert flag() is True


def test_capture_content_is_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, raising=False)
    assert settings.capture_content() is False
    monkeypatch.setenv(settings.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "TRUE")
    assert settings.capture_content() is True
