"""grafana/dashboards: generated and committed, stable uids, units, ${datasource}, contract metrics."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from dashboard_queries import DASHBOARD_DIR, REPO_ROOT, load_dashboards, panel_queries, variable_queries
from metric_contract import CONTRACT_SERIES, PROMETHEUS_SERIES
from promql_names import selected_series

DASHBOARDS = load_dashboards()
RULE_FILES = sorted((REPO_ROOT / "deploy" / "prometheus" / "rules").glob("*.rules.yml"))
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}

# Grafana unit ids used here (from Grafana's valueFormats categories).
KNOWN_UNITS = {"currencyUSD", "short", "percentunit", "s", "cps", "reqps", "dateTimeAsIso", "none"}


def _load_generator() -> ModuleType:
    path = REPO_ROOT / "grafana" / "build_dashboards.py"
    spec = importlib.util.spec_from_file_location("build_dashboards", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _panels() -> Iterator[tuple[str, dict[str, Any]]]:
    for dashboard in DASHBOARDS.values():
        for panel in dashboard["panels"]:
            yield dashboard["uid"], panel


def _datasource_refs(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every ``datasource`` value anywhere in a dashboard, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield f"{path}.{key}", value
            yield from _datasource_refs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _datasource_refs(value, f"{path}[{index}]")


def test_committed_json_is_what_the_generator_builds(tmp_path: Path) -> None:
    generator = _load_generator()
    assert generator.main(["--check"]) == 0
    assert generator.main(["--out", str(tmp_path)]) == 0
    for name in DASHBOARDS:
        assert (tmp_path / name).read_text() == (DASHBOARD_DIR / name).read_text()
    (tmp_path / "genai-cost-budgets.json").write_text("{}\n")
    assert generator.main(["--check", "--out", str(tmp_path)]) == 1


def test_dashboard_files_and_stable_uids() -> None:
    assert {name: d["uid"] for name, d in DASHBOARDS.items()} == {
        "genai-cost-budgets.json": "genai-cost-budgets",
        "genai-cost-overview.json": "genai-cost-overview",
        "genai-cost-processor.json": "genai-cost-processor",
    }
    assert {d["title"] for d in DASHBOARDS.values()} == {
        "GenAI cost overview",
        "GenAI cost budgets",
        "GenAI cost processor health",
    }
    for dashboard in DASHBOARDS.values():
        assert "id" not in dashboard  # provisioning assigns ids; uids identify dashboards
        assert dashboard["tags"] == ["genai-cost"]
        assert len(dashboard["uid"]) <= 40


def test_every_file_is_valid_json_with_a_schema_version() -> None:
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        dashboard = json.loads(path.read_text())
        assert dashboard["schemaVersion"] == 39, path.name


def test_every_panel_has_a_known_unit() -> None:
    units = {(uid, panel["title"]): panel["fieldConfig"]["defaults"].get("unit") for uid, panel in _panels()}
    assert all(unit in KNOWN_UNITS for unit in units.values()), {k: u for k, u in units.items() if u not in KNOWN_UNITS}
    assert len(units) == 39  # every panel title is unique within its dashboard
    for _uid, panel in _panels():
        for override in panel["fieldConfig"]["overrides"]:
            for prop in override["properties"]:
                if prop["id"] == "unit":
                    assert prop["value"] in KNOWN_UNITS


@pytest.mark.parametrize(
    ("uid", "title", "unit"),
    [
        ("genai-cost-overview", "Spend today", "currencyUSD"),
        ("genai-cost-overview", "Cache savings in range", "currencyUSD"),
        ("genai-cost-overview", "Tokens by type", "short"),
        ("genai-cost-overview", "Requests by outcome", "reqps"),
        ("genai-cost-budgets", "Utilization per budget", "percentunit"),
        ("genai-cost-processor", "Batch duration", "s"),
        ("genai-cost-processor", "Spans received by transport", "cps"),
    ],
)
def test_panel_units(uid: str, title: str, unit: str) -> None:
    panel = next(p for u, p in _panels() if u == uid and p["title"] == title)
    assert panel["fieldConfig"]["defaults"]["unit"] == unit


def test_no_hard_coded_datasource() -> None:
    for dashboard in DASHBOARDS.values():
        refs = list(_datasource_refs(dashboard))
        assert refs
        for where, ref in refs:
            if ref == {"type": "grafana", "uid": "-- Grafana --"}:
                assert where.startswith(".annotations.list[0]")  # Grafana's built-in annotations
                continue
            assert ref == DATASOURCE_REF, (dashboard["uid"], where, ref)
        assert "__inputs" not in dashboard


def test_every_panel_and_target_uses_the_datasource_variable() -> None:
    for uid, panel in _panels():
        assert panel["datasource"] == DATASOURCE_REF, (uid, panel["title"])
        assert panel["targets"], (uid, panel["title"])
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE_REF


def test_template_variables() -> None:
    variables = {d["uid"]: [(v["name"], v["type"]) for v in d["templating"]["list"]] for d in DASHBOARDS.values()}
    assert variables == {
        "genai-cost-overview": [
            ("datasource", "datasource"),
            ("agent", "query"),
            ("provider", "query"),
            ("model", "query"),
        ],
        "genai-cost-budgets": [("datasource", "datasource"), ("budget", "query")],
        "genai-cost-processor": [("datasource", "datasource"), ("instance", "query")],
    }
    for dashboard in DASHBOARDS.values():
        datasource = dashboard["templating"]["list"][0]
        assert datasource["query"] == "prometheus"
        for variable in dashboard["templating"]["list"][1:]:
            assert variable["includeAll"] is True
            assert variable["multi"] is True
            assert variable["allValue"] == ".*"
            assert variable["datasource"] == DATASOURCE_REF
    by_name = {(v.dashboard, v.name): (v.label, v.selector) for v in variable_queries()}
    assert by_name[("genai-cost-overview", "agent")] == ("agent", "genai_requests_total")
    assert by_name[("genai-cost-overview", "model")] == (
        "model",
        'genai_requests_total{agent=~"$agent", provider=~"$provider"}',
    )


def test_overview_panels_filter_by_agent_provider_and_model() -> None:
    for query in panel_queries():
        if query.dashboard != "genai-cost-overview":
            continue
        assert 'model=~"$model"' in query.expr, query
        assert 'provider=~"$provider"' in query.expr, query
        if "unpriced" not in query.expr:  # unpriced counters carry no agent label
            assert 'agent=~"$agent"' in query.expr, query


def _recorded() -> set[str]:
    return {
        rule["record"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def test_every_series_in_a_dashboard_is_in_the_contract_or_recorded() -> None:
    allowed = CONTRACT_SERIES | PROMETHEUS_SERIES | _recorded()
    used: set[str] = set()
    for query in panel_queries():
        names = selected_series(query.expr)
        assert names, query
        assert names <= allowed, f"{query}: {sorted(names - allowed)}"
        used |= names
    for variable in variable_queries():
        assert variable.selector is not None
        assert selected_series(variable.selector) <= allowed
    # Every recording rule serves a dashboard, except the anomaly alert's baseline.
    assert _recorded() - used == {"agent:genai_cost_usd:rate1h", "agent:genai_cost_usd:avg_over_time7d_rate1h"}


def test_panels_do_not_overlap_and_fit_the_grid() -> None:
    for dashboard in DASHBOARDS.values():
        cells: set[tuple[int, int]] = set()
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert ids == list(range(1, len(ids) + 1))
        for panel in dashboard["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24
            area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
            assert not cells & area, (dashboard["uid"], panel["title"])
            cells |= area


def test_time_overrides_of_the_calendar_stats() -> None:
    overrides = {p["title"]: p.get("timeFrom") for uid, p in _panels() if uid == "genai-cost-overview"}
    assert overrides["Spend today"] == "now/d"
    assert overrides["Spend this month"] == "now/M"
    assert overrides["Spend in range"] is None


def test_utilization_panel_draws_the_default_thresholds() -> None:
    panel = next(p for uid, p in _panels() if p["title"] == "Utilization per budget")
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 0.5, 0.75, 0.9, 1.0]
    assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] == {"mode": "dashed"}
