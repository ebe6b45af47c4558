"""Run the real Alertmanager with deploy/alertmanager/alertmanager.yml and receive its webhooks.

For tests only: every webhook receiver is pointed at a local :class:`WebhookReceiver`, Slack and
email configs are removed (they would reach outside this machine), and grouping waits are shortened;
routes, grouping keys and inhibit rules stay as written::

    with WebhookReceiver() as hook, running_alertmanager(tmp_path, hook.url) as am:
        am.post_alerts([...])
        hook.wait_for(1)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from prom_harness import REPO_ROOT, require_binary, running_binary

ALERTMANAGER_CONFIG = REPO_ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
BINARIES = ("prometheus-alertmanager", "alertmanager")  # Debian's name, upstream's name


def render_config(webhook_url: str, *, group_wait: str = "1s", group_interval: str = "1s") -> dict[str, Any]:
    """deploy/alertmanager/alertmanager.yml with every receiver posting only to ``webhook_url``."""
    config: dict[str, Any] = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config["global"] = {"resolve_timeout": config["global"]["resolve_timeout"]}
    for receiver in config["receivers"]:
        for kind in ("slack_configs", "email_configs", "pagerduty_configs", "opsgenie_configs"):
            receiver.pop(kind, None)
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = webhook_url
    config["route"].update({"group_wait": group_wait, "group_interval": group_interval})
    return config


class WebhookReceiver:
    """Collects Alertmanager webhook notifications on ``http://127.0.0.1:<free port>/alerts``."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._arrived:
                    receiver.notifications.append(json.loads(body))
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/alerts"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Block until ``count`` notifications arrived (TimeoutError otherwise); return them all."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.notifications) >= count, timeout):
                raise TimeoutError(f"{len(self.notifications)} of {count} webhook notifications in {timeout}s")
            return list(self.notifications)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@dataclass
class AlertmanagerServer:
    """A running Alertmanager and a small client for its v2 API."""

    url: str
    process: subprocess.Popen[bytes]

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.status

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert Alertmanager holds, active, inhibited and silenced alike."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as response:
            result: list[dict[str, Any]] = json.loads(response.read())
            return result


@contextmanager
def running_alertmanager(
    workdir: Path, webhook_url: str, *, config: dict[str, Any] | None = None, startup_timeout: float = 20.0
) -> Iterator[AlertmanagerServer]:
    """Start Alertmanager (clustering off) on a free loopback port with the rendered deploy config."""
    binary = next((b for b in BINARIES if shutil.which(b)), None) or require_binary(BINARIES[0])
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(yaml.safe_dump(config or render_config(webhook_url), sort_keys=False))

    def command(port: int) -> list[str]:
        return [
            binary,
            f"--config.file={config_path}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]

    with running_binary("alertmanager", command, workdir / "alertmanager.log", startup_timeout) as (url, process):
        yield AlertmanagerServer(url, process)
