"""Processor configuration: flags > ``GENAI_COST_*`` env > YAML file > embedded defaults.

Each setting has a dotted path (the YAML key), an environment variable
(:mod:`genai_cost.processor.environment_variables`) and a ``serve`` flag. Errors name the setting and
the bad value (``ledger.synchronous: 'fast' is not one of full, normal, extra, off``). Unknown keys
in the file are errors. The ``budgets:`` and ``alertmanager:`` sections are kept as parsed YAML for
the modules that own them (:attr:`Config.sections`).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import platformdirs
import yaml

from genai_cost.processor import environment_variables as env
from genai_cost.processor.adapters.ledger.recent_responses import DEFAULT_RESPONSE_WINDOW

logger = logging.getLogger(__name__)

APP_NAME: Final = "genai-cost"
LEDGER_FILE_NAME: Final = "ledger.sqlite3"
DEFAULT_HOST: Final = "127.0.0.1"
"""Default bind address of every listener: loopback, like the OTel Collector's ``localhost``."""

RESERVED_SECTIONS: Final = ("budgets", "alertmanager")
"""Top-level YAML sections parsed by their own modules, passed through as-is."""

SYNCHRONOUS_MODES: Final = ("full", "normal", "extra", "off")
LOG_LEVELS: Final = ("debug", "info", "warning", "error")


class ConfigError(ValueError):
    """A setting with a bad value; the message names the setting and the value."""


def default_ledger_path() -> Path:
    """``ledger.sqlite3`` in the user's data directory."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / LEDGER_FILE_NAME


# -- value parsers: each takes a YAML/env/flag value and returns the typed value or raises ValueError --


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not a boolean (true or false)")


def _int(value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not an integer")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an integer") from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{value!r} must be {bound}")
    return number


def _port(value: object) -> int:
    return _int(value, 0, 65535)


def _positive_int(value: object) -> int:
    return _int(value, 1)


def _non_negative_int(value: object) -> int:
    return _int(value, 0)


def _positive_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if not number > 0 or number == float("inf"):
        raise ValueError(f"{value!r} must be a positive number of seconds")
    return number


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a non-empty string")
    return value.strip()


def _choice(options: Sequence[str]) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if isinstance(value, str) and value.strip().lower() in options:
            return value.strip().lower()
        raise ValueError(f"{value!r} is not one of {', '.join(options)}")

    return parse


def _path(value: object) -> Path:
    return Path(_text(value)).expanduser()


def _optional_path(value: object) -> Path | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _path(value)


def _tag_attributes(value: object) -> dict[str, str]:
    """``{attribute: label}`` from a mapping, a list (label = attribute) or ``attr[=label],...`` text."""
    pairs: list[tuple[object, object]]
    if value is None:
        return {}
    if isinstance(value, str):
        pairs = []
        for part in (p.strip() for p in value.split(",")):
            if part:
                key, _, label = part.partition("=")
                pairs.append((key.strip(), label.strip() or key.strip()))
    elif isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list | tuple):
        pairs = [(item, item) for item in value]
    else:
        raise ValueError(f"{value!r} is not a list or mapping of attribute names")
    out: dict[str, str] = {}
    for raw_key, raw_label in pairs:
        if not isinstance(raw_key, str) or not raw_key.strip():
            raise ValueError(f"{raw_key!r} is not an attribute name")
        if not isinstance(raw_label, str) or not raw_label.strip():
            raise ValueError(f"{raw_label!r} is not a tag label name (for attribute {raw_key!r})")
        label = raw_label.strip()
        if not _LABEL_NAME.fullmatch(label) or label.startswith("__"):
            raise ValueError(f"{label!r} is not a Prometheus label name (for attribute {raw_key!r})")
        if label in RESERVED_TAG_LABELS:
            raise ValueError(f"{label!r} is already a metric label (for attribute {raw_key!r}); choose another name")
        out[raw_key.strip()] = label
    return out


_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
RESERVED_TAG_LABELS: Final = frozenset({"agent", "provider", "model", "operation", "token_type", "outcome", "budget"})
"""Labels the metrics already carry: a tag dimension cannot take one of these names."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One configurable value: its YAML path, environment variable, parser and default."""

    path: str
    env: str
    parse: Callable[[object], Any]
    default: Callable[[], Any]
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.path.replace(".", "-").replace("_", "-")

    @property
    def dest(self) -> str:
        return "cfg__" + self.path.replace(".", "__")


def _const(value: object) -> Callable[[], object]:
    return lambda: value


SETTINGS: Final[tuple[Setting, ...]] = (
    Setting("otlp.grpc.enabled", env.GENAI_COST_OTLP_GRPC_ENABLED, _bool, _const(True), "run the OTLP/gRPC receiver"),
    Setting("otlp.grpc.host", env.GENAI_COST_OTLP_GRPC_HOST, _text, _const(DEFAULT_HOST), "OTLP/gRPC bind address"),
    Setting("otlp.grpc.port", env.GENAI_COST_OTLP_GRPC_PORT, _port, _const(4317), "OTLP/gRPC port (0: any free)"),
    Setting("otlp.grpc.workers", env.GENAI_COST_OTLP_GRPC_WORKERS, _positive_int, _const(8), "gRPC worker threads"),
    Setting("otlp.http.enabled", env.GENAI_COST_OTLP_HTTP_ENABLED, _bool, _const(True), "run the OTLP/HTTP receiver"),
    Setting("otlp.http.host", env.GENAI_COST_OTLP_HTTP_HOST, _text, _const(DEFAULT_HOST), "OTLP/HTTP bind address"),
    Setting("otlp.http.port", env.GENAI_COST_OTLP_HTTP_PORT, _port, _const(4318), "OTLP/HTTP port (0: any free)"),
    Setting(
        "otlp.max_request_bytes",
        env.GENAI_COST_OTLP_MAX_REQUEST_BYTES,
        _positive_int,
        _const(16 * 1024 * 1024),
        "largest export accepted, after decompression",
    ),
    Setting("http.host", env.GENAI_COST_HTTP_HOST, _text, _const(DEFAULT_HOST), "metrics/API bind address"),
    Setting("http.port", env.GENAI_COST_HTTP_PORT, _port, _const(9464), "metrics/API port (0: any free)"),
    Setting("ledger.path", env.GENAI_COST_LEDGER_PATH, _path, default_ledger_path, "SQLite ledger file"),
    Setting(
        "ledger.synchronous",
        env.GENAI_COST_LEDGER_SYNCHRONOUS,
        _choice(SYNCHRONOUS_MODES),
        _const("full"),
        "SQLite synchronous mode (full survives power loss; normal a process crash)",
    ),
    Setting(
        "ledger.response_window_calls",
        env.GENAI_COST_LEDGER_RESPONSE_WINDOW_CALLS,
        _positive_int,
        _const(DEFAULT_RESPONSE_WINDOW),
        "recent calls whose response ids are remembered to drop repeats (about 150 bytes each)",
    ),
    Setting(
        "pipeline.queue_max_calls",
        env.GENAI_COST_PIPELINE_QUEUE_MAX_CALLS,
        _positive_int,
        _const(50_000),
        "calls queued before exports are refused (retryable)",
    ),
    Setting(
        "pipeline.max_commit_calls",
        env.GENAI_COST_PIPELINE_MAX_COMMIT_CALLS,
        _positive_int,
        _const(20_000),
        "most calls per ledger transaction",
    ),
    Setting(
        "pipeline.ack_timeout_seconds",
        env.GENAI_COST_PIPELINE_ACK_TIMEOUT_SECONDS,
        _positive_float,
        _const(9.0),
        "longest wait for a commit before a retryable answer",
    ),
    Setting(
        "pipeline.nested_window_calls",
        env.GENAI_COST_PIPELINE_NESTED_WINDOW_CALLS,
        _non_negative_int,
        _const(20_000),
        "recent calls kept to link nested duplicates across exports",
    ),
    Setting(
        "pipeline.shutdown_grace_seconds",
        env.GENAI_COST_PIPELINE_SHUTDOWN_GRACE_SECONDS,
        _positive_float,
        _const(10.0),
        "time for in-flight exports to commit on shutdown",
    ),
    Setting(
        "metrics.label_value_limit",
        env.GENAI_COST_METRICS_LABEL_VALUE_LIMIT,
        _positive_int,
        _const(1000),
        "distinct values per metric label before the overflow value",
    ),
    Setting(
        "metrics.overflow_value",
        env.GENAI_COST_METRICS_OVERFLOW_VALUE,
        _text,
        _const("other"),
        "label value for values beyond the limit",
    ),
    Setting(
        "pricing.overrides_file",
        env.GENAI_COST_PRICING_OVERRIDES_FILE,
        _optional_path,
        _const(None),
        "YAML file of price overrides",
    ),
    Setting(
        "ingest.tag_attributes",
        env.GENAI_COST_INGEST_TAG_ATTRIBUTES,
        _tag_attributes,
        dict,
        "attributes recorded as tag dimensions: attr[=label],...",
    ),
    Setting("log_level", env.GENAI_COST_LOG_LEVEL, _choice(LOG_LEVELS), _const("info"), "log level"),
)
"""Every setting, in documentation order."""

_BY_PATH: Final = {setting.path: setting for setting in SETTINGS}


@dataclass(frozen=True, slots=True)
class Listen:
    """A listener's bind address and port (0: any free port)."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Config:
    """The processor's resolved configuration."""

    grpc_enabled: bool
    grpc: Listen
    grpc_workers: int
    otlp_http_enabled: bool
    otlp_http: Listen
    max_request_bytes: int
    http: Listen
    ledger_path: Path
    ledger_synchronous: str
    ledger_response_window: int
    queue_max_calls: int
    max_commit_calls: int
    ack_timeout_s: float
    nested_window_calls: int
    shutdown_grace_s: float
    label_value_limit: int
    overflow_value: str
    pricing_overrides_file: Path | None
    tag_attributes: Mapping[str, str]  # attribute key -> tag label
    log_level: str
    sections: Mapping[str, Any] = field(default_factory=dict)  # RESERVED_SECTIONS, parsed YAML
    source: Path | None = None  # the YAML file read, if any

    @classmethod
    def from_values(
        cls, values: Mapping[str, Any], sections: Mapping[str, Any] | None = None, source: Path | None = None
    ) -> Config:
        """Build from ``{setting path: typed value}`` (defaults fill what is missing)."""
        v = {s.path: values[s.path] if s.path in values else s.default() for s in SETTINGS}
        return cls(
            grpc_enabled=v["otlp.grpc.enabled"],
            grpc=Listen(v["otlp.grpc.host"], v["otlp.grpc.port"]),
            grpc_workers=v["otlp.grpc.workers"],
            otlp_http_enabled=v["otlp.http.enabled"],
            otlp_http=Listen(v["otlp.http.host"], v["otlp.http.port"]),
            max_request_bytes=v["otlp.max_request_bytes"],
            http=Listen(v["http.host"], v["http.port"]),
            ledger_path=v["ledger.path"],
            ledger_synchronous=v["ledger.synchronous"],
            ledger_response_window=v["ledger.response_window_calls"],
            queue_max_calls=v["pipeline.queue_max_calls"],
            max_commit_calls=v["pipeline.max_commit_calls"],
            ack_timeout_s=v["pipeline.ack_timeout_seconds"],
            nested_window_calls=v["pipeline.nested_window_calls"],
            shutdown_grace_s=v["pipeline.shutdown_grace_seconds"],
            label_value_limit=v["metrics.label_value_limit"],
            overflow_value=v["metrics.overflow_value"],
            pricing_overrides_file=v["pricing.overrides_file"],
            tag_attributes=v["ingest.tag_attributes"],
            log_level=v["log_level"],
            sections=dict(sections or {}),
            source=source,
        )


# -- sources -------------------------------------------------------------------------------------


def read_file(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse a YAML config file into (setting values, reserved sections); raises :class:`ConfigError`."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r}: not valid YAML: {exc}") from exc
    if document is None:
        return {}, {}
    if not isinstance(document, dict):
        raise ConfigError(f"config file {str(path)!r}: the top level must be a mapping, got {document!r}")
    values: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    for key, value in document.items():
        if key in RESERVED_SECTIONS:
            sections[key] = value
        else:
            _flatten(str(key), value, values)
    for key, raw in values.items():
        setting = _BY_PATH.get(key)
        if setting is None:
            raise ConfigError(f"{key}: unknown setting in {str(path)!r} (known: {', '.join(_BY_PATH)})")
        try:
            values[key] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None
    return values, sections


def _flatten(prefix: str, value: object, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and prefix not in _BY_PATH:
        if not value and not any(path.startswith(prefix + ".") for path in _BY_PATH):
            out[prefix] = value  # reported as unknown
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}", inner, out)
    else:
        out[prefix] = value


def read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings from ``GENAI_COST_*`` variables; a bad value is logged (variable and value) and ignored."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        if raw is None or raw == "":
            continue
        try:
            values[setting.path] = setting.parse(raw)
        except ValueError as exc:
            logger.warning("ignoring %s: %s (using the file or default value)", setting.env, exc)
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and one flag per setting (unset flags do not override anything)."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        default=None,
        help=f"YAML configuration file (env {env.GENAI_COST_CONFIG})",
    )
    group = parser.add_argument_group("settings (each also as a GENAI_COST_* variable and a YAML key)")
    for setting in SETTINGS:
        group.add_argument(
            setting.flag,
            dest=setting.dest,
            default=None,
            metavar="VALUE",
            help=f"{setting.help} [{setting.path}; {setting.env}]",
        )


def read_flags(args: argparse.Namespace) -> dict[str, Any]:
    """Settings given as flags; a bad value raises :class:`ConfigError` naming the flag."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = getattr(args, setting.dest, None)
        if raw is None:
            continue
        try:
            values[setting.path] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.flag}: {exc}") from None
    return values


def load(
    args: argparse.Namespace | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Config:
    """Resolve the configuration: flags > env > file (``--config`` or ``GENAI_COST_CONFIG``) > defaults."""
    environ = os.environ if environ is None else environ
    path = config_file
    if path is None and args is not None:
        path = getattr(args, "config", None)
    if path is None and environ.get(env.GENAI_COST_CONFIG):
        path = Path(environ[env.GENAI_COST_CONFIG]).expanduser()
    values: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    if path is not None:
        values, sections = read_file(path)
    values.update(read_env(environ))
    if args is not None:
        values.update(read_flags(args))
    return Config.from_values(values, sections, path)
