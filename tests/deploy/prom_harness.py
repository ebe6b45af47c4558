"""Run the real ``prometheus`` binary with deploy/prometheus's config and rules, and query it.

Reusable by any test that has something to scrape (the fake exporter here, the real processor in an
end-to-end test)::

    with running_prometheus("127.0.0.1:9464", tmp_path) as prom:
        prom.wait_for_rules_evaluated()
        prom.query('sum(genai_cost_usd_total)')

The configuration is deploy/prometheus/prometheus.yml itself with only what a test must change:
the ``genai-cost`` job's target, one-second scrape and evaluation intervals, absolute rule paths, and
the Alertmanager target (removed unless given).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
SCRAPE_JOB = "genai-cost"

Sample = dict[str, Any]


def require_binary(name: str) -> str:
    """Return the path of ``name``; missing, fail under CI=true and skip otherwise."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: apt-get install prometheus prometheus-alertmanager)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


class PromQueryError(RuntimeError):
    """Prometheus answered a query with an error (bad PromQL, evaluation error, ...)."""


def render_config(
    scrape_target: str,
    *,
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
    alertmanager: str | None = None,
    source: Path = PROMETHEUS_CONFIG,
) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml adapted to a test: one target, fast intervals, absolute rules."""
    config: dict[str, Any] = yaml.safe_load(source.read_text())
    config.setdefault("global", {}).update(
        {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval}
    )
    config["rule_files"] = [str((source.parent / pattern).resolve()) for pattern in config.get("rule_files", [])]
    jobs = [job for job in config["scrape_configs"] if job["job_name"] == SCRAPE_JOB]
    if len(jobs) != 1:
        raise ValueError(f"{source}: expected one scrape job named {SCRAPE_JOB!r}, found {len(jobs)}")
    jobs[0]["static_configs"] = [{"targets": [scrape_target]}]
    config["scrape_configs"] = jobs
    if alertmanager is None:
        config.pop("alerting", None)
    else:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


def free_port() -> int:
    """A loopback TCP port free right now (for binaries that cannot report the port they bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_binary(
    name: str, command: Callable[[int], list[str]], log_path: Path, startup_timeout: float
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``command(port)`` on a free loopback port until its ``/-/ready`` answers; yield (url, process).

    Prometheus and Alertmanager cannot report the port they bound, so a port taken by another
    process between probe and bind is retried (three times). The process is stopped afterwards.
    """
    for _attempt in range(3):
        port = free_port()
        with log_path.open("wb") as log:
            process = subprocess.Popen(command(port), stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + startup_timeout
        while not _ready(url) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if _ready(url):
            break
        process.kill()
        process.wait()
        if "address already in use" not in log_path.read_text():
            raise RuntimeError(f"{name} failed to start:\n{log_path.read_text()}")
    else:
        raise RuntimeError(f"{name} found no free port:\n{log_path.read_text()}")
    try:
        yield url, process
    finally:
        stop_process(process, timeout_s=10)


def stop_process(process: subprocess.Popen[Any], timeout_s: float) -> None:
    """Terminate ``process`` and wait for it; kill it if it has not stopped after ``timeout_s``."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class PrometheusServer:
    """A running Prometheus and a small client for its HTTP API."""

    url: str
    config_path: Path
    process: subprocess.Popen[bytes]

    def _get(self, path: str, params: dict[str, str] | list[tuple[str, str]] | None = None) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"{}")
        if body.get("status") != "success":
            raise PromQueryError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """Instant query; returns the result samples (``metric`` labels and ``value``)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._get("/api/v1/query", params)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[Sample] = data["result"]
        return result

    def query_range(self, expr: str, start: float, end: float, step: str = "1s") -> list[Sample]:
        """Range query; returns the result series (``metric`` labels and ``values``)."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": step}
        result: list[Sample] = self._get("/api/v1/query_range", params)["result"]
        return result

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        """The values of ``label``, optionally on series matching the selector ``match``."""
        params = [("match[]", match)] if match else None
        values: list[str] = self._get(f"/api/v1/label/{label}/values", params)
        return values

    def rules(self) -> list[dict[str, Any]]:
        """Every loaded rule (recording and alerting), with its health and last error."""
        groups = self._get("/api/v1/rules")["groups"]
        return [rule for group in groups for rule in group["rules"]]

    def targets(self) -> list[dict[str, Any]]:
        targets: list[dict[str, Any]] = self._get("/api/v1/targets")["activeTargets"]
        return targets

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode} while waiting for {what}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.1)

    def wait_for_data(self, expr: str, timeout: float = 30.0) -> list[Sample]:
        """Wait until ``expr`` returns at least one sample, and return them."""
        found: list[Sample] = []

        def has_data() -> bool:
            found[:] = self.query(expr)
            return bool(found)

        self.wait_until(has_data, f"data from {expr!r}", timeout)
        return found

    def wait_for_scrapes(self, count: int = 2, timeout: float = 30.0) -> None:
        """Wait until every target of the job was scraped successfully ``count`` times."""
        expr = f'min(sum_over_time(up{{job="{SCRAPE_JOB}"}}[10m]))'

        def scraped() -> bool:
            result = self.query(expr)
            return bool(result) and float(result[0]["value"][1]) >= count

        self.wait_until(scraped, f"{count} successful scrapes of job {SCRAPE_JOB}", timeout)

    def wait_for_rules_evaluated(self, timeout: float = 30.0) -> None:
        """Wait until every recording rule has produced a series (needs two scrapes for rates)."""
        records = [rule["name"] for rule in self.rules() if rule["type"] == "recording"]
        deadline = time.monotonic() + timeout
        for record in records:
            self.wait_for_data(record, max(0.1, deadline - time.monotonic()))


@contextmanager
def running_prometheus(
    scrape_target: str,
    workdir: Path,
    *,
    alertmanager: str | None = None,
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
    startup_timeout: float = 30.0,
) -> Iterator[PrometheusServer]:
    """Start Prometheus on a free loopback port scraping ``scrape_target`` ("host:port"); stop it after.

    ``alertmanager`` ("host:port") makes Prometheus send its alerts there.
    """
    binary = require_binary("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "prometheus.yml"
    config = render_config(
        scrape_target,
        scrape_interval=scrape_interval,
        evaluation_interval=evaluation_interval,
        alertmanager=alertmanager,
    )
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def command(port: int) -> list[str]:
        return [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]

    with running_binary("prometheus", command, workdir / "prometheus.log", startup_timeout) as (url, process):
        yield PrometheusServer(url, config_path, process)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
