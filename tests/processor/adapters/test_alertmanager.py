"""The Alertmanager client against a recording transport (timing, payloads, retries, outcomes)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from genai_cost.processor.adapters.alertmanager import (
    Alert,
    AlertmanagerClient,
    AlertmanagerConfigError,
    AlertmanagerSettings,
    SendOutcome,
    parse_alertmanager_settings,
    parse_duration,
    rfc3339,
)

T0 = 1_741_953_600.0  # 2025-03-14T12:00:00Z


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


class Recorder:
    """A transport that records each POST and answers with scripted statuses (or raises)."""

    def __init__(self, script: Callable[[str, int], int] | None = None) -> None:
        self.posts: list[tuple[str, list[dict[str, Any]]]] = []
        self._cond = threading.Condition()
        self._script = script or (lambda url, n: 200)

    def __call__(self, url: str, body: bytes, timeout: float) -> int:
        with self._cond:
            n = sum(1 for u, _ in self.posts if u == url)
            self.posts.append((url, json.loads(body)))
            self._cond.notify_all()
        return self._script(url, n)

    def wait(self, count: int, url: str | None = None, timeout: float = 5.0) -> list[list[dict[str, Any]]]:
        def mine() -> list[list[dict[str, Any]]]:
            return [body for u, body in self.posts if url is None or u == url]

        with self._cond:
            assert self._cond.wait_for(lambda: len(mine()) >= count, timeout), self.posts
            return mine()


ALERT = Alert(
    labels={"alertname": "GenAIBudgetThreshold", "budget": "a", "threshold": "0.5", "severity": "info"},
    annotations={"summary": "half"},
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(
    recorder: Recorder, clock: Clock, urls: tuple[str, ...] = ("http://am1:9093",), **settings: Any
) -> AlertmanagerClient:
    client = AlertmanagerClient(AlertmanagerSettings(urls=urls, **settings), transport=recorder, clock=clock)
    client.start()
    return client


def test_new_alert_is_sent_at_once_to_every_url_with_ends_at_ahead(clock: Clock) -> None:
    recorder = Recorder()
    client = make(
        recorder, clock, ("http://am1:9093", "http://am2:9093/"), generator_url="http://proc:9464/api/v1/budgets"
    )
    try:
        client.update([ALERT])
        expected = [
            {
                "labels": dict(ALERT.labels),
                "annotations": {"summary": "half"},
                "startsAt": "2025-03-14T12:00:00.000Z",
                "endsAt": "2025-03-14T12:04:00.000Z",  # 4 x 60 s ahead
                "generatorURL": "http://proc:9464/api/v1/budgets",
            }
        ]
        assert recorder.wait(1, "http://am1:9093/api/v2/alerts") == [expected]
        assert recorder.wait(1, "http://am2:9093/api/v2/alerts") == [expected]
        assert client.sends()[SendOutcome.SUCCESS] == 2
    finally:
        client.stop()


def test_resolved_alert_carries_its_resolution_time_and_is_resent_then_dropped(clock: Clock) -> None:
    recorder = Recorder()
    client = make(recorder, clock, resend_interval=0.05, resolved_resend=300)
    try:
        client.update([ALERT])
        recorder.wait(1)
        clock.t += 10
        client.update([])
        bodies = recorder.wait(3)  # the resolution at once, then re-sends
        resolved = bodies[1][0]
        assert (resolved["startsAt"], resolved["endsAt"]) == ("2025-03-14T12:00:00.000Z", "2025-03-14T12:00:10.000Z")
        assert bodies[2] == bodies[1]
        clock.t += 299
        assert recorder.wait(len(recorder.posts) + 1)[-1] == bodies[1]  # still re-sent within 5 min
        clock.t += 1  # 5 minutes after the resolution: no longer sent
        assert client.payload()[1] is None
    finally:
        client.stop()


def test_firing_alerts_are_resent_every_interval_with_fresh_annotations(clock: Clock) -> None:
    recorder = Recorder()
    client = make(recorder, clock, resend_interval=0.05)
    try:
        client.update([ALERT])
        recorder.wait(1)
        clock.t += 30
        client.update([Alert(labels=ALERT.labels, annotations={"summary": "more"})])
        bodies = recorder.wait(3)
        assert bodies[-1][0]["annotations"] == {"summary": "more"}
        assert bodies[-1][0]["startsAt"] == "2025-03-14T12:00:00.000Z"  # identity unchanged
        assert bodies[-1][0]["endsAt"] == rfc3339(T0 + 30 + 4 * 0.05)
    finally:
        client.stop()


def test_failures_are_retried_with_backoff_and_counted_by_outcome(clock: Clock) -> None:
    def script(url: str, n: int) -> int:
        if n == 0:
            raise ConnectionRefusedError("refused")
        return 500 if n == 1 else 200

    recorder = Recorder(script)
    client = make(recorder, clock, backoff_initial=0.05, backoff_max=0.1)
    try:
        client.update([ALERT])
        started = time.monotonic()
        bodies = recorder.wait(3)
        assert time.monotonic() - started >= 0.05 + 0.1 - 0.01  # back-off 0.05 s then 0.1 s
        assert bodies[0] == bodies[2]
        assert client.sends() == {SendOutcome.SUCCESS: 1, SendOutcome.HTTP_ERROR: 1, SendOutcome.UNREACHABLE: 1}
    finally:
        client.stop()


def test_one_dead_alertmanager_does_not_delay_the_other(clock: Clock) -> None:
    gate = threading.Event()

    def script(url: str, n: int) -> int:
        if "dead" in url:
            gate.wait(5)  # hangs like a black-holed connection
            raise TimeoutError("timed out")
        return 200

    recorder = Recorder(script)
    client = make(recorder, clock, ("http://dead:9093", "http://alive:9093"))
    try:
        started = time.monotonic()
        client.update([ALERT])
        assert time.monotonic() - started < 0.05  # the caller never waits for the network
        recorder.wait(1, "http://alive:9093/api/v2/alerts")
        assert time.monotonic() - started < 1.0
    finally:
        gate.set()
        client.stop()


def test_an_alert_that_fires_again_replaces_its_resolution(clock: Clock) -> None:
    recorder = Recorder()
    client = make(recorder, clock)
    try:
        client.update([ALERT])
        recorder.wait(1)
        clock.t += 5
        client.update([])
        recorder.wait(2)
        clock.t += 5
        client.update([ALERT])
        body = recorder.wait(3)[-1]
        assert len(body) == 1
        assert (body[0]["startsAt"], body[0]["endsAt"]) == ("2025-03-14T12:00:10.000Z", "2025-03-14T12:04:10.000Z")
    finally:
        client.stop()


def test_settings_parse_durations_and_defaults() -> None:
    settings = parse_alertmanager_settings(
        {
            "urls": ["http://am:9093", "https://am2.example:9093/"],
            "resend_interval": "30s",
            "resolved_resend": "10m",
            "timeout": 2,
            "runbook_url": "https://runbooks.example/genai-budget",
            "dashboard_url": "http://grafana:3000/d/genai-cost-budgets?var-budget={budget}",
        }
    )
    assert settings.urls == ("http://am:9093", "https://am2.example:9093")
    assert (settings.resend_interval, settings.resolved_resend, settings.timeout) == (30.0, 600.0, 2.0)
    assert settings.ends_at_intervals == 4 and settings.backoff_max == 30.0
    assert parse_alertmanager_settings(None) == AlertmanagerSettings()
    assert [parse_duration(v) for v in ("250ms", "1.5s", "2m", "1h", 5, "soon", 0, True)] == [
        0.25, 1.5, 120.0, 3600.0, 5.0, None, None, None,
    ]  # fmt: skip


def test_settings_errors_name_field_and_value() -> None:
    with pytest.raises(AlertmanagerConfigError) as info:
        parse_alertmanager_settings(
            {"urls": ["am:9093"], "resend_interval": "often", "ends_at_intervals": 1, "color": "red"}
        )
    assert info.value.errors == (
        "alertmanager.urls[0]: 'am:9093' is not an http(s) URL",
        "alertmanager.resend_interval: 'often' is not a positive duration (seconds, or e.g. '30s', '5m')",
        "alertmanager.ends_at_intervals: 1 is not a whole number >= 2",
        "alertmanager.color: unknown field; expected one of urls, resend_interval, ends_at_intervals, "
        "resolved_resend, timeout, backoff_initial, backoff_max, runbook_url, dashboard_url, generator_url",
    )
