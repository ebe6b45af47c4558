"""A real ``prometheus-alertmanager`` on free loopback ports, and a webhook receiver for it.

Loaded by the budget and Alertmanager tests with :func:`load` (no ``tests/__init__.py``).
Alertmanager's readiness is its ``/-/ready`` endpoint; the webhook receiver signals each
notification through a condition, so tests wait for events, never for fixed sleeps.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from required import missing

BINARY = "prometheus-alertmanager"
T = TypeVar("T")

# Grouping by budget, quick timers for tests, and the inhibition rule we document:
# a critical alert of a budget silences its warning and info alerts.
CONFIG = """
route:
  receiver: webhook
  group_by: [alertname, budget]
  group_wait: 200ms
  group_interval: 500ms
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: {webhook}
        send_resolved: true
inhibit_rules:
  - source_matchers: ['alertname="GenAIBudgetThreshold"', 'severity="critical"']
    target_matchers: ['alertname="GenAIBudgetThreshold"', 'severity=~"warning|info"']
    equal: [budget]
"""


def require_binary(name: str = BINARY) -> str:
    """The binary's path; a missing binary fails in CI and skips elsewhere."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (apt-get install prometheus-alertmanager)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Poll ``check`` until it returns a truthy value; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


class WebhookReceiver:
    """Collects Alertmanager webhook notifications (JSON bodies) on a loopback port."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._cond:
                    receiver.notifications.append(json.loads(body))
                    receiver._cond.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until ``predicate(notifications)`` holds; return a copy of the notifications."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.notifications), timeout):
                raise AssertionError(f"webhook: condition not met within {timeout}s: {self.notifications!r}")
            return list(self.notifications)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Alertmanager:
    """One ``prometheus-alertmanager`` process; :meth:`stop` and :meth:`start` keep its port and storage."""

    def __init__(self, tmp_path: Path, webhook_url: str) -> None:
        self.binary = require_binary()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.storage = tmp_path / "am-data"
        self.config = tmp_path / "alertmanager.yml"
        self.config.write_text(CONFIG.format(webhook=webhook_url))
        self.log = tmp_path / "alertmanager.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.config}",
                    f"--storage.path={self.storage}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._ready, timeout=20.0, interval=0.05)

    def _ready(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise AssertionError(f"alertmanager exited: {self.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts`` (active, silenced and inhibited alerts), optionally by label."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as response:
            alerts: list[dict[str, Any]] = json.loads(response.read())
        return [a for a in alerts if all(a["labels"].get(k) == v for k, v in filters.items())]
