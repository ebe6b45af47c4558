"""Every Prometheus query of the genai-cost Grafana dashboards, ready to send to Prometheus.

Grafana fills in template variables before it queries; :func:`expand` does the same with the
values a test gives (by default "All", i.e. ``.*``, and fixed windows for ``$__range`` and
``$__rate_interval``), so the very expressions a panel runs can be run through the HTTP API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO_ROOT / "grafana" / "dashboards"

# Values Grafana gives its built-in variables; a test's stand-ins.
BUILTINS: dict[str, str] = {
    "__range": "1h",
    "__rate_interval": "1m",
    "__interval": "15s",
}
ALL = ".*"

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")


@dataclass(frozen=True)
class PanelQuery:
    """One query of one panel (or annotation) of one dashboard."""

    dashboard: str  # dashboard uid
    panel: str  # panel title, or "annotation: <name>"
    ref_id: str
    expr: str  # as written in the dashboard, with $variables
    instant: bool

    def promql(self, values: Mapping[str, str] | None = None) -> str:
        """The expression with every variable replaced (see :func:`expand`)."""
        return expand(self.expr, values)

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref_id}"


@dataclass(frozen=True)
class VariableQuery:
    """A ``label_values(selector, label)`` template variable."""

    dashboard: str
    name: str
    label: str
    selector: str | None  # a series selector with $variables, or None for all series

    def match(self, values: Mapping[str, str] | None = None) -> str | None:
        return None if self.selector is None else expand(self.selector, values)


def expand(expr: str, values: Mapping[str, str] | None = None) -> str:
    """Replace ``$name``, ``${name}``, ``${name:fmt}`` and ``[[name]]`` as Grafana would.

    Built-ins come from :data:`BUILTINS`, dashboard variables from ``values``, defaulting to "All"
    (``.*``). An unknown built-in (``$__something``) raises ``KeyError`` naming it.
    """
    given = {**BUILTINS, **(values or {})}

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name in given:
            return given[name]
        if name.startswith("__"):
            raise KeyError(f"no stand-in for Grafana built-in variable ${name} in {expr!r}")
        return ALL

    return _VARIABLE.sub(replace, expr)


def load_dashboards(directory: Path = DASHBOARD_DIR) -> dict[str, dict[str, Any]]:
    """Each dashboard JSON file of ``directory`` by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows hold their panels


def panel_queries(dashboards: Mapping[str, dict[str, Any]] | None = None) -> list[PanelQuery]:
    """Every panel target of every dashboard (annotations excluded)."""
    dashboards = load_dashboards() if dashboards is None else dashboards
    queries: list[PanelQuery] = []
    for dashboard in dashboards.values():
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                queries.append(
                    PanelQuery(
                        dashboard["uid"], panel["title"], target["refId"], target["expr"], bool(target.get("instant"))
                    )
                )
    return queries


def annotation_queries(dashboards: Mapping[str, dict[str, Any]] | None = None) -> list[PanelQuery]:
    """Every Prometheus annotation query (these may rightly return nothing)."""
    dashboards = load_dashboards() if dashboards is None else dashboards
    return [
        PanelQuery(dashboard["uid"], f"annotation: {annotation['name']}", "annotation", annotation["expr"], False)
        for dashboard in dashboards.values()
        for annotation in dashboard.get("annotations", {}).get("list", [])
        if "expr" in annotation
    ]


def variable_queries(dashboards: Mapping[str, dict[str, Any]] | None = None) -> list[VariableQuery]:
    """Every ``label_values`` template variable of every dashboard."""
    dashboards = load_dashboards() if dashboards is None else dashboards
    found: list[VariableQuery] = []
    for dashboard in dashboards.values():
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") != "query":
                continue
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            match = _LABEL_VALUES.match(text.strip())
            if match is None:
                raise ValueError(f"{dashboard['uid']}: variable {variable['name']}: not label_values(...): {text!r}")
            found.append(VariableQuery(dashboard["uid"], variable["name"], match["label"], match["selector"]))
    return found
