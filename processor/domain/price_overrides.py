"""Custom, fine-tuned or negotiated prices (YAML), validated with errors naming field and value.

Format (a top-level list, or a mapping with an ``overrides`` list)::

    overrides:
      - provider: openai              # OTel provider name; glob allowed ("*")
        model: "ft:gpt-4o-mini:*"     # exact name or glob (fnmatch, case-insensitive)
        input_per_mtok: "0.30"        # USD per million tokens; required
        output_per_mtok: "1.20"       # optional: output/reasoning tokens unpriced without it
        cache_read_per_mtok: "0.15"   # optional: defaults to the input price
        cache_write_per_mtok: "0.30"  # optional: defaults to the input price
        cache_write_1h_per_mtok: "0.60"  # optional: defaults to the cache write price
        valid_from: 2026-01-01        # optional, inclusive, UTC
        valid_to: 2026-07-01          # optional, exclusive, UTC

Prices are exact: numbers are read as Decimal from their YAML text, never through float.
The first matching entry wins; overrides win over the bundled price data.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

_PRICE_FIELDS = (
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "cache_write_per_mtok",
    "cache_write_1h_per_mtok",
)
_FIELDS = ("provider", "model", *_PRICE_FIELDS, "valid_from", "valid_to")


class OverridesError(ValueError):
    """An invalid overrides file; the message names the entry, the field and the value."""


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """One override entry: USD per million tokens for a provider/model pattern and date range."""

    provider: str
    model: str
    input_per_mtok: Decimal
    output_per_mtok: Decimal | None = None
    cache_read_per_mtok: Decimal | None = None
    cache_write_per_mtok: Decimal | None = None
    cache_write_1h_per_mtok: Decimal | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def matches(self, provider: str, model: str, day: dt.date) -> bool:
        """Whether this entry prices ``model`` of ``provider`` on UTC date ``day``."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        if self.valid_to is not None and day >= self.valid_to:
            return False
        return bool(_glob(self.provider).match(provider.lower()) and _glob(self.model).match(model.lower()))


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    """A case-insensitive glob compiled once."""
    return re.compile(fnmatch.translate(pattern.lower()))


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader that reads YAML floats as Decimal from their text (no binary rounding)."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal | str:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    try:
        return Decimal(text.replace("_", ""))
    except InvalidOperation:
        return text


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _price(where: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise OverridesError(f"{where}: {value!r} is not a number (write prices as decimal numbers)")
    try:
        price = Decimal(value) if not isinstance(value, str) else Decimal(value.strip())
    except InvalidOperation:
        raise OverridesError(f"{where}: {str(value)!r} is not a decimal number") from None
    if not price.is_finite():
        raise OverridesError(f"{where}: {str(value)!r} is not a finite number")
    if price < 0:
        raise OverridesError(f"{where}: {str(value)!r} must be >= 0")
    return price


def _date(where: str, value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise OverridesError(f"{where}: {value!r} is not a date (YYYY-MM-DD)")


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OverridesError(f"{where}: {value!r} must be a non-empty string")
    return value.strip()


def _entry(index: int, raw: Any) -> PriceOverride:
    where = f"overrides[{index}]"
    if not isinstance(raw, Mapping):
        raise OverridesError(f"{where}: expected a mapping with provider, model and prices, got {raw!r}")
    for key in raw:
        if key not in _FIELDS:
            raise OverridesError(f"{where}.{key}: unknown field (expected one of {', '.join(_FIELDS)})")
    for required in ("provider", "model", "input_per_mtok"):
        if raw.get(required) is None:
            raise OverridesError(f"{where}.{required}: required field is missing")
    prices = {name: _price(f"{where}.{name}", raw[name]) for name in _PRICE_FIELDS if raw.get(name) is not None}
    valid_from = _date(f"{where}.valid_from", raw.get("valid_from"))
    valid_to = _date(f"{where}.valid_to", raw.get("valid_to"))
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise OverridesError(f"{where}.valid_to: '{valid_to}' must be after valid_from '{valid_from}'")
    return PriceOverride(
        provider=_text(f"{where}.provider", raw["provider"]),
        model=_text(f"{where}.model", raw["model"]),
        valid_from=valid_from,
        valid_to=valid_to,
        **prices,
    )


def parse_overrides(data: Any) -> list[PriceOverride]:
    """Validate already-loaded overrides data (a list, or a mapping with an ``overrides`` list)."""
    if data is None:
        return []
    if isinstance(data, Mapping):
        unknown = [key for key in data if key != "overrides"]
        if unknown:
            raise OverridesError(f"{unknown[0]}: unknown top-level key (expected 'overrides')")
        data = data.get("overrides") or []
    if not isinstance(data, list):
        raise OverridesError(f"overrides: expected a list of entries, got {type(data).__name__}")
    return [_entry(index, raw) for index, raw in enumerate(data)]


def parse_overrides_yaml(text: str) -> list[PriceOverride]:
    """Parse and validate overrides YAML text (the caller reads the file)."""
    try:
        data = yaml.load(text, Loader=_DecimalLoader)
    except yaml.YAMLError as error:
        raise OverridesError(f"overrides: invalid YAML ({error})") from None
    return parse_overrides(data)
