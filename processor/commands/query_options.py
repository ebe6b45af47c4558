"""Options shared by the commands that read the ledger: ledger path, time range, filters, zone.

Parsing errors surface through argparse (exit code 2, the option and the value named); checks
that need several options together raise :class:`UsageError`, which commands report the same way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from genai_cost.processor import config
from genai_cost.processor.adapters.ledger.queries import CallFilter
from genai_cost.processor.config import Config
from genai_cost.processor.domain.timespec import HELP as TIME_HELP
from genai_cost.processor.domain.timespec import TimeSpec, TimeSpecError, parse_zone, to_ns
from genai_cost.processor.pipeline.engine import PricerLike

USAGE_EXIT = 2
ERROR_EXIT = 1


class UsageError(ValueError):
    """Options that are valid one by one but not together; the message names them and their values."""


def time_spec(text: str) -> TimeSpec:
    """argparse ``type=`` for ``--since`` / ``--until``."""
    try:
        return TimeSpec.parse(text)
    except TimeSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def zone(text: str) -> ZoneInfo:
    """argparse ``type=`` for ``--tz``."""
    try:
        return parse_zone(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def non_empty(text: str) -> str:
    """argparse ``type=`` for label filters: an empty value would silently match nothing."""
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def add_ledger_options(parser: argparse.ArgumentParser) -> None:
    """``--ledger PATH`` and ``--config FILE``."""
    parser.add_argument(
        "--ledger",
        metavar="PATH",
        help="ledger database (default: ledger.path from --config / GENAI_COST_LEDGER_PATH / "
        "the user data dir, as genai-cost serve uses)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="YAML configuration file, as for genai-cost serve (env GENAI_COST_CONFIG)",
    )


def add_range_options(parser: argparse.ArgumentParser) -> None:
    """``--since``, ``--until`` (on a call's end time) and ``--tz``."""
    parser.add_argument("--since", type=time_spec, metavar="WHEN", help=f"first instant included: {TIME_HELP}")
    parser.add_argument(
        "--until", type=time_spec, metavar="WHEN", help="first instant excluded (same forms as --since)"
    )
    parser.add_argument(
        "--tz",
        type=zone,
        metavar="ZONE",
        help="IANA time zone for calendar days and months and for dates and times without an offset "
        "(default: the configured report timezone, else UTC)",
    )


def add_label_filters(parser: argparse.ArgumentParser, *, session: bool = True) -> None:
    """Exact-match filters ``--agent``, ``--model``, ``--provider`` (and ``--session``)."""
    parser.add_argument("--agent", type=non_empty, help="only calls attributed to this agent")
    parser.add_argument("--model", type=non_empty, help="only calls billed to this model")
    parser.add_argument("--provider", type=non_empty, help="only calls to this provider (OTel name)")
    if session:
        parser.add_argument("--session", type=non_empty, help="only calls in this session")


@dataclass(frozen=True, slots=True)
class Selection:
    """The resolved selection of calls: the SQL filter, the zone and the resolved range."""

    where: CallFilter
    tz: tzinfo
    since: datetime | None
    until: datetime | None


def selection(args: argparse.Namespace, tz: tzinfo, now: datetime | None = None) -> Selection:
    """Resolve the range and filter options of ``args`` (raises :class:`UsageError`)."""
    now = now or datetime.now(UTC)
    since = args.since.resolve(now, tz) if getattr(args, "since", None) else None
    until = args.until.resolve(now, tz) if getattr(args, "until", None) else None
    if since is not None and until is not None and since >= until:
        raise UsageError(
            f"--since {args.since.text!r} ({since.isoformat()}) is not before "
            f"--until {args.until.text!r} ({until.isoformat()})"
        )
    where = CallFilter(
        since_ns=to_ns(since) if since else None,
        until_ns=to_ns(until) if until else None,
        agent=getattr(args, "agent", None),
        model=getattr(args, "model", None),
        provider=getattr(args, "provider", None),
        session=getattr(args, "session", None),
    )
    return Selection(where, tz, since, until)


def usage_error(command: str, message: str) -> int:
    """Print an argparse-style error for ``genai-cost COMMAND`` and return exit code 2."""
    print(f"genai-cost {command}: error: {message}", file=sys.stderr)
    return USAGE_EXIT


def runtime_error(command: str, message: str) -> int:
    """Print an error that is not a usage error and return exit code 1."""
    print(f"genai-cost {command}: {message}", file=sys.stderr)
    return ERROR_EXIT


def load_config(args: argparse.Namespace) -> Config:
    """The configuration as ``genai-cost serve`` resolves it (``--config``, ``GENAI_COST_*``, file, defaults).

    Raises :class:`UsageError` naming the setting and value when the file or a value is bad.
    """
    try:
        return config.load(args)
    except config.ConfigError as exc:
        raise UsageError(str(exc)) from None


def ledger_path(args: argparse.Namespace, cfg: Config) -> Path:
    """``--ledger``, else the configured ``ledger.path``."""
    if getattr(args, "ledger", None):
        return Path(args.ledger).expanduser()
    return cfg.ledger_path


def report_zone(args: argparse.Namespace, cfg: Config) -> tzinfo:
    """``--tz``, else the configured report time zone when there is one, else UTC."""
    if getattr(args, "tz", None) is not None:
        return args.tz  # type: ignore[no-any-return]
    configured = getattr(cfg, "report_timezone", None)
    if isinstance(configured, str) and configured:
        try:
            return parse_zone(configured)
        except ValueError as exc:
            raise UsageError(f"report.timezone: {exc}") from None
    return UTC


def build_pricer(cfg: Config) -> PricerLike:
    """The processor's pricer with the configured overrides (raises :class:`UsageError` naming the file)."""
    from genai_cost.processor import app

    try:
        return app.build_pricer(cfg)
    except config.ConfigError as exc:
        raise UsageError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a ledger command works from: the configuration, time zone, selection and ledger path."""

    cfg: Config
    tz: tzinfo
    selection: Selection
    path: Path

    def __iter__(self) -> Iterator[Any]:
        return iter((self.cfg, self.tz, self.selection, self.path))


def resolve(args: argparse.Namespace) -> Resolved:
    """Configuration, time zone, selection and ledger path of a command; raises :class:`UsageError`."""
    cfg = load_config(args)
    tz = report_zone(args, cfg)
    return Resolved(cfg, tz, selection(args, tz), ledger_path(args, cfg))
