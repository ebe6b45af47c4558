"""The one guard every telemetry step goes through: telemetry never breaks the app.

Only the SDK call itself (``wrapped(*args, **kwargs)``) may raise to the caller. Everything we do
before and after it runs through :func:`guarded` / :func:`run_guarded`, which swallow and count
exceptions and log each failing site once. Hot paths (per call, per chunk) may instead catch
``Exception`` inline and hand the site name to :func:`report`: the same counting and logging,
without an extra function call on the happy path.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable
from typing import ParamSpec, TypeVar

_logger = logging.getLogger("genai_cost.instrumentation")

P = ParamSpec("P")
R = TypeVar("R")

failures: Counter[str] = Counter()
"""Telemetry failures swallowed so far, by site (qualified function name). Read by tests."""


def report(site: str) -> None:
    """Count a swallowed telemetry failure at ``site`` (log it, with the traceback, the first time).

    Call it from an ``except Exception`` block: the exception being handled is what gets logged.
    """
    failures[site] += 1
    if failures[site] == 1:
        _logger.warning("genai-cost telemetry failed in %s; the call itself is unaffected", site, exc_info=True)


def site_of(fn: Callable[..., object]) -> str:
    """The site name of a callable: its qualified name (``module.Class.method``)."""
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def guarded(default: R) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a telemetry step: on any exception, count it, log once, and return ``default``."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        site = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except Exception:
                report(site)
                return default

        return wrapper

    return decorate


def run_guarded(fn: Callable[..., R], *args: object, default: R | None = None, **kwargs: object) -> R | None:
    """Call ``fn`` as a guarded telemetry step (for one-off callables and lambdas)."""
    try:
        return fn(*args, **kwargs)
    except Exception:
        report(site_of(fn))
        return default
