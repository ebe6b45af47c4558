"""The guard: telemetry failures are swallowed, counted per site and logged once."""

from __future__ import annotations

import logging

import pytest

from genai_cost.instrumentation.core import guard


@pytest.fixture(autouse=True)
def _fresh_counter() -> None:
    guard.failures.clear()


@guard.guarded("fallback")
def flaky(fail: bool) -> str:
    if fail:
        raise ValueError("bad attribute")
    return "ok"


def test_guarded_returns_the_value_or_the_default_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="genai_cost.instrumentation")
    assert flaky(False) == "ok"
    assert flaky(True) == "fallback"
    assert flaky(True) == "fallback"

    site = f"{__name__}.flaky"
    assert guard.failures == {site: 2}
    warnings = [r for r in caplog.records if r.name == "genai_cost.instrumentation"]
    assert len(warnings) == 1  # logged once per site
    assert warnings[0].getMessage() == f"genai-cost telemetry failed in {site}; the call itself is unaffected"


def test_run_guarded_passes_arguments_and_returns_the_default() -> None:
    assert guard.run_guarded(lambda a, b=0: a + b, 2, b=3) == 5
    assert guard.run_guarded(lambda: 1 / 0, default=-1) == -1
    assert sum(guard.failures.values()) == 1


def test_base_exceptions_are_not_swallowed() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        guard.run_guarded(interrupt)
    assert guard.failures == {}
