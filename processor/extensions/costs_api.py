"""The cost API of ``genai-cost serve``: ``GET /api/v1/costs`` and ``GET /api/v1/export`` on :9464."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genai_cost.processor.adapters import http_api_costs

if TYPE_CHECKING:
    from genai_cost.processor.app import AppContext


def setup(ctx: AppContext) -> None:
    """Serve summaries and exports of the processor's own ledger (read-only connections)."""
    http_api_costs.register(ctx.routes, ctx.ledger_path, ctx.registry)
