"""Budgets in ``genai-cost serve``: evaluation on every commit, alerts, gauges, the budget API.

Configuration: the ``budgets:`` list and the ``alertmanager:`` section of the YAML file
(see :mod:`genai_cost.processor.domain.budgets.config` and
:mod:`genai_cost.processor.adapters.alertmanager`), and the admin tokens from
``GENAI_COST_ADMIN_TOKENS`` (secrets stay out of config files).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from genai_cost.processor.adapters.alertmanager import AlertmanagerClient, parse_alertmanager_settings
from genai_cost.processor.adapters.budget_api import BudgetApi, parse_admin_tokens
from genai_cost.processor.adapters.budget_metrics import BudgetCollector
from genai_cost.processor.adapters.budget_store import SqliteBudgetStore
from genai_cost.processor.budget_service import BudgetService
from genai_cost.processor.domain.budgets import parse_budgets

if TYPE_CHECKING:
    from genai_cost.processor.app import AppContext

GENAI_COST_ADMIN_TOKENS: Final = "GENAI_COST_ADMIN_TOKENS"
"""Bearer tokens of the budget admin API: ``TOKEN`` (actor ``admin``) or ``name:TOKEN,name2:TOKEN2``
(the name is recorded in the audit trail). Default: none, the admin endpoints answer 403."""


def setup(
    ctx: AppContext,
    *,
    clock: Callable[[], int] = time.time_ns,
    tick_interval: float = 1.0,
    admin_tokens: Mapping[str, str] | None = None,
) -> BudgetService:
    """Build and start the budget service; ``clock``/``tick_interval``/``admin_tokens`` for tests."""
    sections = ctx.config.sections
    budgets = parse_budgets(sections.get("budgets"))
    settings = parse_alertmanager_settings(sections.get("alertmanager"))
    tokens = dict(admin_tokens) if admin_tokens is not None else parse_admin_tokens(
        os.environ.get(GENAI_COST_ADMIN_TOKENS, "")
    )  # fmt: skip
    store = SqliteBudgetStore(ctx.ledger_path)
    client = AlertmanagerClient(settings) if settings.urls else None
    service = BudgetService(
        budgets, store=store, alerts=client, alert_settings=settings, clock=clock, tick_interval=tick_interval
    )
    service.start()
    ctx.pipeline.add_commit_listener(service.on_commit)
    if client is not None:
        client.start()
        ctx.on_stop(client.stop)
    ctx.on_stop(service.stop)
    ctx.on_stop(store.close)
    BudgetApi(service, tokens).register(ctx.routes)
    ctx.registry.register(BudgetCollector(service, client))
    return service
