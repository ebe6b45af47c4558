"""grafana/provisioning: files a stock Grafana loads as they are, wired to the Compose stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from dashboard_queries import REPO_ROOT

PROVISIONING = REPO_ROOT / "grafana" / "provisioning"
COMPOSE = REPO_ROOT / "deploy" / "compose" / "compose.yaml"


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def _grafana_mounts() -> dict[str, Path]:
    """Container path -> repository path of each bind mount of the grafana service."""
    mounts: dict[str, Path] = {}
    for volume in _load(COMPOSE)["services"]["grafana"]["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts[target] = (COMPOSE.parent / source).resolve()
    return mounts


def test_datasources_file() -> None:
    files = sorted((PROVISIONING / "datasources").glob("*.yaml"))
    assert [f.name for f in files] == ["genai-cost.yaml"]
    config = _load(files[0])
    assert config["apiVersion"] == 1
    by_type = {ds["type"]: ds for ds in config["datasources"]}
    assert set(by_type) == {"prometheus", "alertmanager"}
    prometheus = by_type["prometheus"]
    assert prometheus["url"] == "http://prometheus:9090"
    assert prometheus["access"] == "proxy"
    assert prometheus["isDefault"] is True
    assert by_type["alertmanager"]["url"] == "http://alertmanager:9093"
    assert by_type["alertmanager"]["jsonData"]["implementation"] == "prometheus"
    for datasource in config["datasources"]:
        assert set(datasource) <= {"name", "type", "uid", "access", "url", "isDefault", "editable", "jsonData"}


def test_dashboard_provider_points_at_the_mounted_dashboards() -> None:
    files = sorted((PROVISIONING / "dashboards").glob("*.yaml"))
    assert [f.name for f in files] == ["genai-cost.yaml"]
    config = _load(files[0])
    assert config["apiVersion"] == 1
    [provider] = config["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == "GenAI cost"
    mounts = _grafana_mounts()
    assert mounts[provider["options"]["path"]] == REPO_ROOT / "grafana" / "dashboards"


def test_compose_mounts_both_provisioning_folders() -> None:
    mounts = _grafana_mounts()
    assert mounts["/etc/grafana/provisioning/datasources"] == PROVISIONING / "datasources"
    assert mounts["/etc/grafana/provisioning/dashboards"] == PROVISIONING / "dashboards"
