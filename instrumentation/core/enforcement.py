"""Budget enforcement hook called by every wrapper before a request is sent.

Off unless ``GENAI_COST_ENFORCE=true``. This placeholder allows every call.
"""

from __future__ import annotations


class BudgetExceededError(RuntimeError):
    """A call was refused because its scope is over budget (or paused)."""


def check_call(provider: str, model: str | None) -> None:
    """Raise :class:`BudgetExceededError` if a call to ``provider``/``model`` must be refused."""
    return None
