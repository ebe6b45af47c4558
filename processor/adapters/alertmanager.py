"""Alertmanager client: keeps a set of firing alerts posted to ``/api/v2/alerts`` of every URL.

It behaves like Prometheus' notifier, which Alertmanager is built around:

- the caller states the alerts that are firing now (:meth:`AlertmanagerClient.update`); new and
  resolved alerts are sent at once, and every alert is re-sent every ``resend_interval``;
- a firing alert carries ``endsAt`` ``ends_at_intervals`` intervals ahead, so Alertmanager
  resolves it by itself if this process dies;
- an alert that stops firing is sent with ``endsAt`` = the time it stopped and re-sent for
  ``resolved_resend`` (5 minutes by default), so a notification that was lost is repeated;
- every URL is a separate target with its own thread (send to all, as Prometheus does for an HA
  pair; Alertmanager dedups); a failed send is retried with exponential back-off up to
  ``backoff_max``, always with the latest alerts; callers never wait for the network.

Sends are counted by outcome (``success``, ``http_error``, ``unreachable``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

_logger = logging.getLogger(__name__)

ALERTS_PATH: Final = "/api/v2/alerts"
SETTINGS_KEYS: Final = (
    "urls", "resend_interval", "ends_at_intervals", "resolved_resend", "timeout", "backoff_initial",
    "backoff_max", "runbook_url", "dashboard_url", "generator_url",
)  # fmt: skip

Transport = Callable[[str, bytes, float], int]
"""``(url, json_body, timeout_s) -> HTTP status``; raises ``OSError`` when the URL is unreachable."""


class SendOutcome(StrEnum):
    """The ``outcome`` label of ``genai_processor_alert_sends_total``."""

    SUCCESS = "success"
    HTTP_ERROR = "http_error"  # Alertmanager answered with a non-2xx status
    UNREACHABLE = "unreachable"  # connection refused, timeout, DNS failure


class AlertmanagerConfigError(ValueError):
    """The ``alertmanager`` configuration section is invalid; ``errors`` lists every mistake."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True, slots=True)
class AlertmanagerSettings:
    """Where and how often alerts are sent. Durations in seconds."""

    urls: tuple[str, ...] = ()
    resend_interval: float = 60.0
    ends_at_intervals: int = 4
    resolved_resend: float = 300.0
    timeout: float = 5.0
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    runbook_url: str | None = None
    dashboard_url: str | None = None  # may contain ``{budget}`` (URL-quoted budget name)
    generator_url: str | None = None  # shown by Alertmanager as the alert's source


def parse_duration(value: object) -> float | None:
    """Seconds from a number or a ``30s``/``5m``/``1h``/``250ms`` string; ``None`` if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        units = (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0))
        for suffix, scale in units:
            if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
                seconds = float(text[: -len(suffix)]) * scale
                break
        else:
            try:
                seconds = float(text)
            except ValueError:
                return None
    else:
        return None
    return seconds if seconds > 0 and seconds != float("inf") else None


def _valid_url(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_alertmanager_settings(raw: object, *, field: str = "alertmanager") -> AlertmanagerSettings:
    """Validate the ``alertmanager`` section; raise :class:`AlertmanagerConfigError`."""
    if raw is None:
        return AlertmanagerSettings()
    if not isinstance(raw, Mapping):
        raise AlertmanagerConfigError([f"{field}: expected a mapping, got {type(raw).__name__}"])
    errors: list[str] = []
    values: dict[str, object] = {}
    for key, value in raw.items():
        where = f"{field}.{key}"
        if key not in SETTINGS_KEYS:
            errors.append(f"{where}: unknown field; expected one of {', '.join(SETTINGS_KEYS)}")
        elif key == "urls":
            urls = [value] if isinstance(value, str) else value
            if not isinstance(urls, list | tuple):
                errors.append(f"{where}: expected a list of http(s) URLs, got {type(value).__name__}")
                continue
            for index, url in enumerate(urls):
                if not _valid_url(url):
                    errors.append(f"{where}[{index}]: {url!r} is not an http(s) URL")
            values[key] = tuple(str(u).rstrip("/") for u in urls)
        elif key == "ends_at_intervals":
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                errors.append(f"{where}: {value!r} is not a whole number >= 2")
            values[key] = value
        elif key in ("runbook_url", "dashboard_url", "generator_url"):
            if value is not None and not _valid_url(value):
                errors.append(f"{where}: {value!r} is not an http(s) URL")
            values[key] = value
        else:
            seconds = parse_duration(value)
            if seconds is None:
                errors.append(f"{where}: {value!r} is not a positive duration (seconds, or e.g. '30s', '5m')")
            values[key] = seconds
    if errors:
        raise AlertmanagerConfigError(errors)
    return AlertmanagerSettings(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as the caller wants it: its identity is its labels."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.labels.items()))


@dataclass(slots=True)
class _Tracked:
    alert: Alert
    starts_at: float
    ends_at: float | None = None  # set when resolved


def rfc3339(t: float) -> str:
    """``2025-03-14T12:00:00.000Z``."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def urllib_transport(url: str, body: bytes, timeout: float) -> int:
    """POST ``body`` as JSON with the standard library; the HTTP status, or ``OSError``."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class _Target:
    """One Alertmanager URL and its send schedule."""

    def __init__(self, base_url: str) -> None:
        base_url = base_url.rstrip("/")
        self.url = base_url if base_url.endswith(ALERTS_PATH) else base_url + ALERTS_PATH
        self.wake = threading.Event()
        self.sent_generation = -1
        self.next_resend = 0.0  # monotonic
        self.retry_at = 0.0  # monotonic
        self.failures = 0
        self.thread: threading.Thread | None = None


class AlertmanagerClient:
    """Posts the current alerts to every configured Alertmanager, on background threads."""

    def __init__(
        self,
        settings: AlertmanagerSettings,
        *,
        transport: Transport = urllib_transport,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._clock = clock  # wall clock for startsAt/endsAt: Alertmanager compares with its own
        self._lock = threading.Lock()
        self._firing: dict[tuple[tuple[str, str], ...], _Tracked] = {}
        self._resolved: dict[tuple[tuple[str, str], ...], _Tracked] = {}
        self._generation = 0  # bumped when an alert starts or stops firing: send at once
        self._counts = {outcome: 0 for outcome in SendOutcome}
        self._targets = [_Target(url) for url in settings.urls]
        self._stop = threading.Event()

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(t.url for t in self._targets)

    def start(self) -> None:
        """Start one sender thread per URL (daemon threads; :meth:`stop` ends them)."""
        for target in self._targets:
            if target.thread is None:
                target.thread = threading.Thread(
                    target=self._run, args=(target,), name=f"alertmanager-{target.url}", daemon=True
                )
                target.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for target in self._targets:
            target.wake.set()
        for target in self._targets:
            if target.thread is not None:
                target.thread.join(timeout)

    def update(self, firing: Iterable[Alert]) -> None:
        """Declare the alerts firing now; the others that were firing become resolved. Never blocks."""
        now = self._clock()
        wanted = {alert.key: alert for alert in firing}
        with self._lock:
            changed = False
            for key, tracked in list(self._firing.items()):
                if key not in wanted:
                    del self._firing[key]
                    tracked.ends_at = now
                    self._resolved[key] = tracked
                    changed = True
            for key, alert in wanted.items():
                tracked_or_none = self._firing.get(key)
                if tracked_or_none is None:
                    self._resolved.pop(key, None)
                    self._firing[key] = _Tracked(alert, starts_at=now)
                    changed = True
                else:
                    tracked_or_none.alert = alert  # fresh annotations go out with the next send
            if changed:
                self._generation += 1
        if changed:
            for target in self._targets:
                target.wake.set()

    def firing(self) -> list[Alert]:
        with self._lock:
            return [t.alert for t in self._firing.values()]

    def sends(self) -> dict[SendOutcome, int]:
        """Sends so far by outcome (one per URL per attempt)."""
        with self._lock:
            return dict(self._counts)

    def payload(self) -> tuple[int, bytes | None]:
        """The generation and JSON body to send now (``None`` when there is nothing to say)."""
        now = self._clock()
        ahead = self.settings.resend_interval * self.settings.ends_at_intervals
        with self._lock:
            for key, tracked in list(self._resolved.items()):
                assert tracked.ends_at is not None
                if now - tracked.ends_at >= self.settings.resolved_resend:
                    del self._resolved[key]
            items = [self._render(t, now + ahead) for t in self._firing.values()]
            items.extend(self._render(t, t.ends_at or now) for t in self._resolved.values())
            generation = self._generation
        if not items:
            return generation, None
        return generation, json.dumps(items, separators=(",", ":")).encode()

    def _render(self, tracked: _Tracked, ends_at: float) -> dict[str, object]:
        out: dict[str, object] = {
            "labels": dict(tracked.alert.labels),
            "annotations": dict(tracked.alert.annotations),
            "startsAt": rfc3339(tracked.starts_at),
            "endsAt": rfc3339(ends_at),
        }
        if self.settings.generator_url:
            out["generatorURL"] = self.settings.generator_url
        return out

    def _run(self, target: _Target) -> None:
        settings = self.settings
        while not self._stop.is_set():
            target.wake.clear()  # before reading the generation, so no update is missed
            now = time.monotonic()
            with self._lock:
                urgent = target.sent_generation != self._generation
            if (urgent and now >= target.retry_at) or now >= target.next_resend:
                self._send(target, now)
            now = time.monotonic()
            wait = target.next_resend - now
            if target.sent_generation != self._generation:
                wait = min(wait, target.retry_at - now)
            if wait > 0:
                target.wake.wait(min(wait, settings.resend_interval))

    def _send(self, target: _Target, now: float) -> None:
        settings = self.settings
        generation, body = self.payload()
        if body is None:
            target.sent_generation = generation
            target.next_resend = now + settings.resend_interval
            return
        try:
            status = self._transport(target.url, body, settings.timeout)
            outcome = SendOutcome.SUCCESS if 200 <= status < 300 else SendOutcome.HTTP_ERROR
        except Exception as exc:  # any transport failure counts as unreachable; never fatal
            outcome, status = SendOutcome.UNREACHABLE, 0
            detail = str(exc)
        else:
            detail = f"HTTP {status}"
        with self._lock:
            self._counts[outcome] += 1
        if outcome is SendOutcome.SUCCESS:
            if target.failures:
                _logger.info("alertmanager %s reachable again", target.url)
            target.failures = 0
            target.sent_generation = generation
            target.next_resend = time.monotonic() + settings.resend_interval
            return
        target.failures += 1
        delay = min(settings.backoff_max, settings.backoff_initial * 2 ** (target.failures - 1))
        if target.failures == 1:
            _logger.warning("alertmanager %s: send failed (%s); retrying with back-off", target.url, detail)
        target.retry_at = time.monotonic() + delay
        target.next_resend = target.retry_at
        target.sent_generation = min(target.sent_generation, generation - 1)
