"""Budget definitions and their validation.

A budget is a limit in USD on the spend of a scope (a match on agent, provider, model, service
and configured tag dimensions; an empty match is everything) over a calendar period in an IANA
time zone. Validation collects every mistake, each naming the field and the value::

    budgets[2].period: 'fortnight' is not one of day, week, month, total
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

from genai_cost.processor.domain.records import LlmCall


class Period(StrEnum):
    """How a budget's spend is bucketed (calendar-aligned in the budget's time zone)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    TOTAL = "total"  # all time: never rolls over


class Severity(StrEnum):
    """The ``severity`` label of a threshold alert."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MATCH_KEYS: Final = ("agent", "provider", "model", "service", "tags")
BUDGET_KEYS: Final = (
    "name", "match", "period", "limit_usd", "thresholds", "severities", "enforce", "timezone",
    "week_start", "description",
)  # fmt: skip
DEFAULT_THRESHOLDS: Final = (Decimal("0.5"), Decimal("0.75"), Decimal("0.9"), Decimal("1.0"))
DEFAULT_TIMEZONE: Final = "UTC"
MAX_THRESHOLD: Final = Decimal(100)
PICO: Final = Decimal("1e-12")

# Label names an alert already uses: a tag dimension with one of these names becomes ``tag_<name>``.
RESERVED_LABELS: Final = frozenset(
    {"alertname", "budget", "threshold", "severity", "period", "agent", "provider", "model", "service"}
)
_LABEL_UNSAFE = re.compile(r"[^a-zA-Z0-9_]")


class BudgetConfigError(ValueError):
    """Budget configuration is invalid; ``errors`` lists every mistake (one line each)."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


def default_severity(ratio: Decimal) -> Severity:
    """Severity for a threshold given without one: info below 75 %, warning below 100 %, else critical."""
    if ratio >= 1:
        return Severity.CRITICAL
    if ratio >= Decimal("0.75"):
        return Severity.WARNING
    return Severity.INFO


@dataclass(frozen=True, slots=True)
class Threshold:
    """Alert when spend reaches ``ratio`` x limit."""

    ratio: Decimal
    severity: Severity

    @property
    def label(self) -> str:
        """The ``threshold`` label value: the ratio in plain notation (``0.5``, ``0.75``, ``1``)."""
        return format_ratio(self.ratio)


def format_ratio(ratio: Decimal) -> str:
    text = format(ratio.normalize(), "f")
    return text


def tag_label_name(key: str) -> str:
    """The alert label name of a tag dimension (label-safe, never clashing with our own labels)."""
    name = _LABEL_UNSAFE.sub("_", key) or "_"
    if name[0].isdigit() or name in RESERVED_LABELS or name.startswith("__"):
        name = "tag_" + name
    return name


@dataclass(frozen=True, slots=True)
class BudgetMatch:
    """Which calls a budget counts; ``None`` fields (and an empty ``tags``) match anything."""

    agent: str | None = None
    provider: str | None = None
    model: str | None = None
    service: str | None = None
    tags: tuple[tuple[str, str], ...] = ()  # sorted by key

    def matches(self, call: LlmCall) -> bool:
        """Whether ``call`` falls in this scope (``model`` is the billed model)."""
        return self.matches_scope(call.agent, call.provider, call.model, call.service, call.tags)

    def matches_scope(self, agent: str, provider: str, model: str, service: str, tags: Mapping[str, str]) -> bool:
        if self.agent is not None and agent != self.agent:
            return False
        if self.provider is not None and provider != self.provider:
            return False
        if self.model is not None and model != self.model:
            return False
        if self.service is not None and service != self.service:
            return False
        return all(tags.get(key) == value for key, value in self.tags)

    @property
    def is_everything(self) -> bool:
        return self == EVERYTHING

    def as_dict(self) -> dict[str, object]:
        """JSON form (omitted keys match anything), as the API and the enforcement list show it."""
        out: dict[str, object] = {}
        for key in ("agent", "provider", "model", "service"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.tags:
            out["tags"] = dict(self.tags)
        return out

    def labels(self) -> dict[str, str]:
        """Alert labels of the scope: ``agent``, ``provider``, ... and one label per tag."""
        out = {key: value for key, value in self.as_dict().items() if isinstance(value, str)}
        for key, value in self.tags:
            out[tag_label_name(key)] = value
        return out

    def describe(self) -> str:
        """Human form: ``agent=researcher, tags.team=search`` or ``everything``."""
        parts = [f"{key}={value}" for key, value in self.as_dict().items() if isinstance(value, str)]
        parts.extend(f"tags.{key}={value}" for key, value in self.tags)
        return ", ".join(parts) or "everything"


EVERYTHING: Final = BudgetMatch()


@dataclass(frozen=True, slots=True)
class Enforcement:
    """Refuse calls once spend reaches limit x (1 + grace)."""

    grace: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Budget:
    """One validated budget."""

    name: str
    match: BudgetMatch
    period: Period
    limit_usd: Decimal
    thresholds: tuple[Threshold, ...]  # ascending by ratio
    enforce: Enforcement | None = None
    timezone: str = DEFAULT_TIMEZONE
    week_start: int = 0  # 0 = Monday ... 6 = Sunday
    description: str | None = None


def parse_budgets(
    raw: object,
    *,
    field: str = "budgets",
    default_timezone: str = DEFAULT_TIMEZONE,
    default_week_start: str = "monday",
) -> tuple[Budget, ...]:
    """Validate the ``budgets`` list of the configuration; raise :class:`BudgetConfigError`."""
    errors: list[str] = []
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise BudgetConfigError([f"{field}: expected a list of budgets, got {_show(raw)}"])
    budgets: list[Budget] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        where = f"{field}[{index}]"
        budget = _parse_budget(item, where, errors, default_timezone, default_week_start)
        if budget is None:
            continue
        if budget.name in seen:
            errors.append(f"{where}.name: {budget.name!r} is already used by {field}[{seen[budget.name]}]")
            continue
        seen[budget.name] = index
        budgets.append(budget)
    if errors:
        raise BudgetConfigError(errors)
    return tuple(budgets)


def _show(value: object) -> str:
    return (
        repr(value)
        if isinstance(value, str | int | float | Decimal | bool) or value is None
        else (type(value).__name__)
    )


def parse_usd(value: object) -> Decimal | None:
    """A positive, finite USD amount from a string, int or Decimal (floats via their ``str``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = str(value)  # YAML floats: 0.1 -> '0.1', not 0.1000000000000000055...
    if not isinstance(value, str | int | Decimal):
        return None
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0:
        return None
    return amount


def _ratio(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = str(value)
    if not isinstance(value, str | int | Decimal):
        return None
    try:
        ratio = Decimal(value)
    except InvalidOperation:
        return None
    return ratio if ratio.is_finite() else None


def _parse_budget(
    item: object, where: str, errors: list[str], default_timezone: str, default_week_start: str
) -> Budget | None:
    if not isinstance(item, Mapping):
        errors.append(f"{where}: expected a mapping with name, period and limit_usd, got {_show(item)}")
        return None
    before = len(errors)
    for key in item:
        if key not in BUDGET_KEYS:
            errors.append(f"{where}.{key}: unknown field; expected one of {', '.join(BUDGET_KEYS)}")

    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(f"{where}.name: {_show(name)} is not a non-empty string")

    period_raw = item.get("period")
    period: Period | None = None
    if period_raw is None:
        errors.append(f"{where}.period: missing; one of {', '.join(p.value for p in Period)}")
    elif not isinstance(period_raw, str) or period_raw not in Period._value2member_map_:
        errors.append(f"{where}.period: {_show(period_raw)} is not one of {', '.join(p.value for p in Period)}")
    else:
        period = Period(period_raw)

    limit_raw = item.get("limit_usd")
    limit = parse_usd(limit_raw)
    if limit_raw is None:
        errors.append(f"{where}.limit_usd: missing; a positive amount of USD such as '100.00'")
    elif limit is None:
        errors.append(f"{where}.limit_usd: {_show(limit_raw)} is not a positive amount of USD")
    elif limit.quantize(PICO) != limit:
        errors.append(f"{where}.limit_usd: {_show(limit_raw)} is finer than a pico-USD (10^-12)")

    match = _parse_match(item.get("match"), f"{where}.match", errors)
    thresholds = _parse_thresholds(item.get("thresholds"), item.get("severities"), where, errors)
    enforce = _parse_enforce(item.get("enforce"), f"{where}.enforce", errors)

    tz = item.get("timezone", default_timezone)
    if not isinstance(tz, str) or not _valid_timezone(tz):
        errors.append(f"{where}.timezone: {_show(tz)} is not an IANA time zone (e.g. 'Europe/Berlin', 'UTC')")

    week_start_raw = item.get("week_start", default_week_start)
    week_start = 0
    if isinstance(week_start_raw, str) and week_start_raw.lower() in WEEKDAYS:
        week_start = WEEKDAYS.index(week_start_raw.lower())
    else:
        errors.append(f"{where}.week_start: {_show(week_start_raw)} is not one of {', '.join(WEEKDAYS)}")

    description = item.get("description")
    if description is not None and not isinstance(description, str):
        errors.append(f"{where}.description: {_show(description)} is not a string")

    if len(errors) > before:
        return None
    assert isinstance(name, str) and period is not None and limit is not None and isinstance(tz, str)
    assert thresholds is not None and match is not None
    return Budget(
        name=name.strip(),
        match=match,
        period=period,
        limit_usd=limit,
        thresholds=thresholds,
        enforce=enforce,
        timezone=tz,
        week_start=week_start,
        description=description,
    )


def _valid_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_match(raw: object, *, field: str = "match") -> BudgetMatch:
    """Validate a scope given alone (admin API, stored pauses); raise :class:`BudgetConfigError`."""
    errors: list[str] = []
    match = _parse_match(raw, field, errors)
    if errors or match is None:
        raise BudgetConfigError(errors)
    return match


def _parse_match(raw: object, where: str, errors: list[str]) -> BudgetMatch | None:
    if raw is None:
        return EVERYTHING
    if not isinstance(raw, Mapping):
        errors.append(f"{where}: expected a mapping of {', '.join(MATCH_KEYS)}, got {_show(raw)}")
        return None
    before = len(errors)
    values: dict[str, str | None] = {}
    for key, value in raw.items():
        if key not in MATCH_KEYS:
            errors.append(f"{where}.{key}: unknown field; expected one of {', '.join(MATCH_KEYS)}")
        elif key != "tags":
            if not isinstance(value, str) or not value:
                errors.append(f"{where}.{key}: {_show(value)} is not a non-empty string")
            else:
                values[key] = value
    tags: list[tuple[str, str]] = []
    raw_tags = raw.get("tags")
    if raw_tags is not None:
        if not isinstance(raw_tags, Mapping):
            errors.append(f"{where}.tags: expected a mapping of tag name to value, got {_show(raw_tags)}")
        else:
            for key, value in raw_tags.items():
                if not isinstance(key, str) or not key:
                    errors.append(f"{where}.tags: {_show(key)} is not a non-empty tag name")
                elif not isinstance(value, str | int) or isinstance(value, bool):
                    errors.append(f"{where}.tags.{key}: {_show(value)} is not a string")
                else:
                    tags.append((key, str(value)))
    if len(errors) > before:
        return None
    return BudgetMatch(
        agent=values.get("agent"),
        provider=values.get("provider"),
        model=values.get("model"),
        service=values.get("service"),
        tags=tuple(sorted(tags)),
    )


def _parse_thresholds(
    raw: object, raw_severities: object, where: str, errors: list[str]
) -> tuple[Threshold, ...] | None:
    if raw is None:
        if raw_severities is not None:
            errors.append(f"{where}.severities: given without thresholds")
            return None
        return tuple(Threshold(r, default_severity(r)) for r in DEFAULT_THRESHOLDS)
    if not isinstance(raw, list | tuple) or not raw:
        errors.append(f"{where}.thresholds: expected a non-empty list of ratios such as 0.5, got {_show(raw)}")
        return None
    severities: list[object] | None = None
    if raw_severities is not None:
        if not isinstance(raw_severities, list | tuple) or len(raw_severities) != len(raw):
            errors.append(
                f"{where}.severities: expected a list of {len(raw)} severities (one per threshold), "
                f"got {_show(raw_severities)}"
            )
            return None
        severities = list(raw_severities)
    before = len(errors)
    out: list[Threshold] = []
    for index, entry in enumerate(raw):
        at = f"{where}.thresholds[{index}]"
        severity_raw: object = severities[index] if severities is not None else None
        severity_at = f"{where}.severities[{index}]"
        value: object = entry
        if isinstance(entry, Mapping):
            unknown = [k for k in entry if k not in ("ratio", "severity")]
            if unknown:
                errors.append(f"{at}.{unknown[0]}: unknown field; expected one of ratio, severity")
                continue
            value = entry.get("ratio")
            at = f"{at}.ratio"
            if entry.get("severity") is not None:
                severity_raw = entry.get("severity")
                severity_at = f"{where}.thresholds[{index}].severity"
        ratio = _ratio(value)
        if ratio is None or ratio <= 0 or ratio > MAX_THRESHOLD:
            errors.append(f"{at}: {_show(value)} is not a ratio of the limit in (0, {MAX_THRESHOLD}]")
            continue
        if severity_raw is None:
            severity = default_severity(ratio)
        elif isinstance(severity_raw, str) and severity_raw in Severity._value2member_map_:
            severity = Severity(severity_raw)
        else:
            errors.append(f"{severity_at}: {_show(severity_raw)} is not one of {', '.join(s.value for s in Severity)}")
            continue
        out.append(Threshold(ratio, severity))
    if len(errors) > before:
        return None
    ratios = [t.ratio for t in out]
    for index, ratio in enumerate(ratios):
        if ratio in ratios[:index]:
            errors.append(f"{where}.thresholds[{index}]: {format_ratio(ratio)} is listed twice")
            return None
    return tuple(sorted(out, key=lambda t: t.ratio))


def _parse_enforce(raw: object, where: str, errors: list[str]) -> Enforcement | None:
    if raw is None or raw is False:
        return None
    if raw is True:
        return Enforcement()
    if not isinstance(raw, Mapping):
        errors.append(f"{where}: expected true, false or a mapping with grace, got {_show(raw)}")
        return None
    for key in raw:
        if key != "grace":
            errors.append(f"{where}.{key}: unknown field; expected grace")
            return None
    grace_raw = raw.get("grace", 0)
    grace = _ratio(grace_raw)
    if grace is None or grace < 0 or grace > MAX_THRESHOLD:
        errors.append(f"{where}.grace: {_show(grace_raw)} is not a fraction of the limit >= 0 (e.g. 0.1)")
        return None
    return Enforcement(grace=grace)
